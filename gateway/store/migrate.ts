/**
 * Numbered schema migrations (docs/storage.md). The schema version lives in
 * PRAGMA user_version, a field of the database header: it is written inside the same
 * transaction as the migrations, so a crash leaves either the old schema and old version or
 * the new schema and new version, never a mix.
 */
import { StoreError } from './errors.js';
import type { SqliteDatabase } from './database.js';

export interface Migration {
  /** 1, 2, 3 ... without gaps; the database's user_version after this migration. */
  version: number;
  /** Short kebab-case name, for logs. */
  name: string;
  /** SQL run with exec(); may hold several statements. Never edit a released migration: add one. */
  sql: string;
}

export interface MigrationOutcome {
  /** Schema version before and after. */
  from: number;
  to: number;
  /** Names of the migrations applied now, in order (empty when the schema was current). */
  applied: string[];
}

/**
 * Brings the database up to the newest migration in one IMMEDIATE transaction. Throws
 * StoreError STORE_TOO_NEW when the database was written by newer code (running old code on it
 * could misread or damage data), STORE_MIGRATION_FAILED when a migration fails (rolled back).
 */
export function applyMigrations(db: SqliteDatabase, migrations: readonly Migration[]): MigrationOutcome {
  checkSequence(migrations);
  const latest = migrations.length;
  const from = Number(db.pragma('user_version', { simple: true }));
  if (from > latest) {
    throw new StoreError(
      'STORE_TOO_NEW',
      `database ${db.name} has schema version ${from}, newer than the ${latest} this gateway knows; ` +
        'it was written by a newer release (refusing to downgrade it)',
      { file: db.name },
    );
  }
  const pending = migrations.slice(from);
  if (pending.length === 0) return { from, to: from, applied: [] };
  let current: Migration | undefined;
  try {
    // IMMEDIATE takes the write lock up front, so two processes starting at once cannot both
    // read version N and both try to apply N+1.
    db.transaction(() => {
      for (const migration of pending) {
        current = migration;
        db.exec(migration.sql);
      }
      db.pragma(`user_version = ${latest}`);
    }).immediate();
  } catch (error) {
    const which = current === undefined ? '' : ` ${current.version}-${current.name}`;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError('STORE_MIGRATION_FAILED', `migration${which} of ${db.name} failed: ${reason}`, {
      file: db.name,
      cause: error,
    });
  }
  return { from, to: latest, applied: pending.map((m) => `${m.version}-${m.name}`) };
}

/** A gap or reordering in the list is a programming error that would skip a migration forever. */
function checkSequence(migrations: readonly Migration[]): void {
  migrations.forEach((m, index) => {
    if (m.version !== index + 1) {
      throw new StoreError(
        'STORE_MIGRATION_FAILED',
        `migration list is out of order: position ${index + 1} holds version ${m.version} (${m.name})`,
      );
    }
  });
}
