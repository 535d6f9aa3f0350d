/**
 * The cabinet-ui benchmark's history (issue 13): 24 hours of 1-second readings of `points` points
 * of one device, with their minute and hour aggregates, written into a new kerbside.db before the
 * gateway opens it. The store makes the schema (openGatewayStore migrates and closes); the rows go
 * in with plain INSERTs in one transaction, far faster than 86,400 commit cycles, shaped exactly as
 * the store writes them (series, readings, readings_1m, readings_1h) and with the uptime clock's
 * stored mark at the end of the seeded day, so the gateway's own readings follow them.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pino } from 'pino';
import { openGatewayStore } from '../../gateway/store/event-store.js';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface SeedOptions {
  dataDir: string;
  deviceId: string;
  pointKeys: readonly string[];
  /** Wall time of the last seeded reading (default now). */
  endWallMs?: number;
}

/** A smooth daily curve with some noise, per point, so the charts have something to draw. */
function valueAt(pointIndex: number, second: number): number {
  const daily = Math.sin((2 * Math.PI * second) / 86_400 + pointIndex);
  const wobble = Math.sin((2 * Math.PI * second) / 600 + pointIndex * 3) * 0.1;
  return Math.round((10 + pointIndex * 5 + daily * 4 + wobble) * 1000) / 1000;
}

/** Seeds the history; returns how many raw readings were written. */
export function seedDayOfReadings(options: SeedOptions): number {
  // The store creates the file, its schema and epoch, then closes (its WAL checkpointed).
  openGatewayStore(options.dataDir, { logger: pino({ level: 'silent' }) }).close();
  const db = new Database(join(options.dataDir, 'kerbside.db'));
  db.pragma('journal_mode = WAL');
  const endWall = options.endWallMs ?? Date.now();
  const startWall = endWall - DAY_MS;
  // The seeded day occupies uptime 0 .. DAY_MS; the gateway resumes after it.
  const startMono = 0;
  let written = 0;
  db.transaction(() => {
    const series = db.prepare('INSERT INTO series (device_id, point_key) VALUES (?, ?)');
    const seriesIds = options.pointKeys.map((key) =>
      Number(series.run(options.deviceId, key).lastInsertRowid),
    );
    const reading = db.prepare(
      'INSERT INTO readings (series_id, wall_ms, mono_ms, value, quality) VALUES (?, ?, ?, ?, 0)',
    );
    const aggregate = (table: 'readings_1m' | 'readings_1h') =>
      db.prepare(
        `INSERT INTO ${table} (series_id, period_start_mono, period_start_wall, min_value, max_value, sum_value, value_count)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
    const minute = aggregate('readings_1m');
    const hour = aggregate('readings_1h');
    type Cell = { min: number; max: number; sum: number; count: number };
    const empty = (): Cell => ({ min: Infinity, max: -Infinity, sum: 0, count: 0 });
    const add = (cell: Cell, value: number): void => {
      cell.min = Math.min(cell.min, value);
      cell.max = Math.max(cell.max, value);
      cell.sum += value;
      cell.count += 1;
    };
    const minutes = seriesIds.map(empty);
    const hours = seriesIds.map(empty);
    // Rows in time order, all points of one second together, as polls append them.
    for (let second = 0; second < DAY_MS / 1000; second++) {
      const mono = startMono + second * 1000;
      const wall = startWall + second * 1000;
      seriesIds.forEach((id, i) => {
        const value = valueAt(i, second);
        reading.run(id, wall, mono, value);
        add(minutes[i] as Cell, value);
        add(hours[i] as Cell, value);
        written++;
      });
      const nextMono = mono + 1000;
      if (nextMono % MINUTE_MS === 0) {
        const periodMono = nextMono - MINUTE_MS;
        seriesIds.forEach((id, i) => {
          const c = minutes[i] as Cell;
          minute.run(id, periodMono, startWall + periodMono, c.min, c.max, c.sum, c.count);
          minutes[i] = empty();
        });
      }
      if (nextMono % HOUR_MS === 0) {
        const periodMono = nextMono - HOUR_MS;
        seriesIds.forEach((id, i) => {
          const c = hours[i] as Cell;
          hour.run(id, periodMono, startWall + periodMono, c.min, c.max, c.sum, c.count);
          hours[i] = empty();
        });
      }
    }
    db.prepare(
      "INSERT INTO store_meta (key, value) VALUES ('uptime_ms', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(startMono + DAY_MS);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return written;
}
