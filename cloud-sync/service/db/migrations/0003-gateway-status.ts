/** Migration 0003: the latest retained status of every gateway (online, backlog, lanes). */
import type { Kysely, Migration } from 'kysely';

export const m0003GatewayStatus: Migration = {
  // PLACEHOLDER: the service-process work fills this in (tables of status-tables.ts).
  async up(_db: Kysely<unknown>): Promise<void> {},
};
