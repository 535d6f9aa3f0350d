/**
 * Per-device degradation policy. A device that stops answering, or answers only just inside its
 * timeout, must not steal the line from its healthy neighbours:
 * - after `deadAfterFailures` failed polls it is "dead": probed with a single attempt (no retries,
 *   first request only), at an interval doubling from max(poll interval, minBackoffMs) up to
 *   maxBackoffMs;
 * - after `slowAfterPolls` polls in a row whose slowest reply took more than half the timeout it
 *   is "degraded" (slow) and its poll interval doubles the same way, up to the same ceiling;
 * - a failed poll that is not yet dead is "degraded" too, and gets no retries.
 * One good, prompt answer brings it straight back to its normal cadence.
 */
import type { DeviceHealth } from './types.js';

export interface HealthPolicy {
  /** Failed polls in a row before a device is declared dead. */
  deadAfterFailures: number;
  /** Slow polls in a row before a device's interval starts to grow. */
  slowAfterPolls: number;
  /** First probe interval of a dead device (at least its poll interval). */
  minBackoffMs: number;
  /** Ceiling of the probe interval. */
  maxBackoffMs: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  deadAfterFailures: 3,
  slowAfterPolls: 3,
  minBackoffMs: 1_000,
  maxBackoffMs: 60_000,
};

export class DeviceHealthTracker {
  consecutiveFailures = 0;
  consecutiveSlowPolls = 0;

  constructor(
    private readonly pollIntervalMs: number,
    private readonly policy: HealthPolicy = DEFAULT_HEALTH_POLICY,
  ) {}

  get health(): DeviceHealth {
    if (this.isDead) return 'dead';
    return this.consecutiveFailures > 0 || this.isSlow ? 'degraded' : 'healthy';
  }

  get isDead(): boolean {
    return this.consecutiveFailures >= this.policy.deadAfterFailures;
  }

  get isSlow(): boolean {
    return this.consecutiveSlowPolls >= this.policy.slowAfterPolls;
  }

  /** Interval until the next poll: the normal cadence, or the exponential backoff when dead or slow. */
  get intervalMs(): number {
    if (this.isDead)
      return this.backoff(
        this.consecutiveFailures - this.policy.deadAfterFailures,
        Math.max(this.pollIntervalMs, this.policy.minBackoffMs),
      );
    if (this.isSlow)
      return this.backoff(this.consecutiveSlowPolls - this.policy.slowAfterPolls + 1, this.pollIntervalMs);
    return this.pollIntervalMs;
  }

  /**
   * @param answered at least one request of the poll was answered
   * @param slow the slowest reply took more than half the device's timeout
   */
  recordPoll(answered: boolean, slow = false): void {
    this.consecutiveFailures = answered ? 0 : this.consecutiveFailures + 1;
    this.consecutiveSlowPolls =
      answered && slow ? this.consecutiveSlowPolls + 1 : answered ? 0 : this.consecutiveSlowPolls;
  }

  private backoff(doublings: number, base: number): number {
    return Math.min(this.policy.maxBackoffMs, Math.max(base, 1) * 2 ** Math.min(Math.max(doublings, 0), 20));
  }
}
