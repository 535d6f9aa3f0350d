/**
 * Numbered schema migrations, written with Kysely's schema builder only, so the same code creates
 * the schema on SQLite (embedded default) and PostgreSQL (scale-out, docs/uplink-contract.md,
 * "Scale"). Migrations are append-only: a released one is never edited, a change is a new number.
 * Each lives in its own file under migrations/, named after its number.
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { m0001Initial } from './migrations/0001-initial.js';
import { m0002Enrollment } from './migrations/0002-enrollment.js';
import { m0003GatewayStatus } from './migrations/0003-gateway-status.js';
import { m0004Cases } from './migrations/0004-cases.js';
import { m0005DeadLetters } from './migrations/0005-dead-letters.js';
import { m0006GatewayStorage } from './migrations/0006-gateway-storage.js';
import { m0008EdgeLimits } from './migrations/0008-edge-limits.js';
import { CloudServiceError } from '../errors.js';
import type { CloudSchema } from './schema.js';

/** All migrations by name; Kysely's Migrator runs them in name order, hence the zero padding. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001Initial,
  '0002_enrollment': m0002Enrollment,
  '0003_gateway_status': m0003GatewayStatus,
  '0004_cases': m0004Cases,
  '0005_dead_letters': m0005DeadLetters,
  '0006_gateway_storage': m0006GatewayStorage,
  '0008_edge_limits': m0008EdgeLimits,
};

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve({ ...MIGRATIONS }),
};

/** Brings the schema to the latest migration; throws CloudServiceError CLOUD_DB_MIGRATION on failure. */
export async function migrateToLatest(db: Kysely<CloudSchema>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
  throw new CloudServiceError('CLOUD_DB_MIGRATION', `cloud database migration ${failed} failed`, {
    cause: error,
  });
}
