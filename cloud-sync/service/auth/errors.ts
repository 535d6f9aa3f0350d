/**
 * Errors of operator accounts and sessions (ARCHITECTURE.md, "Invariants": a KerbsideError with a
 * stable code from the area's catalogue, listed in docs/errors.md). Each code has one HTTP status
 * and the API answers `{ error: code, message }`; the CLI maps AUTH_INVALID_ARGUMENT to exit code 2,
 * the rest to 1.
 */
import { errorClass, type ErrorCatalogue } from '../../contract/errors.js';

export const AUTH_ERRORS = {
  AUTH_INVALID_ARGUMENT: {
    means: 'A username, role set, unit or password breaks the account rules.',
    status: 400,
  },
  AUTH_NOT_FOUND: { means: 'No such operator.', status: 404 },
  AUTH_CONFLICT: {
    means: 'The operator exists already, or the change would lock its own admin out.',
    status: 409,
  },
  AUTH_FAILED: {
    means: 'Wrong credentials: unknown user, disabled user or wrong password, never saying which.',
    status: 401,
  },
  AUTH_REQUIRED: { means: 'No valid session on a non-public route.', status: 401 },
  AUTH_FORBIDDEN: { means: "Signed in, but none of the route's roles.", status: 403 },
  AUTH_RATE_LIMITED: {
    means:
      'Too many sign-in attempts: from one address (10 a minute), or at one username, which is locked for a while after five failures in a row (a right password included).',
    status: 429,
  },
  AUTH_CROSS_SITE: {
    means:
      'A request authenticated by the session cookie that changes something came from another site (its Origin or Sec-Fetch-Site is not this service): refused as cross-site request forgery.',
    status: 403,
  },
  AUTH_UNGUARDED_ROUTE: {
    means: 'A route was registered without `config.access` (thrown at registration, a programming error).',
    status: 500,
  },
} as const satisfies ErrorCatalogue<string>;

export class AuthError extends errorClass('AuthError', AUTH_ERRORS) {
  // Every auth code has a status (AUTH_ERRORS). fastify's default error handler reads `status`
  // too, so an AuthError thrown from a hook or by @fastify/rate-limit is answered with it.
  declare readonly status: number;
}

/** The JSON body of every auth error answer: `{ error: '<CODE>', message }` (common error shape). */
export const authErrorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;
