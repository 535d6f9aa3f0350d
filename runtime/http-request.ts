/**
 * What both HTTP servers (the cloud API, cloud-sync/service/auth/plugin.ts; the cabinet web UI,
 * gateway/web/access.ts) read from a request to decide who sends it and from where: the session
 * credential (a Bearer header or a session cookie, the cookie's name given by the caller) and
 * whether a request comes from the server's own pages (the cross-site check against CSRF).
 *
 * Plain functions over the few request fields they read (a FastifyRequest has them all), so this
 * module imports nothing of ours and not even fastify (runtime/ is process plumbing, eslint.config.js).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The parts of a request these functions read (fastify's request has them under these names). */
export interface RequestView {
  headers: IncomingHttpHeaders;
  /** `http` or `https`, as the server (or a trusted proxy) says the request arrived. */
  protocol: string;
  /** The Host the request names, with its port when not the scheme's default. */
  host: string;
}

/** Methods that change nothing (RFC 9110 section 9.2.1, "safe methods"): no CSRF check needed. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

const BEARER_RE = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i;

/** The token of `Authorization: Bearer <token>` (RFC 6750 section 2.1), or null. */
export function bearerTokenOf(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (typeof authorization !== 'string') return null;
  return BEARER_RE.exec(authorization)?.[1] ?? null;
}

/** The value of the cookie `name` in the Cookie header (RFC 6265 section 4.2.1), or null when absent or empty. */
export function cookieOf(headers: IncomingHttpHeaders, name: string): string | null {
  const cookieHeader = headers.cookie;
  if (typeof cookieHeader !== 'string') return null;
  // `name=value` pairs separated by "; ".
  for (const pair of cookieHeader.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() !== name) continue;
    const value = pair
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    return value === '' ? null : value;
  }
  return null;
}

/** A session token and where the request carried it. */
export interface SessionCredential {
  token: string;
  /** From the cookie (a browser sends it by itself: CSRF applies), not the Authorization header. */
  fromCookie: boolean;
}

/** The session credential a request carries: the Bearer header first, else the cookie `cookieName`. */
export function sessionCredentialOf(
  request: Pick<RequestView, 'headers'>,
  cookieName: string,
): SessionCredential | null {
  const bearer = bearerTokenOf(request.headers);
  if (bearer !== null) return { token: bearer, fromCookie: false };
  const cookie = cookieOf(request.headers, cookieName);
  return cookie === null ? null : { token: cookie, fromCookie: true };
}

/**
 * Whether a request comes from a page of this server itself (OWASP CSRF Prevention Cheat Sheet,
 * "Verifying origin with standard headers" and "Fetch Metadata"). A browser that sends
 * Sec-Fetch-Site (Fetch Metadata, W3C) says `same-origin` only for this origin: `same-site` (a
 * sibling host), `cross-site` and `none` are refused. Without it, the Origin header (RFC 6454
 * section 7; browsers send it on every POST, PUT, PATCH and DELETE) must be this server's own
 * scheme, host and port, as the request names it (Host; behind a trusted proxy the proxy's
 * X-Forwarded-Proto and -Host). Neither header: not a browser page of ours, refused.
 */
export function sameOrigin(request: RequestView): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false;
  return origin.toLowerCase() === `${request.protocol}://${request.host}`.toLowerCase();
}

/**
 * The Set-Cookie value of a session cookie, both services: not readable by scripts (HttpOnly),
 * never sent with a request another site makes (SameSite=Strict), HTTPS only (Secure, unless
 * `insecure`: plain HTTP on loopback), for the whole site (Path=/), gone after `maxAgeS`. With
 * Secure and Path=/ a `__Host-` name binds it to this host (RFC 6265bis section 4.1.3.2).
 */
export function sessionSetCookie(name: string, token: string, insecure: boolean, maxAgeS: number): string {
  return [
    `${name}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeS}`,
    ...(insecure ? [] : ['Secure']),
  ].join('; ');
}
