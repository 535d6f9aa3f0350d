/**
 * Sessions of the cabinet web UI, in memory (docs/auth.md, "The cabinet's accounts"). A restart
 * signs everyone out: a session table in kerbside.db would cost a synchronous, fsynced write on the
 * one commit path for every sign-in and idle refresh (the path polling and alarms use), to keep
 * alive something a technician re-creates in ten seconds.
 *
 * A token is 32 random bytes (base64url), handed to the browser once in an HttpOnly cookie; only its
 * SHA-256 is kept, so a heap snapshot or a debugging dump signs nobody in. A session ends after
 * `idleMs` without a request, `absoluteMs` after sign-in, at logout, when its user is disabled or
 * removed, or when the user's password hash changes (a new password set here, by an admin or by
 * the CLI): the session remembers the hash it was made with (see lookup). Expiry runs on the
 * monotonic clock (Instant.monoMs): a cabinet's wall clock may jump when NTP arrives.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Instant } from '../../alarms/types.js';

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
  /** Most live sessions kept; beyond it the least recently used one ends. Default 1000. */
  maxSessions?: number;
}

export interface LiveSession {
  username: string;
  /** The user's password hash when the session was made: a changed hash ends the session. */
  passwordHash: string;
  createdMonoMs: number;
  lastSeenMonoMs: number;
}

export interface SessionExpiry {
  idleExpiresWallMs: number;
  absoluteExpiresWallMs: number;
}

/** Longer strings cannot be our tokens (43 characters); refused before hashing. */
const MAX_TOKEN_LENGTH = 128;
export const DEFAULT_MAX_SESSIONS = 1000;

function tokenKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class WebSessions {
  private readonly byKey = new Map<string, LiveSession>();
  private readonly maxSessions: number;

  constructor(
    private readonly limits: SessionLimits,
    private readonly clock: () => Instant,
  ) {
    this.maxSessions = limits.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  /** A new session; the token is returned once and never kept. */
  create(username: string, passwordHash: string): { token: string; session: LiveSession } {
    const now = this.clock().monoMs;
    this.purge(now);
    if (this.byKey.size >= this.maxSessions) this.dropLeastRecentlyUsed();
    const token = randomBytes(32).toString('base64url');
    const session: LiveSession = { username, passwordHash, createdMonoMs: now, lastSeenMonoMs: now };
    this.byKey.set(tokenKey(token), session);
    return { token, session };
  }

  /**
   * The live session of `token`, its idle time restarted; null when unknown, ended or expired (an
   * expired one is forgotten). The caller checks the user row (disabled, password hash).
   */
  lookup(token: string): LiveSession | null {
    if (token === '' || token.length > MAX_TOKEN_LENGTH) return null;
    const key = tokenKey(token);
    const session = this.byKey.get(key);
    if (session === undefined) return null;
    const now = this.clock().monoMs;
    if (!this.alive(session, now)) {
      this.byKey.delete(key);
      return null;
    }
    session.lastSeenMonoMs = now;
    return session;
  }

  /**
   * Whether `token`'s session is still live, WITHOUT restarting its idle time: for what a session
   * keeps open (the live stream, live.ts), which must not keep an unattended page signed in.
   */
  isLive(token: string): boolean {
    if (token === '' || token.length > MAX_TOKEN_LENGTH) return false;
    const session = this.byKey.get(tokenKey(token));
    return session !== undefined && this.alive(session, this.clock().monoMs);
  }

  /** When `session` ends if left alone, on the wall clock (for the page; Session in api-types.ts). */
  expiryOf(session: LiveSession): SessionExpiry {
    const now = this.clock();
    const idleLeft = session.lastSeenMonoMs + this.limits.idleMs - now.monoMs;
    const absoluteLeft = session.createdMonoMs + this.limits.absoluteMs - now.monoMs;
    return {
      idleExpiresWallMs: now.wallMs + Math.min(idleLeft, absoluteLeft),
      absoluteExpiresWallMs: now.wallMs + absoluteLeft,
    };
  }

  /** Seconds until `session` reaches its absolute expiry (the cookie's Max-Age). */
  secondsLeft(session: LiveSession): number {
    const left = session.createdMonoMs + this.limits.absoluteMs - this.clock().monoMs;
    return Math.max(0, Math.floor(left / 1000));
  }

  /** Ends one session (logout); true when it was live. */
  revoke(token: string): boolean {
    return this.byKey.delete(tokenKey(token));
  }

  /** Ends every session of `username` (password changed, disabled); returns how many. */
  revokeUser(username: string): number {
    let ended = 0;
    for (const [key, session] of this.byKey) {
      if (session.username === username) {
        this.byKey.delete(key);
        ended += 1;
      }
    }
    return ended;
  }

  /** Live sessions (tests, metrics). */
  get size(): number {
    this.purge(this.clock().monoMs);
    return this.byKey.size;
  }

  private alive(session: LiveSession, now: number): boolean {
    return (
      now - session.lastSeenMonoMs < this.limits.idleMs &&
      now - session.createdMonoMs < this.limits.absoluteMs
    );
  }

  private purge(now: number): void {
    for (const [key, session] of this.byKey) if (!this.alive(session, now)) this.byKey.delete(key);
  }

  private dropLeastRecentlyUsed(): void {
    let oldest: [string, LiveSession] | null = null;
    for (const entry of this.byKey)
      if (oldest === null || entry[1].lastSeenMonoMs < oldest[1].lastSeenMonoMs) oldest = entry;
    if (oldest !== null) this.byKey.delete(oldest[0]);
  }
}
