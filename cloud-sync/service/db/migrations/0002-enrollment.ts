/**
 * Migration 0002: enrolled gateways, their hashed MQTT credentials, one-time enrollment tokens,
 * service accounts and the admin audit trail (db/enrollment-tables.ts, docs/enrollment.md).
 * Schema builder only, so it runs unchanged on SQLite and PostgreSQL: timestamps are ISO 8601
 * text, booleans integers 0/1.
 */
import type { Kysely, Migration } from 'kysely';

export const m0002Enrollment: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('gateways')
      .addColumn('gateway_id', 'text', (col) => col.primaryKey())
      .addColumn('credential_hash', 'text', (col) => col.notNull())
      .addColumn('mosquitto_hash', 'text', (col) => col.notNull())
      .addColumn('disabled', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('enrolled_at', 'text', (col) => col.notNull())
      .addColumn('rotated_at', 'text')
      .addColumn('disabled_changed_at', 'text')
      .execute();

    await db.schema
      .createTable('enrollment_tokens')
      .addColumn('token_hash', 'text', (col) => col.primaryKey())
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'text', (col) => col.notNull())
      .addColumn('used_at', 'text')
      .addColumn('used_from', 'text')
      .execute();
    // Listing a gateway's pending tokens, and purging expired ones.
    await db.schema
      .createIndex('enrollment_tokens_gateway_idx')
      .on('enrollment_tokens')
      .column('gateway_id')
      .execute();

    await db.schema
      .createTable('service_accounts')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('credential_hash', 'text', (col) => col.notNull())
      .addColumn('mosquitto_hash', 'text', (col) => col.notNull())
      .addColumn('disabled', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('rotated_at', 'text')
      .execute();

    await db.schema
      .createTable('admin_audit')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('at', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('action', 'text', (col) => col.notNull())
      .addColumn('target', 'text', (col) => col.notNull())
      .addColumn('detail', 'text')
      .execute();
    await db.schema
      .createIndex('admin_audit_target_idx')
      .on('admin_audit')
      .columns(['target', 'at'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('admin_audit').execute();
    await db.schema.dropTable('service_accounts').execute();
    await db.schema.dropTable('enrollment_tokens').execute();
    await db.schema.dropTable('gateways').execute();
  },
};
