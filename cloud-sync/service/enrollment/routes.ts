/**
 * HTTP side of enrollment: `POST /api/v1/enroll {token}` → the gateway's id, MQTT credential and the
 * CA bundle it should trust (docs/enrollment.md). Register with
 * `app.register(enrollmentRoutes, { db, mqttUrl, caBundle })`; serve it over HTTPS in production,
 * the token and the returned secret are both bearer credentials.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import { gatewayClientId } from '../broker/acl.js';
import type { CloudSchema } from '../db/schema.js';
import { rateLimitHook, SharedRateLimiter } from '../api/rate-limits.js';
import { BODY_LIMITS, errorAnswerSchema } from '../http.js';
import { EnrollmentError } from './errors.js';
import { redeemEnrollmentToken, type EnrollmentLogger } from './redeem.js';
import type { CredentialKey } from '../secrets/credential-key.js';

export interface EnrollmentRoutesOptions {
  db: Kysely<CloudSchema>;
  /** The broker URL gateways connect to, e.g. `mqtts://mqtt.city.example:8883`. */
  mqttUrl: string;
  /** PEM of the CA that signed the broker's certificate; null when the system store suffices. */
  caBundle: string | null;
  /**
   * The cloud's downlink public keys (base64url Ed25519), the signing one first: the gateway pins
   * them next to the CA and refuses `down/` messages they do not verify (docs/downlink-signing.md).
   */
  downlinkKeys: readonly string[];
  /** The key the issued MQTT credential is hashed with (broker/credentials.ts). */
  credentialKey: CredentialKey;
  /** Where refusals and enrollments are logged; defaults to the request logger. */
  logger?: EnrollmentLogger;
  /** Clock, for tests. */
  now?: () => Date;
  /** Attempts per address and window; default ENROLL_RATE_LIMIT. */
  rateLimit?: { max: number; timeWindowMs: number };
  /**
   * Where the attempts are counted: the database, shared by every instance (api/rate-limits.ts);
   * default a limiter of its own on `db` (buildApi shares one with sign-in).
   */
  limiter?: SharedRateLimiter;
}

/**
 * An installer enrolls a cabinet with one request; ten a minute from one address leaves room for
 * typos and retries. More is a script: tokens are 256-bit, so it cannot guess one, but each attempt
 * costs a database transaction, a log line and an audit row (docs/security.md). Counted in the
 * database like the login limit, so several instances share it (api/rate-limits.ts).
 */
export const ENROLL_RATE_LIMIT = { max: 10, timeWindowMs: 60_000 } as const;

/** Tokens are 43 characters; the bound only keeps garbage out of the hash and the log. */
const MAX_TOKEN_LENGTH = 256;

/*
 * A refused token is ENROLL_REFUSED (401), one answer for every reason, see below. A body failing
 * its schema is the API's REQUEST_INVALID answer (http.ts), whose body policy (no coercion: a
 * number 12 is not the token "12"; unknown fields refused) a credential endpoint needs.
 */

const enrollSchema = {
  body: {
    type: 'object',
    required: ['token'],
    additionalProperties: false,
    properties: { token: { type: 'string', minLength: 1, maxLength: MAX_TOKEN_LENGTH } },
  },
  response: {
    200: {
      type: 'object',
      required: ['gatewayId', 'mqtt', 'caBundle', 'downlinkKeys'],
      additionalProperties: false,
      properties: {
        gatewayId: { type: 'string' },
        mqtt: {
          type: 'object',
          required: ['url', 'username', 'password', 'clientId'],
          additionalProperties: false,
          properties: {
            url: { type: 'string' },
            username: { type: 'string' },
            password: { type: 'string' },
            clientId: { type: 'string' },
          },
        },
        caBundle: { type: ['string', 'null'] },
        downlinkKeys: { type: 'array', minItems: 1, items: { type: 'string' } },
      },
    },
    400: errorAnswerSchema,
    401: errorAnswerSchema,
    429: errorAnswerSchema,
  },
} as const;

/** Public: the one-time token in the body is the credential (auth/roles.ts, docs/auth.md). */
const enrollRoute = { config: { access: { public: true } }, schema: enrollSchema } as const;

interface EnrollBody {
  token: string;
}

export const enrollmentRoutes: FastifyPluginAsync<EnrollmentRoutesOptions> = async (app, options) => {
  const { db, mqttUrl, caBundle } = options;
  const downlinkKeys = [...options.downlinkKeys];
  const now = options.now ?? (() => new Date());
  const limit = options.rateLimit ?? ENROLL_RATE_LIMIT;
  // Before the body is read (onRequest); a small body limit, the token is 43 characters.
  const route = {
    ...enrollRoute,
    bodyLimit: BODY_LIMITS.credentials,
    onRequest: rateLimitHook(
      options.limiter ?? new SharedRateLimiter(db),
      'enroll',
      { max: limit.max, windowMs: limit.timeWindowMs },
      (retryAfterS) =>
        new EnrollmentError(
          'ENROLL_RATE_LIMITED',
          `too many enrollment attempts from this address; try again in ${retryAfterS} s`,
        ),
    ),
  };
  app.post<{ Body: EnrollBody }>('/api/v1/enroll', route, async (request, reply) => {
    // The response holds a secret: no cache anywhere may keep it.
    reply.header('cache-control', 'no-store');
    const result = await redeemEnrollmentToken(db, {
      token: request.body.token,
      remoteAddress: request.ip,
      credentialKey: options.credentialKey,
      logger: options.logger ?? request.log,
      now: now(),
    });
    if (!result.ok) {
      // One answer for every refusal: a caller must not learn whether a token exists, was used or
      // expired. The specific reason is in the log and the audit trail.
      throw new EnrollmentError('ENROLL_REFUSED', 'enrollment refused: the token is not valid');
    }
    return {
      gatewayId: result.gatewayId,
      mqtt: {
        url: mqttUrl,
        username: result.gatewayId,
        password: result.secret,
        clientId: gatewayClientId(result.gatewayId),
      },
      caBundle,
      downlinkKeys,
    };
  });
};
