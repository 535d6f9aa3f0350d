/**
 * Errors of the gateway's enrollment (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable
 * code from the area's catalogue, listed in docs/errors.md).
 */
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';

export const GATEWAY_ENROLLMENT_ERRORS = {
  ENROLL_REFUSED: {
    means:
      'The cloud refused the token (unknown, used, expired or the gateway is disabled: it never says which).',
  },
  ENROLL_TRANSPORT: {
    means:
      'No usable answer from the cloud: connection, TLS verification, timeout, or an unexpected HTTP status.',
  },
  ENROLL_BAD_RESPONSE: {
    means: 'The cloud answered 200 with something that is not a valid enrollment response.',
  },
  ENROLL_INSECURE: {
    means:
      'Plain `http://` enrollment to a host that is not loopback, without `--insecure-http`: the token and secret would travel unencrypted.',
  },
  UPLINK_INSECURE: {
    means:
      'An `mqtt://` (no TLS) uplink to a host that is not loopback, without the `uplink.allowInsecureMqtt` setting.',
  },
  UPLINK_CREDENTIALS_MISSING: {
    means: '`uplink-credentials.json` does not exist: the gateway has not been enrolled.',
  },
  UPLINK_CREDENTIALS_INVALID: {
    means: '`uplink-credentials.json` (or the CA file) exists but is unreadable, malformed or too open.',
  },
} as const satisfies ErrorCatalogue<string>;

export class GatewayEnrollmentError extends errorClass('GatewayEnrollmentError', GATEWAY_ENROLLMENT_ERRORS) {}
