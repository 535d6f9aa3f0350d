/**
 * Bookkeeping of refused MQTT connections per source address, for the embedded broker:
 * - RefusalThrottle: after REFUSALS_BEFORE_THROTTLE refusals within REFUSAL_WINDOW_MS, further
 *   connections from that address are closed at once, before any credential is checked, until the
 *   window ends. A CONNECT flood then costs one map lookup per socket instead of a hash each.
 * - RefusalLog: one log line per address per interval, the rest summarised in it, so a flood
 *   cannot fill the disk with one line per refusal.
 * Both keep at most MAX_TRACKED_ADDRESSES entries, pruning the stale ones first.
 */

/** Refusals per address within one window after which the address is throttled. */
export const REFUSALS_BEFORE_THROTTLE = 20;
/**
 * Length of the refusal window. A gateway with a wrong or revoked credential retries with backoff
 * (seconds to minutes, gateway/uplink/reconnect.ts), so an honest cabinet makes a handful of
 * refusals a minute at most; twenty is a flood, or a misconfiguration that gains nothing by retrying.
 */
export const REFUSAL_WINDOW_MS = 60_000;
/** One log line per address per this interval; the others are counted into it. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Addresses remembered at most (each entry is a few dozen bytes). */
const MAX_TRACKED_ADDRESSES = 10_000;

interface WindowEntry {
  start: number;
  count: number;
}

export interface RefusalThrottleOptions {
  limit?: number;
  windowMs?: number;
}

export class RefusalThrottle {
  private readonly entries = new Map<string, WindowEntry>();
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(options: RefusalThrottleOptions = {}) {
    this.limit = options.limit ?? REFUSALS_BEFORE_THROTTLE;
    this.windowMs = options.windowMs ?? REFUSAL_WINDOW_MS;
  }

  /** Counts one refusal of a connection from `address`. */
  record(address: string, now = Date.now()): void {
    const entry = this.entries.get(address);
    if (entry === undefined || now - entry.start >= this.windowMs) {
      this.prune(now);
      this.entries.set(address, { start: now, count: 1 });
    } else {
      entry.count += 1;
    }
  }

  /** Whether connections from `address` are refused without looking at them. */
  isThrottled(address: string, now = Date.now()): boolean {
    const entry = this.entries.get(address);
    if (entry === undefined) return false;
    if (now - entry.start >= this.windowMs) {
      this.entries.delete(address);
      return false;
    }
    return entry.count >= this.limit;
  }

  private prune(now: number): void {
    if (this.entries.size < MAX_TRACKED_ADDRESSES) return;
    for (const [address, entry] of this.entries)
      if (now - entry.start >= this.windowMs) this.entries.delete(address);
    // Still full of live entries: forget the oldest rather than grow without bound.
    while (this.entries.size >= MAX_TRACKED_ADDRESSES) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}

interface LogEntry {
  lastLineAt: number;
  suppressed: number;
  reasons: Record<string, number>;
}

export interface RefusalLogLine {
  address: string;
  /** Refusals folded into this line since the previous one (0 for the first). */
  suppressedSinceLast: number;
  /** Their reasons, counted. */
  suppressedReasons: Record<string, number>;
}

/** At most one line per address per interval; `write` is called with the line to log. */
export class RefusalLog {
  private readonly entries = new Map<string, LogEntry>();

  constructor(private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS) {}

  /**
   * A refusal from `address` for `reason`: the returned summary is to be logged now with its
   * details, or null when it was folded into the next summary.
   */
  take(address: string, reason: string, now = Date.now()): RefusalLogLine | null {
    const entry = this.entries.get(address);
    if (entry !== undefined && now - entry.lastLineAt < this.intervalMs) {
      entry.suppressed += 1;
      entry.reasons[reason] = (entry.reasons[reason] ?? 0) + 1;
      return null;
    }
    this.prune(now);
    this.entries.set(address, { lastLineAt: now, suppressed: 0, reasons: {} });
    return {
      address,
      suppressedSinceLast: entry?.suppressed ?? 0,
      suppressedReasons: entry?.reasons ?? {},
    };
  }

  /**
   * Summaries of addresses whose interval has passed with refusals folded in and none since:
   * without this a flood that stops would never be reported in full.
   */
  flush(now = Date.now()): RefusalLogLine[] {
    const lines: RefusalLogLine[] = [];
    for (const [address, entry] of this.entries) {
      if (now - entry.lastLineAt < this.intervalMs) continue;
      if (entry.suppressed > 0)
        lines.push({ address, suppressedSinceLast: entry.suppressed, suppressedReasons: entry.reasons });
      this.entries.delete(address);
    }
    return lines;
  }

  private prune(now: number): void {
    if (this.entries.size < MAX_TRACKED_ADDRESSES) return;
    for (const [address, entry] of this.entries)
      if (now - entry.lastLineAt >= this.intervalMs && entry.suppressed === 0) this.entries.delete(address);
    while (this.entries.size >= MAX_TRACKED_ADDRESSES) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
