/**
 * The route guard of the cabinet web server (docs/auth.md, "The cabinet's accounts"; the idea of
 * the cloud's auth/plugin.ts). installGuard(app, ...) adds its hooks to the root app before any
 * route is registered, so they cover every route, the data routes a composition root brings in
 * through registerRoutes included:
 *
 * - onRoute: a route without a well-formed `config.cabinetAccess` (ports.ts) throws
 *   WEB_UNGUARDED_ROUTE at registration, so an unguarded route cannot exist. fastify's automatic
 *   HEAD route takes its GET's rule. Non-public routes get the guard's 401/403 answers in their
 *   response schemas (a complete OpenAPI document).
 * - onRequest, before the body is read:
 *   1. every POST, PUT, PATCH and DELETE, sign-in and setup included, must come from the cabinet's
 *      own pages (runtime/http-request.ts sameOrigin: Sec-Fetch-Site, else Origin) or is refused
 *      403 WEB_CROSS_SITE before anything else is looked at (OWASP CSRF Prevention Cheat Sheet;
 *      the SameSite=Strict cookie is the second layer);
 *   2. public routes pass with `request.webUser = null`;
 *   3. other routes need a live session from the session cookie whose user still exists, is
 *      enabled and has the password hash the session was made with, else 401 WEB_AUTH_REQUIRED;
 *   4. and a role the route allows, else 403 WEB_FORBIDDEN: the server refuses, whatever the page
 *      shows. An admin holds every right of a technician, so `{ roles: ['technician'] }` admits
 *      both and `{ roles: ['admin'] }` admins only.
 *   The user's row is read at every request (one indexed lookup in a short read transaction), so
 *   an admin's change, or the CLI's from another process, applies at the next request.
 */
import type { FastifyInstance, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import { cookieOf, isSafeMethod, sameOrigin, sessionSetCookie } from '../../runtime/http-request.js';
import type { WebRole } from './api-types.js';
import { findWebUser, WEB_ROLES, type WebUserRecord } from './accounts/users.js';
import type { LiveSession, WebSessions } from './accounts/sessions.js';
import { errorAnswerSchema, WebError } from './errors.js';
import type { CabinetAccess, WebStorePort } from './ports.js';

/**
 * The session cookie. The `__Host-` prefix (RFC 6265bis section 4.1.3.2) makes a browser refuse it
 * unless it is Secure, has Path=/ and no Domain, so another host on the LAN cannot set or shadow
 * it. A browser refuses a `__Host-` cookie without Secure, so plain HTTP (web.insecureCookies) uses
 * INSECURE_SESSION_COOKIE.
 */
export const SESSION_COOKIE = '__Host-kerbside_cabinet';
export const INSECURE_SESSION_COOKIE = 'kerbside_cabinet';

export function sessionCookieName(insecure: boolean): string {
  return insecure ? INSECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/**
 * The Set-Cookie value of a session: not readable by scripts (HttpOnly), never sent with a request
 * another site makes (SameSite=Strict), HTTPS only (Secure, unless `insecure`), for the whole site
 * (Path=/), gone when the session's absolute expiry passes (Max-Age).
 */
export function sessionCookie(token: string, insecure: boolean, maxAgeS: number): string {
  return sessionSetCookie(sessionCookieName(insecure), token, insecure, maxAgeS);
}

/** The Set-Cookie value that makes the browser drop the session cookie (logout). */
export function clearedSessionCookie(insecure: boolean): string {
  return sessionCookie('', insecure, 0);
}

export interface GuardOptions {
  store: Pick<WebStorePort, 'read'>;
  sessions: WebSessions;
  /** web.insecureCookies: the cookie's plain-HTTP name. */
  insecureCookies: boolean;
}

/** The session a guarded request came with (the accounts routes: session, logout, password). */
export interface RequestSession {
  token: string;
  session: LiveSession;
  /**
   * Whether this session still admits the request's route as the guard did: live (not logged out,
   * revoked or expired; asking does not restart its idle time), its user still there, enabled,
   * with the same password hash and a role the route allows. For what outlives the request (the
   * live stream, live.ts, asks it periodically). Reads the user's row.
   */
  stillValid(): boolean;
}

const requestSessions = new WeakMap<FastifyRequest, RequestSession>();

/** The session of a request the guard let through on a non-public route; null on public ones. */
export function sessionOf(request: FastifyRequest): RequestSession | null {
  return requestSessions.get(request) ?? null;
}

function isPublic(access: CabinetAccess): access is { public: true } {
  return 'public' in access;
}

/** Whether a user of `role` may call a route that allows `allowed` (admin holds every right). */
export function roleAllows(role: WebRole, allowed: readonly WebRole[]): boolean {
  return role === 'admin' || allowed.includes(role);
}

/** Refuses malformed declarations too: a typo must not make a route public or unreachable. */
function checkAccess(declared: unknown, where: string): CabinetAccess {
  const malformed = (): WebError =>
    new WebError(
      'WEB_UNGUARDED_ROUTE',
      `${where} ${declared === undefined ? 'declares no' : `has a malformed (${JSON.stringify(declared)})`} config.cabinetAccess: every route says { public: true } or { roles: ['technician' | 'admin', ...] }`,
    );
  if (typeof declared !== 'object' || declared === null) throw malformed();
  const keys = Object.keys(declared);
  const { public: isOpen, roles } = declared as { public?: unknown; roles?: unknown };
  if (keys.length === 1 && isOpen === true) return { public: true };
  if (
    keys.length === 1 &&
    Array.isArray(roles) &&
    roles.length > 0 &&
    roles.every((role) => (WEB_ROLES as readonly unknown[]).includes(role))
  ) {
    return { roles: roles as WebRole[] };
  }
  throw malformed();
}

/** Adds the guard's own answers to a route's response schemas (a route's own declaration wins). */
function withGuardAnswers(
  schema: FastifySchema | undefined,
  access: CabinetAccess,
  methods: string[],
): FastifySchema {
  const guardAnswers: Record<number, unknown> = {};
  if (methods.some((method) => !isSafeMethod(method))) guardAnswers[403] = errorAnswerSchema;
  if (!isPublic(access)) {
    guardAnswers[401] = errorAnswerSchema;
    guardAnswers[403] = errorAnswerSchema;
  }
  const response = (schema?.response ?? {}) as Record<string, unknown>;
  return { ...schema, response: { ...guardAnswers, ...response } };
}

export function installGuard(app: FastifyInstance, options: GuardOptions): void {
  const { store, sessions } = options;
  const cookieName = sessionCookieName(options.insecureCookies);
  /** Access of GET routes by url, for the HEAD routes fastify derives from them. */
  const getAccess = new Map<string, CabinetAccess>();

  app.decorateRequest('webUser', null);

  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const where = `${methods.join(',')} ${route.url}`;
    let declared: unknown = route.config?.cabinetAccess;
    // fastify clones a GET route's options for its automatic HEAD route; should the clone lack the
    // config, the HEAD route takes its GET's rule rather than failing registration.
    if (declared === undefined && methods.every((m) => m === 'HEAD')) declared = getAccess.get(route.url);
    const access = checkAccess(declared, where);
    route.config = { ...route.config, cabinetAccess: access };
    if (methods.includes('GET')) getAccess.set(route.url, access);
    route.schema = withGuardAnswers(route.schema, access, methods);
  });

  /** The session's user if still there, enabled and with the session's password hash; else ends the session. */
  const currentUser = (token: string, session: LiveSession): WebUserRecord | null => {
    const user = findWebUser(store, session.username);
    if (user === null || user.disabled || user.passwordHash !== session.passwordHash) {
      // Disabled, removed or given a new password since: this session is over for good.
      sessions.revoke(token);
      return null;
    }
    return user;
  };

  app.addHook('onRequest', async (request: FastifyRequest) => {
    const access = request.routeOptions.config.cabinetAccess;
    if (access === undefined) {
      // No route matched: the not-found handler answers 404 and there is nothing to guard.
      if (request.is404) return;
      // A route that escaped the onRoute check: fail closed (a 500, logged by the error handler).
      throw new WebError(
        'WEB_UNGUARDED_ROUTE',
        `${request.method} ${request.routeOptions.url ?? ''} declares no access rule; it is refused until it does`,
      );
    }
    // Before anything else: a forged request learns nothing and costs nothing.
    if (!isSafeMethod(request.method) && !sameOrigin(request)) {
      throw new WebError(
        'WEB_CROSS_SITE',
        'refused: a change must come from the cabinet’s own pages (Sec-Fetch-Site: same-origin, or an Origin equal to this server’s)',
      );
    }
    if (isPublic(access)) return;
    const token = cookieOf(request.headers, cookieName);
    const session = token === null ? null : sessions.lookup(token);
    if (token === null || session === null) {
      throw new WebError('WEB_AUTH_REQUIRED', 'sign in first (POST /api/login)');
    }
    const user = currentUser(token, session);
    if (user === null) throw new WebError('WEB_AUTH_REQUIRED', 'this session has ended; sign in again');
    request.webUser = { username: user.username, role: user.role };
    const stillValid = (): boolean => {
      if (!sessions.isLive(token)) return false;
      const now = currentUser(token, session);
      return now !== null && roleAllows(now.role, access.roles);
    };
    requestSessions.set(request, { token, session, stillValid });
    if (!roleAllows(user.role, access.roles)) {
      throw new WebError(
        'WEB_FORBIDDEN',
        `this needs the role ${access.roles.join(' or ')}; you are signed in as ${user.role}`,
      );
    }
  });
}
