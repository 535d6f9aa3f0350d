/**
 * Limits on sign-in to the cabinet web UI (docs/auth.md, "The cabinet's accounts"), in memory: the
 * gateway is one process, and a restart that forgets the counts costs a guesser a restart of the
 * cabinet, which is not theirs to do.
 *
 * - Per address: at most `perAddress.max` attempts (sign-in, setup, password change) per window,
 *   counted before anything else, so one address cannot keep the password hash busy.
 * - Per account, whatever the address (OWASP Authentication Cheat Sheet, "Account lockout"; the
 *   cloud's schedule, cloud-sync/service/auth/login-limits.ts): the first four failures are free,
 *   the fifth locks the username for a minute and each further one doubles the lock up to 15
 *   minutes. Each attempt is counted as a failure BEFORE its password is checked, so concurrent
 *   guesses cannot all slip in before the first failure is recorded; a success clears the count.
 *   During a lock every attempt, the right password too, gets the same 429 without any hash run.
 *   Unknown names are counted alike, so a lock does not tell which accounts exist.
 *
 * Times are on the monotonic clock. Both tables are bounded (MAX_TRACKED): stale entries go first,
 * then the oldest.
 */
export const LOGIN_LOCKOUT = {
  /** Failures before the first lock. */
  freeFailures: 5,
  /** The first lock; doubled for each failure after it. */
  baseLockMs: 60_000,
  /** The longest lock. */
  maxLockMs: 15 * 60_000,
  /** A count with no failure for this long is forgotten. */
  forgetAfterMs: 24 * 60 * 60_000,
} as const;

export type LoginLockoutRule = { readonly [K in keyof typeof LOGIN_LOCKOUT]: number };

/** Attempts per address and window: 20 a minute is far above a person retyping a password. */
export const LOGIN_PER_ADDRESS = { max: 20, windowMs: 60_000 } as const;

export type AddressRule = { readonly max: number; readonly windowMs: number };

/** Most addresses and usernames tracked at once (a spray of names or addresses cannot grow memory). */
const MAX_TRACKED = 10_000;

/** How long the `failures`-th failure in a row locks the username, ms (0: not at all). */
export function lockDurationMs(failures: number, rule: LoginLockoutRule = LOGIN_LOCKOUT): number {
  if (failures < rule.freeFailures) return 0;
  const doublings = Math.min(failures - rule.freeFailures, 30);
  return Math.min(rule.baseLockMs * 2 ** doublings, rule.maxLockMs);
}

interface AccountCount {
  failures: number;
  lastFailureMs: number;
  lockedUntilMs: number;
}

interface AddressCount {
  windowStartMs: number;
  count: number;
}

export interface LoginLimitOptions {
  /** Monotonic milliseconds. */
  clock: () => number;
  perAddress?: AddressRule;
  lockout?: LoginLockoutRule;
}

export class LoginLimits {
  private readonly accounts = new Map<string, AccountCount>();
  private readonly addresses = new Map<string, AddressCount>();
  private readonly perAddress: AddressRule;
  private readonly lockout: LoginLockoutRule;

  constructor(private readonly options: LoginLimitOptions) {
    this.perAddress = options.perAddress ?? LOGIN_PER_ADDRESS;
    this.lockout = options.lockout ?? LOGIN_LOCKOUT;
  }

  /** Counts one attempt from `address`: 0 when it may go on, else the seconds until its window ends. */
  claimAddress(address: string): number {
    const now = this.options.clock();
    let entry = this.addresses.get(address);
    if (entry === undefined || now - entry.windowStartMs >= this.perAddress.windowMs) {
      bound(this.addresses, (e) => now - e.windowStartMs >= this.perAddress.windowMs);
      entry = { windowStartMs: now, count: 0 };
      this.addresses.set(address, entry);
    }
    if (entry.count >= this.perAddress.max) {
      return Math.max(1, Math.ceil((entry.windowStartMs + this.perAddress.windowMs - now) / 1000));
    }
    entry.count += 1;
    return 0;
  }

  /**
   * Counts one sign-in attempt of `username` as a failure before its password is checked, and
   * locks the username when due: 0 when the attempt may go on to the password check, else the
   * seconds the username stays locked (the attempt is refused and not counted).
   */
  claimAccount(username: string): number {
    const now = this.options.clock();
    let entry = this.accounts.get(username);
    if (entry !== undefined && entry.lockedUntilMs > now) {
      return Math.max(1, Math.ceil((entry.lockedUntilMs - now) / 1000));
    }
    if (entry === undefined || now - entry.lastFailureMs >= this.lockout.forgetAfterMs) {
      bound(
        this.accounts,
        (e) => now - e.lastFailureMs >= this.lockout.forgetAfterMs && e.lockedUntilMs <= now,
      );
      entry = { failures: 0, lastFailureMs: now, lockedUntilMs: 0 };
      this.accounts.set(username, entry);
    }
    entry.failures += 1;
    entry.lastFailureMs = now;
    const lock = lockDurationMs(entry.failures, this.lockout);
    if (lock > 0) entry.lockedUntilMs = now + lock;
    return 0;
  }

  /** Seconds `username` stays locked after the attempt just counted (0: not locked). */
  lockedForS(username: string): number {
    const entry = this.accounts.get(username);
    const left = (entry?.lockedUntilMs ?? 0) - this.options.clock();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** A successful sign-in: the username's count starts again. */
  succeeded(username: string): void {
    this.accounts.delete(username);
  }
}

/** Keeps `map` under MAX_TRACKED before an insert: stale entries first, then the oldest. */
function bound<V>(map: Map<string, V>, stale: (value: V) => boolean): void {
  if (map.size < MAX_TRACKED) return;
  for (const [key, value] of map) if (stale(value)) map.delete(key);
  // Map keeps insertion order: the first keys are the oldest.
  for (const key of map.keys()) {
    if (map.size < MAX_TRACKED) break;
    map.delete(key);
  }
}
