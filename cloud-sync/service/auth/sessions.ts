/**
 * Bearer sessions of operators (docs/auth.md). Login returns a token of 32 random bytes
 * (base64url) once; only its SHA-256 is stored, so a leaked sessions table signs nobody in, and
 * 256 random bits need no salt. A session ends 12 h after login (absolute), after 30 min without a
 * request (idle), at logout, or when its operator is disabled or changes password. Roles and unit
 * are read from the operator row on every lookup, so an admin's change applies at the next request.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { CloudSchema } from '../db/schema.js';
import type { AuthenticatedOperator } from './roles.js';
import { isRole } from './roles.js';

export const SESSION_LIFETIME_MS = 12 * 3600_000;
export const SESSION_IDLE_MS = 30 * 60_000;
/** last_seen_at is written at most this often: one write per minute, not one per request. */
export const SESSION_TOUCH_INTERVAL_MS = 60_000;
/** Longer strings cannot be our tokens (43 characters); they are refused before hashing. */
const MAX_TOKEN_LENGTH = 128;

type Db = Kysely<CloudSchema> | Transaction<CloudSchema>;

export interface NewSession {
  /** The bearer token; shown to the client once, never stored. */
  token: string;
  expiresAt: string;
}

export interface SessionLookup {
  operator: AuthenticatedOperator;
  expiresAt: string;
}

/** Lower-case hex SHA-256 of a token: the stored form and the lookup key. */
export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function createSession(db: Db, username: string, now: Date): Promise<NewSession> {
  const token = randomBytes(32).toString('base64url');
  const at = now.toISOString();
  const expiresAt = new Date(now.getTime() + SESSION_LIFETIME_MS).toISOString();
  await db
    .insertInto('sessions')
    .values({
      token_hash: hashSessionToken(token),
      username,
      created_at: at,
      expires_at: expiresAt,
      last_seen_at: at,
      revoked: 0,
    })
    .execute();
  return { token, expiresAt };
}

/**
 * The operator a token signs in, or null when the token is unknown, revoked, past its absolute
 * lifetime or idle for too long, or its operator is disabled or gone. Refreshes last_seen_at at
 * most once per SESSION_TOUCH_INTERVAL_MS.
 */
export async function lookupSession(
  db: Kysely<CloudSchema>,
  token: string,
  now: Date,
): Promise<SessionLookup | null> {
  if (token === '' || token.length > MAX_TOKEN_LENGTH) return null;
  const tokenHash = hashSessionToken(token);
  const row = await db
    .selectFrom('sessions')
    .innerJoin('operators', 'operators.username', 'sessions.username')
    .select([
      'sessions.expires_at',
      'sessions.last_seen_at',
      'sessions.revoked',
      'operators.username',
      'operators.display_name',
      'operators.roles',
      'operators.unit',
      'operators.disabled',
    ])
    .where('sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (row === undefined || row.revoked === 1 || row.disabled === 1) return null;
  const nowMs = now.getTime();
  if (nowMs >= Date.parse(row.expires_at)) return null;
  const lastSeenMs = Date.parse(row.last_seen_at);
  if (nowMs - lastSeenMs >= SESSION_IDLE_MS) return null;
  if (nowMs - lastSeenMs >= SESSION_TOUCH_INTERVAL_MS) {
    await db
      .updateTable('sessions')
      .set({ last_seen_at: now.toISOString() })
      .where('token_hash', '=', tokenHash)
      .execute();
  }
  const parsed = JSON.parse(row.roles) as unknown;
  return {
    operator: {
      username: row.username,
      displayName: row.display_name,
      roles: Array.isArray(parsed) ? parsed.filter(isRole) : [],
      unit: row.unit,
    },
    expiresAt: row.expires_at,
  };
}

/** Ends one session (logout); true when it existed and was still open. */
export async function revokeSession(db: Db, token: string): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked: 1 })
    .where('token_hash', '=', hashSessionToken(token))
    .where('revoked', '=', 0)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Ends every session of an operator (disabled, or a new password); returns how many. */
export async function revokeSessionsOf(db: Db, username: string): Promise<number> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked: 1 })
    .where('username', '=', username)
    .where('revoked', '=', 0)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Deletes sessions that can never be used again (revoked, expired or idle past the timeout), so
 * the table holds only live sessions. Called at login; safe to call any time.
 */
export async function purgeDeadSessions(db: Db, now: Date): Promise<number> {
  const idleCutoff = new Date(now.getTime() - SESSION_IDLE_MS).toISOString();
  const result = await db
    .deleteFrom('sessions')
    .where((eb) =>
      eb.or([
        eb('revoked', '=', 1),
        eb('expires_at', '<=', now.toISOString()),
        eb('last_seen_at', '<=', idleCutoff),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
