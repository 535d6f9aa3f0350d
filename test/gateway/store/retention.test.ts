import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { FakeClock, Stores, count, poll, tempDirs, transition } from './helpers.js';

const dirs = tempDirs('kerbside-retention-');
after(dirs.cleanup);
const stores = new Stores();
afterEach(() => stores.closeAll());

const DAY_MS = 86_400_000;

describe('retention', () => {
  it('keeps the newest maxRows raw readings and polls, by sequence number', () => {
    const clock = new FakeClock();
    const store = stores.openStore(dirs.fresh(), {
      clock,
      retention: { raw: { maxRows: 100, maxAgeS: 86_400 } },
    });
    for (let i = 0; i < 25; i++) {
      clock.advance(500);
      store.commitCycle({
        polls: [
          poll(
            clock,
            'dev',
            Array.from({ length: 10 }, (_, j) => i * 10 + j),
          ),
        ],
      });
    }
    store.readTransaction((db) => {
      assert.equal(count(db, 'readings'), 100);
      assert.deepEqual(
        db.prepare('SELECT value FROM readings ORDER BY seq').pluck().all(),
        Array.from({ length: 100 }, (_, i) => 150 + i),
        'the oldest 150 went, the newest 100 stay',
      );
      assert.equal(count(db, 'polls'), 25, 'poll rows are capped by the same number');
    });
    assert.equal(store.stats().deleted.readings, 150);
  });

  it('goes by the uptime clock, never by the wall clock, even when it jumps backwards', () => {
    const clock = new FakeClock(0, Date.UTC(2026, 0, 1));
    const store = stores.openStore(dirs.fresh(), {
      clock,
      retention: {
        raw: { maxRows: 1_000_000, maxAgeS: 60 },
        minuteAggregatesMaxAgeS: 600,
        hourAggregatesMaxAgeS: 7_200,
      },
    });
    store.commitCycle({ polls: [poll(clock, 'dev', [1, 2])] });
    clock.advance(30_000);
    clock.wall -= 365 * DAY_MS; // NTP corrects a clock that was a year ahead
    store.commitCycle({ polls: [poll(clock, 'dev', [3, 4])] });
    const values = (): unknown[] =>
      store.readTransaction((db) => db.prepare('SELECT value FROM readings ORDER BY seq').pluck().all());
    assert.deepEqual(values(), [1, 2, 3, 4], 'a wall clock a year back deletes nothing');
    clock.advance(45_000); // the first poll is now 75 s old, the second 45 s
    clock.wall += 365 * DAY_MS * 2; // and a wall clock a year ahead keeps what is young
    store.commitCycle({ polls: [poll(clock, 'dev', [5])] });
    assert.deepEqual(values(), [3, 4, 5]);

    // Minute aggregates go after 10 minutes of uptime, hour aggregates after 2 hours, once all
    // of their period is older than that. (A minute is written 5 s after it ends.)
    const periods = (table: string): unknown[] =>
      store.readTransaction((db) =>
        db.prepare(`SELECT DISTINCT period_start_mono FROM ${table} ORDER BY 1`).pluck().all(),
      );
    assert.deepEqual(periods('readings_1m'), [0]);
    clock.advance(600_000); // uptime 675 s
    clock.wall -= 365 * DAY_MS;
    store.commitCycle({ polls: [poll(clock, 'dev', [6])] });
    assert.deepEqual(periods('readings_1m'), [60_000], 'minute 0 ended more than 600 s ago');
    clock.advance(7_200_000); // uptime 7 875 s
    store.commitCycle({ polls: [poll(clock, 'dev', [7])] });
    assert.deepEqual(periods('readings_1m'), [], 'minutes 60 s and 660 s went; minute 7 860 s is open');
    // Hour 0 holds a reading from 675 s, younger than the 2 h cutoff: it stays.
    assert.deepEqual(periods('readings_1h'), [0]);
    clock.advance(3_600_000); // uptime 11 475 s: hour 0 ended more than 2 h ago
    store.commitCycle({ polls: [poll(clock, 'dev', [8])] });
    assert.deepEqual(periods('readings_1h'), [7_200_000]);
  });

  it('continues the uptime clock across a restart instead of starting again at zero', () => {
    const dir = dirs.fresh();
    const clock = new FakeClock(500_000);
    const first = stores.openStore(dir, { clock });
    clock.advance(10_000);
    first.commitCycle({ polls: [poll(clock, 'dev', [1])] });
    first.close();
    // The new process's monotonic clock starts near zero again.
    const restarted = new FakeClock(20, clock.wall + 3_600_000);
    const second = stores.openStore(dir, { clock: restarted });
    restarted.advance(1_000);
    second.commitCycle({ polls: [poll(restarted, 'dev', [2])] });
    const mono = second.readTransaction((db) =>
      db.prepare('SELECT mono_ms FROM readings ORDER BY seq').pluck().all(),
    );
    assert.deepEqual(mono, [10_000, 11_000], 'downtime is not counted; time never runs backwards');
  });

  it('caps alarm history rows, oldest first, while their outbox events stay until acknowledged', () => {
    const store = stores.openStore(dirs.fresh(), { retention: { alarmHistoryMaxRows: 5 } });
    for (let i = 0; i < 8; i++) store.commitCycle({ events: [transition(`d:${i}`)] });
    store.readTransaction((db) => {
      assert.deepEqual(
        db.prepare('SELECT outbox_seq FROM alarm_history ORDER BY id').pluck().all(),
        [4, 5, 6, 7, 8],
      );
      assert.equal(count(db, 'outbox'), 8);
    });
  });
});

describe('raw windows', () => {
  it('copies the readings of one device around an event and keeps them beyond raw retention', () => {
    const clock = new FakeClock(0);
    const store = stores.openStore(dirs.fresh(), {
      clock,
      retention: { raw: { maxRows: 1_000_000, maxAgeS: 60 } },
    });
    // One reading of the bridge and one of a lamp every second for 20 s.
    const second = (i: number): void => {
      clock.mono = i * 1_000;
      clock.wall = Date.UTC(2025, 0, 1) + i * 1_000;
    };
    for (let i = 0; i < 20; i++) {
      second(i);
      store.commitCycle({ polls: [poll(clock, 'bridge', [i]), poll(clock, 'lamp', [100 + i])] });
    }
    // At 19 s an overweight vehicle was seen at 17 s: keep 15 s .. 22 s of the bridge.
    const window = {
      id: 'w-1',
      deviceId: 'bridge',
      reason: 'overweight',
      fromMonoMs: 15_000,
      toMonoMs: 22_000,
    };
    store.commitCycle({ windows: [window] });
    store.commitCycle({ windows: [{ ...window, fromMonoMs: 0 }] }); // a repeated id is ignored
    for (let i = 20; i < 30; i++) {
      second(i);
      store.commitCycle({ polls: [poll(clock, 'bridge', [i]), poll(clock, 'lamp', [100 + i])] });
    }
    const windowed = (): unknown[] =>
      store.readTransaction((db) =>
        db
          .prepare("SELECT value FROM raw_window_readings WHERE window_id = 'w-1' ORDER BY reading_seq")
          .pluck()
          .all(),
      );
    assert.deepEqual(windowed(), [15, 16, 17, 18, 19, 20, 21, 22]);
    assert.equal(
      store.readTransaction((db) =>
        db.prepare("SELECT open FROM raw_windows WHERE id = 'w-1'").pluck().get(),
      ),
      0,
      'closed once the uptime clock passed its end (and the late-poll allowance)',
    );
    // Two minutes later the raw rows are gone, the window's copies are not.
    second(150);
    store.commitCycle({ polls: [poll(clock, 'bridge', [150])] });
    store.readTransaction((db) => {
      assert.equal(count(db, 'readings', 'WHERE mono_ms < 60000'), 0);
    });
    assert.deepEqual(windowed(), [15, 16, 17, 18, 19, 20, 21, 22]);
  });

  it('keeps at most windowsMaxCount windows, deleting the oldest with their readings', () => {
    const clock = new FakeClock(0);
    const store = stores.openStore(dirs.fresh(), { clock, retention: { windowsMaxCount: 2 } });
    store.commitCycle({ polls: [poll(clock, 'bridge', [1])] });
    for (let i = 1; i <= 3; i++) {
      clock.advance(1_000);
      store.commitCycle({
        windows: [{ id: `w-${i}`, deviceId: 'bridge', reason: 'overweight', fromMonoMs: 0, toMonoMs: 500 }],
      });
    }
    store.readTransaction((db) => {
      assert.deepEqual(db.prepare('SELECT id FROM raw_windows ORDER BY rowid').pluck().all(), ['w-2', 'w-3']);
      assert.deepEqual(
        db.prepare('SELECT DISTINCT window_id FROM raw_window_readings ORDER BY 1').pluck().all(),
        ['w-2', 'w-3'],
      );
    });
  });
});
