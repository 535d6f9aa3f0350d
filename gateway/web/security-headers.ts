/**
 * Security headers on every answer of the cabinet web server, pages, assets, API and errors alike
 * (OWASP Secure Headers Project; OWASP HTTP Headers Cheat Sheet). Registered before the guard, so a
 * 401 or 403 carries them too.
 *
 * - Content-Security-Policy, written out in full (no helmet defaults merged in): the page loads
 *   scripts, styles, images, fonts, its manifest and API calls from its own origin only, nothing
 *   inline (no 'unsafe-inline', no 'unsafe-eval'), images also as data: URLs (uPlot's and the
 *   icons'); no <base>, forms post only to this origin, and no page may frame it (clickjacking).
 *   So a script injected into the page could neither run nor send anything elsewhere.
 * - Strict-Transport-Security on HTTPS (a year): a browser that once reached the cabinet over
 *   HTTPS with a certificate it trusts does not fall back to HTTP.
 * - Referrer-Policy no-referrer, X-Content-Type-Options nosniff, Cross-Origin-Opener-Policy and
 *   Cross-Origin-Resource-Policy same-origin (helmet), and a Permissions-Policy that denies the
 *   camera, microphone and geolocation, which no page needs.
 * - Cache-Control: no-store on every /api/ answer: sessions, users and the audit trail stay out of
 *   the browser's disk cache (the assets set their own).
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY: Readonly<Record<string, readonly string[]>> = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  manifestSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

export const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=()';

/** One year, the value HSTS preload lists ask for (RFC 6797 section 6.1.1). */
const HSTS_MAX_AGE_S = 365 * 24 * 3600;

export async function registerSecurityHeaders(
  app: FastifyInstance,
  options: { https: boolean },
): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: Object.fromEntries(Object.entries(CONTENT_SECURITY_POLICY).map(([k, v]) => [k, [...v]])),
    },
    strictTransportSecurity: options.https ? { maxAge: HSTS_MAX_AGE_S, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    xContentTypeOptions: true,
    xFrameOptions: { action: 'deny' },
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('permissions-policy', PERMISSIONS_POLICY);
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });
}
