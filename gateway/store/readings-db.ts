/**
 * The readings database: high-rate raw values in their own file with synchronous=NORMAL
 * (docs/storage.md says why), separate from the event database that must run FULL.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type OpenDatabaseOptions, type SqliteDatabase } from './database.js';
import { StoreError } from './errors.js';
import { applyMigrations, type MigrationOutcome } from './migrate.js';
import { READINGS_MIGRATIONS } from './migrations/readings.js';

export const READINGS_DB_FILE = 'readings.db';

export interface OpenedReadingsDatabase {
  db: SqliteDatabase;
  path: string;
  migration: MigrationOutcome;
}

/** Opens (creating dataDir if needed) and migrates `<dataDir>/readings.db`. Throws StoreError. */
export function openReadingsDatabase(
  dataDir: string,
  options: Pick<OpenDatabaseOptions, 'trace' | 'busyTimeoutMs' | 'journalSizeLimitBytes'> = {},
): OpenedReadingsDatabase {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError('STORE_OPEN_FAILED', `cannot create data directory ${dataDir}: ${reason}`, {
      file: dataDir,
      cause: error,
    });
  }
  const path = join(dataDir, READINGS_DB_FILE);
  const db = openDatabase(path, { ...options, synchronous: 'NORMAL' });
  try {
    const migration = applyMigrations(db, READINGS_MIGRATIONS);
    return { db, path, migration };
  } catch (error) {
    db.close();
    throw error;
  }
}
