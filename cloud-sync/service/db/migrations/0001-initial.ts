/**
 * Migration 0001: event streams per (gateway, epoch, lane), committed events, and the current
 * device and alarm state derived from them (docs/cloud-ingest.md).
 */
import type { Kysely, Migration } from 'kysely';

export const m0001Initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('gateway_streams')
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('epoch', 'text', (col) => col.notNull())
      .addColumn('lane', 'text', (col) => col.notNull())
      .addColumn('last_committed', 'bigint', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('gateway_streams_pk', ['gateway_id', 'epoch', 'lane'])
      .execute();

    await db.schema
      .createTable('events')
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('epoch', 'text', (col) => col.notNull())
      .addColumn('lane', 'text', (col) => col.notNull())
      .addColumn('seq', 'bigint', (col) => col.notNull())
      .addColumn('event_id', 'text', (col) => col.notNull())
      .addColumn('kind', 'text', (col) => col.notNull())
      .addColumn('class', 'text', (col) => col.notNull())
      .addColumn('ts', 'text', (col) => col.notNull())
      .addColumn('body', 'text', (col) => col.notNull())
      .addColumn('received_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('events_pk', ['gateway_id', 'epoch', 'lane', 'seq'])
      .addUniqueConstraint('events_event_id_unique', ['event_id'])
      .addForeignKeyConstraint('events_stream_fk', ['gateway_id', 'epoch', 'lane'], 'gateway_streams', [
        'gateway_id',
        'epoch',
        'lane',
      ])
      .execute();

    await db.schema
      .createTable('device_state')
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('device_id', 'text', (col) => col.notNull())
      .addColumn('latest_values', 'text', (col) => col.notNull())
      .addColumn('epoch', 'text', (col) => col.notNull())
      .addColumn('seq', 'bigint', (col) => col.notNull())
      .addColumn('ts', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('device_state_pk', ['gateway_id', 'device_id'])
      .execute();

    await db.schema
      .createTable('alarm_state')
      .addColumn('gateway_id', 'text', (col) => col.notNull())
      .addColumn('alarm_key', 'text', (col) => col.notNull())
      .addColumn('device_id', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) => col.notNull())
      .addColumn('level', 'integer', (col) => col.notNull())
      .addColumn('active', 'integer', (col) => col.notNull())
      .addColumn('priority', 'text')
      .addColumn('epoch', 'text', (col) => col.notNull())
      .addColumn('seq', 'bigint', (col) => col.notNull())
      .addColumn('ts', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addPrimaryKeyConstraint('alarm_state_pk', ['gateway_id', 'alarm_key'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('alarm_state').execute();
    await db.schema.dropTable('device_state').execute();
    await db.schema.dropTable('events').execute();
    await db.schema.dropTable('gateway_streams').execute();
  },
};
