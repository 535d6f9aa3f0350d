import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { GatewayEventBody, Lane, OutboxEvent } from '../../../cloud-sync/contract/events.js';
import type { EventsBatch } from '../../../cloud-sync/contract/types.js';
import { validateEventsBatch } from '../../../cloud-sync/contract/validate.js';
import { createDialect, openCloudDatabase } from '../../../cloud-sync/service/db/open.js';
import { MIGRATIONS } from '../../../cloud-sync/service/db/migrations.js';
import type { CloudSchema } from '../../../cloud-sync/service/db/schema.js';
import { CloudServiceError } from '../../../cloud-sync/service/errors.js';
import { ingestBatch } from '../../../cloud-sync/service/ingest.js';

const GW = 'cab-12';
const EPOCH_A = '7d0c2a6e-1f3b-4c5d-9e8f-0a1b2c3d4e5f';
const EPOCH_B = '0b5e8f1a-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
const TS = '2026-11-21T07:42:16.123Z';

/** Stable UUID per (epoch, seq), as the gateway's outbox gives (DESIGN.md section 6 rule 1). */
function eventId(epoch: string, seq: number, lane: Lane = 'priority'): string {
  const tag = (epoch === EPOCH_A ? 'a' : 'b') + (lane === 'priority' ? '0' : '1');
  return `00000000-0000-4000-8${tag}0-${seq.toString(16).padStart(12, '0')}`;
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

describe('ingestBatch (DESIGN.md section 6 rule 3)', () => {
  let dir: string;
  let db: Kysely<CloudSchema>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-ingest-'));
    db = await openCloudDatabase({ sqlitePath: join(dir, 'cloud.sqlite') });
  });

  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function storedSeqs(epoch = EPOCH_A): Promise<number[]> {
    const rows = await db
      .selectFrom('events')
      .select('seq')
      .where('gateway_id', '=', GW)
      .where('epoch', '=', epoch)
      .orderBy('seq')
      .execute();
    return rows.map((row) => row.seq);
  }

  async function lastCommitted(epoch = EPOCH_A): Promise<number | undefined> {
    const row = await db
      .selectFrom('gateway_streams')
      .select('last_committed')
      .where('gateway_id', '=', GW)
      .where('epoch', '=', epoch)
      .executeTakeFirst();
    return row?.last_committed;
  }

  it('accepts a first batch and stores each event once, with its body and class', async () => {
    const result = await ingestBatch(db, batch(0, [1, 2, 3]), GW);
    assert.deepEqual(result, { accepted: true, upTo: 3, committed: 3, duplicates: 0, refusal: null });
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
    assert.deepEqual(again, { accepted: true, upTo: 3, committed: 0, duplicates: 3, refusal: null });
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
      refusal: 'after_ahead',
    });
    assert.deepEqual(await storedSeqs(), []);
    assert.equal(await lastCommitted(), undefined);
  });

  it('stores only the new events of an overlapping batch', async () => {
    await ingestBatch(db, batch(0, [1, 2, 3, 4]), GW);
    const result = await ingestBatch(db, batch(2, [3, 4, 5, 6]), GW);
    assert.deepEqual(result, { accepted: true, upTo: 6, committed: 2, duplicates: 2, refusal: null });
    assert.deepEqual(await storedSeqs(), [1, 2, 3, 4, 5, 6]);
    assert.equal(await lastCommitted(), 6);
  });

  it('advances lastCommitted past a hole inside a batch (rule 2: nothing else exists)', async () => {
    const result = await ingestBatch(db, batch(0, [1, 2, 7]), GW);
    assert.deepEqual(result, { accepted: true, upTo: 7, committed: 3, duplicates: 0, refusal: null });
    assert.equal(await lastCommitted(), 7);
    // A late event from inside the hole is a duplicate, not a new event.
    const late = await ingestBatch(db, batch(3, [4]), GW);
    assert.deepEqual(late, { accepted: true, upTo: 7, committed: 0, duplicates: 1, refusal: null });
    // The gateway continues from the ack.
    const next = await ingestBatch(db, batch(7, [8]), GW);
    assert.deepEqual(next, { accepted: true, upTo: 8, committed: 1, duplicates: 0, refusal: null });
    assert.deepEqual(await storedSeqs(), [1, 2, 7, 8]);
  });

  it('answers an empty batch with the current lastCommitted', async () => {
    assert.deepEqual(await ingestBatch(db, batch(0, []), GW), {
      accepted: true,
      upTo: 0,
      committed: 0,
      duplicates: 0,
      refusal: null,
    });
    await ingestBatch(db, batch(0, [1, 2]), GW);
    assert.deepEqual(await ingestBatch(db, batch(2, []), GW), {
      accepted: true,
      upTo: 2,
      committed: 0,
      duplicates: 0,
      refusal: null,
    });
    assert.equal((await ingestBatch(db, batch(9, []), GW)).upTo, 2);
  });

  it('starts a new epoch from 0, independently of the old one', async () => {
    await ingestBatch(db, batch(0, [1, 2, 3, 4, 5]), GW);
    // A replaced gateway database: its numbers restart, and are new events, not replays.
    const fresh = await ingestBatch(db, batch(0, [1, 2], { epoch: EPOCH_B }), GW);
    assert.deepEqual(fresh, { accepted: true, upTo: 2, committed: 2, duplicates: 0, refusal: null });
    // after=3 is fine in epoch A but beyond epoch B's lastCommitted.
    const ahead = await ingestBatch(db, batch(3, [4], { epoch: EPOCH_B }), GW);
    assert.deepEqual(ahead, {
      accepted: false,
      upTo: 2,
      committed: 0,
      duplicates: 0,
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
});

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

  it('refuses DATABASE_URL until PostgreSQL support arrives with the scale-out part', () => {
    assert.throws(
      () => createDialect({ databaseUrl: 'postgres://cloud@db/kerbside' }),
      (error: unknown) =>
        error instanceof CloudServiceError &&
        error.code === 'CLOUD_DB_UNSUPPORTED' &&
        /scale-out/.test(error.message),
    );
    assert.throws(
      () => createDialect({}),
      (error: unknown) => error instanceof CloudServiceError && error.code === 'CLOUD_DB_CONFIG',
    );
  });
});
