/** Migration 0002: enrolled gateways, their hashed MQTT credentials and one-time enrollment tokens. */
import type { Kysely, Migration } from 'kysely';

export const m0002Enrollment: Migration = {
  // PLACEHOLDER: the enrollment work fills this in (tables of enrollment-tables.ts).
  async up(_db: Kysely<unknown>): Promise<void> {},
};
