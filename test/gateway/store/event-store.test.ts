import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditEvent } from '../../../cloud-sync/contract/events.js';
import type { AlarmRecord } from '../../../gateway/alarms/types.js';
import { isStoreError } from '../../../gateway/store/errors.js';
import { GATEWAY_DB_FILE } from '../../../gateway/store/event-store.js';
import pino from 'pino';
import type { GatewayEventBody } from '../../../cloud-sync/contract/events.js';
import { FakeClock, Stores, count, poll, record, telemetry, tempDirs, transition } from './helpers.js';

const dirs = tempDirs('kerbside-store-');
after(dirs.cleanup);
const stores = new Stores();
afterEach(() => stores.closeAll());

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('GatewayStore: opening', () => {
  it('creates kerbside.db with migrations 1..6, a UUID epoch and FULL synchronous (read back)', () => {
    const dir = dirs.fresh();
    const store = stores.openStore(dir);
    assert.equal(store.path, join(dir, GATEWAY_DB_FILE));
    assert.deepEqual(store.migration, {
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
    assert.match(store.epoch, UUID_V4);
    assert.equal(store.quarantine, null);
    assert.deepEqual(store.settings(), {
      journalMode: 'wal',
      synchronous: 2, // FULL (sqlite.org/pragma.html#pragma_synchronous)
      foreignKeys: 1,
      busyTimeoutMs: 5000,
      journalSizeLimitBytes: 16 * 1024 * 1024,
      walAutocheckpointPages: 1000,
    });
  });

  it('makes a new data folder 0700 and kerbside.db 0600 with its WAL: it holds the web accounts', () => {
    const dir = join(dirs.fresh(), 'data');
    const store = stores.openStore(dir);
    store.commitCycle({ events: [telemetry('dev-1', 1)] });
    const mode = (path: string): number => statSync(path).mode & 0o777;
    assert.equal(mode(dir).toString(8), '700');
    assert.equal(mode(store.path).toString(8), '600');
    assert.equal(mode(`${store.path}-wal`).toString(8), '600');
  });

  it('keeps its epoch across reopen; another database has another epoch', () => {
    const dir = dirs.fresh();
    const first = stores.openStore(dir);
    const epoch = first.epoch;
    first.close();
    const again = stores.openStore(dir);
    assert.equal(again.epoch, epoch);
    assert.deepEqual(again.migration.applied, []);
    assert.notEqual(stores.openStore(dirs.fresh()).epoch, epoch);
  });

  it('refuses to be used after close (STORE_CLOSED)', () => {
    const store = stores.openStore(dirs.fresh());
    store.close();
    store.close(); // idempotent
    assert.throws(
      () => store.commitCycle({ events: [telemetry('d', 1)] }),
      (error: unknown) => isStoreError(error, 'STORE_CLOSED'),
    );
  });
});

describe('GatewayStore: commitCycle', () => {
  it('writes readings, polls, events, history and records in ONE transaction', () => {
    const clock = new FakeClock();
    const trace: string[] = [];
    const store = stores.openStore(dirs.fresh(), { clock, trace: (sql) => trace.push(sql) });
    trace.length = 0;
    const result = store.commitCycle({
      polls: [poll(clock, 'lamp', [230.1, 230.2, true]), poll(clock, 'gas', [1.5])],
      events: [transition('gas:high'), telemetry('lamp', 230.1)],
      alarmRecords: [record('gas:high')],
    });
    assert.deepEqual(
      { ...result, deleted: undefined },
      {
        firstSeq: 1,
        lastSeq: 2,
        count: 2,
        eventSeqs: [1, 2],
        refused: 0,
        polls: 2,
        readings: 4,
        evicted: 0,
        gapSeq: null,
        deleted: undefined,
      },
    );
    assert.deepEqual(
      trace.filter((s) => /^(BEGIN|COMMIT|ROLLBACK)/.test(s)),
      ['BEGIN IMMEDIATE', 'COMMIT'],
    );
    const begin = trace.indexOf('BEGIN IMMEDIATE');
    const commit = trace.indexOf('COMMIT');
    const writes = trace.flatMap((s, i) => (/^\s*(INSERT|UPDATE|DELETE)\b/.test(s) ? [i] : []));
    assert.ok(writes.length >= 4 + 2 + 2 + 1 + 1, `writes: ${writes.length}`);
    assert.ok(
      writes.every((i) => i > begin && i < commit),
      'no statement autocommits outside the transaction',
    );

    store.readTransaction((db) => {
      assert.equal(count(db, 'readings'), 4);
      assert.equal(count(db, 'polls'), 2);
      assert.equal(count(db, 'outbox'), 2);
      assert.equal(count(db, 'alarms'), 1);
      const history = db.prepare('SELECT outbox_seq, event_id, alarm_key, to_state FROM alarm_history').all();
      const outboxId = db.prepare('SELECT id FROM outbox WHERE seq = 1').pluck().get();
      assert.deepEqual(history, [
        { outbox_seq: 1, event_id: outboxId, alarm_key: 'gas:high', to_state: 'unacknowledged' },
      ]);
    });
  });

  it('stamps events with the cycle time: ISO wall ts, uptime mono_ms, a UUID id and the class of the kind', () => {
    const clock = new FakeClock(5_000, Date.UTC(2025, 5, 1, 12, 0, 0));
    const store = stores.openStore(dirs.fresh(), { clock });
    store.commitCycle({
      events: [transition('d:r'), telemetry('d', 1)],
      at: { monoMs: store.now().monoMs, wallMs: Date.UTC(2025, 5, 1, 12, 0, 0, 250) },
    });
    const events = store.outboxAfter(0, 10);
    assert.equal(events.length, 2);
    assert.equal(events[0]?.ts, '2025-06-01T12:00:00.250Z');
    assert.match(events[0]?.id ?? '', UUID_V4);
    assert.notEqual(events[0]?.id, events[1]?.id);
    assert.deepEqual(
      events.map((e) => [e.seq, e.kind]),
      [
        [1, 'alarm_transition'],
        [2, 'telemetry'],
      ],
    );
    assert.deepEqual(
      { ...events[1] },
      { seq: 2, id: events[1]?.id, ts: events[1]?.ts, lane: 'telemetry', laneSeq: 1, ...telemetry('d', 1) },
    );
    store.readTransaction((db) => {
      assert.deepEqual(db.prepare('SELECT class, kind, mono_ms FROM outbox ORDER BY seq').raw().all(), [
        ['alarm', 'alarm_transition', 0],
        ['telemetry', 'telemetry', 0],
      ]);
    });
  });

  it('commits an operation (events and records, no polls) on its own', () => {
    const store = stores.openStore(dirs.fresh());
    const ack = {
      ...transition('d:r', 'acknowledged'),
      cause: 'operation' as const,
      by: 'tech',
      reason: 'seen',
    };
    const result = store.commitCycle({
      events: [ack],
      alarmRecords: [record('d:r', { state: 'acknowledged', acknowledged: true })],
    });
    assert.equal(result.readings, 0);
    assert.equal(result.firstSeq, 1);
    store.readTransaction((db) => {
      assert.deepEqual(db.prepare('SELECT actor, cause FROM alarm_history').raw().all(), [
        ['tech', 'operation'],
      ]);
    });
  });

  it('writes an audit row, with its outbox seq, for every audit event', () => {
    const store = stores.openStore(dirs.fresh());
    const audit: AuditEvent = {
      kind: 'audit',
      actor: 'tech',
      action: 'lamp_test',
      target: 'lamp_03',
      detail: { ok: true },
    };
    store.commitCycle({ events: [telemetry('d', 1), audit] });
    store.readTransaction((db) => {
      assert.deepEqual(db.prepare('SELECT outbox_seq, actor, action, target, detail FROM audit').all(), [
        { outbox_seq: 2, actor: 'tech', action: 'lamp_test', target: 'lamp_03', detail: '{"ok":true}' },
      ]);
    });
    assert.equal(store.outboxAfter(0, 10)[1]?.kind, 'audit');
  });

  it('nothing of a cycle that fails midway is visible, and it consumes no seq', () => {
    const clock = new FakeClock();
    const dir = dirs.fresh();
    const store = stores.openStore(dir, { clock });
    const first = store.commitCycle({
      polls: [poll(clock, 'lamp', [1, 2])],
      events: [transition('lamp:a'), telemetry('lamp', 1)],
      alarmRecords: [record('lamp:a')],
    });
    const snapshot = (): Record<string, unknown> =>
      store.readTransaction((db) => ({
        readings: count(db, 'readings'),
        polls: count(db, 'polls'),
        series: count(db, 'series'),
        minute: count(db, 'readings_1m'),
        outbox: count(db, 'outbox'),
        history: count(db, 'alarm_history'),
        alarms: db.prepare('SELECT record FROM alarms').pluck().all(),
        outboxSeq: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").pluck().get(),
        counts: db.prepare('SELECT class, rows FROM outbox_counts WHERE rows > 0').raw().all(),
        meta: db.prepare('SELECT key, value FROM store_meta ORDER BY key').raw().all(),
      }));
    const before = snapshot();

    // The alarm record comes last in the transaction; its state violates the CHECK constraint
    // after the readings, aggregates, outbox rows and history rows of the cycle were written.
    const broken = { ...record('gas:b'), state: 'exploded' } as unknown as AlarmRecord;
    clock.advance(500);
    assert.throws(
      () =>
        store.commitCycle({
          polls: [poll(clock, 'gas', [7, 8, 9]), poll(clock, 'lamp', [3, 4])],
          events: [transition('gas:b'), telemetry('gas', 7), transition('lamp:a', 'acknowledged')],
          alarmRecords: [record('lamp:a', { state: 'acknowledged' }), broken],
        }),
      (error: unknown) =>
        isStoreError(error, 'STORE_INVALID_INPUT') && /CHECK constraint/.test(error.message),
    );
    assert.deepEqual(snapshot(), before, 'the failed cycle left no trace');
    // Another connection (as the uplink or the CLI would have) sees the same.
    const other = new Database(join(dir, GATEWAY_DB_FILE), { readonly: true });
    assert.equal(other.prepare('SELECT MAX(seq) FROM outbox').pluck().get(), 2);
    other.close();
    assert.equal(store.stats().failedCommits, 1);

    clock.advance(500);
    const next = store.commitCycle({ polls: [poll(clock, 'gas', [7])], events: [transition('gas:b')] });
    assert.equal(next.firstSeq, (first.lastSeq ?? 0) + 1, 'the seqs of the failed cycle were never visible');
    store.readTransaction((db) => {
      // The series created inside the rolled-back transaction was created again, not reused.
      assert.equal(
        count(db, 'readings r', 'LEFT JOIN series s ON s.id = r.series_id WHERE s.id IS NULL'),
        0,
        'every reading refers to an existing series',
      );
    });
  });
  it('a cycle that failed to write can be committed again, unchanged, once the store recovers', () => {
    const clock = new FakeClock();
    const dir = dirs.fresh();
    const store = stores.openStore(dir, { clock });
    store.commitCycle({ events: [telemetry('d', 0)] });
    // Another connection takes the readings table away, as a broken store would: the statement
    // fails with an ordinary SQLite error (not a constraint), the kind a retry can get past.
    const other = new Database(join(dir, GATEWAY_DB_FILE));
    other.exec('DROP VIEW readings_named; ALTER TABLE readings RENAME TO readings_away');
    const cycle = {
      polls: [poll(clock, 'new-dev', [1, 2])],
      events: [transition('new-dev:r')],
      alarmRecords: [record('new-dev:r')],
    };
    assert.throws(
      () => store.commitCycle(cycle),
      (error: unknown) => isStoreError(error, 'STORE_WRITE_FAILED'),
    );
    other.exec('ALTER TABLE readings_away RENAME TO readings');
    other.close();
    const retried = store.commitCycle(cycle);
    assert.deepEqual([retried.firstSeq, retried.readings], [2, 2]);
    assert.equal(store.stats().lastError?.includes('readings'), true);
  });
});

describe('GatewayStore: the uplink contract checked before the outbox', () => {
  it('refuses an event the contract would refuse, alone, loudly and counted; the rest of the cycle commits', () => {
    const clock = new FakeClock();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'error' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const store = stores.openStore(dirs.fresh(), { clock, logger });
    // The demo's poison: a fractional periodStartMs (the contract wants whole milliseconds).
    const poison = {
      kind: 'strain_statistics',
      deviceId: 'bridge',
      periodStartMs: 1796658000000.0002,
      channels: { strain_1: { min: 1, max: 2, mean: 1.5, rms: 1.6, count: 2 } },
    } as GatewayEventBody;
    const result = store.commitCycle({
      polls: [poll(clock, 'gas', [1.5])],
      events: [transition('gas:high'), poison, telemetry('lamp', 230.1)],
      alarmRecords: [record('gas:high')],
    });
    assert.equal(result.refused, 1);
    assert.deepEqual(result.eventSeqs, [1, 2], 'the valid events are written, in order, without a hole');
    assert.equal(result.readings, 1);
    assert.equal(store.stats().refusedEvents, 1);
    const kinds = store.outboxLaneAfter('telemetry', 0, 10).map((e) => e.kind);
    assert.deepEqual(kinds, ['telemetry'], 'the poison never reaches the outbox');
    assert.equal(store.outboxLaneAfter('priority', 0, 10)[0]?.kind, 'alarm_transition');
    const [line] = lines;
    assert.equal(lines.length, 1);
    assert.equal(line?.['kind'], 'strain_statistics');
    assert.deepEqual(line?.['issues'], ['/periodStartMs: must be an integer']);
  });
});

describe('GatewayStore: sequence numbers and acknowledgement', () => {
  it('assigns strictly increasing seqs, never reused after acknowledgement, eviction or restart', () => {
    const dir = dirs.fresh();
    let store = stores.openStore(dir, { outboxQuota: { telemetry: 5 }, telemetryEvictRows: 2 });
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = store.commitCycle({ events: [telemetry('d', i), transition(`d:${i}`)] });
      seen.push(...r.eventSeqs, ...(r.gapSeq === null ? [] : [r.gapSeq]));
    }
    const lanesBefore = store.outboxStats().lanes;
    store.acknowledgeUpTo('priority', lanesBefore.priority.lastSeq);
    store.acknowledgeUpTo('telemetry', lanesBefore.telemetry.lastSeq);
    assert.equal(store.outboxStats().count, 0, 'everything acknowledged is deleted');
    store.close();
    store = stores.openStore(dir);
    for (let i = 0; i < 3; i++) {
      const r = store.commitCycle({ events: [telemetry('d', i), transition(`d:again${i}`)] });
      seen.push(...r.eventSeqs);
    }
    // Lane seqs continue after acknowledgement, eviction and restart: never reused (rule 1, per lane).
    const telemetrySeqs = store.outboxLaneAfter('telemetry', 0, 100).map((e) => e.seq);
    const prioritySeqs = store.outboxLaneAfter('priority', 0, 100).map((e) => e.seq);
    assert.deepEqual(telemetrySeqs, [11, 12, 13]);
    // 10 transitions + the gap events of the evictions came before.
    const gaps = lanesBefore.priority.lastSeq - 10;
    assert.ok(gaps >= 1, 'the quota of 5 made evictions');
    assert.deepEqual(prioritySeqs, [gaps + 11, gaps + 12, gaps + 13]);
    assert.ok(
      seen.every((seq, i) => i === 0 || seq > (seen[i - 1] ?? 0)),
      `strictly increasing: ${seen.join(',')}`,
    );
    assert.deepEqual(
      seen,
      Array.from({ length: seen.length }, (_, i) => i + 1),
      'and without holes: no seq was skipped either',
    );
  });

  it('acknowledgeUpTo deletes at or below, never above; repeats change nothing; unknown seqs are refused', () => {
    const store = stores.openStore(dirs.fresh());
    for (let i = 0; i < 10; i++) store.commitCycle({ events: [telemetry('d', i)] });
    store.commitCycle({ events: [transition('d:r')] });
    assert.equal(store.laneState('telemetry').ackedSeq, 0);
    assert.deepEqual(store.acknowledgeUpTo('telemetry', 4), { deleted: 4, ackedSeq: 4 });
    assert.deepEqual(
      store.outboxLaneAfter('telemetry', 0, 100).map((e) => e.seq),
      [5, 6, 7, 8, 9, 10],
    );
    assert.deepEqual(
      store.acknowledgeUpTo('telemetry', 2),
      { deleted: 0, ackedSeq: 4 },
      'an old ack is a repeat',
    );
    assert.deepEqual(store.acknowledgeUpTo('telemetry', 4), { deleted: 0, ackedSeq: 4 });
    for (const bad of [11, 1e9, -1, 2.5, Number.NaN]) {
      assert.throws(
        () => store.acknowledgeUpTo('telemetry', bad),
        (error: unknown) => isStoreError(error, 'STORE_ACK_INVALID'),
        String(bad),
      );
    }
    // The priority lane has only seq 1: an ack of 2 there is refused, whatever the other lane holds.
    assert.throws(
      () => store.acknowledgeUpTo('priority', 2),
      (error: unknown) => isStoreError(error, 'STORE_ACK_INVALID'),
    );
    assert.equal(store.outboxStats().count, 7, 'a refused ack deleted nothing');
    assert.deepEqual(store.acknowledgeUpTo('telemetry', 10), { deleted: 6, ackedSeq: 10 });
    assert.deepEqual(store.outboxStats().lanes, {
      priority: { lastSeq: 1, ackedSeq: 0 },
      telemetry: { lastSeq: 10, ackedSeq: 10 },
    });
    assert.deepEqual(
      store.outboxAfter(0, 10).map((e) => [e.kind, e.lane, e.laneSeq]),
      [['alarm_transition', 'priority', 1]],
      'acknowledging one lane leaves the other alone',
    );
  });

  it('outboxAfter pages in seq order from any seq', () => {
    const store = stores.openStore(dirs.fresh());
    for (let i = 0; i < 7; i++) store.commitCycle({ events: [telemetry('d', i)] });
    assert.deepEqual(
      store.outboxAfter(2, 3).map((e) => e.seq),
      [3, 4, 5],
    );
    assert.deepEqual(
      store.outboxAfter(5, 100).map((e) => e.seq),
      [6, 7],
    );
    assert.deepEqual(store.outboxAfter(7, 100), []);
    assert.throws(
      () => store.outboxAfter(0, 0),
      (error: unknown) => isStoreError(error, 'STORE_INVALID_INPUT'),
    );
  });

  it('outboxStats gives count and oldest age per class on the uptime clock', () => {
    const clock = new FakeClock();
    const store = stores.openStore(dirs.fresh(), { clock });
    store.commitCycle({ events: [telemetry('d', 1)] });
    clock.advance(10_000);
    store.commitCycle({ events: [transition('d:r'), telemetry('d', 2)] });
    clock.advance(5_000);
    clock.wall -= 86_400_000; // the wall clock is set back a day: ages must not change
    const stats = store.outboxStats();
    assert.equal(stats.count, 3);
    assert.equal(stats.oldestAgeMs, 15_000);
    assert.deepEqual(stats.byClass.telemetry, { count: 2, oldestSeq: 1, oldestAgeMs: 15_000 });
    assert.deepEqual(stats.byClass.alarm, { count: 1, oldestSeq: 2, oldestAgeMs: 5_000 });
    assert.deepEqual(stats.byClass.audit, { count: 0, oldestSeq: null, oldestAgeMs: null });
    assert.deepEqual(stats.lanes, {
      priority: { lastSeq: 1, ackedSeq: 0 },
      telemetry: { lastSeq: 2, ackedSeq: 0 },
    });
  });
});

describe('GatewayStore: alarm records', () => {
  it('round-trips records, the latest upsert wins, and they survive a restart', () => {
    const dir = dirs.fresh();
    const store = stores.openStore(dir);
    const shelved = record('lamp:b', {
      state: 'shelved',
      shelve: { mode: 'timed', untilMonoMs: 90_000, by: 'tech', reason: 'roadworks' },
      lastValue: true,
    });
    store.commitCycle({ alarmRecords: [record('lamp:a'), shelved] });
    const acknowledged = record('lamp:a', { state: 'acknowledged', acknowledged: true, lastValue: null });
    store.commitCycle({ alarmRecords: [acknowledged] });
    assert.deepEqual(store.loadAlarmRecords(), [acknowledged, shelved]);
    store.close();
    assert.deepEqual(stores.openStore(dir).loadAlarmRecords(), [acknowledged, shelved]);
  });
});
