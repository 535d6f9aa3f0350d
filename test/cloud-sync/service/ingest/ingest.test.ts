import { CLOUD_DB_BACKENDS, testPostgres, type OpenedDatabase } from '../../../helpers/cloud-db.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sql, type Kysely, type Transaction } from 'kysely';
import pg from 'pg';
import type { GatewayEventBody, Lane, OutboxEvent } from '../../../../cloud-sync/contract/events.js';
import type { EventsBatch } from '../../../../cloud-sync/contract/types.js';
import { validateEventsBatch } from '../../../../cloud-sync/contract/validate.js';
import { createDialect, openCloudDatabase } from '../../../../cloud-sync/service/db/open.js';
import { MIGRATIONS } from '../../../../cloud-sync/service/db/migrations.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import { CloudServiceError, type CloudServiceErrorCode } from '../../../../cloud-sync/service/errors.js';
import { ingestBatch, type IngestResult } from '../../../../cloud-sync/service/ingest/ingest.js';

const GW = 'cab-12';
const EPOCH_A = '7d0c2a6e-1f3b-4c5d-9e8f-0a1b2c3d4e5f';
const EPOCH_B = '0b5e8f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
const TS = '2026-11-21T07:42:16.123Z';

/**
 * Stable UUID per (epoch, lane, seq), as the gateway's outbox gives (docs/uplink-contract.md,
 * delivery rule 1); epochs used together must differ in their first 8 hex digits.
 */
function eventId(epoch: string, seq: number, lane: Lane = 'priority'): string {
  const tag = lane === 'priority' ? '0' : '1';
  return `${epoch.slice(0, 8)}-0000-4000-8${tag}00-${seq.toString(16).padStart(12, '0')}`;
}

function telemetry(deviceId: string, values: Record<string, number | boolean>): GatewayEventBody {
  return { kind: 'telemetry', deviceId, values };
}

function alarm(
  to: 'unacknowledged' | 'acknowledged' | 'normal',
  active: boolean,
  level: number,
): GatewayEventBody {
  return {
    kind: 'alarm_transition',
    alarmKey: 'cab-12-lamp-3:current_low',
    deviceId: 'cab-12-lamp-3',
    ruleKey: 'current_low',
    condition: 'low',
    from: 'normal',
    to,
    level,
    priority: 'medium',
    active,
    value: 0.12,
    setpoint: 0.5,
    cause: 'reading',
    by: null,
    reason: null,
    message: null,
  };
}

const audit: GatewayEventBody = { kind: 'audit', actor: 'ops', action: 'login', target: 'web', detail: {} };

/** A contract-valid batch; the default body per seq is an audit record. */
function batch(
  after: number,
  seqs: number[],
  options: { epoch?: string; gw?: string; lane?: Lane; body?: (seq: number) => GatewayEventBody } = {},
): EventsBatch {
  const epoch = options.epoch ?? EPOCH_A;
  const lane = options.lane ?? 'priority';
  const events = seqs.map((seq): OutboxEvent => ({
    ...(options.body?.(seq) ?? (lane === 'priority' ? audit : telemetry('cab-12', { voltage: seq }))),
    seq,
    id: eventId(epoch, seq, lane),
    ts: TS,
  }));
  const value: EventsBatch = { gw: options.gw ?? GW, epoch, lane, after, events };
  const checked = validateEventsBatch(value);
  assert.ok(checked.ok, `test batch must satisfy the contract: ${JSON.stringify(checked)}`);
  return value;
}

/** This file's PostgreSQL cluster (test/helpers/cloud-db.ts), started on first use. */
const postgres = testPostgres;

const BACKENDS = CLOUD_DB_BACKENDS;

async function storedSeqsOf(db: Kysely<CloudSchema>, epoch = EPOCH_A, gw = GW): Promise<number[]> {
  const rows = await db
    .selectFrom('events')
    .select('seq')
    .where('gateway_id', '=', gw)
    .where('epoch', '=', epoch)
    .orderBy('seq')
    .execute();
  return rows.map((row) => row.seq);
}

async function lastCommittedOf(
  db: Kysely<CloudSchema>,
  epoch = EPOCH_A,
  gw = GW,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('gateway_streams')
    .select('last_committed')
    .where('gateway_id', '=', gw)
    .where('epoch', '=', epoch)
    .executeTakeFirst();
  return row?.last_committed;
}

for (const backend of BACKENDS) {
  describe(`ingestBatch on ${backend.name} (docs/uplink-contract.md, delivery rule 3)`, () => {
    let opened: OpenedDatabase;
    let db: Kysely<CloudSchema>;

    beforeEach(async () => {
      opened = await backend.open();
      db = opened.db;
    });

    afterEach(async () => {
      await opened.close();
    });

    const storedSeqs = (epoch = EPOCH_A): Promise<number[]> => storedSeqsOf(db, epoch);
    const lastCommitted = (epoch = EPOCH_A): Promise<number | undefined> => lastCommittedOf(db, epoch);

    it('accepts a first batch and stores each event once, with its body and class', async () => {
      const result = await ingestBatch(db, batch(0, [1, 2, 3]), GW);
      assert.deepEqual(result, {
        accepted: true,
        upTo: 3,
        committed: 3,
        duplicates: 0,
        deadLettered: 0,
        refusal: null,
      });
      assert.deepEqual(await storedSeqs(), [1, 2, 3]);
      assert.equal(await lastCommitted(), 3);
      const row = await db.selectFrom('events').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow();
      assert.equal(row.event_id, eventId(EPOCH_A, 2));
      assert.equal(row.kind, 'audit');
      assert.equal(row.class, 'audit');
      assert.equal(row.ts, TS);
      assert.deepEqual(JSON.parse(row.body), audit);
    });

    it('counts a redelivered batch as duplicates, stores nothing twice and acks the same upTo', async () => {
      const first = batch(0, [1, 2, 3]);
      await ingestBatch(db, first, GW);
      const again = await ingestBatch(db, first, GW);
      assert.deepEqual(again, {
        accepted: true,
        upTo: 3,
        committed: 0,
        duplicates: 3,
        deadLettered: 0,
        refusal: null,
      });
      assert.deepEqual(await storedSeqs(), [1, 2, 3]);
      assert.equal(await lastCommitted(), 3);
    });

    it('refuses a batch whose after is beyond lastCommitted, storing nothing and answering lastCommitted', async () => {
      await ingestBatch(db, batch(0, [1, 2]), GW);
      const result = await ingestBatch(db, batch(5, [6, 7]), GW);
      assert.deepEqual(result, {
        accepted: false,
        upTo: 2,
        committed: 0,
        duplicates: 0,
        deadLettered: 0,
        refusal: 'after_ahead',
      });
      assert.deepEqual(await storedSeqs(), [1, 2]);
      assert.equal(await lastCommitted(), 2);
    });

    it('refuses after > 0 on an epoch it has never seen, answering 0 and creating nothing', async () => {
      const result = await ingestBatch(db, batch(4, [5]), GW);
      assert.deepEqual(result, {
        accepted: false,
        upTo: 0,
        committed: 0,
        duplicates: 0,
        deadLettered: 0,
        refusal: 'after_ahead',
      });
      assert.deepEqual(await storedSeqs(), []);
      assert.equal(await lastCommitted(), undefined);
    });

    it('stores only the new events of an overlapping batch', async () => {
      await ingestBatch(db, batch(0, [1, 2, 3, 4]), GW);
      const result = await ingestBatch(db, batch(2, [3, 4, 5, 6]), GW);
      assert.deepEqual(result, {
        accepted: true,
        upTo: 6,
        committed: 2,
        duplicates: 2,
        deadLettered: 0,
        refusal: null,
      });
      assert.deepEqual(await storedSeqs(), [1, 2, 3, 4, 5, 6]);
      assert.equal(await lastCommitted(), 6);
    });

    it('advances lastCommitted past a hole inside a batch (rule 2: nothing else exists)', async () => {
      const result = await ingestBatch(db, batch(0, [1, 2, 7]), GW);
      assert.deepEqual(result, {
        accepted: true,
        upTo: 7,
        committed: 3,
        duplicates: 0,
        deadLettered: 0,
        refusal: null,
      });
      assert.equal(await lastCommitted(), 7);
      // A late event from inside the hole is a duplicate, not a new event.
      const late = await ingestBatch(db, batch(3, [4]), GW);
      assert.deepEqual(late, {
        accepted: true,
        upTo: 7,
        committed: 0,
        duplicates: 1,
        deadLettered: 0,
        refusal: null,
      });
      // The gateway continues from the ack.
      const next = await ingestBatch(db, batch(7, [8]), GW);
      assert.deepEqual(next, {
        accepted: true,
        upTo: 8,
        committed: 1,
        duplicates: 0,
        deadLettered: 0,
        refusal: null,
      });
      assert.deepEqual(await storedSeqs(), [1, 2, 7, 8]);
    });

    it('answers an empty batch with the current lastCommitted', async () => {
      assert.deepEqual(await ingestBatch(db, batch(0, []), GW), {
        accepted: true,
        upTo: 0,
        committed: 0,
        duplicates: 0,
        deadLettered: 0,
        refusal: null,
      });
      await ingestBatch(db, batch(0, [1, 2]), GW);
      assert.deepEqual(await ingestBatch(db, batch(2, []), GW), {
        accepted: true,
        upTo: 2,
        committed: 0,
        duplicates: 0,
        deadLettered: 0,
        refusal: null,
      });
      assert.equal((await ingestBatch(db, batch(9, []), GW)).upTo, 2);
    });

    it('starts a new epoch from 0, independently of the old one', async () => {
      await ingestBatch(db, batch(0, [1, 2, 3, 4, 5]), GW);
      // A replaced gateway database: its numbers restart, and are new events, not replays.
      const fresh = await ingestBatch(db, batch(0, [1, 2], { epoch: EPOCH_B }), GW);
      assert.deepEqual(fresh, {
        accepted: true,
        upTo: 2,
        committed: 2,
        duplicates: 0,
        deadLettered: 0,
        refusal: null,
      });
      // after=3 is fine in epoch A but beyond epoch B's lastCommitted.
      const ahead = await ingestBatch(db, batch(3, [4], { epoch: EPOCH_B }), GW);
      assert.deepEqual(ahead, {
        accepted: false,
        upTo: 2,
        committed: 0,
        duplicates: 0,
        deadLettered: 0,
        refusal: 'after_ahead',
      });
      assert.deepEqual(await storedSeqs(EPOCH_A), [1, 2, 3, 4, 5]);
      assert.deepEqual(await storedSeqs(EPOCH_B), [1, 2]);
      assert.equal(await lastCommitted(EPOCH_A), 5);
      assert.equal(await lastCommitted(EPOCH_B), 2);
    });

    it('stores a batch delivered twice concurrently exactly once', async () => {
      const same = batch(0, [1, 2, 3]);
      const results = await Promise.all([ingestBatch(db, same, GW), ingestBatch(db, same, GW)]);
      assert.deepEqual(
        results.map((r) => r.upTo),
        [3, 3],
      );
      assert.deepEqual(results.map((r) => r.committed).sort(), [0, 3]);
      assert.deepEqual(results.map((r) => r.duplicates).sort(), [0, 3]);
      assert.deepEqual(await storedSeqs(), [1, 2, 3]);
      assert.equal(await lastCommitted(), 3);
    });

    it('commits overlapping concurrent batches once each, whatever order they run in', async () => {
      await ingestBatch(db, batch(0, [1, 2]), GW);
      const results = await Promise.all([
        ingestBatch(db, batch(2, [3, 4, 5]), GW),
        ingestBatch(db, batch(2, [3, 4]), GW),
        ingestBatch(db, batch(2, [3, 4, 5]), GW),
      ]);
      assert.equal(
        results.reduce((sum, r) => sum + r.committed, 0),
        3,
      );
      assert.ok(results.every((r) => r.accepted));
      assert.deepEqual(await storedSeqs(), [1, 2, 3, 4, 5]);
      assert.equal(await lastCommitted(), 5);
    });

    it('keeps device_state and alarm_state at the latest events, and a replay cannot move them back', async () => {
      const readings: Record<number, GatewayEventBody> = {
        1: telemetry('cab-12', { voltage: 229.8, doorOpen: false }),
        2: telemetry('cab-12', { voltage: 231.2 }),
        3: telemetry('cab-12-lamp-3', { current: 0.1 }),
      };
      const alarms: Record<number, GatewayEventBody> = {
        1: alarm('unacknowledged', true, 1),
        2: alarm('acknowledged', true, 2),
      };
      const reading = (seq: number): GatewayEventBody => readings[seq] ?? telemetry('cab-12', { voltage: 0 });
      const alarmBody = (seq: number): GatewayEventBody => alarms[seq] ?? audit;
      await ingestBatch(db, batch(0, [1], { lane: 'telemetry', body: reading }), GW);
      await ingestBatch(db, batch(0, [1], { body: alarmBody }), GW);
      await ingestBatch(db, batch(1, [2, 3], { lane: 'telemetry', body: reading }), GW);
      await ingestBatch(db, batch(1, [2], { body: alarmBody }), GW);
      // Redelivery of old events: they are counted as duplicates and never re-applied (a re-applied
      // telemetry seq 1 would move cab-12's voltage back to 229.8); only the alarm lane's seq 3 is new.
      const replay = await ingestBatch(db, batch(0, [1, 2], { lane: 'telemetry', body: reading }), GW);
      assert.deepEqual([replay.committed, replay.duplicates], [0, 2]);
      const replayAlarm = await ingestBatch(db, batch(0, [1, 2, 3], { body: alarmBody }), GW);
      assert.deepEqual([replayAlarm.committed, replayAlarm.duplicates], [1, 2]);

      const devices = await db.selectFrom('device_state').selectAll().orderBy('device_id').execute();
      assert.deepEqual(
        devices.map((d) => [d.device_id, JSON.parse(d.latest_values), d.seq]),
        [
          ['cab-12', { voltage: 231.2, doorOpen: false }, 2],
          ['cab-12-lamp-3', { current: 0.1 }, 3],
        ],
      );
      const alarmRows = await db.selectFrom('alarm_state').selectAll().execute();
      assert.equal(alarmRows.length, 1);
      assert.deepEqual(
        alarmRows.map((a) => [
          a.alarm_key,
          a.device_id,
          a.state,
          a.level,
          a.active,
          a.priority,
          a.epoch,
          a.seq,
        ]),
        [['cab-12-lamp-3:current_low', 'cab-12-lamp-3', 'acknowledged', 2, 1, 'medium', EPOCH_A, 2]],
      );

      await ingestBatch(db, batch(3, [4], { body: () => alarm('normal', false, 0) }), GW);
      const cleared = await db.selectFrom('alarm_state').select(['state', 'active', 'level']).execute();
      assert.deepEqual(cleared, [{ state: 'normal', active: 0, level: 0 }]);
    });

    it('keeps the two lanes of an epoch as independent streams (docs/uplink-lanes.md)', async () => {
      const telemetryFirst = await ingestBatch(db, batch(0, [1, 2, 3], { lane: 'telemetry' }), GW);
      assert.deepEqual([telemetryFirst.upTo, telemetryFirst.committed], [3, 3]);
      // The priority lane's seq 1 is a different event from the telemetry lane's seq 1.
      const priority = await ingestBatch(db, batch(0, [1]), GW);
      assert.deepEqual([priority.accepted, priority.upTo, priority.committed], [true, 1, 1]);
      // An after valid in one lane is refused in the other (rule 3 per lane).
      const ahead = await ingestBatch(db, batch(3, [4]), GW);
      assert.deepEqual([ahead.accepted, ahead.upTo, ahead.refusal], [false, 1, 'after_ahead']);
      const rows = await db
        .selectFrom('gateway_streams')
        .select(['lane', 'last_committed'])
        .orderBy('lane')
        .execute();
      assert.deepEqual(
        rows.map((r) => [r.lane, Number(r.last_committed)]),
        [
          ['priority', 1],
          ['telemetry', 3],
        ],
      );
      const events = await db
        .selectFrom('events')
        .select(['lane', 'seq'])
        .orderBy('lane')
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        events.map((e) => `${e.lane}:${Number(e.seq)}`),
        ['priority:1', 'telemetry:1', 'telemetry:2', 'telemetry:3'],
      );
    });

    it('refuses a batch whose gw differs from the topic gateway, storing nothing', async () => {
      const result = await ingestBatch(db, batch(0, [1, 2], { gw: 'cab-99' }), GW);
      assert.deepEqual(result, {
        accepted: false,
        upTo: 0,
        committed: 0,
        duplicates: 0,
        deadLettered: 0,
        refusal: 'gateway_mismatch',
      });
      assert.equal((await db.selectFrom('events').select('seq').execute()).length, 0);
      assert.equal((await db.selectFrom('gateway_streams').select('epoch').execute()).length, 0);
    });

    it('commits all of a batch or none of it', async () => {
      await ingestBatch(db, batch(0, [1, 2]), GW);
      // Seq 3 reuses seq 1's event id: the unique constraint fails the insert mid-transaction.
      const broken = batch(2, [3, 4]);
      const [third] = broken.events;
      assert.ok(third !== undefined);
      third.id = eventId(EPOCH_A, 1);
      await assert.rejects(ingestBatch(db, broken, GW));
      assert.deepEqual(await storedSeqs(), [1, 2]);
      assert.equal(await lastCommitted(), 2);
    });

    it('runs a transaction again that the database aborted as a deadlock, and only that kind', async () => {
      // A database that aborts the first attempt the way PostgreSQL does (SQLSTATE 40P01) after
      // the work inside it ran: the retry must commit once, and other errors must not be retried.
      const failing = (
        code: string,
        times: number,
        constraint?: string,
      ): { db: Kysely<CloudSchema>; attempts: () => number } => {
        let attempts = 0;
        const proxy = {
          transaction: () => ({
            execute: async <T>(fn: (trx: Transaction<CloudSchema>) => Promise<T>): Promise<T> => {
              attempts++;
              if (attempts <= times) {
                await db.transaction().execute(async (trx) => {
                  await fn(trx);
                  throw Object.assign(new Error(`simulated ${code}`), { code, constraint });
                });
              }
              return db.transaction().execute(fn);
            },
          }),
        };
        return { db: proxy as unknown as Kysely<CloudSchema>, attempts: () => attempts };
      };
      const deadlocked = failing('40P01', 1);
      const result = await ingestBatch(deadlocked.db, batch(0, [1, 2]), GW);
      assert.deepEqual([result.accepted, result.committed, deadlocked.attempts()], [true, 2, 2]);
      assert.deepEqual(await storedSeqs(), [1, 2]);
      const broken = failing('23505', 1);
      await assert.rejects(ingestBatch(broken.db, batch(2, [3]), GW), /simulated 23505/);
      assert.equal(broken.attempts(), 1, 'a constraint violation is not retried');
      // ... except two instances filing one alarm's case at once: run again, the loser attaches.
      const raced = failing('23505', 1, 'cases_one_open_per_alarm');
      const racedResult = await ingestBatch(raced.db, batch(2, [3]), GW);
      assert.deepEqual([racedResult.committed, raced.attempts()], [1, 2]);
      const stuck = failing('40001', 5);
      await assert.rejects(ingestBatch(stuck.db, batch(3, [4]), GW), /simulated 40001/);
      assert.equal(stuck.attempts(), 3, 'at most three attempts');
      assert.deepEqual(await storedSeqs(), [1, 2, 3], 'aborted attempts stored nothing');
    });
  });
}

describe('openCloudDatabase', () => {
  it('runs migrations once and reopens an existing file with WAL and foreign keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kerbside-cloud-db-'));
    const path = join(dir, 'cloud.sqlite');
    try {
      const first = await openCloudDatabase({ sqlitePath: path });
      await ingestBatch(first, batch(0, [1]), GW);
      await first.destroy();
      const second = await openCloudDatabase({ sqlitePath: path });
      assert.equal((await ingestBatch(second, batch(1, [2]), GW)).upTo, 2);
      await second.destroy();

      const raw = new Database(path);
      try {
        assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
        const names = raw.prepare('select name from kysely_migration order by name').pluck().all();
        assert.deepEqual(names, Object.keys(MIGRATIONS));
        const fks = raw.prepare("select count(*) from pragma_foreign_key_list('events')").pluck().get();
        assert.equal(fks, 3);
      } finally {
        raw.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a configuration without a database, or with both SQLite and PostgreSQL', () => {
    const configError = (pattern: RegExp) => (error: unknown) =>
      error instanceof CloudServiceError && error.code === 'CLOUD_DB_CONFIG' && pattern.test(error.message);
    assert.throws(() => createDialect({}), configError(/sqlitePath or databaseUrl/));
    assert.throws(() => createDialect({ databaseUrl: '' }), configError(/DATABASE_URL is empty/));
    assert.throws(
      () => createDialect({ sqlitePath: '/tmp/x.sqlite', databaseUrl: 'postgres://cloud@db/kerbside' }),
      configError(/not both/),
    );
    assert.throws(
      () => createDialect({ databaseUrl: 'postgres://cloud@db/kerbside', poolSize: 0 }),
      configError(/poolSize/),
    );
  });
});

/** The password every bad-URL test puts in its URL; no message or cause may show it. */
const SECRET = 'S3cret-Pw-7731';

/** Asserts a CloudServiceError (CLOUD_DB_CONFIG by default) whose message matches and that never shows SECRET. */
function assertRedactedConfigError(
  error: unknown,
  pattern: RegExp,
  code: CloudServiceErrorCode = 'CLOUD_DB_CONFIG',
): true {
  assert.ok(error instanceof CloudServiceError, `expected a CloudServiceError, got ${inspect(error)}`);
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  // inspect() prints the message, stack, own properties and the cause chain, as a logger would.
  const printed = inspect(error, { depth: 10 });
  assert.ok(!printed.includes(SECRET), `the password leaked into: ${printed}`);
  assert.ok(!printed.includes(encodeURIComponent(`${SECRET}/x`)), `the encoded password leaked: ${printed}`);
  return true;
}

/** A local TCP port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

describe('openCloudDatabase on PostgreSQL (DATABASE_URL)', () => {
  it('migrates a new database once when several instances open it at once, and reopens it', async () => {
    const url = await (await postgres()).createDatabase();
    // Instances of a scale-out deployment start together: Kysely's Migrator serialises them with
    // an advisory lock, so one migrates and the others find nothing pending (none may fail).
    const instances = await Promise.all([1, 2, 3].map(() => openCloudDatabase({ databaseUrl: url })));
    const [first] = instances;
    assert.ok(first !== undefined);
    try {
      const names = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
        first,
      );
      assert.deepEqual(
        names.rows.map((row) => row.name),
        Object.keys(MIGRATIONS),
      );
      await ingestBatch(first, batch(0, [1]), GW);
      const fks = await sql<{ n: number }>`
        select count(*) as n from information_schema.table_constraints
        where table_name = 'events' and constraint_type = 'FOREIGN KEY'`.execute(first);
      assert.deepEqual(fks.rows, [{ n: 1 }]);
    } finally {
      await Promise.all(instances.map((instance) => instance.destroy()));
    }

    const reopened = await openCloudDatabase({ databaseUrl: url });
    try {
      assert.deepEqual(await ingestBatch(reopened, batch(1, [2]), GW), {
        accepted: true,
        upTo: 2,
        committed: 1,
        duplicates: 0,
        deadLettered: 0,
        refusal: null,
      });
      assert.deepEqual(await storedSeqsOf(reopened), [1, 2]);
      const count = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(reopened);
      assert.deepEqual(count.rows, [{ n: Object.keys(MIGRATIONS).length }]);
    } finally {
      await reopened.destroy();
    }
  });

  it('reads int8 as a number, fails a query whose int8 is beyond 2^53 - 1, and leaves pg global types alone', async () => {
    const db = await openCloudDatabase({ databaseUrl: await (await postgres()).createDatabase() });
    try {
      const safe = await sql<{ n: unknown }>`select 9007199254740991::int8 as n`.execute(db);
      assert.deepEqual(safe.rows, [{ n: Number.MAX_SAFE_INTEGER }]);
      // Rounded to a neighbour, such a seq would be a different event; the query must fail instead.
      await assert.rejects(
        sql`select 9007199254740993::int8 as n`.execute(db),
        /outside JavaScript's safe integer/,
      );
      // The pool still works after the failed query.
      assert.deepEqual((await sql<{ n: unknown }>`select 7::int8 as n`.execute(db)).rows, [{ n: 7 }]);
    } finally {
      await db.destroy();
    }
    // The parser is set on the cloud pool's clients only: other pg users keep strings.
    assert.equal(pg.types.getTypeParser(20, 'text')('7'), '7');
  });

  it('runs every connection in READ COMMITTED even when the server default is stricter', async () => {
    const running = await postgres();
    const url = await running.createDatabase();
    const name = new URL(url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: running.url });
    await admin.connect();
    try {
      await admin.query(
        `ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_isolation = 'serializable'`,
      );
    } finally {
      await admin.end();
    }
    const db = await openCloudDatabase({ databaseUrl: url });
    try {
      const level = await db
        .transaction()
        .execute((trx) =>
          sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(trx),
        );
      assert.deepEqual(level.rows, [{ level: 'read committed' }]);
    } finally {
      await db.destroy();
    }
  });

  it('fails with CLOUD_DB_UNAVAILABLE (not a configuration error), without the password, when the server is unreachable', async () => {
    const port = await closedPort();
    const url = `postgres://kerbside:${encodeURIComponent(`${SECRET}/x`)}@127.0.0.1:${port}/kerbside`;
    await assert.rejects(openCloudDatabase({ databaseUrl: url }), (error: unknown) =>
      assertRedactedConfigError(
        error,
        new RegExp(
          `cannot connect to PostgreSQL at postgres://kerbside@127\\.0\\.0\\.1:${port}/kerbside: .*ECONNREFUSED`,
        ),
        'CLOUD_DB_UNAVAILABLE',
      ),
    );
  });

  it('fails with a clear CloudServiceError, without the password, when the database does not exist', async () => {
    const { port } = await postgres();
    const url = `postgres://postgres:${SECRET}@127.0.0.1:${port}/no_such_database`;
    await assert.rejects(openCloudDatabase({ databaseUrl: url }), (error: unknown) =>
      assertRedactedConfigError(error, /cannot connect to PostgreSQL .*no_such_database.*does not exist/),
    );
  });

  it('refuses a malformed or non-PostgreSQL URL without echoing it', async () => {
    await assert.rejects(
      openCloudDatabase({ databaseUrl: `postgres://kerbside:${SECRET}@db.example:notaport/kerbside` }),
      (error: unknown) => assertRedactedConfigError(error, /DATABASE_URL is not a valid URL/),
    );
    await assert.rejects(
      openCloudDatabase({ databaseUrl: `mysql://kerbside:${SECRET}@db.example/kerbside` }),
      (error: unknown) =>
        assertRedactedConfigError(error, /must start with postgres:\/\/ or postgresql:\/\//),
    );
  });
});

/**
 * Waits until `count` sessions of the database wait for a lock, i.e. the ingests under test are
 * all parked behind the blocker. A timeout means the ingests did not wait for the lock at all.
 * `client` must not be inside a transaction: PostgreSQL keeps one snapshot of pg_stat_activity
 * per transaction, so a poll from the blocker's own transaction would never see anyone arrive.
 */
async function waitForLockWaiters(client: pg.Client, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await client.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock'`,
    );
    const waiting = Number(result.rows[0]?.n);
    if (waiting >= count) return;
    if (Date.now() > deadline) {
      assert.fail(`expected ${count} ingests waiting for the stream's lock, found ${waiting}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ingestBatch on PostgreSQL with two cloud-sync instances (shared subscription)', () => {
  let url: string;
  /** Two Kysely instances, each with its own pool: two cloud-sync processes on one database. */
  let one: Kysely<CloudSchema>;
  let two: Kysely<CloudSchema>;
  /** A plain connection that holds the locks the instances must wait for. */
  let blocker: pg.Client;
  /** A plain connection that watches who waits (outside any transaction). */
  let observer: pg.Client;

  beforeEach(async () => {
    url = await (await postgres()).createDatabase();
    [one, two] = await Promise.all([
      openCloudDatabase({ databaseUrl: url }),
      openCloudDatabase({ databaseUrl: url }),
    ]);
    blocker = new pg.Client({ connectionString: url });
    observer = new pg.Client({ connectionString: url });
    await Promise.all([blocker.connect(), observer.connect()]);
  });

  afterEach(async () => {
    await Promise.all([blocker.end(), observer.end()]);
    await Promise.all([one.destroy(), two.destroy()]);
  });

  /**
   * Ingests on `instance` and, as soon as it resolves (when the caller would publish the ack),
   * checks through the other instance's pool that the ack claims nothing uncommitted: lastCommitted
   * is at least upTo, and every event of the batch up to upTo is stored (these batches have no holes).
   */
  async function ingestThenCheckAck(
    instance: Kysely<CloudSchema>,
    other: Kysely<CloudSchema>,
    sent: EventsBatch,
  ): Promise<IngestResult> {
    const result = await ingestBatch(instance, sent, GW);
    const committed = (await lastCommittedOf(other, sent.epoch)) ?? 0;
    assert.ok(committed >= result.upTo, `ack upTo ${result.upTo} is beyond lastCommitted ${committed}`);
    const stored = new Set(await storedSeqsOf(other, sent.epoch));
    for (const event of sent.events) {
      if (event.seq <= result.upTo) assert.ok(stored.has(event.seq), `acked seq ${event.seq} is not stored`);
    }
    return result;
  }

  /** Every seq 1..lastCommitted stored exactly once, and lastCommitted as expected. */
  async function assertStream(epoch: string, expectedLast: number): Promise<void> {
    assert.equal(await lastCommittedOf(one, epoch), expectedLast);
    const rows = await sql<{ seq: number; n: number }>`
      select seq, count(*) as n from events where gateway_id = ${GW} and epoch = ${epoch}
      group by seq order by seq`.execute(one);
    assert.deepEqual(
      rows.rows,
      Array.from({ length: expectedLast }, (_, index) => ({ seq: index + 1, n: 1 })),
    );
  }

  it('stores the first batch of a new stream once when both instances create its row at once', async () => {
    // The blocker creates the stream row without committing: both instances find no row, both try
    // to create it and wait. Its rollback lets them race the creation for real; the loser must wait
    // for the winner, then find every event already committed.
    await blocker.query('BEGIN');
    await blocker.query(
      `insert into gateway_streams (gateway_id, epoch, lane, last_committed, updated_at)
       values ($1, $2, 'priority', 0, 'blocker')`,
      [GW, EPOCH_A],
    );
    const same = batch(0, [1, 2, 3]);
    const pending = Promise.all([ingestThenCheckAck(one, two, same), ingestThenCheckAck(two, one, same)]);
    await waitForLockWaiters(observer, 2);
    await blocker.query('ROLLBACK');
    const results = await pending;

    assert.deepEqual(
      results.map((r) => [r.accepted, r.upTo]),
      [
        [true, 3],
        [true, 3],
      ],
    );
    assert.deepEqual(results.map((r) => r.committed).sort(), [0, 3]);
    assert.deepEqual(results.map((r) => r.duplicates).sort(), [0, 3]);
    await assertStream(EPOCH_A, 3);
  });

  it('serialises overlapping batches on both instances behind the stream row lock', async () => {
    await ingestBatch(one, batch(0, [1, 2]), GW);
    // The blocker holds the row lock, so all three ingests read lastCommitted only after it ends,
    // each after the previous one committed.
    await blocker.query('BEGIN');
    await blocker.query(
      `select last_committed from gateway_streams where gateway_id = $1 and epoch = $2 for update`,
      [GW, EPOCH_A],
    );
    const sends: [Kysely<CloudSchema>, Kysely<CloudSchema>, EventsBatch][] = [
      [one, two, batch(2, [3, 4, 5])],
      [two, one, batch(2, [3, 4])],
      [two, one, batch(2, [3, 4, 5])],
    ];
    const pending = Promise.all(
      sends.map(([instance, other, sent]) => ingestThenCheckAck(instance, other, sent)),
    );
    await waitForLockWaiters(observer, sends.length);
    await blocker.query('COMMIT');
    const results = await pending;

    // Whatever order the lock granted: each event committed by exactly one call, the rest of each
    // batch counted as duplicates, and each ack covering its whole batch.
    assert.equal(
      results.reduce((sum, r) => sum + r.committed, 0),
      3,
    );
    results.forEach((result, index) => {
      const sent = sends[index]?.[2];
      assert.ok(sent !== undefined && result.accepted);
      assert.equal(result.committed + result.duplicates, sent.events.length);
      assert.ok(result.upTo >= (sent.events.at(-1)?.seq ?? 0));
    });
    await assertStream(EPOCH_A, 5);
  });

  it('keeps every stream exact under concurrent identical and overlapping batches from both instances', async () => {
    // Unsynchronised rounds, each on a new stream (epoch): the instances interleave however the
    // pools and the server schedule them, including the first batch of each stream on both.
    const rounds = 15;
    for (let round = 0; round < rounds; round += 1) {
      const epoch = `${(round + 1).toString(16).padStart(8, '0')}-4a5b-4c6d-8e7f-0a1b2c3d4e5f`;
      const sends: [Kysely<CloudSchema>, Kysely<CloudSchema>, EventsBatch][] = [
        [one, two, batch(0, [1, 2, 3], { epoch })],
        [two, one, batch(0, [1, 2, 3], { epoch })],
        [one, two, batch(0, [1, 2, 3, 4, 5], { epoch })],
        [two, one, batch(0, [1, 2], { epoch })],
        [two, one, batch(3, [4, 5, 6], { epoch })],
        [one, two, batch(5, [6, 7], { epoch })],
      ];
      const results = await Promise.all(
        sends.map(([instance, other, sent]) => ingestThenCheckAck(instance, other, sent)),
      );
      const last = Math.max(...results.map((r) => r.upTo));
      assert.ok(last >= 5, `round ${round}: the batches starting at 0 alone commit 1..5`);
      assert.equal(
        results.reduce((sum, r) => sum + r.committed, 0),
        last,
        `round ${round}: every event committed by exactly one call`,
      );
      for (const r of results.filter((result) => !result.accepted)) {
        assert.equal(r.refusal, 'after_ahead');
      }
      await assertStream(epoch, last);
    }
  });
});
