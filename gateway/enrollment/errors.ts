/**
 * Errors of the gateway's enrollment (ARCHITECTURE.md, "Invariants": one error class per area,
 * stable codes).
 */

export type GatewayEnrollmentErrorCode =
  /** The cloud refused the token (unknown, used, expired or the gateway is disabled: it never says which). */
  | 'ENROLL_REFUSED'
  /** No usable answer: connection, TLS verification, timeout, or an unexpected HTTP status. */
  | 'ENROLL_TRANSPORT'
  /** The cloud answered 200 with something that is not a valid enrollment response. */
  | 'ENROLL_BAD_RESPONSE'
  /** `uplink-credentials.json` does not exist: the gateway has not been enrolled. */
  | 'UPLINK_CREDENTIALS_MISSING'
  /** `uplink-credentials.json` (or the CA file) exists but is unreadable, malformed or too open. */
  | 'UPLINK_CREDENTIALS_INVALID';

export class GatewayEnrollmentError extends Error {
  override readonly name = 'GatewayEnrollmentError';
  readonly code: GatewayEnrollmentErrorCode;

  constructor(code: GatewayEnrollmentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isGatewayEnrollmentError(error: unknown): error is GatewayEnrollmentError {
  return error instanceof GatewayEnrollmentError;
}
