/**
 * The one-time setup link that makes the first admin (docs/auth.md, "The cabinet's accounts").
 * There is no default password: until an admin exists, each start of the web server makes a new
 * token (32 random bytes, base64url), prints the link with it once in the log on purpose (the
 * installer at the cabinet reads it there; server.ts), and keeps only its SHA-256 in memory. The
 * token works once and for SETUP_TOKEN_TTL_MS; a restart makes a new one and forgets the old.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SETUP_TOKEN_TTL_MS = 60 * 60_000;

/** Longer strings cannot be our tokens (43 characters); refused before hashing. */
const MAX_TOKEN_LENGTH = 128;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class SetupToken {
  private used = false;
  private inUse = false;

  private constructor(
    private readonly hash: Buffer,
    private readonly expiresMonoMs: number,
  ) {}

  /** A new token valid for SETUP_TOKEN_TTL_MS from `nowMonoMs` (monotonic ms); the token is returned once. */
  static issue(nowMonoMs: number, ttlMs = SETUP_TOKEN_TTL_MS): { token: string; setup: SetupToken } {
    const token = randomBytes(32).toString('base64url');
    return { token, setup: new SetupToken(digest(token), nowMonoMs + ttlMs) };
  }

  /**
   * Takes the token for one setup attempt: true when `token` is this one, unused, not expired and
   * not taken by a concurrent attempt. Follow with `finish()` (the admin was made) or `release()`
   * (the attempt failed for another reason; the token may be tried again). Compared in constant time.
   */
  take(token: string, nowMonoMs: number): boolean {
    if (this.used || this.inUse || nowMonoMs >= this.expiresMonoMs) return false;
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return false;
    if (!timingSafeEqual(digest(token), this.hash)) return false;
    this.inUse = true;
    return true;
  }

  finish(): void {
    this.used = true;
    this.inUse = false;
  }

  release(): void {
    this.inUse = false;
  }

  /** Whether the token may still make an admin (unused and not expired). */
  usable(nowMonoMs: number): boolean {
    return !this.used && nowMonoMs < this.expiresMonoMs;
  }
}
