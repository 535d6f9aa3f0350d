/**
 * Numbered schema migrations, written with Kysely's schema builder only, so the same code creates
 * the schema on SQLite (embedded default) and PostgreSQL (scale-out, DESIGN.md section 6 "Scale").
 * Migrations are append-only: a released one is never edited, a change is a new number.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { CloudServiceError } from '../errors.js';
import type { CloudSchema } from './schema.js';

const m0001Initial: Migration = {
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

/** All migrations by name; Kysely's Migrator runs them in name order, hence the zero padding. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001Initial,
};

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};

/** Brings the schema to the latest migration; throws CloudServiceError CLOUD_DB_MIGRATION on failure. */
export async function migrateToLatest(db: Kysely<CloudSchema>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
  throw new CloudServiceError('CLOUD_DB_MIGRATION', `cloud database migration ${failed} failed`, {
    cause: error,
  });
}
