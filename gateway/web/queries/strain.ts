/**
 * Strain reads for the strain page (docs/strain.md):
 * - the raw windows kept around overweight events (raw_windows, raw_window_readings: the copies
 *   outlive raw retention), by window id through their primary keys;
 * - minute statistics from readings_1m when the gateway has none in memory yet (after a restart):
 *   min, max and mean of the stored strain readings (before temperature compensation, and without
 *   an RMS, which the aggregates do not keep).
 */
import type { SqliteDatabase } from '../../store/database.js';

/** A strain channel is a point named strain_N (gateway/strain/analyzer.ts). */
export const STRAIN_POINT = /^strain_\d+$/;

export interface WindowRow {
  id: string;
  reason: string;
  createdWallMs: number;
}

/** The newest `limit` windows of a device (index raw_windows_created, filtered by device). */
export function recentWindows(db: SqliteDatabase, deviceId: string, limit: number): WindowRow[] {
  return db
    .prepare<[string, number], WindowRow>(
      `SELECT id, reason, created_wall_ms AS createdWallMs FROM raw_windows
       WHERE device_id = ? ORDER BY created_mono_ms DESC LIMIT ?`,
    )
    .all(deviceId, limit);
}

export interface WindowSeries {
  /** Wall times, one per poll in the window, ascending. */
  t: number[];
  /** Strain channel -> value at each t (null where the channel had no reading in that poll). */
  series: Record<string, Array<number | null>>;
}

/** The strain channels of one kept window, as columns (null when the window is unknown or empty). */
export function windowSeries(db: SqliteDatabase, windowId: string): WindowSeries | null {
  const rows = db
    .prepare<[string], { pointKey: string; wallMs: number; value: number | null }>(
      `SELECT s.point_key AS pointKey, r.wall_ms AS wallMs, r.value
       FROM raw_window_readings r JOIN series s ON s.id = r.series_id
       WHERE r.window_id = ? ORDER BY r.reading_seq`,
    )
    .all(windowId)
    .filter((r) => STRAIN_POINT.test(r.pointKey));
  if (rows.length === 0) return null;
  const times = [...new Set(rows.map((r) => r.wallMs))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series: Record<string, Array<number | null>> = {};
  for (const row of rows) {
    const column = (series[row.pointKey] ??= times.map(() => null));
    const i = index.get(row.wallMs);
    if (i !== undefined) column[i] = row.value;
  }
  return { t: times, series };
}

export interface MinuteRow {
  pointKey: string;
  wallMs: number;
  min: number;
  max: number;
  mean: number;
  count: number;
}

/** The 1-minute aggregates of a device's strain channels since `fromMonoMs` (uptime clock). */
export function strainMinuteAggregates(
  db: SqliteDatabase,
  deviceId: string,
  fromMonoMs: number,
): MinuteRow[] {
  const series = db
    .prepare<[string], { id: number; pointKey: string }>(
      'SELECT id, point_key AS pointKey FROM series WHERE device_id = ?',
    )
    .all(deviceId)
    .filter((s) => STRAIN_POINT.test(s.pointKey));
  const read = db.prepare<[number, number], Omit<MinuteRow, 'pointKey'>>(
    `SELECT period_start_wall AS wallMs, min_value AS min, max_value AS max,
            sum_value / value_count AS mean, value_count AS count
     FROM readings_1m WHERE series_id = ? AND period_start_mono >= ? ORDER BY period_start_mono`,
  );
  return series.flatMap((s) => read.all(s.id, fromMonoMs).map((row) => ({ ...row, pointKey: s.pointKey })));
}
