import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { after, afterEach, describe, it } from 'node:test';
import type { GatewayStore } from '../../../gateway/store/event-store.js';
import { FakeClock, Stores, count, poll, tempDirs, telemetry } from './helpers.js';

const dirs = tempDirs('kerbside-wal-');
after(dirs.cleanup);
const stores = new Stores();
afterEach(() => stores.closeAll());

const POINTS = Array.from({ length: 150 }, (_, i) => i * 1.5);

interface WalGrowth {
  /** Largest -wal size seen after a commit. */
  largest: number;
  /** Largest growth of the -wal file by one commit. */
  largestStep: number;
}

/** Commits `cycles` cycles of 150 readings, watching the -wal file after each. */
function run(store: GatewayStore, clock: FakeClock, cycles: number): WalGrowth {
  const growth: WalGrowth = { largest: 0, largestStep: 0 };
  let previous = store.stats().walBytes;
  for (let i = 0; i < cycles; i++) {
    clock.advance(500);
    store.commitCycle({ polls: [poll(clock, 'lamps', POINTS)], events: [telemetry('lamps', i)] });
    const size = store.stats().walBytes;
    growth.largest = Math.max(growth.largest, size);
    growth.largestStep = Math.max(growth.largestStep, size - previous);
    previous = size;
  }
  return growth;
}

describe('WAL bounds', () => {
  // SQLite's own checkpoint is turned off in both runs so that the difference is ours.
  const options = { walAutocheckpointPages: 0, journalSizeLimitBytes: 64 * 1024, checkpointEveryMs: 1e12 };

  it('periodic PASSIVE checkpoints keep the -wal file bounded; close() truncates it', () => {
    const clock = new FakeClock();
    const unchecked = stores.openStore(dirs.fresh(), { ...options, clock, checkpointEveryCommits: 1e9 });
    const grown = run(unchecked, clock, 300).largest;

    const store = stores.openStore(dirs.fresh(), { ...options, clock, checkpointEveryCommits: 10 });
    const bounded = run(store, clock, 300);
    const stats = store.stats();
    assert.ok(stats.checkpoints >= 29, `checkpoints: ${stats.checkpoints}`);
    assert.equal(stats.lastCheckpoint?.mode, 'PASSIVE');
    assert.equal(stats.lastCheckpoint?.busy, false);
    // The WAL restarts from its beginning after each checkpoint: it never holds more than the
    // commits of one checkpoint interval, where without checkpoints it holds every commit.
    assert.ok(
      bounded.largest <= 11 * bounded.largestStep,
      `largest ${bounded.largest} B, one commit up to ${bounded.largestStep} B`,
    );
    assert.ok(bounded.largest < grown / 10, `bounded ${bounded.largest} B, unchecked ${grown} B`);

    const walPath = `${store.path}-wal`;
    store.close();
    assert.ok(!existsSync(walPath) || statSync(walPath).size === 0, 'TRUNCATE at close empties the WAL');
  });

  it('readTransaction reads a consistent snapshot on a connection that cannot write', () => {
    const clock = new FakeClock();
    const store = stores.openStore(dirs.fresh(), { clock });
    store.commitCycle({ polls: [poll(clock, 'd', [1, 2, 3])] });
    const seen = store.readTransaction((db) => {
      assert.throws(() => db.prepare('DELETE FROM readings').run(), /readonly/);
      return count(db, 'readings');
    });
    assert.equal(seen, 3);
  });
});
