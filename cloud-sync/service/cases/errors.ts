/**
 * Errors of the case workflow (ARCHITECTURE.md, "Invariants": one error class per area with a
 * stable code). Each code maps to one HTTP status, so routes.ts answers `{ error: code, message }`
 * without a second table: 403 for who may act, 409 for what the case's state forbids, 400 for bad
 * input.
 */

export type CaseErrorCode =
  /** The caller has none of the roles the action needs. */
  | 'CASE_ROLE'
  /** An owner-unit caller acting on a case of another unit (or of no unit). */
  | 'CASE_NOT_YOUR_UNIT'
  /** The action is not allowed in the case's state (or while it is suspended). */
  | 'CASE_ILLEGAL_TRANSITION'
  /** The client's `revision` is not the case's current one: someone else acted first. */
  | 'CASE_STALE'
  /** Dispatch of a case that has no owner unit, and none was given. */
  | 'CASE_NO_OWNER_UNIT'
  /** A case of this alarm is already open (opening by hand). */
  | 'CASE_CONFLICT'
  /** The input is incomplete or malformed (a required note, minutes, passed ...). */
  | 'CASE_INVALID'
  /** No such case (or not visible to the caller). */
  | 'CASE_NOT_FOUND';

const STATUS: Readonly<Record<CaseErrorCode, number>> = {
  CASE_ROLE: 403,
  CASE_NOT_YOUR_UNIT: 403,
  CASE_ILLEGAL_TRANSITION: 409,
  CASE_STALE: 409,
  CASE_NO_OWNER_UNIT: 409,
  CASE_CONFLICT: 409,
  CASE_INVALID: 400,
  CASE_NOT_FOUND: 404,
};

export class CaseError extends Error {
  override readonly name = 'CaseError';
  readonly code: CaseErrorCode;
  /** The HTTP status this error is answered with. */
  readonly status: number;

  constructor(code: CaseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = STATUS[code];
  }
}

export function isCaseError(error: unknown): error is CaseError {
  return error instanceof CaseError;
}
