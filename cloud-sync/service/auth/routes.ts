/**
 * HTTP routes of operator sign-in, accounts and the audit trail (docs/auth.md). Register after
 * authPlugin: `await app.register(authRoutes, { db, logger })`.
 *
 *   POST /api/v1/auth/login                      public, 10 per minute per address, and a
 *                                                lockout with backoff per username (login-limits.ts)
 *   POST /api/v1/auth/logout | GET /api/v1/auth/me | POST /api/v1/auth/password      any operator
 *   GET|POST /api/v1/operators, PATCH /api/v1/operators/:username,
 *   POST /api/v1/operators/:username/reset-password, GET /api/v1/audit            admin
 *
 * A refused login answers the same 401 whether the user is unknown, disabled or the password wrong
 * (and costs the same scrypt, operators.ts), so the API does not reveal which accounts exist. A
 * password or token appears only in the one response that hands it out (Cache-Control: no-store),
 * never in a log or audit detail.
 */
import { sessionSetCookie } from '../../../runtime/http-request.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import type { CloudSchema } from '../db/schema.js';
import { listAudit, type AuditFilter } from '../enrollment/audit.js';
import { rateLimitHook, type SharedRateLimiter } from '../api/rate-limits.js';
import { BODY_LIMITS, errorAnswerSchema } from '../http.js';
import { AuthError } from './errors.js';
import {
  claimLoginAttempt,
  clearLoginFailures,
  LOGIN_LOCKOUT,
  type LoginLockoutRule,
} from './login-limits.js';
import {
  createOperator,
  listOperators,
  setOperatorPassword,
  updateOperator,
  USERNAME_RE,
  verifyCredentials,
  type OperatorChanges,
} from './operators.js';
import { generatePassword, MAX_PASSWORD_LENGTH } from './passwords.js';
import { sessionCookieName, sessionTokenOf, type AuthLogger } from './plugin.js';
import { operatorOf, ROLES } from './roles.js';
import { createSession, purgeDeadSessions, revokeSession, SESSION_LIFETIME_MS } from './sessions.js';

export interface AuthRoutesOptions {
  db: Kysely<CloudSchema>;
  logger: AuthLogger;
  now?: () => Date;
  /** Login (and password change) attempts per address; default 10 per minute. */
  loginRateLimit?: { max: number; timeWindowMs: number };
  /** The per-username lockout; default LOGIN_LOCKOUT. */
  loginLockout?: LoginLockoutRule;
  /** The shared counters of the per-address limit (api/rate-limits.ts). */
  limiter: SharedRateLimiter;
  /**
   * The session cookie without `Secure` and without the `__Host-` prefix (which requires Secure),
   * for plain HTTP on loopback only: the demo and tests (setting http.insecureCookies).
   */
  insecureCookies?: boolean;
}

const AUDIT_DEFAULT_LIMIT = 100;
const AUDIT_MAX_LIMIT = 1000;

const roleList = { type: 'array', items: { type: 'string', enum: [...ROLES] }, uniqueItems: true } as const;

const authenticatedSchema = {
  type: 'object',
  required: ['username', 'displayName', 'roles', 'unit'],
  additionalProperties: false,
  properties: {
    username: { type: 'string' },
    displayName: { type: 'string' },
    roles: roleList,
    unit: { type: ['string', 'null'] },
  },
} as const;

const operatorSchema = {
  type: 'object',
  required: ['username', 'displayName', 'roles', 'unit', 'disabled', 'createdAt', 'updatedAt'],
  additionalProperties: false,
  properties: {
    ...authenticatedSchema.properties,
    disabled: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const sessionSchema = {
  type: 'object',
  required: ['token', 'expiresAt'],
  additionalProperties: false,
  properties: {
    token: { type: 'string', description: 'Bearer token; shown only in this response' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;

const usernameParams = {
  type: 'object',
  required: ['username'],
  additionalProperties: false,
  properties: { username: { type: 'string', pattern: USERNAME_RE.source } },
} as const;

const passwordField = { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH } as const;

const auditEntrySchema = {
  type: 'object',
  required: ['id', 'at', 'actor', 'action', 'target', 'detail', 'outcome', 'source', 'count'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string' },
    action: { type: 'string' },
    target: { type: 'string' },
    detail: { type: ['object', 'null'], additionalProperties: true },
    outcome: { type: ['string', 'null'], enum: ['ok', 'denied', 'failed', null] },
    source: { type: ['string', 'null'] },
    count: {
      type: ['integer', 'null'],
      description: 'a summary row of anonymous refusals: how many in its minute; null for one event',
    },
  },
} as const;

interface LoginBody {
  username: string;
  password: string;
}

interface PasswordBody {
  currentPassword: string;
  newPassword: string;
}

interface CreateBody {
  username: string;
  displayName?: string;
  roles: string[];
  unit?: string | null;
  password?: string;
}

interface PatchBody {
  displayName?: string;
  roles?: string[];
  unit?: string | null;
  disabled?: boolean;
}

interface UsernameParams {
  username: string;
}

interface AuditQuery {
  actor?: string;
  target?: string;
  from?: string;
  to?: string;
  limit?: number;
}

/**
 * The session cookie for a browser console: not readable by scripts, never sent cross-site, sent
 * over HTTPS only, and bound to this host: the `__Host-` prefix makes a browser refuse the cookie
 * unless it is Secure, has Path=/ and no Domain, so a sibling host cannot set or shadow it
 * (RFC 6265bis section 4.1.3.2). `insecure` (the dev setting) drops Secure and so the prefix.
 */
export function sessionCookie(token: string, insecure: boolean, maxAgeS: number): string {
  return sessionSetCookie(sessionCookieName(insecure), token, insecure, maxAgeS);
}

/** Every refused sign-in beyond a limit, address or account: one answer, so neither is told apart. */
function tooManyAttempts(retryAfterS: number): AuthError {
  return new AuthError('AUTH_RATE_LIMITED', `too many sign-in attempts; try again in ${retryAfterS} s`);
}

export async function authRoutes(app: FastifyInstance, opts: AuthRoutesOptions): Promise<void> {
  const { db } = opts;
  const now = opts.now ?? (() => new Date());
  const limit = opts.loginRateLimit ?? { max: 10, timeWindowMs: 60_000 };
  const lockout = opts.loginLockout ?? LOGIN_LOCKOUT;
  const insecure = opts.insecureCookies === true;

  // Before the body is read; counted in the database, so every instance shares the count.
  const loginPerAddress = rateLimitHook(
    opts.limiter,
    'login',
    { max: limit.max, windowMs: limit.timeWindowMs },
    tooManyAttempts,
  );
  const passwordPerAddress = rateLimitHook(
    opts.limiter,
    'password',
    { max: limit.max, windowMs: limit.timeWindowMs },
    tooManyAttempts,
  );

  function answerSession(reply: FastifyReply, token: string): void {
    reply.header('cache-control', 'no-store');
    reply.header('set-cookie', sessionCookie(token, insecure, SESSION_LIFETIME_MS / 1000));
  }

  app.post<{ Body: LoginBody }>(
    '/api/v1/auth/login',
    {
      config: { access: { public: true } },
      onRequest: loginPerAddress,
      bodyLimit: BODY_LIMITS.credentials,
      schema: {
        summary: 'Sign in; returns a bearer token (also set as the __Host-kerbside_session cookie)',
        tags: ['auth'],
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: passwordField },
        },
        response: {
          200: {
            type: 'object',
            required: ['token', 'expiresAt', 'operator'],
            additionalProperties: false,
            properties: { ...sessionSchema.properties, operator: authenticatedSchema },
          },
          400: errorAnswerSchema,
          401: errorAnswerSchema,
          429: errorAnswerSchema,
        },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      request.auditTarget = username;
      // The attempt is counted as a failure, and refused if the username is locked, in one step
      // before its password is looked at (login-limits.ts). Which username was tried is worth
      // keeping (guessing shows up); the password never is.
      const lockedS = await claimLoginAttempt(db, username, now(), lockout);
      if (lockedS > 0) {
        request.auditDetail = { username, locked: true };
        reply.header('retry-after', String(lockedS));
        throw tooManyAttempts(lockedS);
      }
      const operator = await verifyCredentials(db, username, password);
      if (operator === null) {
        request.auditDetail = { username };
        return reply
          .code(401)
          .send({ error: 'AUTH_FAILED', message: 'sign-in refused: wrong username or password' });
      }
      await clearLoginFailures(db, username);
      const at = now();
      await purgeDeadSessions(db, at);
      const session = await createSession(db, operator.username, at);
      // The audit row of this request names the operator who signed in.
      request.operator = operator;
      answerSession(reply, session.token);
      return { token: session.token, expiresAt: session.expiresAt, operator };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'End the session of the token used',
        tags: ['auth'],
        response: {
          200: {
            type: 'object',
            required: ['loggedOut'],
            additionalProperties: false,
            properties: { loggedOut: { type: 'boolean' } },
          },
        },
      },
    },
    async (request, reply) => {
      request.auditTarget = operatorOf(request).username;
      // The cookie name in force (insecureCookies renames it), the one the guard read (plugin.ts).
      const token = sessionTokenOf(request, sessionCookieName(insecure));
      const loggedOut = token === null ? false : await revokeSession(db, token);
      reply.header('set-cookie', sessionCookie('', insecure, 0));
      return { loggedOut };
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'The signed-in operator',
        tags: ['auth'],
        response: {
          200: {
            type: 'object',
            required: ['operator'],
            additionalProperties: false,
            properties: { operator: authenticatedSchema },
          },
        },
      },
    },
    async (request) => ({ operator: operatorOf(request) }),
  );

  app.post<{ Body: PasswordBody }>(
    '/api/v1/auth/password',
    {
      config: { access: { roles: 'any' } },
      // After the guard's own onRequest hook (auth/plugin.ts), which runs first.
      onRequest: passwordPerAddress,
      bodyLimit: BODY_LIMITS.credentials,
      schema: {
        summary: 'Change your own password; ends all your sessions and returns a new one',
        tags: ['auth'],
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
          properties: { currentPassword: passwordField, newPassword: passwordField },
        },
        response: { 200: sessionSchema, 400: errorAnswerSchema, 429: errorAnswerSchema },
      },
    },
    async (request, reply) => {
      const me = operatorOf(request);
      request.auditTarget = me.username;
      if ((await verifyCredentials(db, me.username, request.body.currentPassword)) === null) {
        // 403, not 401: the session is fine, the proof of the current password is not.
        return reply.code(403).send({ error: 'AUTH_FAILED', message: 'the current password is wrong' });
      }
      const at = now();
      await setOperatorPassword(db, me.username, request.body.newPassword, at);
      const session = await createSession(db, me.username, at);
      answerSession(reply, session.token);
      return session;
    },
  );

  app.get(
    '/api/v1/operators',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'All operator accounts',
        tags: ['operators'],
        response: {
          200: {
            type: 'object',
            required: ['operators'],
            additionalProperties: false,
            properties: { operators: { type: 'array', items: operatorSchema } },
          },
        },
      },
    },
    async () => ({ operators: await listOperators(db) }),
  );

  app.post<{ Body: CreateBody }>(
    '/api/v1/operators',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Create an operator; without a password one is generated and returned once',
        tags: ['operators'],
        body: {
          type: 'object',
          required: ['username', 'roles'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', pattern: USERNAME_RE.source },
            displayName: { type: 'string', minLength: 1, maxLength: 128 },
            roles: { ...roleList, minItems: 1 },
            unit: { type: ['string', 'null'], maxLength: 128 },
            password: passwordField,
          },
        },
        response: {
          201: {
            type: 'object',
            required: ['operator'],
            additionalProperties: false,
            properties: {
              operator: operatorSchema,
              password: { type: 'string', description: 'The generated password, shown only here' },
            },
          },
          400: errorAnswerSchema,
          409: errorAnswerSchema,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      request.auditTarget = body.username;
      const generated = body.password === undefined ? generatePassword() : null;
      const operator = await createOperator(
        db,
        {
          username: body.username,
          roles: body.roles,
          unit: body.unit ?? null,
          password: generated ?? body.password ?? '',
          ...(body.displayName === undefined ? {} : { displayName: body.displayName }),
        },
        now(),
      );
      request.auditDetail = {
        roles: operator.roles,
        unit: operator.unit,
        passwordGenerated: generated !== null,
      };
      reply.code(201).header('cache-control', 'no-store');
      return generated === null ? { operator } : { operator, password: generated };
    },
  );

  app.patch<{ Params: UsernameParams; Body: PatchBody }>(
    '/api/v1/operators/:username',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Change roles, unit, display name or disabled; disabling ends the sessions',
        tags: ['operators'],
        params: usernameParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            displayName: { type: 'string', minLength: 1, maxLength: 128 },
            roles: { ...roleList, minItems: 1 },
            unit: { type: ['string', 'null'], maxLength: 128 },
            disabled: { type: 'boolean' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['operator'],
            additionalProperties: false,
            properties: { operator: operatorSchema },
          },
          400: errorAnswerSchema,
          404: errorAnswerSchema,
          409: errorAnswerSchema,
        },
      },
    },
    async (request) => {
      const { username } = request.params;
      const changes: OperatorChanges = request.body;
      // An admin cannot lock itself out; another admin must do it.
      if (username === operatorOf(request).username) {
        if (changes.disabled === true || (changes.roles !== undefined && !changes.roles.includes('admin'))) {
          throw new AuthError(
            'AUTH_CONFLICT',
            'you cannot disable yourself or take away your own admin role',
          );
        }
      }
      request.auditDetail = { ...changes };
      return { operator: await updateOperator(db, username, changes, now()) };
    },
  );

  app.post<{ Params: UsernameParams }>(
    '/api/v1/operators/:username/reset-password',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Give an operator a generated password (returned once); ends its sessions',
        tags: ['operators'],
        params: usernameParams,
        response: {
          200: {
            type: 'object',
            required: ['password'],
            additionalProperties: false,
            properties: { password: { type: 'string', description: 'shown only here' } },
          },
          404: errorAnswerSchema,
        },
      },
    },
    async (request, reply) => {
      const password = generatePassword();
      await setOperatorPassword(db, request.params.username, password, now());
      reply.header('cache-control', 'no-store');
      return { password };
    },
  );

  app.get<{ Querystring: AuditQuery }>(
    '/api/v1/audit',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'The audit trail, newest first',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            actor: { type: 'string', maxLength: 128 },
            target: { type: 'string', maxLength: 256 },
            from: { type: 'string', format: 'date-time', description: 'at or after' },
            to: { type: 'string', format: 'date-time', description: 'strictly before' },
            limit: { type: 'integer', minimum: 1, maximum: AUDIT_MAX_LIMIT, default: AUDIT_DEFAULT_LIMIT },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['entries'],
            additionalProperties: false,
            properties: { entries: { type: 'array', items: auditEntrySchema } },
          },
          400: errorAnswerSchema,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const filter: AuditFilter = { newestFirst: true, limit: q.limit ?? AUDIT_DEFAULT_LIMIT };
      if (q.actor !== undefined) filter.actor = q.actor;
      if (q.target !== undefined) filter.target = q.target;
      // Stored times are toISOString() text: normalise (offsets, precision) so text order is time order.
      if (q.from !== undefined) filter.from = new Date(q.from).toISOString();
      if (q.to !== undefined) filter.to = new Date(q.to).toISOString();
      return { entries: await listAudit(db, filter) };
    },
  );
}
