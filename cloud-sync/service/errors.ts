/**
 * Errors of the cloud service area (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable
 * code from the area's catalogue, listed in docs/errors.md). A refused batch is not an error: ingestBatch reports it in its result, because a
 * gateway that is ahead or publishes under the wrong id is expected and must not crash the
 * consumer.
 */
import { errorClass, type ErrorCatalogue } from '../contract/errors.js';

export const CLOUD_SERVICE_ERRORS = {
  CLOUD_DB_CONFIG: {
    means:
      'The database configuration is wrong: incomplete, a refused login, a database that does not exist.',
  },
  CLOUD_DB_UNAVAILABLE: {
    means: 'The database server cannot be reached now (refused, unreachable, starting up): try again later.',
  },
  CLOUD_DB_MIGRATION: {
    means: 'A schema migration failed; the database was left at the last migration that succeeded.',
  },
  CLOUD_EVENT_UNSERIALISABLE: {
    means: 'A valid event whose body cannot be serialised (defence in depth; ingest sets it aside).',
  },
} as const satisfies ErrorCatalogue<string>;

export type CloudServiceErrorCode = keyof typeof CLOUD_SERVICE_ERRORS;

export class CloudServiceError extends errorClass('CloudServiceError', CLOUD_SERVICE_ERRORS) {}
