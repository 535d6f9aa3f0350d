/**
 * Opens the cloud database. The embedded default is one SQLite file; several cloud-sync instances
 * share one PostgreSQL database (docs/uplink-contract.md, "Scale"). Everything above this module
 * talks Kysely only, so the two backends differ here and nowhere else (docs/cloud-ingest.md).
 */
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteQueryCompiler,
  sql,
  type Dialect,
  type QueryCompiler,
} from 'kysely';
import type { SelectModifierNode } from 'kysely';
import pg from 'pg';
import { CloudServiceError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import type { CloudSchema } from './schema.js';

export interface CloudDatabaseConfig {
  /** Path of the SQLite file (created when missing). */
  sqlitePath?: string;
  /** PostgreSQL connection string (`postgres://user:password@host:port/database`), for scale-out. */
  databaseUrl?: string;
  /** PostgreSQL only: most connections this instance opens (default 10). */
  poolSize?: number;
  /** PostgreSQL only: how long to wait for a new connection before failing (default 10 000 ms). */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL only: called when an idle pooled connection fails (server restart, network cut).
   * The pool has already dropped that connection; the next query opens a new one or fails.
   */
  onPoolError?: (error: Error) => void;
}

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * SQLite has no row locks and no `FOR UPDATE` syntax. Ingest takes `.forUpdate()` so PostgreSQL
 * serialises the accept rule per stream (docs/uplink-contract.md, delivery rule 3); on SQLite the
 * single connection (Kysely's driver runs one transaction at a time) and the database write lock
 * already serialise every transaction, so the clause is dropped here instead of failing to parse.
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

/**
 * Creates a missing SQLite file owner-only before SQLite opens it: the folder 0700, the file 0600.
 * SQLite gives the -wal and -shm files it makes later the database file's permissions
 * (os_unix.c findCreateFileMode), so they are 0600 too. The database holds credential hashes,
 * sessions and the audit trail (docs/security.md). Existing files keep the mode they were given.
 */
function createSqliteFileOwnerOnly(path: string): void {
  if (path === ':memory:' || existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // 'a': create if missing, never truncate (another process may have created it meanwhile).
  closeSync(openSync(path, 'a', 0o600));
}

function openSqlite(path: string): Database.Database {
  createSqliteFileOwnerOnly(path);
  const database = new Database(path);
  // WAL lets readers (console, API) run beside the ingest writer; FULL makes a commit durable
  // before it returns, which the ack relies on (commit then ack, docs/uplink-contract.md, delivery
  // rule 3).
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return database;
}

/** OID of PostgreSQL's int8 (`bigint`), the type of every seq column and of `count(*)`. */
const INT8_OID = 20;

/**
 * pg returns int8 as a string, because a JavaScript number cannot hold all of it. Seqs are typed
 * as numbers (db/schema.ts) and compared with `>` in ingest, where '10' > '9' is false: a string
 * would silently break the accept rule. So int8 becomes a number, and a value beyond 2^53 - 1
 * fails the query loudly instead of being rounded to a neighbouring seq.
 */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`PostgreSQL int8 value ${text} is outside JavaScript's safe integer range`);
  }
  return value;
}

/**
 * Type parsers for this pool's clients only: `pg.types.setTypeParser` would change every pg
 * client in the process, including other libraries' connections.
 */
const cloudTypes: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format),
};

/** The parts of a PostgreSQL URL that may be shown; `secrets` are what must never be shown. */
interface PostgresTarget {
  /** `postgres://user@host:port/database`, without the password. */
  display: string;
  secrets: string[];
}

/**
 * Reads a postgres:// URL for messages. Throws CLOUD_DB_CONFIG without echoing the value, since a
 * URL that does not parse may still hold a password. An empty host (`user@/db?host=/run/...`, a
 * unix socket) is valid for pg but not for WHATWG URL, hence the placeholder host.
 */
function describePostgresUrl(databaseUrl: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(databaseUrl.replace('@/', '@socket/'));
  } catch {
    throw new CloudServiceError(
      'CLOUD_DB_CONFIG',
      'cloud database: DATABASE_URL is not a valid URL (value not shown, it may hold a password); ' +
        'expected postgres://user:password@host:port/database with special characters percent-encoded',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new CloudServiceError(
      'CLOUD_DB_CONFIG',
      `cloud database: DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`,
    );
  }
  const secrets = [url.password, url.searchParams.get('password') ?? ''].flatMap((secret) => {
    let decoded = secret;
    try {
      decoded = decodeURIComponent(secret);
    } catch {
      // A malformed escape: the raw text is the only form the secret can appear in.
    }
    return [secret, decoded];
  });
  const host = url.searchParams.get('host') ?? (url.hostname === 'socket' ? '' : url.hostname);
  const port = url.searchParams.get('port') ?? url.port;
  const user = url.username === '' ? '' : `${decodeURIComponent(url.username)}@`;
  const target = `${host}${port === '' ? '' : `:${port}`}${url.pathname}`;
  return { display: `postgres://${user}${target}`, secrets: secrets.filter((secret) => secret !== '') };
}

/** `text` with every secret replaced. */
function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join('***'), text);
}

/**
 * A CloudServiceError for a failed connection. The cause is kept for its code and stack only when
 * nothing in it shows a password; otherwise a redacted copy of its message takes its place,
 * because loggers print causes too.
 */
function connectionError(target: PostgresTarget, error: unknown): CloudServiceError {
  // Node reports a refused connection to a name with several addresses (localhost: ::1 and
  // 127.0.0.1) as an AggregateError with an empty message; its parts say what happened.
  const reason =
    error instanceof AggregateError && error.message === ''
      ? error.errors.map((part: unknown) => (part instanceof Error ? part.message : String(part))).join('; ')
      : error instanceof Error
        ? error.message
        : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' && !reason.includes(code) ? `${code}: ${reason}` : reason;
  const leaks = target.secrets.some((secret) => inspect(error, { depth: 5 }).includes(secret));
  const cause = leaks ? new Error(redact(reason, target.secrets)) : error;
  return new CloudServiceError(
    isConfigurationRefusal(code) ? 'CLOUD_DB_CONFIG' : 'CLOUD_DB_UNAVAILABLE',
    redact(`cloud database: cannot connect to PostgreSQL at ${target.display}: ${detail}`, target.secrets),
    { cause },
  );
}

/**
 * The server answered and said no to what was configured (PostgreSQL appendix A: class 28
 * invalid authorization, 3D000 invalid_catalog_name): a configuration error. Anything else on the
 * way to a first query (a refused or unreachable socket, a timeout, 57P03 cannot_connect_now) is
 * the server being unavailable, which a retry later may cure.
 */
function isConfigurationRefusal(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000');
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new CloudServiceError('CLOUD_DB_CONFIG', `cloud database: ${name} must be a positive integer`);
  }
  return value;
}

function createPostgresDialect(config: CloudDatabaseConfig, databaseUrl: string): Dialect {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: positiveInteger(config.poolSize, DEFAULT_POOL_SIZE, 'poolSize'),
    // pg waits forever for an unreachable host by default; startup should fail with a reason.
    connectionTimeoutMillis: positiveInteger(
      config.connectTimeoutMs,
      DEFAULT_CONNECT_TIMEOUT_MS,
      'connectTimeoutMs',
    ),
    types: cloudTypes,
    // Names the instances in pg_stat_activity; an application_name in the URL takes precedence.
    application_name: 'kerbside-cloud-sync',
  });
  // An idle client that errors is emitted on the pool, and an 'error' event without a listener
  // kills the process: a database restart must fail queries, not crash the service.
  pool.on('error', (error) => config.onPoolError?.(error));
  return new PostgresDialect({
    pool,
    // The accept rule relies on READ COMMITTED (docs/cloud-ingest.md): after waiting for a
    // stream's row lock, or for a concurrent creator of the row, the next statement must see what
    // the other instance committed. A server whose default isolation is stricter would instead
    // fail those transactions, so every connection sets it rather than trusting the default.
    onCreateConnection: async (connection) => {
      await connection.executeQuery(
        CompiledQuery.raw('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED'),
      );
    },
  });
}

/**
 * The Kysely dialect for a configuration: PostgreSQL when `databaseUrl` is set, else SQLite. For
 * PostgreSQL no connection is made yet (the pool connects on the first query).
 */
export function createDialect(config: CloudDatabaseConfig): Dialect {
  if (config.databaseUrl !== undefined) {
    if (config.sqlitePath !== undefined) {
      throw new CloudServiceError(
        'CLOUD_DB_CONFIG',
        'cloud database: configure either sqlitePath or databaseUrl (DATABASE_URL), not both',
      );
    }
    if (config.databaseUrl === '') {
      throw new CloudServiceError('CLOUD_DB_CONFIG', 'cloud database: DATABASE_URL is empty');
    }
    describePostgresUrl(config.databaseUrl);
    return createPostgresDialect(config, config.databaseUrl);
  }
  if (config.sqlitePath === undefined || config.sqlitePath === '') {
    throw new CloudServiceError(
      'CLOUD_DB_CONFIG',
      'cloud database: sqlitePath or databaseUrl (DATABASE_URL) is required',
    );
  }
  return new CloudSqliteDialect({ database: openSqlite(config.sqlitePath) });
}

/**
 * Opens the database and runs pending migrations. The caller destroys it (`db.destroy()`).
 *
 * On PostgreSQL a first query checks the connection, so a refused login or a missing database
 * fails here with CLOUD_DB_CONFIG and an unreachable server with CLOUD_DB_UNAVAILABLE (password
 * redacted either way) rather than as a failed migration. Several instances may start at once: Kysely's Migrator takes a PostgreSQL advisory
 * lock around the migrations, so one migrates and the others find nothing pending.
 */
export async function openCloudDatabase(config: CloudDatabaseConfig): Promise<Kysely<CloudSchema>> {
  const db = new Kysely<CloudSchema>({ dialect: createDialect(config) });
  try {
    if (config.databaseUrl !== undefined) {
      const target = describePostgresUrl(config.databaseUrl);
      await sql`select 1`.execute(db).catch((error: unknown) => {
        throw connectionError(target, error);
      });
    }
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
