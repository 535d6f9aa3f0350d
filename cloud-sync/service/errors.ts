/**
 * Errors of the cloud service area (ARCHITECTURE.md, "Invariants": one error class per area with a
 * stable code). A refused batch is not an error: ingestBatch reports it in its result, because a
 * gateway that is ahead or publishes under the wrong id is expected and must not crash the
 * consumer.
 */

export type CloudServiceErrorCode =
  /** The database configuration is wrong: incomplete, a refused login, a database that does not exist. */
  | 'CLOUD_DB_CONFIG'
  /** The database server cannot be reached now (refused, unreachable, starting up): try again later. */
  | 'CLOUD_DB_UNAVAILABLE'
  /** A schema migration failed; the database was left at the last migration that succeeded. */
  | 'CLOUD_DB_MIGRATION'
  /** An API request of the service's own routes (dead letters) failed its schema. */
  | 'CLOUD_REQUEST_INVALID'
  /** A valid event whose body cannot be serialised (defence in depth; ingest sets it aside). */
  | 'CLOUD_EVENT_UNSERIALISABLE';

export class CloudServiceError extends Error {
  override readonly name = 'CloudServiceError';
  readonly code: CloudServiceErrorCode;

  constructor(code: CloudServiceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
