/**
 * Errors of the downlink area (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable code
 * from the area's catalogue, listed in docs/errors.md): commands from the cloud, configuration documents and the technician's local
 * overrides.
 */
import { errorClass, type ErrorCatalogue, type Issue } from '../../cloud-sync/contract/errors.js';

export const DOWNLINK_ERRORS = {
  DOWNLINK_NOT_RUNNING: { means: 'The gateway is not started (no store, engine or buses).' },
  DOWNLINK_NO_SOURCE: {
    means: 'The gateway was built without its configuration document, so no overlay is possible.',
  },
  DOWNLINK_BAD_POINTER: { means: 'A local override names no setting the overlay may change.' },
  DOWNLINK_INVALID: { means: 'The configuration with the change does not validate (`issues` say why).' },
  DOWNLINK_NO_OVERRIDE: { means: 'Clearing a pointer that has no local override.' },
  DOWNLINK_SWAP_FAILED: { means: 'A module refused the new configuration; the previous one was restored.' },
} as const satisfies ErrorCatalogue<string>;

export type DownlinkErrorCode = keyof typeof DOWNLINK_ERRORS;

/** `issues` point into the configuration document's shape (cloud-sync/contract/config-document.ts). */
export class DownlinkError extends errorClass('DownlinkError', DOWNLINK_ERRORS) {
  // Narrowed to the mutable Issue[] that the constructor takes: callers (remote-config.ts) hand the
  // list on as a result's `issues`.
  declare readonly issues: Issue[];
}

export function isDownlinkError(value: unknown, code?: DownlinkErrorCode): value is DownlinkError {
  return value instanceof DownlinkError && (code === undefined || value.code === code);
}
