/**
 * Errors of the case workflow (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable code
 * from the area's catalogue, listed in docs/errors.md). Each code has one HTTP status, so the API
 * answers `{ error: code, message }` without a second table: 403 for who may act, 409 for what the
 * case's state forbids, 400 for bad input.
 */
import { errorClass, type ErrorCatalogue } from '../../contract/errors.js';

export const CASE_ERRORS = {
  CASE_ROLE: { means: 'The caller has none of the roles the action needs.', status: 403 },
  CASE_NOT_YOUR_UNIT: {
    means: 'An owner-unit caller acting on a case of another unit (or of no unit).',
    status: 403,
  },
  CASE_ILLEGAL_TRANSITION: {
    means: "The action is not allowed in the case's state (or while it is suspended).",
    status: 409,
  },
  CASE_STALE: {
    means: "The client's `revision` is not the case's current one: someone else acted first.",
    status: 409,
  },
  CASE_NO_OWNER_UNIT: {
    means: 'Dispatch of a case that has no owner unit, and none was given.',
    status: 409,
  },
  CASE_CONFLICT: { means: 'A case of this alarm is already open (opening by hand).', status: 409 },
  CASE_INVALID: {
    means: 'The input is incomplete or malformed (a required note, minutes, passed ...).',
    status: 400,
  },
  CASE_NOT_FOUND: { means: 'No such case (or not visible to the caller).', status: 404 },
  KPI_INVALID: { means: 'A KPI period whose `from` is not before its `to`.', status: 400 },
  KPI_TOO_MANY_BUCKETS: {
    means: 'A KPI request whose period holds more buckets than one answer may (MAX_KPI_BUCKETS).',
    status: 400,
  },
} as const satisfies ErrorCatalogue<string>;

export type CaseErrorCode = keyof typeof CASE_ERRORS;

export class CaseError extends errorClass('CaseError', CASE_ERRORS) {
  // Every case code has a status (CASE_ERRORS), so routes answer with it as it is.
  declare readonly status: number;
}
