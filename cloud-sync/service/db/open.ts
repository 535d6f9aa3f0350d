/**
 * Opens the cloud database. The embedded default is one SQLite file (DESIGN.md section 6 "Scale");
 * everything above this module talks Kysely only, so PostgreSQL is a second branch of
 * createDialect and nothing else.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, SqliteQueryCompiler, type Dialect, type QueryCompiler } from 'kysely';
import type { SelectModifierNode } from 'kysely';
import { CloudServiceError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import type { CloudSchema } from './schema.js';

export interface CloudDatabaseConfig {
  /** Path of the SQLite file (created when missing). */
  sqlitePath?: string;
  /** PostgreSQL connection string, for several cloud-sync instances (scale-out). */
  databaseUrl?: string;
}

/**
 * SQLite has no row locks and no `FOR UPDATE` syntax. Ingest takes `.forUpdate()` so PostgreSQL
 * serialises the accept rule per stream (DESIGN.md section 6 rule 3); on SQLite the single
 * connection (Kysely's driver runs one transaction at a time) and the database write lock already
 * serialise every transaction, so the clause is dropped here instead of failing to parse.
 */
class CloudSqliteQueryCompiler extends SqliteQueryCompiler {
  protected override visitSelectModifier(node: SelectModifierNode): void {
    if (node.modifier === 'ForUpdate') return;
    super.visitSelectModifier(node);
  }
}

class CloudSqliteDialect extends SqliteDialect {
  override createQueryCompiler(): QueryCompiler {
    return new CloudSqliteQueryCompiler();
  }
}

function openSqlite(path: string): Database.Database {
  const database = new Database(path);
  // WAL lets readers (console, API) run beside the ingest writer; FULL makes a commit durable
  // before it returns, which the ack relies on (commit then ack, section 6 rule 3).
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return database;
}

/** The Kysely dialect for a configuration. Only SQLite exists in this build. */
export function createDialect(config: CloudDatabaseConfig): Dialect {
  if (config.databaseUrl !== undefined) {
    throw new CloudServiceError(
      'CLOUD_DB_UNSUPPORTED',
      'DATABASE_URL (PostgreSQL) is not supported by this build: PostgreSQL support arrives with the ' +
        'scale-out part. Configure sqlitePath for the embedded SQLite database.',
    );
  }
  if (config.sqlitePath === undefined || config.sqlitePath === '') {
    throw new CloudServiceError('CLOUD_DB_CONFIG', 'cloud database: sqlitePath is required');
  }
  return new CloudSqliteDialect({ database: openSqlite(config.sqlitePath) });
}

/** Opens the database and runs pending migrations. The caller destroys it (`db.destroy()`). */
export async function openCloudDatabase(config: CloudDatabaseConfig): Promise<Kysely<CloudSchema>> {
  const db = new Kysely<CloudSchema>({ dialect: createDialect(config) });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
