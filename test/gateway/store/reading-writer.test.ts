import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { DevicePollResult } from '../../../gateway/bus/types.js';
import type { SqliteDatabase } from '../../../gateway/store/database.js';
import { isStoreError } from '../../../gateway/store/errors.js';
import { openReadingsDatabase } from '../../../gateway/store/readings-db.js';
import { ReadingWriter, type ReadingWriterOptions } from '../../../gateway/store/reading-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-writer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });
let counter = 0;

/** Everything opened by a test, closed after it whatever happens. */
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

interface Setup {
  db: SqliteDatabase;
  dir: string;
  trace: string[];
  writer: ReadingWriter;
}

function setup(options: Partial<ReadingWriterOptions> = {}, dir = join(tmp, `data-${++counter}`)): Setup {
  const trace: string[] = [];
  const { db } = openReadingsDatabase(dir, { trace: (sql) => trace.push(sql) });
  const writer = new ReadingWriter({
    db,
    logger,
    retention: { maxRows: 1_000_000, maxAgeS: 86_400 },
    // Tests flush by hand unless they test the timer.
    flushIntervalMs: 60_000,
    ...options,
  });
  writer.start();
  cleanups.push(() => {
    writer.stop();
    if (db.open) db.close();
  });
  return { db, dir, trace, writer };
}

let monotonic = 1_000;
function poll(
  deviceId: string,
  values: Array<number | boolean>,
  overrides: Partial<DevicePollResult> = {},
): DevicePollResult {
  monotonic += 100;
  return {
    busId: 'line-1',
    deviceId,
    wallTimeMs: 1_700_000_000_000 + monotonic,
    monotonicMs: monotonic,
    quality: 'good',
    readings: values.map((value, i) => ({ key: `p${i}`, value })),
    errors: [],
    ...overrides,
  };
}

const count = (db: SqliteDatabase, table: string): number =>
  db.prepare<[], number>(`SELECT COUNT(*) FROM ${table}`).pluck().get() ?? 0;

describe('ReadingWriter batching', () => {
  it('writes a whole flush in ONE transaction, every insert inside it', () => {
    const { db, trace, writer } = setup();
    for (let d = 0; d < 3; d++) writer.add(poll(`dev-${d}`, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    assert.equal(count(db, 'readings'), 0, 'nothing is written before the flush');
    trace.length = 0;

    assert.deepEqual(writer.flush(), { polls: 3, readings: 30 });

    // An autocommit per reading would show 30 inserts outside any BEGIN ... COMMIT.
    assert.equal(trace.filter((s) => s === 'BEGIN').length, 1, trace.join('\n'));
    assert.equal(trace.filter((s) => s === 'COMMIT').length, 1);
    const begin = trace.indexOf('BEGIN');
    const commit = trace.indexOf('COMMIT');
    const inserts = trace.flatMap((s, i) => (/^INSERT INTO (readings|polls)\b/.test(s) ? [i] : []));
    assert.equal(inserts.length, 33, '30 readings + 3 polls');
    assert.ok(
      inserts.every((i) => i > begin && i < commit),
      'every insert is inside the transaction',
    );
    assert.equal(count(db, 'readings'), 30);
    assert.equal(count(db, 'polls'), 3);
    assert.equal(db.inTransaction, false);

    trace.length = 0;
    writer.add(poll('dev-0', [1, 2]));
    writer.flush();
    assert.equal(trace.filter((s) => s === 'BEGIN').length, 1, 'the next flush is its own transaction');
    assert.equal(writer.stats().flushes, 2);
  });

  it('is invisible to other connections until the commit, then all at once', () => {
    const { dir, writer } = setup();
    const reader = new Database(join(dir, 'readings.db'), { readonly: true });
    cleanups.push(() => reader.close());
    const readers = reader.prepare<[], number>('SELECT COUNT(*) FROM readings').pluck();
    writer.add(poll('dev', [1, 2, 3]));
    writer.add(poll('dev', [4, 5, 6]));
    assert.equal(readers.get(), 0);
    writer.flush();
    assert.equal(readers.get(), 6);
  });

  it('flushes on its timer', async () => {
    const { db, writer } = setup({ flushIntervalMs: 20 });
    writer.add(poll('dev', [1, 2, 3]));
    for (let i = 0; i < 50 && count(db, 'readings') === 0; i++) await sleep(10);
    assert.equal(count(db, 'readings'), 3);
  });

  it('flushes early when the buffer is large', () => {
    const { db, writer } = setup({ flushAtReadings: 10 });
    writer.add(poll('dev', [1, 2, 3, 4, 5, 6]));
    assert.equal(count(db, 'readings'), 0);
    writer.add(poll('dev', [1, 2, 3, 4, 5, 6]));
    assert.equal(count(db, 'readings'), 12, 'the add that crossed the threshold committed the buffer');
  });

  it('flushes what is buffered at stop, and drops (counting) results that arrive after it', () => {
    const { db, writer } = setup();
    writer.add(poll('dev', [1, 2, 3]));
    writer.stop();
    assert.equal(count(db, 'readings'), 3);
    writer.add(poll('dev', [4, 5]));
    assert.equal(writer.stats().readingsDropped, 2);
  });
});

describe('ReadingWriter rows', () => {
  it('stores names once per series, booleans as 0/1, NaN as NULL with bad quality, and failed polls', () => {
    const { db, writer } = setup();
    writer.add(poll('lamp', [true, false, 230.5]));
    writer.add(
      poll('gas', [Number.NaN], {
        quality: 'partial',
        errors: [{ code: 'MODBUS_TIMEOUT', message: 'no reply' }],
      }),
    );
    writer.add(
      poll('gas', [], { quality: 'failed', errors: [{ code: 'MODBUS_TIMEOUT', message: 'no reply' }] }),
    );
    writer.add(poll('lamp', [false, true, 231]));
    writer.flush();
    const rows = db
      .prepare('SELECT device_id, point_key, value, quality FROM readings_named ORDER BY seq')
      .all() as Array<{ device_id: string; point_key: string; value: number | null; quality: number }>;
    assert.deepEqual(
      rows.map((r) => [r.device_id, r.point_key, r.value, r.quality]),
      [
        ['lamp', 'p0', 1, 0],
        ['lamp', 'p1', 0, 0],
        ['lamp', 'p2', 230.5, 0],
        ['gas', 'p0', null, 2],
        ['lamp', 'p0', 0, 0],
        ['lamp', 'p1', 1, 0],
        ['lamp', 'p2', 231, 0],
      ],
    );
    assert.equal(count(db, 'series'), 4);
    const polls = db
      .prepare('SELECT device_id, quality, reading_count, error_count, first_error FROM polls ORDER BY seq')
      .raw()
      .all();
    assert.deepEqual(polls, [
      ['lamp', 0, 3, 0, null],
      ['gas', 1, 1, 1, 'MODBUS_TIMEOUT: no reply'],
      ['gas', 2, 0, 1, 'MODBUS_TIMEOUT: no reply'],
      ['lamp', 0, 3, 0, null],
    ]);
  });

  it('keeps results buffered while commits fail and writes them all once the store recovers', () => {
    const { db, writer } = setup();
    writer.add(poll('dev', [1, 2]));
    writer.flush();
    // Make inserts fail the way a broken store would, without breaking the file.
    db.exec('DROP VIEW readings_named; ALTER TABLE readings RENAME TO readings_away');
    writer.add(poll('dev', [3, 4]));
    writer.add(poll('new-dev', [5]));
    assert.throws(
      () => writer.flush(),
      (error: unknown) => isStoreError(error, 'STORE_WRITE_FAILED'),
    );
    assert.equal(writer.stats().pendingReadings, 3);
    assert.equal(writer.stats().failedFlushes, 1);
    assert.equal(count(db, 'polls'), 1, 'the failed batch left nothing behind');
    db.exec('ALTER TABLE readings_away RENAME TO readings');
    assert.deepEqual(writer.flush(), { polls: 2, readings: 3 });
    assert.equal(count(db, 'readings'), 5);
    // The series created inside the rolled-back transaction was created again, not reused.
    assert.equal(db.prepare("SELECT COUNT(*) FROM series WHERE device_id = 'new-dev'").pluck().get(), 1);
    assert.equal(
      db
        .prepare(
          'SELECT COUNT(*) FROM readings r LEFT JOIN series s ON s.id = r.series_id WHERE s.id IS NULL',
        )
        .pluck()
        .get(),
      0,
      'every reading refers to an existing series',
    );
  });
});

describe('ReadingWriter retention', () => {
  it('keeps the newest maxRows readings, by sequence number', () => {
    const { db, writer } = setup({ retention: { maxRows: 100, maxAgeS: 86_400 } });
    for (let i = 0; i < 25; i++)
      writer.add(
        poll(
          'dev',
          Array.from({ length: 10 }, (_, j) => i * 10 + j),
        ),
      );
    writer.flush();
    assert.equal(count(db, 'readings'), 100);
    const values = db.prepare<[], number>('SELECT value FROM readings ORDER BY seq').pluck().all();
    assert.deepEqual(
      values,
      Array.from({ length: 100 }, (_, i) => 150 + i),
      'the oldest 150 went, the newest 100 stay',
    );
    assert.equal(writer.stats().readingsDeleted, 150);

    writer.add(poll('dev', [1000, 1001, 1002]));
    writer.flush();
    assert.equal(count(db, 'readings'), 100, 'the cap holds flush after flush');
    assert.equal(db.prepare('SELECT MIN(seq) FROM readings').pluck().get(), 253 - 100 + 1);
  });

  it('deletes by age on the monotonic uptime clock, ignoring the wall clock', () => {
    let now = 0;
    const { db, writer } = setup({ retention: { maxRows: 1_000_000, maxAgeS: 60 }, now: () => now });
    // Wall clock jumps backwards by a year between the polls: it must not matter.
    writer.add({ ...poll('dev', [1, 2]), monotonicMs: 0, wallTimeMs: 1_800_000_000_000 });
    now = 30_000;
    writer.add({ ...poll('dev', [3, 4]), monotonicMs: 30_000, wallTimeMs: 1_700_000_000_000 });
    writer.flush();
    assert.equal(count(db, 'readings'), 4);
    now = 75_000; // the first poll is now 75 s old, the second 45 s
    writer.add({ ...poll('dev', [5]), monotonicMs: 75_000 });
    writer.flush();
    assert.deepEqual(db.prepare('SELECT value FROM readings ORDER BY seq').pluck().all(), [3, 4, 5]);
  });

  it('continues the uptime clock across a restart instead of starting again at zero', () => {
    const dir = join(tmp, `data-${++counter}`);
    let now = 500_000;
    const first = setup({ now: () => now }, dir);
    now = 510_000;
    first.writer.add({ ...poll('dev', [1]), monotonicMs: 510_000 });
    first.writer.stop();
    first.db.close();
    // The new process's monotonic clock starts near zero again.
    now = 20;
    const second = setup({ now: () => now }, dir);
    now = 1_020;
    second.writer.add({ ...poll('dev', [2]), monotonicMs: 1_020 });
    second.writer.flush();
    const mono = second.db.prepare<[], number>('SELECT mono_ms FROM readings ORDER BY seq').pluck().all();
    assert.deepEqual(mono, [10_000, 11_000]);
  });
});
