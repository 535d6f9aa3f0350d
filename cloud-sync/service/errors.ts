/**
 * Errors of the cloud service area (DESIGN.md section 3: one error class per area with a stable
 * code). A refused batch is not an error: ingestBatch reports it in its result, because a gateway
 * that is ahead or publishes under the wrong id is expected and must not crash the consumer.
 */

export type CloudServiceErrorCode =
  /** The database configuration asks for something this build cannot do. */
  | 'CLOUD_DB_UNSUPPORTED'
  /** The database configuration is incomplete. */
  | 'CLOUD_DB_CONFIG'
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
