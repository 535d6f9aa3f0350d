/**
 * Errors of the component registry (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable
 * code from the area's catalogue, listed in docs/errors.md). Each code has one HTTP status; an
 * invalid component or import lists every issue
 * (with the record's index in a bulk import), so a whole file is fixed in one pass.
 */
import { KerbsideError, type ErrorCatalogue, type Issue } from '../../contract/errors.js';

export const REGISTRY_ERRORS = {
  REGISTRY_INVALID: {
    means: 'The component id, a field or an import record is invalid (`issues` lists every problem).',
    status: 400,
  },
  REGISTRY_CONFLICT: {
    means: 'The (gatewayId, deviceId) pair already belongs to another component id.',
    status: 409,
  },
  REGISTRY_NOT_FOUND: { means: 'No component with that id.', status: 404 },
} as const satisfies ErrorCatalogue<string>;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

export class RegistryError extends KerbsideError<RegistryErrorCode> {
  override readonly name = 'RegistryError';
  // Every registry code has a status (REGISTRY_ERRORS), so routes answer with it as it is.
  declare readonly status: number;

  constructor(code: RegistryErrorCode, message: string, issues: Issue[] = []) {
    super(REGISTRY_ERRORS, code, message, { issues });
  }
}
