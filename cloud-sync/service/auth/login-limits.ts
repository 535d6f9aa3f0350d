/**
 * The per-account limit of sign-in (issue 12, finding 6): failures are counted per username,
 * whatever address they come from, in `login_lockouts` (migration 0008, shared by every instance).
 * The per-address limit alone let four addresses make 40 guesses a minute at one account.
 *
 * Backoff (OWASP Authentication Cheat Sheet, "Account lockout"): the first FREE_FAILURES failures
 * cost nothing; each further one locks the username for BASE_LOCK_MS doubled per failure beyond
 * them, at most MAX_LOCK_MS. Each attempt is counted as a failure before its password is checked,
 * in the same statement that reads the lock (claimLoginAttempt), so concurrent guesses cannot all
 * slip in before the lock lands. While locked every sign-in of the username is refused with the same 429
 * before its password is looked at (a right password too, so a guess during the lock teaches
 * nothing, and costs no KDF). A success clears the count; a count whose last failure is older than
 * FORGET_AFTER_MS starts again. Names that are no account are counted alike, so the answer does not
 * tell which exist. The worst case for a real operator is MAX_LOCK_MS of waiting while someone keeps
 * guessing: an outage of one account, never a guessed password.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CloudSchema } from '../db/schema.js';

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

export type LoginLockoutRule = typeof LOGIN_LOCKOUT;

/** How long the `failures`-th failure in a row locks the username, ms (0: not at all). */
export function lockDurationMs(failures: number, rule: LoginLockoutRule = LOGIN_LOCKOUT): number {
  if (failures < rule.freeFailures) return 0;
  const doublings = Math.min(failures - rule.freeFailures, 30);
  return Math.min(rule.baseLockMs * 2 ** doublings, rule.maxLockMs);
}

/** Seconds the username stays locked, or 0 when it may try now. */
export async function lockedForS(db: Kysely<CloudSchema>, username: string, now: Date): Promise<number> {
  const row = await db
    .selectFrom('login_lockouts')
    .select('locked_until')
    .where('username', '=', username)
    .executeTakeFirst();
  const remainingMs = Number(row?.locked_until ?? 0) - now.getTime();
  return remainingMs > 0 ? Math.ceil(remainingMs / 1000) : 0;
}

/**
 * Counts one sign-in attempt of `username` as a failure before its password is checked, and locks
 * the username when due, in one UPDATE that also reads the lock: returns 0 when the attempt may go
 * on to the password check, else the seconds the username stays locked (the attempt is refused and
 * not counted). A success then clears the count (clearLoginFailures).
 *
 * Checking the lock and counting the failure as two steps around the password check let a burst
 * of concurrent guesses all pass the check before the first failure was written (issue 12: 9 of 30
 * parallel guesses checked, not 5). A single UPDATE is atomic on both backends: SQLite runs one
 * writer at a time, and PostgreSQL re-evaluates the WHERE on the newest row version after waiting
 * for a concurrent writer's row lock (PostgreSQL manual, 13.2.1 "Read Committed Isolation Level"),
 * so exactly the attempts before the lock lands are let through, whichever instance serves them.
 */
export async function claimLoginAttempt(
  db: Kysely<CloudSchema>,
  username: string,
  now: Date,
  rule: LoginLockoutRule = LOGIN_LOCKOUT,
): Promise<number> {
  const nowMs = now.getTime();
  const forgetBefore = nowMs - rule.forgetAfterMs;
  // The row must exist for the UPDATE to count on; a no-op when it does.
  await db
    .insertInto('login_lockouts')
    .values({ username, failures: 0, last_failure_at: nowMs, locked_until: 0 })
    .onConflict((conflict) => conflict.column('username').doNothing())
    .execute();
  const count = sql<number>`(CASE WHEN last_failure_at < ${forgetBefore} THEN 1 ELSE failures + 1 END)`;
  const row = await db
    .updateTable('login_lockouts')
    .set({ failures: count, last_failure_at: nowMs, locked_until: lockUntil(count, nowMs, rule) })
    .where('username', '=', username)
    .where('locked_until', '<=', nowMs)
    .returning('failures')
    .executeTakeFirst();
  if (row === undefined) {
    // Locked; at least 1 s even if the lock ended (or a success cleared it) since the UPDATE.
    return Math.max(await lockedForS(db, username, now), 1);
  }
  if (Number(row.failures) >= rule.freeFailures) {
    // Forgotten counts of names tried once (typos, sprayed names) go with the attempts that lock.
    await db.deleteFrom('login_lockouts').where('last_failure_at', '<', forgetBefore).execute();
  }
  return 0;
}

/**
 * `locked_until` after the `count`-th failure, as SQL: the schedule has few steps before its
 * maximum (lockDurationMs), one CASE arm each. CAST so PostgreSQL types the parameters as bigint.
 */
function lockUntil(count: RawBuilder<number>, nowMs: number, rule: LoginLockoutRule): RawBuilder<number> {
  const until = (ms: number): number => (ms === 0 ? 0 : nowMs + ms);
  const arms: RawBuilder<unknown>[] = [];
  for (let n = 1; n < 64 && lockDurationMs(n, rule) < rule.maxLockMs; n++) {
    arms.push(sql`WHEN ${n} THEN CAST(${until(lockDurationMs(n, rule))} AS BIGINT)`);
  }
  const longest = sql<number>`CAST(${until(rule.maxLockMs)} AS BIGINT)`;
  if (arms.length === 0) return longest;
  return sql<number>`(CASE ${count} ${sql.join(arms, sql` `)} ELSE ${longest} END)`;
}

/** A successful sign-in: the username's count starts again. */
export async function clearLoginFailures(db: Kysely<CloudSchema>, username: string): Promise<void> {
  await db.deleteFrom('login_lockouts').where('username', '=', username).execute();
}
