/**
 * Errors of the cloud side of the downlink (ARCHITECTURE.md, "Invariants": a KerbsideError with a
 * stable code from the area's catalogue, listed in docs/errors.md). Each code has one HTTP status
 * (common API rules: 400 bad input, 404 unknown, 409 illegal state), so the services can be called
 * from the API, the CLI or a test and fail the same way everywhere.
 */
import { errorClass, type ErrorCatalogue } from '../../contract/errors.js';

export const CLOUD_DOWNLINK_ERRORS = {
  DOWNLINK_INVALID: {
    means: 'The command or document breaks the contract (contract/schemas.ts); `issues` lists every problem.',
    status: 400,
  },
  DOWNLINK_UNKNOWN_GATEWAY: { means: 'The gateway is not enrolled (no row in `gateways`).', status: 404 },
  DOWNLINK_NOT_FOUND: { means: 'The command or configuration version does not exist.', status: 404 },
  DOWNLINK_CONFLICT: {
    means: 'The request cannot be met in the current state (e.g. nothing to roll back to).',
    status: 409,
  },
  DOWNLINK_SIGNING_KEY: {
    means:
      'The downlink signing key file is missing, unreadable, too open (not 0600) or malformed, or a rotation step does not fit it (docs/downlink-signing.md).',
    status: 500,
  },
} as const satisfies ErrorCatalogue<string>;

export type DownlinkErrorCode = keyof typeof CLOUD_DOWNLINK_ERRORS;

/** For DOWNLINK_INVALID, `issues` holds every problem found, each with a JSON Pointer (RFC 6901). */
export class DownlinkError extends errorClass('DownlinkError', CLOUD_DOWNLINK_ERRORS) {
  // Every downlink code has a status (CLOUD_DOWNLINK_ERRORS).
  declare readonly status: number;
}

/**
 * HTTP status of each code, a view of CLOUD_DOWNLINK_ERRORS kept for the API's error handler until
 * it answers every KerbsideError with `error.status` (the same numbers); then it goes.
 */
export const DOWNLINK_HTTP_STATUS: Readonly<Record<DownlinkErrorCode, number>> = {
  DOWNLINK_INVALID: CLOUD_DOWNLINK_ERRORS.DOWNLINK_INVALID.status,
  DOWNLINK_UNKNOWN_GATEWAY: CLOUD_DOWNLINK_ERRORS.DOWNLINK_UNKNOWN_GATEWAY.status,
  DOWNLINK_NOT_FOUND: CLOUD_DOWNLINK_ERRORS.DOWNLINK_NOT_FOUND.status,
  DOWNLINK_CONFLICT: CLOUD_DOWNLINK_ERRORS.DOWNLINK_CONFLICT.status,
  DOWNLINK_SIGNING_KEY: CLOUD_DOWNLINK_ERRORS.DOWNLINK_SIGNING_KEY.status,
};
