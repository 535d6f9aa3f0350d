/**
 * Errors of the component registry (ARCHITECTURE.md, "Invariants": one error class per area with a
 * stable code). Each code maps to one HTTP status; an invalid component or import lists every issue
 * (with the record's index in a bulk import), so a whole file is fixed in one pass.
 */
import type { Issue } from '../../contract/errors.js';

export type RegistryErrorCode =
  /** The component id, a field or an import record is invalid (every issue listed). */
  | 'REGISTRY_INVALID'
  /** The (gatewayId, deviceId) pair already belongs to another component id. */
  | 'REGISTRY_CONFLICT'
  /** No component with that id. */
  | 'REGISTRY_NOT_FOUND';

const STATUS: Readonly<Record<RegistryErrorCode, number>> = {
  REGISTRY_INVALID: 400,
  REGISTRY_CONFLICT: 409,
  REGISTRY_NOT_FOUND: 404,
};

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  /** The HTTP status this error is answered with. */
  readonly status: number;
  readonly issues: Issue[];

  constructor(code: RegistryErrorCode, message: string, issues: Issue[] = []) {
    super(message);
    this.code = code;
    this.status = STATUS[code];
    this.issues = issues;
  }
}

export function isRegistryError(error: unknown): error is RegistryError {
  return error instanceof RegistryError;
}
