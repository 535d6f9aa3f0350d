/**
 * Writing poll results as `polls` and `readings` rows (schema: migrations/readings.ts). Shared by
 * the GatewayStore and the older ReadingWriter so both store a poll the same way. Every function
 * runs inside the caller's transaction: nothing here commits.
 */
import type Database from 'better-sqlite3';
import type { DevicePollResult } from '../bus/types.js';
import type { SqliteDatabase } from './database.js';

/** Codes of polls.quality and readings.quality (see migrations/readings.ts). */
export const POLL_QUALITY = { good: 0, partial: 1, failed: 2 } as const;
export const READING_QUALITY = { good: 0, partial: 1, bad: 2 } as const;

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export interface ReadingStatements {
  findSeries: Statement<[string, string], number>;
  insertSeries: Statement<[string, string]>;
  insertReading: Statement<[number, number, number, number | null, number]>;
  insertPoll: Statement<[string, string, number, number, number, number, number, string | null]>;
}

export function prepareReadingStatements(db: SqliteDatabase): ReadingStatements {
  return {
    findSeries: db
      .prepare<[string, string], number>('SELECT id FROM series WHERE device_id = ? AND point_key = ?')
      .pluck(),
    insertSeries: db.prepare<[string, string]>('INSERT INTO series (device_id, point_key) VALUES (?, ?)'),
    insertReading: db.prepare<[number, number, number, number | null, number]>(
      'INSERT INTO readings (series_id, wall_ms, mono_ms, value, quality) VALUES (?, ?, ?, ?, ?)',
    ),
    insertPoll: db.prepare<[string, string, number, number, number, number, number, string | null]>(
      `INSERT INTO polls (bus_id, device_id, wall_ms, mono_ms, quality, reading_count, error_count, first_error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
}

/**
 * Series ids by (device, point). Ids created inside a transaction that later rolls back do not
 * exist, so they are held apart until the caller says the transaction committed.
 */
export class SeriesCache {
  private readonly committed = new Map<string, number>();
  private readonly pending = new Map<string, number>();

  idFor(statements: ReadingStatements, deviceId: string, pointKey: string): number {
    // NUL cannot occur in ids, so the joined key is unambiguous.
    const key = `${deviceId}\u0000${pointKey}`;
    const cached = this.committed.get(key) ?? this.pending.get(key);
    if (cached !== undefined) return cached;
    const id =
      statements.findSeries.get(deviceId, pointKey) ??
      Number(statements.insertSeries.run(deviceId, pointKey).lastInsertRowid);
    this.pending.set(key, id);
    return id;
  }

  /** The transaction committed: its ids are real. */
  commit(): void {
    for (const [key, id] of this.pending) this.committed.set(key, id);
    this.pending.clear();
  }

  /** The transaction rolled back: forget the ids it created. */
  rollback(): void {
    this.pending.clear();
  }
}

/** Called for every stored numeric (not boolean, not NaN) value, e.g. to feed the aggregates. */
export type NumericReadingVisitor = (seriesId: number, value: number) => void;

/**
 * Inserts one `polls` row and one `readings` row per value, stamped with `monoMs` (uptime
 * clock). Returns the number of readings written.
 */
export function insertPollResult(
  statements: ReadingStatements,
  series: SeriesCache,
  result: DevicePollResult,
  monoMs: number,
  onNumeric?: NumericReadingVisitor,
): number {
  const wallMs = Math.round(result.wallTimeMs);
  const readingQuality = result.quality === 'good' ? READING_QUALITY.good : READING_QUALITY.partial;
  const firstError = result.errors[0];
  statements.insertPoll.run(
    result.busId,
    result.deviceId,
    wallMs,
    monoMs,
    POLL_QUALITY[result.quality],
    result.readings.length,
    result.errors.length,
    firstError === undefined ? null : `${firstError.code}: ${firstError.message}`,
  );
  for (const reading of result.readings) {
    const seriesId = series.idFor(statements, result.deviceId, reading.key);
    const value = typeof reading.value === 'boolean' ? (reading.value ? 1 : 0) : reading.value;
    // SQLite turns NaN into NULL; a float register holding NaN is how many sensors say "fault",
    // so it is kept, as NULL with its own quality, rather than dropped or left to fail the batch.
    if (Number.isNaN(value)) {
      statements.insertReading.run(seriesId, wallMs, monoMs, null, READING_QUALITY.bad);
      continue;
    }
    statements.insertReading.run(seriesId, wallMs, monoMs, value, readingQuality);
    // Booleans are stored as 0/1 but are states, not measurements: a mean of them is a duty
    // cycle, which the aggregates do not promise. Infinity cannot be averaged either.
    if (typeof reading.value === 'number' && Number.isFinite(value)) onNumeric?.(seriesId, value);
  }
  return result.readings.length;
}
