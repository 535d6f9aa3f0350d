/**
 * Errors of the cloud's key material (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable
 * code from the area's catalogue, listed in docs/errors.md). Each stops the service at start with a
 * message that names the file and what to do; none ever includes key bytes.
 */
import { errorClass, type ErrorCatalogue } from '../../contract/errors.js';

export const SECRETS_ERRORS = {
  CREDENTIAL_KEY_INVALID: {
    means:
      'The credential key file (mqtt.credentialKeyFile) cannot be read or created, is malformed, or is readable by group or others.',
  },
  CREDENTIAL_KEY_MISMATCH: {
    means:
      'The database holds gateway or service-account credentials hashed with another credential key than the configured file (or the file is missing): the service would refuse those clients, so it does not start.',
  },
} as const satisfies ErrorCatalogue<string>;

export class SecretsError extends errorClass('SecretsError', SECRETS_ERRORS) {}
