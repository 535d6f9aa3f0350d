/** Migration 0003: the latest retained status of every gateway (online, backlog, lanes). */
import type { Kysely, Migration } from 'kysely';

export const m0003GatewayStatus: Migration = {
  // Schema builder only, so the same migration runs on SQLite and PostgreSQL (migrations.ts).
  // One row per gateway, overwritten by every status message: the history of a gateway's status is
  // not kept here (its events are); this is the "now" of the fleet view and the lag metrics.
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('gateway_status')
      .addColumn('gateway_id', 'text', (col) => col.notNull().primaryKey())
      .addColumn('online', 'integer', (col) => col.notNull())
      .addColumn('version', 'text', (col) => col.notNull())
      .addColumn('uptime_s', 'double precision', (col) => col.notNull())
      .addColumn('backlog_count', 'bigint', (col) => col.notNull())
      .addColumn('backlog_oldest_age_s', 'double precision')
      .addColumn('backlog_by_class', 'text')
      .addColumn('epoch', 'text')
      .addColumn('lanes', 'text')
      .addColumn('config_version', 'bigint')
      .addColumn('received_at', 'text', (col) => col.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('gateway_status').execute();
  },
};
