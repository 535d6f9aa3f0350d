/**
 * The gateway uptime clock (docs/storage.md): the process's monotonic clock offset by the mark
 * stored at the previous commit, so it only moves forward, continues across restarts and ignores
 * wall-clock jumps. It does not count time the gateway was switched off. Every `mono_ms` column
 * is on this clock; retention and outbox ages use it, never the wall clock (docs/storage.md).
 */
import { performance } from 'node:perf_hooks';

/** The two clocks of the process. Tests inject their own. */
export interface StoreClock {
  /** Process-local monotonic ms: the clock of DevicePollResult.monotonicMs (performance.now()). */
  monotonicMs(): number;
  /** Wall-clock ms since 1970, for display only: a cabinet may boot without a trusted clock. */
  wallMs(): number;
}

export const systemClock: StoreClock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};

export class UptimeClock {
  private readonly offsetMs: number;

  /** `floorMs`: the uptime mark stored by the previous run (0 for a new database). */
  constructor(
    private readonly clock: StoreClock,
    private readonly floorMs: number,
  ) {
    this.offsetMs = floorMs - clock.monotonicMs();
  }

  /** Uptime now, whole ms. */
  now(): number {
    return this.fromMonotonic(this.clock.monotonicMs());
  }

  /** Wall clock now (display only). */
  wallNow(): number {
    return this.clock.wallMs();
  }

  /** Maps a process monotonic timestamp onto the uptime clock. */
  fromMonotonic(monotonicMs: number): number {
    // A poll that started before the store opened maps below the stored mark; clamp it so the
    // clock never runs backwards across a restart.
    return Math.max(this.floorMs, Math.round(monotonicMs + this.offsetMs));
  }
}
