import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from '../../../gateway/store/database.js';
import { isStoreError } from '../../../gateway/store/errors.js';
import { applyMigrations, type Migration } from '../../../gateway/store/migrate.js';
import { GATEWAY_MIGRATIONS } from '../../../gateway/store/migrations/gateway.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-migrate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string =>
  mkdirSync(join(tmp, `data-${++counter}`), { recursive: true }) ?? join(tmp, `data-${counter}`);

function tableNames(db: Database.Database): string[] {
  return db
    .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name")
    .pluck()
    .all();
}

/** Opens (creating if needed) a gateway database the way the store does, and migrates it. */
function openMigrated(path: string): {
  db: Database.Database;
  migration: ReturnType<typeof applyMigrations>;
} {
  const db = openDatabase(path, { synchronous: 'FULL' });
  return { db, migration: applyMigrations(db, GATEWAY_MIGRATIONS) };
}

describe('migrations', () => {
  it('creates the gateway schema once and is idempotent on reopen', () => {
    const path = join(freshDir(), 'kerbside.db');
    const first = openMigrated(path);
    assert.deepEqual(first.migration, {
      from: 0,
      to: 6,
      applied: [
        '1-readings',
        '2-event-store',
        '3-aggregates-and-windows',
        '4-uplink-lanes',
        '5-downlink',
        '6-web-users',
      ],
    });
    assert.equal(first.db.pragma('user_version', { simple: true }), GATEWAY_MIGRATIONS.length);
    for (const table of [
      'readings',
      'series',
      'polls',
      'outbox',
      'alarms',
      'alarm_history',
      'audit',
      'commands',
      'config_versions',
      'readings_1m',
      'readings_1h',
      'raw_windows',
      'local_overrides',
      'web_users',
    ]) {
      assert.ok(tableNames(first.db).includes(table), table);
    }
    first.db.prepare("INSERT INTO series (device_id, point_key) VALUES ('d', 'p')").run();
    first.db.close();

    const second = openMigrated(path);
    assert.deepEqual(second.migration, { from: 6, to: 6, applied: [] });
    assert.equal(second.db.prepare('SELECT COUNT(*) FROM series').pluck().get(), 1, 'data survives reopen');
    second.db.close();
  });

  it('4-uplink-lanes puts existing outbox rows in their lanes and carries the acknowledged mark over', () => {
    const db = openDatabase(join(freshDir(), 'kerbside.db'), { synchronous: 'FULL' });
    applyMigrations(db, GATEWAY_MIGRATIONS.slice(0, 3));
    const insert = db.prepare(
      "INSERT INTO outbox (id, class, kind, ts, mono_ms, body) VALUES (?, ?, ?, '2026-11-21T00:00:00Z', 0, '{}')",
    );
    const classes = ['telemetry', 'alarm', 'telemetry', 'audit', 'telemetry', 'gap'];
    classes.forEach((eventClass, i) => insert.run(`id-${i}`, eventClass, eventClass));
    db.prepare('DELETE FROM outbox WHERE seq <= 2').run();
    db.prepare("UPDATE store_meta SET value = 2 WHERE key = 'acked_seq'").run();

    assert.deepEqual(applyMigrations(db, GATEWAY_MIGRATIONS.slice(0, 4)).applied, ['4-uplink-lanes']);
    assert.deepEqual(db.prepare('SELECT seq, lane, lane_seq FROM outbox ORDER BY seq').raw().all(), [
      [3, 'telemetry', 3],
      [4, 'priority', 4],
      [5, 'telemetry', 5],
      [6, 'priority', 6],
    ]);
    assert.deepEqual(
      db.prepare('SELECT lane, last_seq, acked_seq FROM outbox_lanes ORDER BY lane').raw().all(),
      [
        ['priority', 6, 2],
        ['telemetry', 6, 2],
      ],
    );
    assert.equal(db.prepare("SELECT COUNT(*) FROM store_meta WHERE key = 'acked_seq'").pluck().get(), 0);
    db.close();
  });

  it('refuses a database written by newer code (STORE_TOO_NEW), leaving it untouched', () => {
    const path = join(freshDir(), 'kerbside.db');
    openMigrated(path).db.close();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(
      () => openMigrated(path),
      (error: unknown) =>
        isStoreError(error, 'STORE_TOO_NEW') && /schema version 99, newer than the 6/.test(error.message),
    );
    const check = new Database(path);
    assert.equal(check.pragma('user_version', { simple: true }), 99);
    check.close();
  });

  it('applies only the pending migrations, all in one transaction', () => {
    const db = openDatabase(join(tmp, 'steps.db'), { synchronous: 'NORMAL' });
    const v1: Migration = { version: 1, name: 'a', sql: 'CREATE TABLE a (x)' };
    const v2: Migration = { version: 2, name: 'b', sql: 'CREATE TABLE b (x)' };
    const v3: Migration = { version: 3, name: 'c', sql: 'CREATE TABLE c (x); CREATE TABLE d (x)' };
    assert.deepEqual(applyMigrations(db, [v1]).applied, ['1-a']);
    assert.deepEqual(applyMigrations(db, [v1, v2, v3]), { from: 1, to: 3, applied: ['2-b', '3-c'] });
    assert.deepEqual(applyMigrations(db, [v1, v2, v3]).applied, []);
    assert.deepEqual(tableNames(db), ['a', 'b', 'c', 'd']);
    db.close();
  });

  it('rolls back every pending migration when one fails (STORE_MIGRATION_FAILED)', () => {
    const db = openDatabase(join(tmp, 'failing.db'), { synchronous: 'NORMAL' });
    const good: Migration = { version: 1, name: 'good', sql: 'CREATE TABLE good (x)' };
    const bad: Migration = { version: 2, name: 'bad', sql: 'CREATE TABLE half (x); THIS IS NOT SQL' };
    assert.throws(
      () => applyMigrations(db, [good, bad]),
      (error: unknown) =>
        isStoreError(error, 'STORE_MIGRATION_FAILED') && /migration 2-bad/.test(error.message),
    );
    assert.equal(db.pragma('user_version', { simple: true }), 0);
    assert.deepEqual(tableNames(db), [], 'neither the good migration nor half of the bad one remains');
    db.close();
  });

  it('refuses a migration list with a gap', () => {
    const db = openDatabase(join(tmp, 'gap.db'), { synchronous: 'NORMAL' });
    assert.throws(
      () =>
        applyMigrations(db, [
          { version: 1, name: 'a', sql: 'SELECT 1' },
          { version: 3, name: 'c', sql: 'SELECT 1' },
        ]),
      (error: unknown) => isStoreError(error, 'STORE_MIGRATION_FAILED') && /out of order/.test(error.message),
    );
    db.close();
  });
});
