/**
 * Migration 0006 (issue 10): the storage state each gateway reports in its retained status (ok,
 * low or full, free bytes, the reason), so the cloud sees a cabinet whose disk is full instead of
 * one that is online but silent.
 */
import type { Kysely, Migration } from 'kysely';

export const m0006GatewayStorage: Migration = {
  // Schema builder only, so the same migration runs on SQLite and PostgreSQL (migrations.ts).
  async up(db: Kysely<unknown>): Promise<void> {
    // JSON of the status's `storage` object; null for a gateway that does not send one (older).
    await db.schema.alterTable('gateway_status').addColumn('storage', 'text').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('gateway_status').dropColumn('storage').execute();
  },
};
