/**
 * The uplink's reconnect schedule (docs/uplink.md, "Reconnect"): exponential backoff with full
 * jitter and a cap, as pure bookkeeping with an injected random source and clock, so the schedule
 * is tested by drawing from it, never by waiting.
 *
 *     ceilingMs = min(maxMs, initialMs * 2^attempt)        attempt = 0, 1, 2, ... (0 after a connect)
 *     delayMs   = random() * ceilingMs                      random() uniform in [0, 1)
 *
 * Why these numbers (issue 10): a gateway must be back within RECOVERY_BUDGET_MS (15 s) of the
 * broker returning after ANY outage, however long. The worst case is an attempt refused just
 * before the broker returns: the gateway then waits at most `maxMs` and its next connect succeeds
 * within `connectTimeoutMs` (or it is abandoned as failed). So `maxMs + connectTimeoutMs` must not
 * exceed 15 s: 10 s + 5 s by default. The old cap of 60 s let a gateway sleep up to a minute after
 * a long outage (14.4 s after one outage, 51 s after several restarts in a row were observed).
 *
 * Full jitter spreads a fleet that lost the same broker: after a long outage every gateway waits
 * uniformly in [0, maxMs), so 500 gateways come back at about 50 connects per second rather than
 * all in the same instant (test/gateway/uplink/reconnect.test.ts measures the spread).
 */

export interface ReconnectPolicy {
  /** Ceiling of the first wait (attempt 0). */
  initialMs: number;
  /** Cap of every wait: no wait is ever longer. */
  maxMs: number;
}

/** A gateway is back within this long of the broker returning (issue 10). */
export const RECOVERY_BUDGET_MS = 15_000;

/** 1 s doubling to 10 s: reached after 4 failed attempts (1, 2, 4, 8, then 10 s). */
export const DEFAULT_RECONNECT_POLICY: Readonly<ReconnectPolicy> = { initialMs: 1000, maxMs: 10_000 };

/**
 * How long one connect (TCP, TLS, CONNECT/CONNACK, SUBSCRIBE/SUBACK) may take before it counts as
 * failed. With the default cap: 10 s + 5 s = RECOVERY_BUDGET_MS.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** The schedule before issue 10 (1 s doubling to 60 s): the reference of `npm run bench -- outage`. */
export const PREVIOUS_RECONNECT_POLICY: Readonly<ReconnectPolicy> = { initialMs: 1000, maxMs: 60_000 };

/** Throws a RangeError unless 0 < initialMs <= maxMs, both finite. */
export function checkReconnectPolicy(policy: ReconnectPolicy): void {
  const { initialMs, maxMs } = policy;
  if (!Number.isFinite(initialMs) || initialMs <= 0)
    throw new RangeError(`reconnect initialMs must be a positive number, got ${initialMs}`);
  if (!Number.isFinite(maxMs) || maxMs < initialMs)
    throw new RangeError(`reconnect maxMs must be a number >= initialMs (${initialMs}), got ${maxMs}`);
}

/** The longest wait of attempt `attempt`: min(maxMs, initialMs * 2^attempt). */
export function reconnectCeilingMs(attempt: number, policy: ReconnectPolicy): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
}

/**
 * The wait before attempt `attempt`: uniform in [0, ceiling). A random source that strays outside
 * [0, 1) is clamped, so no source can make a wait longer than the cap.
 */
export function reconnectDelayMs(attempt: number, policy: ReconnectPolicy, random: () => number): number {
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return unit * reconnectCeilingMs(attempt, policy);
}

/**
 * Worst time from the broker returning to being connected again: the longest wait plus the
 * longest connect that still succeeds (a broker that refuses while it is down, e.g. a restart).
 */
export function worstRecoveryMs(policy: ReconnectPolicy, connectTimeoutMs: number): number {
  return policy.maxMs + connectTimeoutMs;
}

/** One wait the schedule handed out. */
export interface ReconnectWait {
  /** 0 for the first wait after a connection was lost (or after the first connect failed). */
  attempt: number;
  /** min(maxMs, initialMs * 2^attempt): the longest this wait could have been. */
  ceilingMs: number;
  /** The wait drawn, in [0, ceilingMs]. */
  delayMs: number;
  /** The injected clock when the wait began. */
  atMs: number;
}

/**
 * The schedule of one connection: `next()` after every lost connection or failed attempt,
 * `reset()` after every successful connect. Keeps the last `keep` waits for tests, metrics and
 * the outage benchmark.
 */
export class ReconnectSchedule {
  readonly policy: Readonly<ReconnectPolicy>;
  private attemptNo = 0;
  private readonly waits: ReconnectWait[] = [];

  constructor(
    policy: ReconnectPolicy,
    private readonly random: () => number,
    private readonly now: () => number,
    private readonly keep = 256,
  ) {
    checkReconnectPolicy(policy);
    this.policy = { initialMs: policy.initialMs, maxMs: policy.maxMs };
  }

  /** Failed attempts since the last successful connect (the exponent of the next wait). */
  get attempt(): number {
    return this.attemptNo;
  }

  /** Draws the next wait and records it. */
  next(): ReconnectWait {
    const attempt = this.attemptNo;
    const wait: ReconnectWait = {
      attempt,
      ceilingMs: reconnectCeilingMs(attempt, this.policy),
      delayMs: reconnectDelayMs(attempt, this.policy, this.random),
      atMs: this.now(),
    };
    this.attemptNo++;
    this.waits.push(wait);
    if (this.waits.length > this.keep) this.waits.splice(0, this.waits.length - this.keep);
    return wait;
  }

  /** A connect succeeded: the next lost connection starts again at attempt 0. */
  reset(): void {
    this.attemptNo = 0;
  }

  /** The last wait drawn, or null before the first. */
  last(): ReconnectWait | null {
    return this.waits.at(-1) ?? null;
  }

  /** The recorded waits, oldest first (at most `keep`). */
  history(): readonly ReconnectWait[] {
    return [...this.waits];
  }
}
