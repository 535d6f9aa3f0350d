/**
 * Opens a SQLite database the way every gateway database must be opened (docs/storage.md):
 * WAL, the asked-for synchronous level, foreign keys, a bounded WAL file, a busy timeout, and
 * an integrity check. Every pragma is read back, because SQLite answers a pragma it cannot
 * honour by silently keeping the old value (journal_mode on ':memory:' or on a file system
 * without shared memory stays 'memory' / 'delete'); running on such a database would quietly
 * break the durability the rest of the gateway relies on.
 */
import Database from 'better-sqlite3';
import { StoreError, isCorruptionError } from './errors.js';

export type SqliteDatabase = Database.Database;

/** FULL: a committed transaction survives power loss. NORMAL (in WAL): it may be lost, the file is never corrupted. */
export type SynchronousLevel = 'FULL' | 'NORMAL';

export interface OpenDatabaseOptions {
  synchronous: SynchronousLevel;
  /** How long a writer waits for another connection's lock before SQLITE_BUSY. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Size the WAL file is truncated to after a checkpoint. Default 16 MiB. */
  journalSizeLimitBytes?: number;
  /**
   * WAL pages after which a commit runs SQLite's own PASSIVE checkpoint. Default: SQLite's
   * default (1000), not set.
   */
  walAutocheckpointPages?: number;
  /** Receives every SQL statement executed (tests use it to prove batching). */
  trace?: (sql: string) => void;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
export const DEFAULT_JOURNAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/** PRAGMA synchronous reads back as a number (sqlite.org/pragma.html#pragma_synchronous). */
const SYNCHRONOUS_CODES: Record<SynchronousLevel, number> = { NORMAL: 1, FULL: 2 };

/**
 * Opens (creating if needed) the database at `path`, configures it and checks it. Throws
 * StoreError: STORE_OPEN_FAILED, STORE_CORRUPT or STORE_MISCONFIGURED. The caller owns the
 * returned handle and must close() it.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions): SqliteDatabase {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const journalSizeLimit = options.journalSizeLimitBytes ?? DEFAULT_JOURNAL_SIZE_LIMIT_BYTES;
  let db: SqliteDatabase;
  try {
    db = new Database(path, {
      timeout: busyTimeoutMs,
      ...(options.trace === undefined ? {} : { verbose: (sql: unknown) => options.trace?.(String(sql)) }),
    });
  } catch (error) {
    throw classify(error, path, 'could not open database');
  }
  try {
    // The integrity check goes first: on a damaged file the pragmas below may fail with
    // confusing errors, or journal_mode=WAL may even write to it.
    checkIntegrity(db, path);
    configure(db, path, {
      journal_mode: { set: 'WAL', expect: 'wal' },
      synchronous: { set: options.synchronous, expect: SYNCHRONOUS_CODES[options.synchronous] },
      foreign_keys: { set: 'ON', expect: 1 },
      busy_timeout: { set: String(busyTimeoutMs), expect: busyTimeoutMs },
      journal_size_limit: { set: String(journalSizeLimit), expect: journalSizeLimit },
      ...(options.walAutocheckpointPages === undefined
        ? {}
        : {
            wal_autocheckpoint: {
              set: String(options.walAutocheckpointPages),
              expect: options.walAutocheckpointPages,
            },
          }),
    });
  } catch (error) {
    db.close();
    throw error instanceof StoreError ? error : classify(error, path, 'could not configure database');
  }
  return db;
}

interface PragmaExpectation {
  set: string;
  expect: string | number;
}

function configure(db: SqliteDatabase, path: string, pragmas: Record<string, PragmaExpectation>): void {
  const wrong: string[] = [];
  for (const [name, { set, expect }] of Object.entries(pragmas)) {
    db.pragma(`${name} = ${set}`);
    // Read back with a separate statement: the value the setter returns is not always the
    // effective one (e.g. synchronous returns nothing).
    const actual: unknown = db.pragma(name, { simple: true });
    const matches =
      typeof expect === 'string' ? String(actual).toLowerCase() === expect : Number(actual) === expect;
    if (!matches) wrong.push(`${name} is ${String(actual)}, expected ${String(expect)}`);
  }
  if (wrong.length > 0) {
    throw new StoreError(
      'STORE_MISCONFIGURED',
      `database ${path} refused its settings: ${wrong.join('; ')}`,
      {
        file: path,
      },
    );
  }
}

/**
 * PRAGMA quick_check verifies page structure, not index contents, so it stays fast enough to run
 * at every start on a bounded database (integrity_check is O(N log N) and can take minutes).
 */
function checkIntegrity(db: SqliteDatabase, path: string): void {
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    throw new StoreError('STORE_CORRUPT', `database ${path} failed quick_check: ${shown}`, { file: path });
  }
}

function classify(error: unknown, path: string, what: string): StoreError {
  const reason = error instanceof Error ? error.message : String(error);
  if (isCorruptionError(error)) {
    return new StoreError('STORE_CORRUPT', `database ${path} is damaged: ${reason}`, {
      file: path,
      cause: error,
    });
  }
  return new StoreError('STORE_OPEN_FAILED', `${what} ${path}: ${reason}`, { file: path, cause: error });
}
