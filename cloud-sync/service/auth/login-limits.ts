/**
 * The per-account limit of sign-in (issue 12, finding 6): failures are counted per username,
 * whatever address they come from, in `login_lockouts` (migration 0008, shared by every instance).
 * The per-address limit alone let four addresses make 40 guesses a minute at one account.
 *
 * Backoff (OWASP Authentication Cheat Sheet, "Account lockout"): the first FREE_FAILURES failures
 * cost nothing; each further one locks the username for BASE_LOCK_MS doubled per failure beyond
 * them, at most MAX_LOCK_MS. While locked every sign-in of the username is refused with the same 429
 * before its password is looked at (a right password too, so a guess during the lock teaches
 * nothing, and costs no KDF). A success clears the count; a count whose last failure is older than
 * FORGET_AFTER_MS starts again. Names that are no account are counted alike, so the answer does not
 * tell which exist. The worst case for a real operator is MAX_LOCK_MS of waiting while someone keeps
 * guessing: an outage of one account, never a guessed password.
 */
import type { Kysely } from 'kysely';
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

/** Counts a failed sign-in of `username` and locks it when due. */
export async function recordLoginFailure(
  db: Kysely<CloudSchema>,
  username: string,
  now: Date,
  rule: LoginLockoutRule = LOGIN_LOCKOUT,
): Promise<void> {
  const nowMs = now.getTime();
  const forgetBefore = nowMs - rule.forgetAfterMs;
  // One statement, so failures from several instances at once are all counted.
  const row = await db
    .insertInto('login_lockouts')
    .values({ username, failures: 1, last_failure_at: nowMs, locked_until: 0 })
    .onConflict((conflict) =>
      conflict.column('username').doUpdateSet((eb) => ({
        failures: eb
          .case()
          .when('login_lockouts.last_failure_at', '<', forgetBefore)
          .then(1)
          .else(eb('login_lockouts.failures', '+', 1))
          .end(),
        last_failure_at: nowMs,
      })),
    )
    .returning('failures')
    .executeTakeFirstOrThrow();
  const lockMs = lockDurationMs(Number(row.failures), rule);
  if (lockMs === 0) return;
  await db
    .updateTable('login_lockouts')
    .set({ locked_until: nowMs + lockMs })
    .where('username', '=', username)
    .where('locked_until', '<', nowMs + lockMs)
    .execute();
  // Forgotten counts of names tried once (typos, sprayed names) go with the failures that add more.
  await db.deleteFrom('login_lockouts').where('last_failure_at', '<', forgetBefore).execute();
}

/** A successful sign-in: the username's count starts again. */
export async function clearLoginFailures(db: Kysely<CloudSchema>, username: string): Promise<void> {
  await db.deleteFrom('login_lockouts').where('username', '=', username).execute();
}
