/**
 * Errors of enrollment administration (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable
 * code from the area's catalogue, listed in docs/errors.md). A refused redemption is not an error: redeemEnrollmentToken reports it in its
 * result, because a bad token from the network is expected and must not look like a bug.
 */
import { errorClass, type ErrorCatalogue } from '../../contract/errors.js';

export const ENROLLMENT_ERRORS = {
  ENROLL_INVALID_ARGUMENT: {
    means: 'An argument is malformed (gateway id, ttl, operator name, account name).',
  },
  ENROLL_NOT_FOUND: { means: 'The gateway or token to act on does not exist.' },
  ENROLL_RATE_LIMITED: {
    means:
      'Too many enrollment attempts from one address (ENROLL_RATE_LIMIT); the token is not even looked at.',
    status: 429,
  },
  ENROLL_REFUSED: {
    means:
      'POST /enroll refused the token: one answer for every reason (unknown, used, expired, disabled gateway), which is in the log and the audit trail.',
    status: 401,
  },
  ENROLL_CONFLICT: {
    means: 'The target exists already, or is in a state that forbids the action (e.g. disabled).',
  },
} as const satisfies ErrorCatalogue<string>;

export class EnrollmentError extends errorClass('EnrollmentError', ENROLLMENT_ERRORS) {}
