/**
 * Minute and hour aggregates of numeric readings (tables readings_1m / readings_1h), kept far
 * longer than raw readings.
 *
 * Why a minute is written once, when it has ended, and not upserted at every commit: each
 * series' row sits on its own B-tree page, so upserting 150 series touches ~150 pages per commit
 * for the minute table and again for the hour table. Measured on 150 points per commit that
 * doubled the WAL written per commit (183 -> 343 pages of 4 KiB), i.e. flash wear and fsync time
 * at synchronous=FULL (docs/storage.md). Folding the readings of the current minute in memory and
 * writing each minute once costs those pages once a minute instead.
 *
 * The price: the current minute lives in memory. close() writes it; a crash or power cut loses
 * the aggregate of at most the current minute (the raw readings themselves are committed). An
 * hour row is the sum of its minutes, upserted as each minute is written, so it is complete up
 * to the last written minute. Periods are aligned on the uptime clock (migrations/gateway.ts).
 *
 * The in-memory state follows the transaction: a commit stages its readings; only after COMMIT
 * does the stage join the open minutes, and written minutes leave them. A rolled-back commit
 * changes nothing here.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** A minute is written this long after it ended: a poll may be committed a cycle or two late. */
const LATE_POLL_MS = 5_000;

interface Cell {
  seriesId: number;
  /** Start of the minute, uptime clock. */
  periodStartMono: number;
  /** Wall time of that start, estimated from the minute's first reading (display only). */
  periodStartWall: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

/** This commit's contribution; see the module comment. */
export class AggregateStage {
  readonly cells = new Map<string, Cell>();

  /** One numeric reading at `monoMs` (uptime clock) and `wallMs`. */
  add(seriesId: number, monoMs: number, wallMs: number, value: number): void {
    const periodStartMono = Math.floor(monoMs / MINUTE_MS) * MINUTE_MS;
    const key = `${seriesId}:${periodStartMono}`;
    const cell = this.cells.get(key);
    if (cell === undefined) {
      this.cells.set(key, {
        seriesId,
        periodStartMono,
        periodStartWall: Math.round(wallMs - (monoMs - periodStartMono)),
        min: value,
        max: value,
        sum: value,
        count: 1,
      });
      return;
    }
    merge(cell, { min: value, max: value, sum: value, count: 1 });
  }
}

type UpsertStatement = Database.Statement<[number, number, number, number, number, number, number]>;

export class Aggregates {
  /** Minutes not written yet, by `${seriesId}:${periodStartMono}`. */
  private readonly open = new Map<string, Cell>();
  private readonly upsertMinute: UpsertStatement;
  private readonly upsertHour: UpsertStatement;

  constructor(db: SqliteDatabase) {
    // The upsert also serves a minute written twice: at close() and again after the restart, when
    // the uptime clock resumes inside the same minute, or for a poll committed very late.
    const prepare = (table: 'readings_1m' | 'readings_1h'): UpsertStatement =>
      db.prepare(
        `INSERT INTO ${table}
           (series_id, period_start_mono, period_start_wall, min_value, max_value, sum_value, value_count)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (series_id, period_start_mono) DO UPDATE SET
           min_value = min(min_value, excluded.min_value),
           max_value = max(max_value, excluded.max_value),
           sum_value = sum_value + excluded.sum_value,
           value_count = value_count + excluded.value_count`,
      );
    this.upsertMinute = prepare('readings_1m');
    this.upsertHour = prepare('readings_1h');
  }

  stage(): AggregateStage {
    return new AggregateStage();
  }

  /**
   * Inside the commit's transaction: writes every minute (open or staged) that ended before
   * `nowMono` (less the late-poll allowance), or every minute when `all` (at close). Returns the
   * keys written, for commit().
   */
  writeEnded(stage: AggregateStage, nowMono: number, all = false): Set<string> {
    const written = new Set<string>();
    for (const key of new Set([...this.open.keys(), ...stage.cells.keys()])) {
      const open = this.open.get(key);
      const staged = stage.cells.get(key);
      const cell = open === undefined ? staged : staged === undefined ? open : merge({ ...open }, staged);
      if (cell === undefined) continue;
      if (!all && cell.periodStartMono + MINUTE_MS + LATE_POLL_MS > nowMono) continue;
      this.write(cell);
      written.add(key);
    }
    return written;
  }

  /** After COMMIT: the stage joins the open minutes, the written ones leave. */
  commit(stage: AggregateStage, written: ReadonlySet<string>): void {
    for (const [key, cell] of stage.cells) {
      if (written.has(key)) continue;
      const open = this.open.get(key);
      if (open === undefined) this.open.set(key, { ...cell });
      else merge(open, cell);
    }
    for (const key of written) this.open.delete(key);
  }

  /** Minutes held in memory (stats). */
  openMinutes(): number {
    return this.open.size;
  }

  private write(c: Cell): void {
    this.upsertMinute.run(c.seriesId, c.periodStartMono, c.periodStartWall, c.min, c.max, c.sum, c.count);
    const hourStartMono = Math.floor(c.periodStartMono / HOUR_MS) * HOUR_MS;
    const hourStartWall = c.periodStartWall - (c.periodStartMono - hourStartMono);
    this.upsertHour.run(c.seriesId, hourStartMono, hourStartWall, c.min, c.max, c.sum, c.count);
  }
}

function merge<T extends Pick<Cell, 'min' | 'max' | 'sum' | 'count'>>(
  into: T,
  from: Pick<Cell, 'min' | 'max' | 'sum' | 'count'>,
): T {
  into.min = Math.min(into.min, from.min);
  into.max = Math.max(into.max, from.max);
  into.sum += from.sum;
  into.count += from.count;
  return into;
}
