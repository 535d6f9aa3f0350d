/**
 * Errors of the store area (ARCHITECTURE.md, "Invariants": one error class per area with a stable
 * code). The gateway refuses to run on a database it cannot trust (docs/storage.md, "Quarantine"),
 * so most of these end start-up; the code tells the operator (and the quarantine logic,
 * quarantine.ts) why.
 */

export type StoreErrorCode =
  | 'STORE_OPEN_FAILED' // the file could not be opened or created (permissions, missing directory)
  | 'STORE_MISCONFIGURED' // a pragma did not read back as set (e.g. journal_mode is not wal)
  | 'STORE_CORRUPT' // quick_check failed, or SQLite says the file is not a (sound) database
  | 'STORE_TOO_NEW' // the schema version is newer than this code knows (a downgrade)
  | 'STORE_MIGRATION_FAILED' // a migration failed; the transaction was rolled back
  // The next three leave nothing of the failed commit behind. Retrying the same input may
  // succeed after WRITE_FAILED (disk full, I/O error) and OUTBOX_FULL (once the cloud
  // acknowledges), never after INVALID_INPUT (a value the schema refuses: a programming error).
  | 'STORE_WRITE_FAILED'
  | 'STORE_DISK_FULL' // a write failed for want of space even after the storage reserve was released
  | 'STORE_OUTBOX_FULL' // a never-evicted outbox class reached its quota
  | 'STORE_INVALID_INPUT'
  | 'STORE_ACK_INVALID' // an acknowledgement names a seq this database never assigned
  | 'STORE_QUARANTINE_FAILED' // a damaged database could not be moved aside
  | 'STORE_CLOSED'; // the store was used after close()

export interface StoreErrorDetails {
  /** Database file the error is about. */
  file?: string;
  cause?: unknown;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly file: string | undefined;

  constructor(code: StoreErrorCode, message: string, details: StoreErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
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
