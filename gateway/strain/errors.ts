/**
 * Errors of the strain area (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable code from
 * the area's catalogue, listed in docs/errors.md). The configuration is checked when the gateway configuration is loaded
 * (gateway/config/strain.ts); the analyzer checks again so that a configuration built in code
 * cannot run with a release threshold above the trigger or a load factor of zero.
 */
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';

export const STRAIN_ERRORS = {
  STRAIN_CONFIG_INVALID: { means: 'Strain thresholds, load factor or levels that cannot work.' },
  STRAIN_CALIBRATION_INVALID: { means: 'A calibration run without a positive weight or peak.' },
} as const satisfies ErrorCatalogue<string>;

export type StrainErrorCode = keyof typeof STRAIN_ERRORS;

export class StrainError extends errorClass('StrainError', STRAIN_ERRORS) {}

export function isStrainError(value: unknown, code?: StrainErrorCode): value is StrainError {
  return value instanceof StrainError && (code === undefined || value.code === code);
}
