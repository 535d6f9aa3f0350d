/**
 * The scrape token in front of GET /metrics and the OpenAPI document (issue 12, finding 9). Both
 * tell an outsider what the fleet looks like (gateway ids, backlogs, every route and its roles),
 * and they share the listener of the API, which a deployment exposes. So they answer only a
 * request carrying `Authorization: Bearer <scrape token>` (RFC 6750 section 2.1; Prometheus sends
 * it with `authorization: {credentials_file: ...}`). The token is a setting (http.scrapeTokenFile or
 * KERBSIDE_SCRAPE_TOKEN, config.ts); with none configured both are refused: nothing is public by
 * accident. It is compared in constant time (a SHA-256 of each side, so lengths do not leak either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

const BEARER_RE = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** Shortest scrape token accepted: 128 bits in hex or base64 are 22 characters and more. */
export const MIN_SCRAPE_TOKEN_LENGTH = 16;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** An onRequest hook refusing, with 401 API_SCRAPE_TOKEN_REQUIRED, a request without the token. */
export function scrapeGuard(
  token: string | null,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = token === null ? null : digest(token);
  return async (request, reply) => {
    const presented = BEARER_RE.exec(request.headers.authorization ?? '')?.[1];
    if (expected !== null && presented !== undefined && timingSafeEqual(expected, digest(presented))) return;
    reply.header('www-authenticate', 'Bearer realm="kerbside-scrape"');
    throw new ApiError(
      'API_SCRAPE_TOKEN_REQUIRED',
      token === null
        ? 'no scrape token is configured (http.scrapeTokenFile or KERBSIDE_SCRAPE_TOKEN): this is refused'
        : 'send the scrape token: Authorization: Bearer <token>',
    );
  };
}
