/**
 * The route guard and audit hook of the cloud HTTP API (docs/auth.md, roles.ts).
 *
 * Register it on the root app BEFORE any route plugin (`await app.register(authPlugin, {db, logger})`);
 * it skips fastify's encapsulation (like fastify-plugin), so its hooks cover every route added after it:
 *   - onRoute: a route without `config.access` throws at registration, so an unguarded route cannot
 *     exist; non-public routes get 401/403 response schemas (complete OpenAPI document).
 *   - onRequest: public routes pass; otherwise `Authorization: Bearer <token>` or the
 *     `__Host-kerbside_session` cookie must name a live session (401 AUTH_REQUIRED, WWW-Authenticate:
 *     Bearer, RFC 6750 section 3) and the operator must hold one of the route's roles (403
 *     AUTH_FORBIDDEN). Runs before the body is parsed: an anonymous caller costs one lookup. A
 *     request that changes something and is authenticated by the cookie must come from this
 *     service's own origin (403 AUTH_CROSS_SITE, see sameOrigin): a browser attaches the cookie to
 *     a request another site makes it send, never a Bearer header.
 *   - onSend (onResponse as a fallback): one admin_audit row per non-GET request and per 401/403 on
 *     any method. Written before the answer leaves, so a client that got its answer finds the row;
 *     a failed audit write is logged at error level and never fails the request. The body is never
 *     recorded (it may hold a password); handlers choose what goes in `request.auditDetail`. A
 *     refusal of an anonymous caller that the route did not describe (no auditDetail: a missing
 *     session, a rate limit, a refused token) is counted into one summary row per route, address,
 *     status and minute instead (enrollment/audit.ts recordAnonymousRefusal): 3,000 unauthenticated
 *     requests in 12 s wrote 3,000 rows before. Refusals of signed-in operators stay one row each.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Kysely } from 'kysely';
import type { CloudSchema } from '../db/schema.js';
import { recordAnonymousRefusal, recordAudit, type AuditOutcome } from '../enrollment/audit.js';
import { AuthError, authErrorSchema } from './errors.js';
import { isRole, type RouteAccess } from './roles.js';
import { lookupSession } from './sessions.js';
import {
  sameOrigin,
  sessionCredentialOf as credentialOf,
  type SessionCredential,
} from '../../../runtime/http-request.js';

/**
 * Name of the session cookie a browser console may use instead of the Authorization header. The
 * `__Host-` prefix (RFC 6265bis section 4.1.3.2) binds it to this host over HTTPS; a browser
 * refuses such a cookie without Secure, so the insecure dev setting uses INSECURE_SESSION_COOKIE.
 */
export const SESSION_COOKIE = '__Host-kerbside_session';
/** The cookie's name with http.insecureCookies (plain HTTP on loopback: the demo, tests). */
export const INSECURE_SESSION_COOKIE = 'kerbside_session';

export function sessionCookieName(insecure: boolean): string {
  return insecure ? INSECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/** What the plugin logs to (a pino Logger or a fastify logger fits). */
export interface AuthLogger {
  error(fields: object, message: string): void;
}

export interface AuthPluginOptions {
  db: Kysely<CloudSchema>;
  logger: AuthLogger;
  /** Clock for session expiry and audit times (tests). */
  now?: () => Date;
  /** Read the session cookie by its insecure name (setting http.insecureCookies, routes.ts). */
  insecureCookies?: boolean;
}

/** Methods that change nothing: audited only when refused. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// The request helpers both servers share live in runtime/http-request.ts (the cabinet's web UI
// uses them too); re-exported so this module's callers and tests keep their imports.
export { sameOrigin, type SessionCredential };

/** The session credential a request carries: the Bearer header first, else the session cookie. */
export function sessionCredentialOf(
  request: FastifyRequest,
  cookieName: string = SESSION_COOKIE,
): SessionCredential | null {
  return credentialOf(request, cookieName);
}

/** The session token a request carries (sessionCredentialOf without where from). */
export function sessionTokenOf(request: FastifyRequest, cookieName: string = SESSION_COOKIE): string | null {
  return sessionCredentialOf(request, cookieName)?.token ?? null;
}

function isPublic(access: RouteAccess): access is { public: true } {
  return 'public' in access && access.public === true;
}

/** Refuses malformed declarations too: a typo must not make a route public or unreachable. */
function checkAccess(access: unknown, where: string): RouteAccess {
  if (typeof access !== 'object' || access === null) {
    throw new AuthError(
      'AUTH_UNGUARDED_ROUTE',
      `${where} declares no config.access: every route must say { public: true } or { roles: [...] | 'any' }`,
    );
  }
  const declared = access as { public?: unknown; roles?: unknown };
  if (declared.public === true && declared.roles === undefined) return { public: true };
  if (declared.public === undefined) {
    if (declared.roles === 'any') return { roles: 'any' };
    if (Array.isArray(declared.roles) && declared.roles.length > 0 && declared.roles.every(isRole)) {
      return { roles: declared.roles };
    }
  }
  throw new AuthError(
    'AUTH_UNGUARDED_ROUTE',
    `${where} has a malformed config.access ${JSON.stringify(access)}: use { public: true } or { roles: [...] | 'any' }`,
  );
}

/** Adds the guard's own answers to a non-public route's response schemas (kept if declared). */
function withAuthResponses(schema: FastifySchema | undefined): FastifySchema {
  const response = (schema?.response ?? {}) as Record<string, unknown>;
  return { ...schema, response: { 401: authErrorSchema, 403: authErrorSchema, ...response } };
}

function outcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) return 'denied';
  return status >= 400 ? 'failed' : 'ok';
}

/** The route's first path parameter (`:username`, `:id` ...), the natural audit target. */
function firstParam(request: FastifyRequest): string | undefined {
  const params = request.params;
  if (typeof params !== 'object' || params === null) return undefined;
  const first = Object.values(params as Record<string, unknown>)[0];
  return typeof first === 'string' ? first : undefined;
}

export async function authPlugin(app: FastifyInstance, opts: AuthPluginOptions): Promise<void> {
  const { db, logger } = opts;
  const now = opts.now ?? (() => new Date());
  const cookieName = sessionCookieName(opts.insecureCookies === true);
  const audited = new WeakSet<FastifyRequest>();
  /** Access of GET routes by url, for the HEAD routes fastify derives from them. */
  const getAccess = new Map<string, RouteAccess>();

  app.decorateRequest('operator', null);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const where = `${methods.join(',')} ${route.url}`;
    let declared: unknown = route.config?.access;
    // fastify clones a GET route's options for its automatic HEAD route; should the clone ever
    // lack the config, the HEAD route takes its GET's access rather than failing registration.
    if (declared === undefined && methods.every((m) => m === 'HEAD')) declared = getAccess.get(route.url);
    const access = checkAccess(declared, where);
    route.config = { ...route.config, access };
    if (methods.includes('GET')) getAccess.set(route.url, access);
    if (!isPublic(access)) route.schema = withAuthResponses(route.schema);
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const access = request.routeOptions.config?.access;
    if (access === undefined) {
      // No route matched: fastify answers 404 and there is nothing to guard.
      if (request.is404) return;
      // A route that escaped the onRoute check (registered before this plugin): fail closed. A 5xx:
      // the error handler answers {error: API_INTERNAL, requestId} and logs this (http.ts).
      throw new AuthError(
        'AUTH_UNGUARDED_ROUTE',
        `${request.method} ${request.routeOptions.url ?? ''} declares no access rule; it is refused until it does`,
      );
    }
    if (isPublic(access)) return;
    const credential = sessionCredentialOf(request, cookieName);
    // Before the session is looked at: a forged request learns nothing and costs nothing.
    if (credential?.fromCookie === true && !READ_METHODS.has(request.method) && !sameOrigin(request)) {
      return reply.code(403).send({
        error: 'AUTH_CROSS_SITE',
        message:
          'refused: a change authenticated by the session cookie must come from this service’s own pages (Origin or Sec-Fetch-Site); programs send Authorization: Bearer',
      });
    }
    const session = credential === null ? null : await lookupSession(db, credential.token, now());
    if (session === null) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="kerbside"').send({
        error: 'AUTH_REQUIRED',
        message: 'sign in first: send Authorization: Bearer <token> from POST /api/v1/auth/login',
      });
    }
    request.operator = session.operator;
    if (access.roles === 'any') return;
    const allowed = access.roles;
    if (!session.operator.roles.some((role) => allowed.includes(role))) {
      return reply.code(403).send({
        error: 'AUTH_FORBIDDEN',
        message: `this needs one of the roles ${allowed.join(', ')}; you have ${session.operator.roles.join(', ')}`,
      });
    }
  });

  async function audit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (audited.has(request)) return;
    audited.add(request);
    const routeUrl = request.routeOptions.url;
    // Unmatched URLs (404) are not actions on anything; auditing them would let anyone fill the table.
    if (routeUrl === undefined || request.is404) return;
    const status = reply.statusCode;
    if (READ_METHODS.has(request.method) && status !== 401 && status !== 403) return;
    const action = `${request.method} ${routeUrl}`;
    try {
      if (request.operator === null && status >= 400 && request.auditDetail === undefined) {
        await recordAnonymousRefusal(db, { action, status, source: `http:${request.ip}` }, now());
        return;
      }
      await recordAudit(
        db,
        {
          actor: request.operator?.username ?? 'anonymous',
          action,
          target: request.auditTarget ?? firstParam(request) ?? '',
          ...(request.auditDetail === undefined ? {} : { detail: request.auditDetail }),
          outcome: outcomeOf(status),
          source: `http:${request.ip}`,
        },
        now(),
      );
    } catch (error) {
      logger.error({ err: error, action, status }, 'audit record could not be written');
    }
  }

  app.addHook('onSend', async (request, reply, payload) => {
    await audit(request, reply);
    return payload;
  });
  // For answers that never pass onSend (a hijacked reply, a stream error).
  app.addHook('onResponse', async (request, reply) => {
    await audit(request, reply);
  });
}

// fastify-plugin semantics without the dependency: the hooks and the decorator apply to the
// parent (root) context instead of a private child context.
Object.assign(authPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'kerbside-auth',
});
