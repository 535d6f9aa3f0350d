/**
 * Request limits shared by every instance on one database (issue 12, finding 6): a fixed-window
 * counter per key in `rate_limit_counters` (migration 0008). A per-process counter (the
 * @fastify/rate-limit memory store used before) let each of N instances allow the full limit, and
 * restarted at zero with the process.
 *
 * A hit is one upsert that returns the new count (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`,
 * SQLite 3.35 and PostgreSQL 9.5), so two instances counting at once never lose a hit. Fixed
 * windows allow up to twice the limit across a window boundary; for these limits (10 a minute
 * against 256-bit tokens, and a per-account lockout behind the login one) that is of no account,
 * and it keeps a hit to one statement.
 *
 * Keys are `{limit name}:{request.ip}`: the socket peer, or with http.trustProxy the client
 * address the proxy reports in X-Forwarded-For (fastify's trustProxy, http.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { CloudSchema } from '../db/schema.js';

export interface RateLimitRule {
  /** Requests allowed per window. */
  max: number;
  windowMs: number;
}

export interface RateLimitHit {
  allowed: boolean;
  /** Requests counted in this window, this one included. */
  count: number;
  /** Seconds until the window ends (for Retry-After, RFC 9110 section 10.2.3). */
  retryAfterS: number;
}

/** Expired windows are deleted at most this often per process. */
const PURGE_EVERY_MS = 60_000;

export class SharedRateLimiter {
  private lastPurgeMs = 0;

  constructor(
    private readonly db: Kysely<CloudSchema>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Counts one request under `key` and says whether it is within `rule`. */
  async hit(key: string, rule: RateLimitRule): Promise<RateLimitHit> {
    const nowMs = this.now().getTime();
    const windowStart = nowMs - (nowMs % rule.windowMs);
    const windowEnd = windowStart + rule.windowMs;
    await this.purge(nowMs);
    const row = await this.db
      .insertInto('rate_limit_counters')
      .values({ key, window_start: windowStart, count: 1, expires_at: windowEnd })
      .onConflict((conflict) =>
        conflict
          .columns(['key', 'window_start'])
          // Qualified: in PostgreSQL's ON CONFLICT, a bare `count` could be the EXCLUDED row's too.
          .doUpdateSet((eb) => ({ count: eb('rate_limit_counters.count', '+', 1) })),
      )
      .returning('count')
      .executeTakeFirstOrThrow();
    const count = Number(row.count);
    return {
      allowed: count <= rule.max,
      count,
      retryAfterS: Math.max(1, Math.ceil((windowEnd - nowMs) / 1000)),
    };
  }

  private async purge(nowMs: number): Promise<void> {
    if (nowMs - this.lastPurgeMs < PURGE_EVERY_MS) return;
    this.lastPurgeMs = nowMs;
    await this.db.deleteFrom('rate_limit_counters').where('expires_at', '<', nowMs).execute();
  }
}

/**
 * An onRequest hook (before the body is read) counting each request of a route under
 * `{name}:{client address}` and refusing the ones over `rule` with `refuse(retryAfterS)`, an
 * error the API's error handler answers (429), with Retry-After.
 */
export function rateLimitHook(
  limiter: SharedRateLimiter,
  name: string,
  rule: RateLimitRule,
  refuse: (retryAfterS: number) => Error,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const hit = await limiter.hit(`${name}:${request.ip}`, rule);
    if (hit.allowed) return;
    reply.header('retry-after', String(hit.retryAfterS));
    throw refuse(hit.retryAfterS);
  };
}
