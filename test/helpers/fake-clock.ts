/**
 * A fake monotonic clock for unit tests of code that times itself with setTimeout and measures
 * with performance.now() (the RTU frame assembler, the Modbus client): node:test's mock.timers
 * moves setTimeout but not performance.now(), so this mocks both and moves them together. The
 * mocks belong to the test context `t` and are undone when that test ends.
 *
 * No sockets or processes here, so unit tests may import it (test/tiers.ts).
 */
import { performance } from 'node:perf_hooks';
import type { TestContext } from 'node:test';

export interface FakeMonotonicClock {
  /** What performance.now() returns now. */
  now(): number;
  /**
   * Moves the clock on by `ms`, 1 ms at a time, running every timer that falls due on the way
   * with performance.now() at its due time.
   */
  advance(ms: number): void;
}

export function fakeMonotonicClock(t: TestContext, startMs = 1_000): FakeMonotonicClock {
  let now = startMs;
  t.mock.timers.enable({ apis: ['setTimeout'] });
  t.mock.method(performance, 'now', () => now);
  return {
    now: () => now,
    advance(ms) {
      for (let left = ms; left > 0;) {
        const step = Math.min(1, left);
        now += step;
        t.mock.timers.tick(step);
        left -= step;
      }
    },
  };
}
