/**
 * Errors of enrollment administration (ARCHITECTURE.md, "Invariants": one error class per area with
 * a stable code). A refused redemption is not an error: redeemEnrollmentToken reports it in its
 * result, because a bad token from the network is expected and must not look like a bug.
 */

export type EnrollmentErrorCode =
  /** An argument is malformed (gateway id, ttl, operator name, account name). */
  | 'ENROLL_INVALID_ARGUMENT'
  /** The target does not exist. */
  | 'ENROLL_NOT_FOUND'
  /** The target exists already, or is in a state that forbids the action (e.g. disabled). */
  | 'ENROLL_CONFLICT';

export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  readonly code: EnrollmentErrorCode;

  constructor(code: EnrollmentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isEnrollmentError(error: unknown): error is EnrollmentError {
  return error instanceof EnrollmentError;
}
