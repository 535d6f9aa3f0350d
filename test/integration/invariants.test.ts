/**
 * The invariant checker on small hand-made inputs: it must see a loss, a duplicate, a phantom and
 * a broken ack when they are there, and accept gaps, unreported commits and a clean delivery.
 * The loaders are checked against a real gateway store and a real cloud database.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { join } from 'node:path';
import { pino } from 'pino';
import { openCloudDatabase } from '../../cloud-sync/service/db/open.js';
import { openGatewayStore } from '../../gateway/store/event-store.js';
import { telemetry, transition } from '../gateway/store/helpers.js';
import {
  checkDeployment,
  checkInvariants,
  formatLedgerLine,
  gatewayDrained,
  parseLedgerLine,
  type CloudEventRow,
  type GatewayEvidence,
  type LedgerEntry,
} from './invariants.js';
import { tempRoot } from './crash-harness.js';

const dirs = tempRoot('kerbside-invariants-');
after(dirs.cleanup);

const GW = 'cab-1';
const EPOCH = 'epoch-a';

function entry(lane: LedgerEntry['lane'], seq: number, id: string, kind = 'telemetry'): LedgerEntry {
  return { gatewayId: GW, epoch: EPOCH, lane, seq, id, kind };
}

function cloud(e: LedgerEntry, body: object = {}): CloudEventRow {
  return { ...e, body: JSON.stringify({ kind: e.kind, ...body }) };
}

function evidence(overrides: Partial<GatewayEvidence> = {}): GatewayEvidence {
  return {
    gatewayId: GW,
    epoch: EPOCH,
    lanes: { priority: { lastSeq: 2, ackedSeq: 2 }, telemetry: { lastSeq: 3, ackedSeq: 3 } },
    outbox: [],
    alarmHistoryIds: [],
    ...overrides,
  };
}

const t1 = entry('telemetry', 1, 't1');
const t2 = entry('telemetry', 2, 't2');
const t3 = entry('telemetry', 3, 't3');
const a1 = entry('priority', 1, 'a1', 'alarm_transition');
const a2 = entry('priority', 2, 'a2', 'alarm_transition');
const ledger = [t1, t2, t3, a1, a2];
const allInCloud = ledger.map((e) => cloud(e));
const streams = [
  { gatewayId: GW, epoch: EPOCH, lane: 'priority', lastCommitted: 2 },
  { gatewayId: GW, epoch: EPOCH, lane: 'telemetry', lastCommitted: 3 },
];

describe('checkInvariants', () => {
  it('accepts a clean delivery', () => {
    const report = checkInvariants({ ledger, gateways: [evidence()], cloud: allInCloud, streams });
    assert.deepEqual(report.lost, []);
    assert.deepEqual(report.duplicates, []);
    assert.deepEqual(report.pending, []);
    assert.deepEqual(report.streamViolations, []);
    assert.equal(report.counts.delivered, 5);
    assert.equal(report.counts.alarmTransitions, 2);
    assert.equal(report.counts.alarmTransitionsInCloudOnce, 2);
  });

  it('reports a committed event missing in the cloud as lost', () => {
    const report = checkInvariants({
      ledger,
      gateways: [evidence()],
      cloud: allInCloud.filter((r) => r.id !== 't2'),
    });
    assert.deepEqual(
      report.lost.map((i) => [i.id, i.seq]),
      [['t2', 2]],
    );
    assert.deepEqual(report.duplicates, []);
  });

  it('reports a lost alarm transition known only from alarm_history (never reported)', () => {
    const report = checkInvariants({
      ledger,
      gateways: [evidence({ alarmHistoryIds: ['a1', 'a2', 'a3'] })],
      cloud: allInCloud,
    });
    assert.deepEqual(
      report.lost.map((i) => i.id),
      ['a3'],
    );
    assert.equal(report.counts.alarmTransitions, 3);
    assert.equal(report.counts.alarmTransitionsInCloudOnce, 2);
  });

  it('accepts missing telemetry covered by a gap event, but not missing alarms', () => {
    const gap = cloud(entry('priority', 3, 'g1', 'gap'), { fromSeq: 1, toSeq: 2, count: 2 });
    const report = checkInvariants({
      ledger: [...ledger, entry('priority', 3, 'g1', 'gap')],
      gateways: [
        evidence({
          lanes: { priority: { lastSeq: 3, ackedSeq: 3 }, telemetry: { lastSeq: 3, ackedSeq: 3 } },
        }),
      ],
      cloud: [gap, cloud(t3), cloud(a2)],
    });
    assert.equal(report.counts.evictedWithGap, 2);
    assert.deepEqual(
      report.lost.map((i) => i.id),
      ['a1'],
      'a gap names telemetry seqs only: priority seq 1 is not covered',
    );
  });

  it('does not let a gap of another gateway cover a loss', () => {
    const foreignGap: CloudEventRow = {
      ...cloud(entry('priority', 1, 'g9', 'gap'), { fromSeq: 1, toSeq: 3 }),
      gatewayId: 'cab-9',
    };
    const report = checkInvariants({
      ledger,
      gateways: [evidence()],
      cloud: [...allInCloud.filter((r) => r.id !== 't1'), foreignGap],
    });
    assert.deepEqual(
      report.lost.map((i) => i.id),
      ['t1'],
    );
    assert.equal(report.duplicates.length, 1, 'and the foreign gap is a cloud event nobody committed');
  });

  it('reports an id stored twice as a duplicate', () => {
    const report = checkInvariants({
      ledger,
      gateways: [evidence()],
      cloud: [...allInCloud, { ...cloud(t2), seq: 4 }],
    });
    assert.ok(report.duplicates.some((i) => i.id === 't2' && /stored 2 times/.test(i.reason)));
    assert.ok(report.duplicates.some((i) => i.id === 't2' && /another seq/.test(i.reason)));
    assert.deepEqual(report.lost, []);
  });

  it('reports one seq holding two ids as a duplicate', () => {
    const report = checkInvariants({
      ledger,
      gateways: [evidence()],
      cloud: [...allInCloud, cloud(entry('telemetry', 2, 'other'))],
    });
    assert.ok(report.duplicates.some((i) => /2 different ids at one seq/.test(i.reason)));
    assert.ok(report.duplicates.some((i) => i.id === 'other' && /committed t2 at this seq/.test(i.reason)));
  });

  it('reports a cloud event the gateway never committed (beyond its last seq) as a duplicate', () => {
    const report = checkInvariants({
      ledger,
      gateways: [evidence()],
      cloud: [...allInCloud, cloud(entry('telemetry', 4, 'phantom'))],
    });
    assert.deepEqual(
      report.duplicates.map((i) => [i.id, i.reason]),
      [['phantom', 'in the cloud, but the gateway never committed it']],
    );
  });

  it('accepts unreported events the gateway database proves, and counts them', () => {
    const unreportedInOutbox = entry('telemetry', 4, 'u-outbox');
    const unreportedAcked = entry('telemetry', 5, 'u-acked');
    const unreportedAlarm = entry('priority', 3, 'u-alarm', 'alarm_transition');
    const report = checkInvariants({
      ledger,
      gateways: [
        evidence({
          lanes: { priority: { lastSeq: 3, ackedSeq: 3 }, telemetry: { lastSeq: 5, ackedSeq: 5 } },
          outbox: [{ id: 'u-outbox', lane: 'telemetry', seq: 4, kind: 'telemetry' }],
          alarmHistoryIds: ['a1', 'a2', 'u-alarm'],
        }),
      ],
      cloud: [...allInCloud, cloud(unreportedInOutbox), cloud(unreportedAcked), cloud(unreportedAlarm)],
    });
    assert.deepEqual(report.lost, []);
    assert.deepEqual(report.duplicates, []);
    assert.equal(report.counts.unreported, 3);
  });

  it('lists committed events still in the outbox as pending, not lost', () => {
    const report = checkInvariants({
      ledger,
      gateways: [
        evidence({
          lanes: { priority: { lastSeq: 2, ackedSeq: 2 }, telemetry: { lastSeq: 3, ackedSeq: 2 } },
          outbox: [{ id: 't3', lane: 'telemetry', seq: 3, kind: 'telemetry' }],
        }),
      ],
      cloud: allInCloud.filter((r) => r.id !== 't3'),
    });
    assert.deepEqual(
      report.pending.map((i) => i.id),
      ['t3'],
    );
    assert.deepEqual(report.lost, []);
  });

  it('reports an ack above what the cloud committed', () => {
    const report = checkInvariants({
      ledger,
      gateways: [evidence()],
      cloud: allInCloud,
      streams: [streams[0] ?? assert.fail(), { ...(streams[1] ?? assert.fail()), lastCommitted: 2 }],
    });
    assert.equal(report.streamViolations.length, 1);
    assert.match(report.streamViolations[0] ?? '', /acked 3 but the cloud committed only 2/);
  });

  it('round-trips ledger lines and ignores other output', () => {
    assert.deepEqual(parseLedgerLine(formatLedgerLine(a1)), a1);
    assert.equal(parseLedgerLine('READY x'), null);
    assert.equal(parseLedgerLine('E cab-1 epoch-a priority 1 a1'), null, 'a line cut short');
  });
});

describe('checkDeployment on real databases', () => {
  it('reads a gateway store and a cloud database, and sees a loss there', async () => {
    const gwDir = join(dirs.root, 'gw');
    const store = openGatewayStore(gwDir, { logger: pino({ level: 'silent' }) });
    const ledgerRows: LedgerEntry[] = [];
    try {
      const result = store.commitCycle({ events: [transition('d:r'), telemetry('d', 1), telemetry('d', 2)] });
      for (const e of store.outboxAfter((result.firstSeq ?? 1) - 1, 10)) {
        ledgerRows.push({
          gatewayId: GW,
          epoch: store.epoch,
          lane: e.lane,
          seq: e.laneSeq,
          id: e.id,
          kind: e.kind,
        });
      }
      // The cloud acknowledged the priority lane only.
      store.acknowledgeUpTo('priority', 1);
    } finally {
      store.close();
    }
    assert.equal(gatewayDrained(gwDir), false);
    const sqlitePath = join(dirs.root, 'cloud.sqlite');
    const db = await openCloudDatabase({ sqlitePath });
    try {
      const alarm = ledgerRows.find((e) => e.kind === 'alarm_transition') ?? assert.fail('alarm in ledger');
      // A stream row that (wrongly) says nothing is committed yet: the gateway's ack claims more.
      await db
        .insertInto('gateway_streams')
        .values({ gateway_id: GW, epoch: alarm.epoch, lane: 'priority', last_committed: 0, updated_at: '' })
        .execute();
      await db
        .insertInto('events')
        .values({
          gateway_id: GW,
          epoch: alarm.epoch,
          lane: 'priority',
          seq: 1,
          event_id: alarm.id,
          kind: alarm.kind,
          class: 'alarm',
          ts: new Date().toISOString(),
          body: JSON.stringify(transition('d:r')),
          received_at: new Date().toISOString(),
        })
        .execute();
      const report = await checkDeployment({ ledger: ledgerRows, gateways: { [GW]: gwDir }, cloud: db });
      assert.equal(report.counts.delivered, 1);
      assert.equal(report.pending.length, 2, 'the telemetry is still in the outbox');
      assert.deepEqual(report.lost, []);
      assert.deepEqual(report.duplicates, []);
      assert.equal(report.streamViolations.length, 1);
    } finally {
      await db.destroy();
    }
    // Drop the outbox behind the checker's back: the telemetry is now lost (no gap event).
    const lostStore = openGatewayStore(gwDir, { logger: pino({ level: 'silent' }) });
    try {
      lostStore.acknowledgeUpTo('telemetry', 2);
    } finally {
      lostStore.close();
    }
    assert.equal(gatewayDrained(gwDir), true);
    const report = await checkDeployment({
      ledger: ledgerRows,
      gateways: { [GW]: gwDir },
      cloud: { sqlitePath },
    });
    assert.deepEqual(
      report.lost.map((i) => [i.lane, i.seq]),
      [
        ['telemetry', 1],
        ['telemetry', 2],
      ],
    );
  });
});
