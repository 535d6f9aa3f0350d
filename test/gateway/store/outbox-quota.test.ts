import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import type { GapEvent, GatewayEventBody } from '../../../cloud-sync/contract/events.js';
import { isStoreError } from '../../../gateway/store/errors.js';
import type { LocalOutboxEvent } from '../../../gateway/store/outbox.js';
import { FakeClock, Stores, count, poll, telemetry, tempDirs, transition } from './helpers.js';

const dirs = tempDirs('kerbside-quota-');
after(dirs.cleanup);
const stores = new Stores();
afterEach(() => stores.closeAll());

const isGap = (e: LocalOutboxEvent): e is LocalOutboxEvent & GapEvent => e.kind === 'gap';

describe('outbox quotas', () => {
  it('evicts telemetry oldest-first with gap events accounting for every evicted seq; alarms never go', () => {
    const clock = new FakeClock();
    const store = stores.openStore(dirs.fresh(), {
      clock,
      outboxQuota: { telemetry: 20 },
      telemetryEvictRows: 5,
    });
    const kindOf = new Map<number, string>();
    const tsOf = new Map<number, string>();
    let evicted = 0;
    for (let cycle = 0; cycle < 40; cycle++) {
      clock.advance(250);
      const events: GatewayEventBody[] = [telemetry('d', cycle), telemetry('e', cycle)];
      if (cycle % 3 === 0) events.splice(1, 0, transition(`d:${cycle}`));
      const r = store.commitCycle({ events, at: store.now() });
      const ts = new Date(clock.wall).toISOString();
      r.eventSeqs.forEach((seq, i) => {
        kindOf.set(seq, events[i]?.kind ?? '?');
        tsOf.set(seq, ts);
      });
      if (r.gapSeq !== null) kindOf.set(r.gapSeq, 'gap');
      evicted += r.evicted;
      assert.ok(store.outboxStats().byClass.telemetry.count <= 20, `cycle ${cycle}: the quota holds`);
    }
    const { lanes } = store.outboxStats();
    const present = store.outboxAfter(0, 10_000);
    const presentSeqs = new Set(present.map((e) => e.seq));
    const missingGlobal = [...kindOf.keys()].filter((seq) => !presentSeqs.has(seq));
    const gaps = present.filter(isGap);

    assert.equal(
      kindOf.size,
      lanes.priority.lastSeq + lanes.telemetry.lastSeq,
      'every seq assigned is known',
    );
    assert.ok(gaps.length >= 2, `several evictions happened (${gaps.length})`);
    assert.equal(missingGlobal.length, evicted);
    assert.ok(
      missingGlobal.every((seq) => kindOf.get(seq) === 'telemetry'),
      'only telemetry was evicted',
    );
    assert.ok(
      gaps.every((g) => g.lane === 'priority'),
      'gap events ride the priority lane, ahead of the telemetry backlog',
    );
    // Gap ranges name telemetry-lane seqs: the telemetry events in commit order are 1, 2, 3...
    const telemetryGlobal = [...kindOf].filter(([, kind]) => kind === 'telemetry').map(([seq]) => seq);
    const laneSeqOf = new Map(telemetryGlobal.map((seq, index) => [seq, index + 1]));
    for (const event of present.filter((e) => e.lane === 'telemetry')) {
      assert.equal(laneSeqOf.get(event.seq), event.laneSeq, 'telemetry lane seqs follow commit order');
    }
    const missing = missingGlobal.map((seq) => laneSeqOf.get(seq) ?? -1);
    const tsOfLane = new Map(telemetryGlobal.map((seq, index) => [index + 1, tsOf.get(seq)]));
    assert.equal(
      gaps.reduce((sum, g) => sum + g.count, 0),
      missing.length,
      'the gap counts add up to the evicted events',
    );
    for (const seq of missing) {
      const covering = gaps.filter((g) => g.fromSeq <= seq && seq <= g.toSeq);
      assert.equal(covering.length, 1, `seq ${seq} is covered by exactly one gap`);
    }
    for (const g of gaps) {
      const inRange = missing.filter((seq) => g.fromSeq <= seq && seq <= g.toSeq);
      assert.equal(inRange.length, g.count, `gap ${g.fromSeq}..${g.toSeq} counts what it covers`);
      assert.equal(g.fromTs, tsOfLane.get(g.fromSeq));
      assert.equal(g.toTs, tsOfLane.get(g.toSeq));
      assert.match(g.reason, /telemetry quota of 20/);
    }
    // Telemetry still present is newer than everything evicted (oldest-first).
    const oldestKept = Math.min(...present.filter((e) => e.kind === 'telemetry').map((e) => e.laneSeq));
    assert.ok(Math.max(...missing) < oldestKept);
    const alarms = [...kindOf].filter(([, kind]) => kind === 'alarm_transition').map(([seq]) => seq);
    assert.ok(
      alarms.every((seq) => presentSeqs.has(seq)),
      'every alarm transition is still there',
    );
  });

  it('fails a cycle loudly, storing none of it, when a never-evicted class is at its quota', () => {
    const clock = new FakeClock();
    const store = stores.openStore(dirs.fresh(), { clock, outboxQuota: { alarm: 3 } });
    for (let i = 0; i < 3; i++) store.commitCycle({ events: [transition(`d:${i}`)] });
    clock.advance(500);
    assert.throws(
      () =>
        store.commitCycle({
          polls: [poll(clock, 'd', [1, 2, 3])],
          events: [telemetry('d', 1), transition('d:3')],
        }),
      (error: unknown) =>
        isStoreError(error, 'STORE_OUTBOX_FULL') &&
        /4 unacknowledged alarm events, above the quota of 3/.test(error.message),
    );
    store.readTransaction((db) => {
      assert.equal(count(db, 'readings'), 0, 'the readings of the failed cycle are not stored either');
      assert.equal(count(db, 'outbox'), 3);
    });
    // A cycle without alarm events still commits: polling and telemetry go on.
    assert.equal(
      store.commitCycle({ polls: [poll(clock, 'd', [1])], events: [telemetry('d', 1)] }).firstSeq,
      4,
    );
    // Once the cloud acknowledges, alarm events are accepted again.
    store.acknowledgeUpTo('priority', 1);
    assert.equal(store.commitCycle({ events: [transition('d:3')] }).firstSeq, 5);
  });
});
