/**
 * Trend reads (gateway/web/queries/trend.ts) on the fixture: 24 hours of 1-second readings
 * on 10 points of one device, with their minute and hour aggregates (test/bench/cabinet-ui-seed.ts),
 * read through GatewayStore.readTransaction, the read-only connection the web server uses.
 *
 * Each read transaction is timed and the figures are printed as test diagnostics (they go into
 * the report and docs/storage.md); no test asserts a time (ARCHITECTURE.md, "Benchmarks").
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { openGatewayStore, type GatewayStore } from '../../../../gateway/store/event-store.js';
import type { SqliteDatabase } from '../../../../gateway/store/database.js';
import {
  aggregateTrend,
  CHUNK_ROWS,
  MAX_POINTS,
  rawTrend,
  resolutionFor,
  seriesIdOf,
  seqSpan,
  thin,
  type ReadFn,
} from '../../../../gateway/web/queries/trend.js';
import { seedDayOfReadings } from '../../../bench/cabinet-ui-seed.js';
import { tempDataDir } from '../../../helpers/gateway-harness.js';

const DEVICE = 'logger';
const POINTS = Array.from({ length: 10 }, (_, i) => `p${i}`);
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

describe('trend reads on 24 h of 1-second readings on 10 points', () => {
  let dataDir: string;
  let store: GatewayStore;
  let endWall: number;
  /** Every read transaction's duration, by what it was for. */
  const timings = new Map<string, number[]>();

  const timedRead =
    (label: string): ReadFn =>
    <T>(fn: (db: SqliteDatabase) => T): T => {
      const started = performance.now();
      try {
        return store.readTransaction(fn);
      } finally {
        const list = timings.get(label) ?? [];
        list.push(performance.now() - started);
        timings.set(label, list);
      }
    };

  before(() => {
    dataDir = tempDataDir('web-trend');
    endWall = Date.now();
    const written = seedDayOfReadings({ dataDir, deviceId: DEVICE, pointKeys: POINTS, endWallMs: endWall });
    assert.equal(written, 864_000);
    store = openGatewayStore(dataDir, { logger: pino({ level: 'silent' }) });
  });
  after(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const seriesOf = (key: string): number => {
    const id = store.readTransaction((db) => seriesIdOf(db, DEVICE, key));
    assert.ok(id !== null, `series ${key}`);
    return id;
  };

  it('picks the finest resolution whose points fit', () => {
    assert.equal(resolutionFor(HOUR_MS), 'raw');
    assert.equal(resolutionFor(3 * HOUR_MS), 'raw');
    assert.equal(resolutionFor(3 * HOUR_MS + 1), '1m');
    assert.equal(resolutionFor(DAY_MS), '1m');
    assert.equal(resolutionFor(2 * DAY_MS), '1h');
    assert.equal(resolutionFor(7 * DAY_MS), '1h');
  });

  it('raw 1 h: the last hour of one point, found by binary search over seq, thinned to min/max buckets', async () => {
    const series = seriesOf('p3');
    const span = { fromMonoMs: DAY_MS - HOUR_MS, toMonoMs: DAY_MS };
    const trend = await rawTrend(timedRead('raw 1 h (p3 of 10 points)'), series, span);
    // 3,600 seconds of the point > MAX_POINTS: buckets of two readings each.
    assert.equal(trend.t.length, 1800);
    assert.ok(trend.t.length <= MAX_POINTS);
    assert.equal(trend.t[0], endWall - DAY_MS + (DAY_MS - HOUR_MS));
    trend.t.forEach((_, i) => {
      const [lo, mean, hi] = [trend.min[i], trend.mean[i], trend.max[i]];
      assert.ok(lo != null && mean != null && hi != null && lo <= mean && mean <= hi, `bucket ${i}`);
    });
    // The search, then chunks of CHUNK_ROWS rows: the hour of 10 points and the minute of slack
    // before it are 36,600 rows.
    const reads = timings.get('raw 1 h (p3 of 10 points)') ?? [];
    assert.equal(reads.length, 1 + Math.ceil(36_600 / CHUNK_ROWS));
  });

  it('raw, zoomed to 10 minutes: every reading, min = max = mean', async () => {
    const series = seriesOf('p0');
    const from = 5 * HOUR_MS;
    const trend = await rawTrend(timedRead('raw 10 min'), series, {
      fromMonoMs: from,
      toMonoMs: from + 600_000 - 1,
    });
    assert.equal(trend.t.length, 600);
    assert.deepEqual(trend.min, trend.max);
    assert.deepEqual(trend.mean, trend.max);
    assert.equal(trend.t[0], endWall - DAY_MS + from);
    assert.equal((trend.t[599] ?? 0) - (trend.t[0] ?? 0), 599_000);
  });

  it('the binary search finds exactly the rows of the span and its minute of slack either side', () => {
    // Seeded: second s of the day has uptime s * 1000 and seqs 1 + 10 s .. 10 + 10 s (10 points).
    const from = 5 * HOUR_MS;
    const to = from + 600_000 - 1;
    const span = store.readTransaction((db) => seqSpan(db, { fromMonoMs: from, toMonoMs: to }));
    const firstSecond = (from - 60_000) / 1000;
    const lastSecond = Math.floor((to + 60_000) / 1000);
    assert.deepEqual(span, { first: 1 + 10 * firstSecond, last: 10 + 10 * lastSecond });
  });

  it('a span outside the readings is empty', async () => {
    const series = seriesOf('p0');
    const trend = await rawTrend(timedRead('raw, empty span'), series, {
      fromMonoMs: 2 * DAY_MS,
      toMonoMs: 2 * DAY_MS + HOUR_MS,
    });
    assert.deepEqual(trend, { t: [], mean: [], min: [], max: [] });
    assert.equal(
      store.readTransaction((db) => seqSpan(db, { fromMonoMs: -2 * HOUR_MS, toMonoMs: -HOUR_MS })),
      null,
    );
  });

  it('24 h from the 1-minute aggregates: 1,440 minutes with their own min, mean and max', () => {
    const series = seriesOf('p1');
    const trend = timedRead('1m 24 h')((db) =>
      aggregateTrend(db, '1m', series, { fromMonoMs: 0, toMonoMs: DAY_MS }),
    );
    assert.equal(trend.t.length, 1440);
    assert.equal((trend.t[1] ?? 0) - (trend.t[0] ?? 0), 60_000);
    assert.ok(
      trend.t.every((_, i) => {
        const [lo, mean, hi] = [trend.min[i], trend.mean[i], trend.max[i]];
        return lo != null && mean != null && hi != null && lo <= mean && mean <= hi;
      }),
    );
    assert.ok(
      trend.min.some((v, i) => v !== trend.max[i]),
      'a minute spans several values',
    );
  });

  it('7 d from the 1-hour aggregates: the seeded day is 24 hours', () => {
    const series = seriesOf('p2');
    const trend = timedRead('1h 7 d')((db) =>
      aggregateTrend(db, '1h', series, { fromMonoMs: DAY_MS - 7 * DAY_MS, toMonoMs: DAY_MS }),
    );
    assert.equal(trend.t.length, 24);
    assert.equal((trend.t[1] ?? 0) - (trend.t[0] ?? 0), HOUR_MS);
  });

  it('thinning keeps a spike: the bucket holding it keeps its maximum', () => {
    const samples = Array.from({ length: 10_000 }, (_, i) => ({
      t: i,
      mean: 1,
      min: 1,
      max: i === 4321 ? 99 : 1,
    }));
    const thinned = thin(samples, 1000);
    assert.equal(thinned.t.length, 1000);
    assert.equal(Math.max(...thinned.max.map((v) => v ?? 0)), 99);
    const nulls = thin([{ t: 0, mean: null, min: null, max: null }], 10);
    assert.deepEqual(nulls, { t: [0], mean: [null], min: [null], max: [null] });
  });

  it('reports the time of every read transaction (figures only, nothing asserted)', (t) => {
    for (const [label, list] of timings) {
      const longest = Math.max(...list);
      const total = list.reduce((sum, x) => sum + x, 0);
      t.diagnostic(
        `${label}: ${list.length} read transaction(s), longest ${longest.toFixed(2)} ms, total ${total.toFixed(2)} ms`,
      );
    }
  });
});
