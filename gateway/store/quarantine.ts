/**
 * A damaged database is moved aside, not repaired and not run on (docs/storage.md): the
 * gateway starts on a fresh database with a new epoch, so the cloud never confuses old and new
 * sequence numbers, and reports what was lost. The damaged file is kept for diagnosis as
 * `<name>.corrupt-<timestamp>` (with its -wal and -shm), the newest few copies only, so a
 * failing SD card that corrupts the database at every boot cannot fill the disk with copies.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, isCorruptionError, isStoreError } from './errors.js';

export interface QuarantineReport {
  /** The damaged database. */
  file: string;
  /** Where it now is. */
  quarantinedAs: string;
  /** Every file moved: the database and its -wal / -shm when present. */
  movedFiles: string[];
  /** Why it was judged damaged. */
  reason: string;
  /** What the damaged database held, as far as it could still be read (null: unreadable). */
  lostEpoch: string | null;
  /**
   * Per uplink lane, the highest seq it had assigned and the highest the cloud had acknowledged:
   * events in between were lost. Empty when unreadable.
   */
  lostLanes: LostLane[];
  /** Why the facts above could not be read, or null. */
  inspectError: string | null;
  /** Older quarantined copies deleted to stay within the limit, and why that failed if it did. */
  removedCopies: string[];
  pruneError: string | null;
}

export interface LostLane {
  lane: string;
  lastSeq: number;
  ackedSeq: number;
}

/** Companion files SQLite keeps next to a database. */
const COMPANIONS = ['-wal', '-shm', '-journal'] as const;

/**
 * True for the errors that mean "this file is damaged": quick_check failed, SQLite says it is
 * not a database, or a migration hit corruption. Not for a misconfiguration, a database written
 * by newer code, or a file that cannot be opened: moving those aside would throw away good data.
 */
export function shouldQuarantine(error: unknown): boolean {
  if (isStoreError(error, 'STORE_CORRUPT')) return true;
  return isStoreError(error, 'STORE_MIGRATION_FAILED') && isCorruptionError(error.cause);
}

/**
 * Reads what it can of the damaged database, moves it and its companions aside and makes the
 * renames durable. Throws StoreError STORE_QUARANTINE_FAILED when the file cannot be moved (the
 * gateway must then not start: it would run on, or overwrite, the damaged file).
 */
export function quarantineDatabase(
  path: string,
  reason: string,
  wallMs: number,
  keepCopies: number,
): QuarantineReport {
  const facts = inspect(path);
  const quarantinedAs = freeName(`${path}.corrupt-${stamp(wallMs)}`);
  const movedFiles: string[] = [];
  try {
    if (existsSync(path)) {
      renameSync(path, quarantinedAs);
      movedFiles.push(quarantinedAs);
    }
    for (const suffix of COMPANIONS) {
      if (!existsSync(path + suffix)) continue;
      renameSync(path + suffix, quarantinedAs + suffix);
      movedFiles.push(quarantinedAs + suffix);
    }
    // A rename is a change to the directory; without this fsync a power cut could bring the
    // damaged file back under its old name next to the fresh one's journal.
    syncDirectory(dirname(path));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new StoreError('STORE_QUARANTINE_FAILED', `cannot move damaged database ${path} aside: ${why}`, {
      file: path,
      cause: error,
    });
  }
  // The damaged file is safely aside; failing to delete an older copy must not stop the start.
  const removedCopies: string[] = [];
  let pruneError: string | null = null;
  try {
    removedCopies.push(...pruneCopies(path, keepCopies));
  } catch (error) {
    pruneError = error instanceof Error ? error.message : String(error);
  }
  return { file: path, quarantinedAs, movedFiles, reason, ...facts, removedCopies, pruneError };
}

interface DamagedFacts {
  lostEpoch: string | null;
  lostLanes: LostLane[];
  inspectError: string | null;
}

/** Best effort: a damaged file may still answer these small queries, or may not. */
function inspect(path: string): DamagedFacts {
  const facts: DamagedFacts = { lostEpoch: null, lostLanes: [], inspectError: null };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const meta = db.prepare<[string], unknown>('SELECT value FROM store_meta WHERE key = ?').pluck();
    const epoch = meta.get('epoch');
    facts.lostEpoch = typeof epoch === 'string' ? epoch : null;
    facts.lostLanes = db
      .prepare<[], LostLane>(
        'SELECT lane, last_seq AS lastSeq, acked_seq AS ackedSeq FROM outbox_lanes ORDER BY lane',
      )
      .all();
  } catch (error) {
    facts.inspectError = error instanceof Error ? error.message : String(error);
  } finally {
    db?.close();
  }
  return facts;
}

/** 2025-03-01T12:34:56.789Z -> 20250301T123456Z (no ':' in file names). */
function stamp(wallMs: number): string {
  const date = new Date(Number.isFinite(wallMs) ? wallMs : 0);
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Two quarantines within one second (or a clock set back) must not overwrite each other. */
function freeName(candidate: string): string {
  let name = candidate;
  for (let n = 1; existsSync(name) || COMPANIONS.some((s) => existsSync(name + s)); n++)
    name = `${candidate}-${n}`;
  return name;
}

/**
 * Keeps the newest `keep` quarantined copies. "Newest" goes by the timestamp in the name, i.e. by
 * the wall clock at the time of quarantine: imperfect on a cabinet without a trusted clock, but
 * it only decides which old damaged copy to delete.
 */
function pruneCopies(path: string, keep: number): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.corrupt-`;
  const copies = readdirSync(dir)
    .filter((name) => name.startsWith(prefix) && !COMPANIONS.some((s) => name.endsWith(s)))
    .sort();
  const removed: string[] = [];
  for (const name of copies.slice(0, Math.max(0, copies.length - keep))) {
    for (const file of [name, ...COMPANIONS.map((s) => name + s)]) {
      const full = join(dir, file);
      if (!existsSync(full)) continue;
      rmSync(full, { force: true });
      removed.push(full);
    }
  }
  return removed;
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
