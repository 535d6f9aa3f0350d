/**
 * Errors of operator accounts and sessions (ARCHITECTURE.md, "Invariants": one error class per area
 * with a stable code). The HTTP layer maps each code to one status (AUTH_HTTP_STATUS) and answers
 * `{ error: code, message }`; the CLI maps AUTH_INVALID_ARGUMENT to exit code 2, the rest to 1.
 */

export type AuthErrorCode =
  /** A username, role set, unit or password breaks the account rules (400). */
  | 'AUTH_INVALID_ARGUMENT'
  /** No such operator (404). */
  | 'AUTH_NOT_FOUND'
  /** The operator exists already, or the change would lock its own admin out (409). */
  | 'AUTH_CONFLICT'
  /** Wrong credentials: unknown user, disabled user or wrong password, never saying which (401). */
  | 'AUTH_FAILED'
  /** No valid session on a non-public route (401). */
  | 'AUTH_REQUIRED'
  /** Signed in, but none of the route's roles (403). */
  | 'AUTH_FORBIDDEN'
  /** Too many login attempts from one address (429). */
  | 'AUTH_RATE_LIMITED'
  /** A route was registered without `config.access` (thrown at registration, a programming error). */
  | 'AUTH_UNGUARDED_ROUTE';

export const AUTH_HTTP_STATUS: Record<AuthErrorCode, number> = {
  AUTH_INVALID_ARGUMENT: 400,
  AUTH_NOT_FOUND: 404,
  AUTH_CONFLICT: 409,
  AUTH_FAILED: 401,
  AUTH_REQUIRED: 401,
  AUTH_FORBIDDEN: 403,
  AUTH_RATE_LIMITED: 429,
  AUTH_UNGUARDED_ROUTE: 500,
};

export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  /** fastify's error handler and @fastify/rate-limit read the status from here. */
  readonly statusCode: number;

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.statusCode = AUTH_HTTP_STATUS[code];
  }
}

export function isAuthError(error: unknown): error is AuthError {
  return error instanceof AuthError;
}

/** The JSON body of every auth error answer: `{ error: '<CODE>', message }` (common error shape). */
export const authErrorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;
