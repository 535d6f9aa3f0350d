/**
 * Fresh, migrated, empty cloud databases for storage tests, on both backends the service runs on
 * (SQLite by default, PostgreSQL by DATABASE_URL). One private PostgreSQL cluster per test file,
 * started on first use, so a missing PostgreSQL fails only the PostgreSQL tests with the package
 * to install, and stopped when the file's tests end. A database per test, like a file per test on
 * SQLite: no test sees another's rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Kysely } from 'kysely';
import { openCloudDatabase } from '../../cloud-sync/service/db/open.js';
import type { CloudSchema } from '../../cloud-sync/service/db/schema.js';
import { startPostgres, type PostgresCluster } from './postgres.js';

export interface OpenedDatabase {
  db: Kysely<CloudSchema>;
  close(): Promise<void>;
}

export interface CloudDbBackend {
  name: 'SQLite' | 'PostgreSQL';
  open(): Promise<OpenedDatabase>;
}

let cluster: Promise<PostgresCluster> | undefined;
after(async () => {
  await cluster?.then(
    (running) => running.stop(),
    () => undefined,
  );
});

/** This file's PostgreSQL cluster, started on first use. */
export function testPostgres(): Promise<PostgresCluster> {
  cluster ??= startPostgres();
  return cluster;
}

/** A SQLite cloud database in its own temp folder (`dir`: for a CLI under test to open the file too). */
export interface TempCloudDb extends OpenedDatabase {
  dir: string;
}

/** A fresh migrated SQLite database in its own temp dir; `close()` destroys it and removes the dir. */
export async function openTempCloudDb(prefix = 'kerbside-cloud-db-'): Promise<TempCloudDb> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    const db = await openCloudDatabase({ sqlitePath: join(dir, 'cloud.sqlite') });
    return {
      dir,
      db,
      async close() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export const openSqliteCloudDb = (): Promise<OpenedDatabase> => openTempCloudDb();

export async function openPostgresCloudDb(): Promise<OpenedDatabase> {
  const db = await openCloudDatabase({ databaseUrl: await (await testPostgres()).createDatabase() });
  return { db, close: () => db.destroy() };
}

export const CLOUD_DB_BACKENDS: readonly CloudDbBackend[] = [
  { name: 'SQLite', open: openSqliteCloudDb },
  { name: 'PostgreSQL', open: openPostgresCloudDb },
];
