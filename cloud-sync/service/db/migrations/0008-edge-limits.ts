/**
 * Migration 0008 (issue 12, findings 5, 6 and 9): the HTTP edge's shared state. Rate-limit counters
 * per key and fixed window and login lockouts per username, in the database so that several
 * instances share them (a per-process counter let each instance allow the full limit); and a
 * `count` on audit rows, so that a flood of anonymous refusals becomes one summary row per route,
 * address and minute instead of one row each (auth/plugin.ts, enrollment/audit.ts).
 */
import type { Kysely, Migration } from 'kysely';

export const m0008EdgeLimits: Migration = {
  // Schema builder only, so the same migration runs on SQLite and PostgreSQL (migrations.ts).
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('rate_limit_counters')
      .addColumn('key', 'text', (col) => col.notNull())
      .addColumn('window_start', 'bigint', (col) => col.notNull())
      .addColumn('count', 'integer', (col) => col.notNull())
      .addColumn('expires_at', 'bigint', (col) => col.notNull())
      // The upsert of a hit conflicts on it (api/rate-limits.ts).
      .addPrimaryKeyConstraint('rate_limit_counters_pk', ['key', 'window_start'])
      .execute();
    await db.schema
      .createIndex('rate_limit_counters_expires_idx')
      .on('rate_limit_counters')
      .columns(['expires_at'])
      .execute();
    await db.schema
      .createTable('login_lockouts')
      .addColumn('username', 'text', (col) => col.primaryKey())
      .addColumn('failures', 'integer', (col) => col.notNull())
      .addColumn('last_failure_at', 'bigint', (col) => col.notNull())
      .addColumn('locked_until', 'bigint', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('login_lockouts_last_failure_idx')
      .on('login_lockouts')
      .columns(['last_failure_at'])
      .execute();
    // How many refusals a summary row stands for; null for an ordinary row (one event each).
    await db.schema.alterTable('admin_audit').addColumn('count', 'integer').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('admin_audit').dropColumn('count').execute();
    await db.schema.dropTable('login_lockouts').execute();
    await db.schema.dropTable('rate_limit_counters').execute();
  },
};
