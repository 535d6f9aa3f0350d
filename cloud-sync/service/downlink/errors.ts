/**
 * Errors of the cloud side of the downlink (ARCHITECTURE.md, "Invariants": one error class per area
 * with a stable code). Each code maps to one HTTP status in routes.ts, so the services can be
 * called from the API, the CLI or a test and fail the same way everywhere.
 */
import type { Issue } from '../../contract/errors.js';

export type DownlinkErrorCode =
  /** The command or document breaks the contract (contract/schemas.ts); `issues` lists every problem. 400. */
  | 'DOWNLINK_INVALID'
  /** The gateway is not enrolled (no row in `gateways`). 404. */
  | 'DOWNLINK_UNKNOWN_GATEWAY'
  /** The command or configuration version does not exist. 404. */
  | 'DOWNLINK_NOT_FOUND'
  /** The request cannot be met in the current state (e.g. nothing to roll back to). 409. */
  | 'DOWNLINK_CONFLICT';

export class DownlinkError extends Error {
  override readonly name = 'DownlinkError';
  readonly code: DownlinkErrorCode;
  /** For DOWNLINK_INVALID: every problem found, each with a JSON Pointer (RFC 6901). */
  readonly issues: readonly Issue[];

  constructor(
    code: DownlinkErrorCode,
    message: string,
    options: { issues?: readonly Issue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }
}

export function isDownlinkError(error: unknown): error is DownlinkError {
  return error instanceof DownlinkError;
}

/** HTTP status of each code (common API rules: 400 bad input, 404 unknown, 409 illegal state). */
export const DOWNLINK_HTTP_STATUS: Readonly<Record<DownlinkErrorCode, number>> = {
  DOWNLINK_INVALID: 400,
  DOWNLINK_UNKNOWN_GATEWAY: 404,
  DOWNLINK_NOT_FOUND: 404,
  DOWNLINK_CONFLICT: 409,
};
