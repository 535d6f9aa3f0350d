/**
 * Errors of the cabinet web server (gateway/web; docs/auth.md, "The cabinet's accounts"). Each code
 * carries the HTTP status it is answered with; the one error handler (app.ts) answers every error,
 * of this area or any other with a status, as `ApiError` {error, message, issues?}
 * (gateway/web/api-types.ts).
 */
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';

export const WEB_ERRORS = {
  WEB_REQUEST_INVALID: {
    means:
      "The request fails its route's schema: an unknown parameter or field, a missing one, a wrong type or value; `issues` names each by JSON pointer.",
    status: 400,
  },
  WEB_BODY_MALFORMED: { means: 'The request body is not valid JSON.', status: 400 },
  WEB_BODY_EMPTY: { means: 'The request declares a JSON body (Content-Type) but sends none.', status: 400 },
  WEB_BODY_TOO_DEEP: {
    means: 'The request body nests objects and arrays deeper than the cabinet reads (64 levels).',
    status: 400,
  },
  WEB_BODY_TOO_LARGE: {
    means: 'The request body is larger than its route accepts (16 KiB unless the route says more).',
    status: 413,
  },
  WEB_UNSUPPORTED_MEDIA_TYPE: {
    means: 'The request body is of a media type the cabinet does not read; send application/json.',
    status: 415,
  },
  WEB_BAD_REQUEST: {
    means:
      'Another malformed request refused before any route (a bad URL, a Content-Length that does not match).',
    status: 400,
  },
  WEB_NOT_FOUND: { means: 'No such route, page asset or user.', status: 404 },
  WEB_AUTH_REQUIRED: {
    means:
      'No live session: never signed in, signed out, idle or past its absolute expiry, or the gateway restarted.',
    status: 401,
  },
  WEB_LOGIN_FAILED: {
    means: 'Sign-in refused: wrong username or password (the same answer for an unknown or disabled user).',
    status: 401,
  },
  WEB_FORBIDDEN: {
    means:
      "The signed-in user's role may not do this (admin only); the server refuses, whatever the page shows.",
    status: 403,
  },
  WEB_CROSS_SITE: {
    means:
      'A POST, PUT, PATCH or DELETE that does not come from the cabinet’s own pages (Sec-Fetch-Site, else Origin): refused against cross-site request forgery.',
    status: 403,
  },
  WEB_RATE_LIMITED: {
    means:
      'Too many sign-in attempts from this address or for this account, or too many passwords being checked at once; `Retry-After` says when to try again.',
    status: 429,
  },
  WEB_INVALID_ARGUMENT: {
    means:
      'A value the rules refuse: a password under 12 characters or equal to the username, a malformed username.',
    status: 400,
  },
  WEB_CONFLICT: {
    means:
      'The change contradicts the accounts as they are: the username exists, or it would leave no enabled admin (an admin cannot disable or demote itself).',
    status: 409,
  },
  WEB_SETUP_TOKEN_INVALID: {
    means: 'The setup token is wrong, used or older than an hour; restart the gateway for a new link.',
    status: 403,
  },
  WEB_SETUP_DONE: { means: 'An admin exists already: the setup link makes only the first one.', status: 409 },
  WEB_UNGUARDED_ROUTE: {
    means:
      'A route declares no or a malformed config.cabinetAccess; it refuses to register (a programming error, found at start).',
    status: 500,
  },
  WEB_PLAIN_HTTP_REFUSED: {
    means:
      'web.tls is false on a host beyond loopback without web.allowPlainHttpBeyondLoopback, or insecureCookies with TLS: the web server does not start.',
  },
  WEB_TLS_INVALID: {
    means:
      'The certificate or key files of web.tls cannot be read, are not PEM, do not match, or the certificate has expired.',
  },
  WEB_INTERNAL: {
    means:
      'The cabinet server failed unexpectedly; the answer carries only a requestId, and the gateway log line with that id has the error.',
    status: 500,
  },
} as const satisfies ErrorCatalogue<string>;

export type WebErrorCode = keyof typeof WEB_ERRORS;

export class WebError extends errorClass('WebError', WEB_ERRORS) {}

export function isWebError(value: unknown, code?: WebErrorCode): value is WebError {
  return value instanceof WebError && (code === undefined || value.code === code);
}

/** `issues` in an error response schema (a schema without it would drop them from the answer). */
const issuesSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['pointer', 'message'],
    additionalProperties: false,
    properties: { pointer: { type: 'string' }, message: { type: 'string' } },
  },
} as const;

/** The one error answer (ApiError in api-types.ts), for every route's error response schemas. */
export const errorAnswerSchema = {
  type: 'object',
  required: ['error', 'message'],
  additionalProperties: false,
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    issues: issuesSchema,
    requestId: { type: 'string' },
  },
} as const;
