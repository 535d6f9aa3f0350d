/**
 * Trend reads for the device page (docs/storage.md; issue 13, part 2: reads through short read
 * transactions on the read connection, never blocking the event loop for long).
 *
 * - 1-minute and 1-hour resolutions read readings_1m / readings_1h by their primary key
 *   (series_id, period_start_mono): an index range of at most ~2,000 rows.
 * - Raw: `readings` has NO index by series (migrations/readings.ts says why: flash wear), so a
 *   raw span is found by a binary search over seq (the rowid; uptime stamps rise with it) for its
 *   first and last row, then scanned forward by seq, filtered by series_id, in chunks of
 *   CHUNK_ROWS rows: each chunk is its own short read transaction, and the event loop gets a turn
 *   between chunks (setImmediate), so a long span never holds the loop or the WAL.
 * - At most MAX_POINTS points per answer: a longer raw span is thinned to min/max buckets (each
 *   bucket keeps its mean, minimum and maximum, so a spike survives the thinning).
 *
 * Spans are on the store's uptime clock (period_start_mono, mono_ms), which never jumps; the
 * times answered are the wall times stored with each row, for display.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from '../../store/database.js';

export type TrendResolution = 'raw' | '1m' | '1h';

/** The most points one answer carries (uPlot draws 2,000 points on a phone without effort). */
export const MAX_POINTS = 2_000;
/** Rows of `readings` read per read transaction of a raw scan. */
export const CHUNK_ROWS = 10_000;
/**
 * The polls of one cycle may come from several buses a little out of order, so uptime stamps
 * rise with seq only roughly: the search starts this much earlier and ends this much later, and
 * the rows are then filtered by their own stamps (the same slack as store/raw-windows.ts).
 */
const ORDER_SLACK_MS = 60_000;

/** Longest span read raw; beyond it 1-minute aggregates (a zoomed span takes the finest that fits). */
export const RAW_MAX_SPAN_MS = 3 * 3_600_000;
/** Longest span read from 1-minute aggregates: MAX_POINTS minutes. */
export const MINUTE_MAX_SPAN_MS = MAX_POINTS * 60_000;

export interface TrendColumns {
  t: number[];
  mean: Array<number | null>;
  min: Array<number | null>;
  max: Array<number | null>;
}

export interface TrendSpan {
  /** Inclusive, on the store's uptime clock. */
  fromMonoMs: number;
  toMonoMs: number;
}

/** One short read transaction on the read-only connection (WebStorePort.read). */
export type ReadFn = <T>(fn: (db: SqliteDatabase) => T) => T;

/** The finest resolution whose points for `spanMs` fit in an answer (raw is thinned, never refused). */
export function resolutionFor(spanMs: number): TrendResolution {
  if (spanMs <= RAW_MAX_SPAN_MS) return 'raw';
  if (spanMs <= MINUTE_MAX_SPAN_MS) return '1m';
  return '1h';
}

type Statement<P extends unknown[], R> = Database.Statement<P, R>;

interface Statements {
  series: Statement<[string, string], number>;
  seqBounds: Statement<[], { lo: number | null; hi: number | null }>;
  atOrAfter: Statement<[number], { seq: number; mono: number }>;
  chunk: Statement<[number, number, number], { wall: number; mono: number; value: number | null }>;
  minutes: Statement<[number, number, number], AggregateRow>;
  hours: Statement<[number, number, number], AggregateRow>;
}

interface AggregateRow {
  wall: number;
  min: number;
  max: number;
  mean: number;
}

/** Statements per connection: the read connection lives as long as the store. */
const cache = new WeakMap<SqliteDatabase, Statements>();

function statements(db: SqliteDatabase): Statements {
  let s = cache.get(db);
  if (s !== undefined) return s;
  const aggregate = (
    table: 'readings_1m' | 'readings_1h',
  ): Statement<[number, number, number], AggregateRow> =>
    db.prepare<[number, number, number], AggregateRow>(
      `SELECT period_start_wall AS wall, min_value AS min, max_value AS max,
              sum_value / value_count AS mean
       FROM ${table} WHERE series_id = ? AND period_start_mono BETWEEN ? AND ?
       ORDER BY period_start_mono`,
    );
  s = {
    series: db
      .prepare<[string, string], number>('SELECT id FROM series WHERE device_id = ? AND point_key = ?')
      .pluck(),
    // Two subqueries: SQLite answers a lone MIN() or MAX() of the rowid from the B-tree's ends,
    // but MIN and MAX in one select scan the whole table (sqlite.org/optoverview.html, "The MIN/MAX
    // optimization"): 65 ms instead of microseconds on 864,000 rows.
    seqBounds: db.prepare<[], { lo: number | null; hi: number | null }>(
      'SELECT (SELECT MIN(seq) FROM readings) AS lo, (SELECT MAX(seq) FROM readings) AS hi',
    ),
    atOrAfter: db.prepare<[number], { seq: number; mono: number }>(
      'SELECT seq, mono_ms AS mono FROM readings WHERE seq >= ? ORDER BY seq LIMIT 1',
    ),
    chunk: db.prepare<[number, number, number], { wall: number; mono: number; value: number | null }>(
      `SELECT wall_ms AS wall, mono_ms AS mono, value FROM readings
       WHERE seq BETWEEN ? AND ? AND series_id = ? ORDER BY seq`,
    ),
    minutes: aggregate('readings_1m'),
    hours: aggregate('readings_1h'),
  };
  cache.set(db, s);
  return s;
}

/** The series id of a point, or null when it was never stored. */
export function seriesIdOf(db: SqliteDatabase, deviceId: string, pointKey: string): number | null {
  return statements(db).series.get(deviceId, pointKey) ?? null;
}

/** 1-minute or 1-hour aggregates of one series over a span: one index range read. */
export function aggregateTrend(
  db: SqliteDatabase,
  resolution: '1m' | '1h',
  seriesId: number,
  span: TrendSpan,
): TrendColumns {
  const s = statements(db);
  const rows = (resolution === '1m' ? s.minutes : s.hours).all(seriesId, span.fromMonoMs, span.toMonoMs);
  return thin(
    rows.map((r) => ({ t: r.wall, mean: r.mean, min: r.min, max: r.max })),
    MAX_POINTS,
  );
}

/**
 * Raw readings of one series over a span, thinned to at most `maxPoints` min/max buckets.
 * Asynchronous: chunk by chunk, each in its own read transaction, with a turn of the event loop
 * between chunks.
 */
export async function rawTrend(
  read: ReadFn,
  seriesId: number,
  span: TrendSpan,
  maxPoints = MAX_POINTS,
): Promise<TrendColumns> {
  const bounds = read((db) => seqSpan(db, span));
  const samples: Sample[] = [];
  if (bounds === null) return thin(samples, maxPoints);
  for (let from = bounds.first; from <= bounds.last; from += CHUNK_ROWS) {
    const to = Math.min(bounds.last, from + CHUNK_ROWS - 1);
    const rows = read((db) => statements(db).chunk.all(from, to, seriesId));
    for (const row of rows)
      if (row.mono >= span.fromMonoMs && row.mono <= span.toMonoMs)
        samples.push({ t: row.wall, mean: row.value, min: row.value, max: row.value });
    if (to < bounds.last) await nextTurn();
  }
  return thin(samples, maxPoints);
}

/** First and last seq that may hold a reading of the span (with the ordering slack), or null. */
export function seqSpan(db: SqliteDatabase, span: TrendSpan): { first: number; last: number } | null {
  const s = statements(db);
  const bounds = s.seqBounds.get();
  if (bounds?.lo == null || bounds.hi == null) return null;
  const first = firstSeqAtOrAfter(s, bounds.lo, bounds.hi, span.fromMonoMs - ORDER_SLACK_MS);
  // The last seq whose stamp is at most the end: one before the first that is beyond it.
  const beyond = firstSeqAtOrAfter(s, bounds.lo, bounds.hi, span.toMonoMs + ORDER_SLACK_MS + 1);
  const last = beyond - 1;
  return first > last ? null : { first, last };
}

/**
 * The smallest seq whose uptime stamp is at least `monoMs` (hi + 1 when none): a binary search by
 * rowid, ~log2(rows) index seeks, robust to holes in seq (retention deletes from the bottom).
 */
function firstSeqAtOrAfter(s: Statements, lo: number, hi: number, monoMs: number): number {
  let low = lo;
  let high = hi + 1;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    const row = s.atOrAfter.get(mid);
    if (row === undefined || row.seq >= high) high = mid;
    else if (row.mono < monoMs) low = row.seq + 1;
    else high = mid;
  }
  return low;
}

interface Sample {
  t: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

/**
 * At most `maxPoints` points: consecutive samples grouped into equal-count buckets, each giving its
 * first time, mean, minimum and maximum (null values ignored; a bucket of nulls stays null).
 */
export function thin(samples: readonly Sample[], maxPoints: number): TrendColumns {
  const out: TrendColumns = { t: [], mean: [], min: [], max: [] };
  const size = Math.max(1, Math.ceil(samples.length / maxPoints));
  for (let start = 0; start < samples.length; start += size) {
    const bucket = samples.slice(start, start + size);
    const first = bucket[0];
    if (first === undefined) continue;
    let sum = 0;
    let count = 0;
    let min: number | null = null;
    let max: number | null = null;
    for (const sample of bucket) {
      if (sample.mean !== null) {
        sum += sample.mean;
        count++;
      }
      if (sample.min !== null) min = min === null ? sample.min : Math.min(min, sample.min);
      if (sample.max !== null) max = max === null ? sample.max : Math.max(max, sample.max);
    }
    out.t.push(first.t);
    out.mean.push(count === 0 ? null : sum / count);
    out.min.push(min);
    out.max.push(max);
  }
  return out;
}
