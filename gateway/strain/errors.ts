/**
 * Errors of the strain area (ARCHITECTURE.md, "Invariants": one error class per area with a stable
 * code). The configuration is checked when the gateway configuration is loaded
 * (gateway/config/strain.ts); the analyzer checks again so that a configuration built in code
 * cannot run with a release threshold above the trigger or a load factor of zero.
 */

export type StrainErrorCode =
  | 'STRAIN_CONFIG_INVALID' // thresholds, load factor or levels that cannot work
  | 'STRAIN_CALIBRATION_INVALID'; // a calibration run without a positive weight or peak

export class StrainError extends Error {
  override readonly name = 'StrainError';
  readonly code: StrainErrorCode;

  constructor(code: StrainErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function isStrainError(value: unknown, code?: StrainErrorCode): value is StrainError {
  return value instanceof StrainError && (code === undefined || value.code === code);
}
