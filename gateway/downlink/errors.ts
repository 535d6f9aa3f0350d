/**
 * Errors of the downlink area (ARCHITECTURE.md, "Invariants": one error class per area with a
 * stable code): commands from the cloud, configuration documents and the technician's local
 * overrides.
 */
import type { Issue } from '../../cloud-sync/contract/errors.js';

export type DownlinkErrorCode =
  | 'DOWNLINK_NOT_RUNNING' // the gateway is not started (no store, engine or buses)
  | 'DOWNLINK_NO_SOURCE' // the gateway was built without its configuration document (no overlays possible)
  | 'DOWNLINK_BAD_POINTER' // a local override names no setting the overlay may change
  | 'DOWNLINK_INVALID' // the configuration with the change does not validate (issues say why)
  | 'DOWNLINK_NO_OVERRIDE' // clearing a pointer that has no local override
  | 'DOWNLINK_SWAP_FAILED'; // a module refused the new configuration; the previous one was restored

export class DownlinkError extends Error {
  override readonly name = 'DownlinkError';
  /** Pointers in the configuration document's shape (cloud-sync/contract/config-document.ts). */
  readonly issues: Issue[];

  constructor(
    readonly code: DownlinkErrorCode,
    message: string,
    options: { issues?: Issue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.issues = options.issues ?? [];
  }
}

export function isDownlinkError(value: unknown, code?: DownlinkErrorCode): value is DownlinkError {
  return value instanceof DownlinkError && (code === undefined || value.code === code);
}
