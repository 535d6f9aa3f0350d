/**
 * Migration 0005 (issue 9): the dead-letter table of ingest, where an event the contract refuses is
 * kept with its raw body and the reasons while its lane moves on (docs/uplink-contract.md, "invalid
 * events"), and a case's hold reason: why an alarm's case waits at the monitoring desk instead of
 * being filed on its own (docs/cases.md, "the monitoring queue").
 */
import type { Kysely, Migration } from 'kysely';

export const m0005DeadLetters: Migration = {
  // Schema builder only, so the same migration runs on SQLite and PostgreSQL (migrations.ts).
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('dead_letters')
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('epoch', 'text', (col) => col.notNull())
      .addColumn('lane', 'text', (col) => col.notNull())
      .addColumn('seq', 'bigint', (col) => col.notNull())
      // Whatever the event said of itself, when readable: the raw body is the evidence.
      .addColumn('event_id', 'text')
      .addColumn('kind', 'text')
      .addColumn('raw', 'text', (col) => col.notNull())
      .addColumn('reasons', 'text', (col) => col.notNull())
      .addColumn('received_at', 'text', (col) => col.notNull())
      // Once per (stream, seq), like events: a resent batch does not keep it twice.
      .addPrimaryKeyConstraint('dead_letters_pk', ['gateway_id', 'epoch', 'lane', 'seq'])
      .execute();
    await db.schema
      .createIndex('dead_letters_received_idx')
      .on('dead_letters')
      .columns(['received_at'])
      .execute();
    await db.schema.alterTable('cases').addColumn('hold_reason', 'text').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('cases').dropColumn('hold_reason').execute();
    await db.schema.dropTable('dead_letters').execute();
  },
};
