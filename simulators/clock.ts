/**
 * Time source for simulated devices and scenarios. Everything in simulators/ that depends on time
 * reads it through a Clock, so tests can step time with a ManualClock instead of sleeping.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences matter. */
  now(): number;
}

/** Real time (monotonic: a wall-clock jump must not make a scenario run backwards). */
export const systemClock: Clock = { now: () => performance.now() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    this.current += ms;
  }

  set(ms: number): void {
    if (ms < this.current) throw new RangeError(`clock cannot go back from ${this.current} to ${ms} ms`);
    this.current = ms;
  }
}
