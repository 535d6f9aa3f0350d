/**
 * Minute and hour aggregates of numeric readings (tables readings_1m / readings_1h), kept far
 * longer than raw readings. A commit folds its readings per (series, period) in memory first
 * and then upserts each cell once, so a cycle costs one statement per series and period, not
 * one per reading. Periods are aligned on the uptime clock; migrations/gateway.ts says why.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export const AGGREGATE_PERIODS = [
  { table: 'readings_1m', periodMs: 60_000 },
  { table: 'readings_1h', periodMs: 3_600_000 },
] as const;

type AggregateTable = (typeof AGGREGATE_PERIODS)[number]['table'];

interface Cell {
  table: AggregateTable;
  seriesId: number;
  periodStartMono: number;
  periodStartWall: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

type UpsertStatement = Database.Statement<[number, number, number, number, number, number, number]>;

export class AggregateWriter {
  private readonly upserts: Record<AggregateTable, UpsertStatement>;

  constructor(db: SqliteDatabase) {
    const prepare = (table: AggregateTable): UpsertStatement =>
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
    this.upserts = { readings_1m: prepare('readings_1m'), readings_1h: prepare('readings_1h') };
  }

  /** A fresh accumulator for one commit. */
  batch(): AggregateBatch {
    return new AggregateBatch(this.upserts);
  }
}

export class AggregateBatch {
  private readonly cells = new Map<string, Cell>();

  constructor(private readonly upserts: Record<AggregateTable, UpsertStatement>) {}

  /** One numeric reading at `monoMs` (uptime clock) and `wallMs`. */
  add(seriesId: number, monoMs: number, wallMs: number, value: number): void {
    for (const { table, periodMs } of AGGREGATE_PERIODS) {
      const periodStartMono = Math.floor(monoMs / periodMs) * periodMs;
      const key = `${table}:${seriesId}:${periodStartMono}`;
      const cell = this.cells.get(key);
      if (cell === undefined) {
        this.cells.set(key, {
          table,
          seriesId,
          periodStartMono,
          // Kept from the period's first row only (the upsert does not overwrite it).
          periodStartWall: Math.round(wallMs - (monoMs - periodStartMono)),
          min: value,
          max: value,
          sum: value,
          count: 1,
        });
        continue;
      }
      cell.min = Math.min(cell.min, value);
      cell.max = Math.max(cell.max, value);
      cell.sum += value;
      cell.count += 1;
    }
  }

  /** Upserts every cell (inside the caller's transaction). Returns the number of cells. */
  write(): number {
    for (const c of this.cells.values()) {
      this.upserts[c.table].run(
        c.seriesId,
        c.periodStartMono,
        c.periodStartWall,
        c.min,
        c.max,
        c.sum,
        c.count,
      );
    }
    return this.cells.size;
  }
}
