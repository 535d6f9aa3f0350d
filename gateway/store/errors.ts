/**
 * Errors of the store area (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable code from
 * the area's catalogue, listed in docs/errors.md). The gateway refuses to run on a database it cannot trust (docs/storage.md, "Quarantine"),
 * so most of these end start-up; the code tells the operator (and the quarantine logic,
 * quarantine.ts) why.
 */
import { KerbsideError, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';

export const STORE_ERRORS = {
  STORE_OPEN_FAILED: {
    means: 'The database file could not be opened or created (permissions, missing directory).',
  },
  STORE_MISCONFIGURED: { means: 'A pragma did not read back as set (e.g. journal_mode is not wal).' },
  STORE_CORRUPT: { means: 'quick_check failed, or SQLite says the file is not a (sound) database.' },
  STORE_TOO_NEW: { means: 'The schema version is newer than this code knows (a downgrade).' },
  STORE_MIGRATION_FAILED: { means: 'A migration failed; its transaction was rolled back.' },
  // The next three leave nothing of the failed commit behind. Retrying the same input may
  // succeed after WRITE_FAILED (disk full, I/O error) and OUTBOX_FULL (once the cloud
  // acknowledges), never after INVALID_INPUT (a value the schema refuses: a programming error).
  STORE_WRITE_FAILED: {
    means:
      'A commit failed (disk full, I/O error) and left nothing behind; the same input may succeed later.',
  },
  STORE_DISK_FULL: { means: 'A write failed for want of space even after the storage reserve was released.' },
  STORE_OUTBOX_FULL: {
    means: 'A never-evicted outbox class reached its quota; retry once the cloud acknowledges.',
  },
  STORE_INVALID_INPUT: {
    means: 'A value the schema refuses (a programming error); nothing was stored and a retry cannot help.',
  },
  STORE_ACK_INVALID: { means: 'An acknowledgement names a seq this database never assigned.' },
  STORE_QUARANTINE_FAILED: { means: 'A damaged database could not be moved aside.' },
  STORE_CLOSED: { means: 'The store was used after close().' },
} as const satisfies ErrorCatalogue<string>;

export type StoreErrorCode = keyof typeof STORE_ERRORS;

export interface StoreErrorDetails {
  /** Database file the error is about. */
  file?: string;
  cause?: unknown;
}

export class StoreError extends KerbsideError<StoreErrorCode> {
  override readonly name = 'StoreError';
  readonly file: string | undefined;

  constructor(code: StoreErrorCode, message: string, details: StoreErrorDetails = {}) {
    super(STORE_ERRORS, code, message, { cause: details.cause });
    this.file = details.file;
  }
}

export function isStoreError(value: unknown, code?: StoreErrorCode): value is StoreError {
  return value instanceof StoreError && (code === undefined || value.code === code);
}

/** SQLite result codes meaning the file itself is damaged or not a database. */
const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** better-sqlite3 throws SqliteError with a string `code` such as 'SQLITE_CORRUPT_INDEX'. */
export function isCorruptionError(error: unknown): boolean {
  if (!(error instanceof Error) || !('code' in error) || typeof error.code !== 'string') return false;
  const code = error.code;
  return [...CORRUPTION_CODES].some((c) => code === c || code.startsWith(`${c}_`));
}

/** A constraint (CHECK, NOT NULL, UNIQUE, FOREIGN KEY) refused a value: retrying cannot help. */
export function isConstraintError(error: unknown): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('SQLITE_CONSTRAINT')
  );
}

/** SQLite's "database or disk is full" (SQLITE_FULL), or the store's own STORE_DISK_FULL. */
export function isDiskFull(error: unknown): boolean {
  if (isStoreError(error, 'STORE_DISK_FULL')) return true;
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('SQLITE_FULL')
  );
}
