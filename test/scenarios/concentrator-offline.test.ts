/**
 * A concentrator going dark (docs/alarms.md: "a concentrator or bus going dark raises one
 * grouped alarm, not one per lamp"; docs/alarms.md: a concentrator going offline is exactly one
 * annunciated alarm, its comm_loss), end to end: the kerbtek-lc3200 concentrator with its 16
 * single-lamp controllers and a manhole-cover monitor share one RS-485 line (socat pty, 115200
 * baud) polled by a real gateway. The concentrator stops answering (fault no-answer:always); its
 * comm_loss is shortened to 1.5 s in the configuration so the test is quick.
 *
 * Before the fault, two of its alarms are standing (cabinet door open, lamp 3 failure bit), so
 * suppression has something to hide; the cover keeps answering, so the line is not dark.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  describeTransitions,
  rtuLine,
  startScenario,
  storeProblems,
  waitUntil,
  type CommittedTransition,
  type ScenarioHarness,
} from '../helpers/gateway-harness.js';

const LC = 'lighting';
const COVER = 'manhole-14';
const COMM = `${LC}:comm_loss`;
const DOOR = `${LC}:door_open`;
const LAMP3 = `${LC}:lamp_03.lamp_failure`;

describe('a lamp concentrator going offline (kerbtek-lc3200 on RTU) through a real gateway', () => {
  let h: ScenarioHarness;

  before(async () => {
    h = await startScenario({
      name: 'offline',
      buses: [rtuLine('line')],
      devices: [
        {
          id: LC,
          bus: 'line',
          unitId: 1,
          profile: 'kerbtek-lc3200',
          gateway: {
            pollIntervalMs: 200,
            timeoutMs: 150,
            retries: 0,
            alarms: { comm_loss: { staleAfterS: 1.5 }, 'lamp_03.lamp_failure': { onDelayS: 0 } },
          },
        },
        {
          id: COVER,
          bus: 'line',
          unitId: 2,
          profile: 'anjing-mc200',
          gateway: { pollIntervalMs: 200, timeoutMs: 200 },
        },
      ],
    });
  });
  after(() => h?.stop());

  let beforeFault = 0;
  let raised: CommittedTransition;
  let duringOutage: CommittedTransition[] = [];

  it('has two annunciated alarms standing on the concentrator before it goes dark', async () => {
    const lc = h.device(LC);
    lc.hold('door_open', true);
    lc.hold('lamp_03.lamp_failure', true);
    for (const key of [DOOR, LAMP3])
      await h.transition(`${key} raised`, (t) => t.alarmKey === key && t.to === 'unacknowledged');
    beforeFault = h.db.lastHistoryId();
  });

  it('going offline raises exactly one annunciated alarm, its comm_loss; everything else of it is suppressed', async () => {
    const lc = h.device(LC);
    lc.setFault('no-answer:always');
    raised = await h.transition(
      'the comm_loss alarm',
      (t) => t.alarmKey === COMM && t.to === 'unacknowledged',
      {
        afterId: beforeFault,
        timeoutMs: 8_000,
      },
    );
    // Stay dark a while longer (the scheduler now probes the dead device), with the cover polled.
    const cover = await h.committedPoll(COVER, (p) => p.quality === 'good');
    await h.committedPoll(COVER, (p) => p.monotonicMs > cover.monotonicMs + 1_500 && p.quality === 'good');
    duringOutage = h.db.transitions({ afterId: beforeFault });
    const list = describeTransitions(duringOutage);

    const annunciated = duringOutage.filter(
      (t) => t.to === 'unacknowledged' || t.to === 'rtn_unacknowledged',
    );
    assert.deepEqual(
      annunciated.map((t) => [t.alarmKey, t.from, t.to]),
      [[COMM, 'normal', 'unacknowledged']],
      `exactly one annunciated alarm:\n${list}`,
    );
    assert.equal(raised.cause, 'timer');
    const others = duringOutage.filter((t) => t.alarmKey !== COMM);
    assert.ok(others.length > 0, `the concentrator's other alarms went to suppressed:\n${list}`);
    assert.ok(
      others.every((t) => t.to === 'suppressed' && t.deviceId === LC && t.cause === 'dependency'),
      `every other change is the concentrator's own alarms going to suppressed:\n${list}`,
    );
    for (const key of [DOOR, LAMP3]) {
      const t = others.find((x) => x.alarmKey === key);
      assert.deepEqual([t?.from, t?.to, t?.active], ['unacknowledged', 'suppressed', true], key);
    }
    assert.ok(
      others.some((t) => t.alarmKey === `${LC}:lamp_16.controller_offline`),
      'the lamps behind it are suppressed with it',
    );
    assert.equal(
      duringOutage.filter((t) => t.deviceId !== LC).length,
      0,
      'the cover and the line raise nothing: the line is not dark',
    );
    // The persisted states agree: one annunciated alarm on the concentrator, the rest suppressed.
    const records = h.db.alarms(LC);
    assert.deepEqual(
      records.filter((r) => r.state !== 'suppressed').map((r) => [r.alarmKey, r.state]),
      [[COMM, 'unacknowledged']],
    );
    assert.ok(
      records.length > 40,
      `every rule of the concentrator and its lamps has a record (${records.length})`,
    );
    assert.deepEqual(
      h.changes
        .filter((c) => c.to === 'unacknowledged' && c.monotonicMs >= raised.monoMs - 1)
        .map((c) => c.alarmKey),
      [COMM],
      'one alarm:changed annunciation on the event bus',
    );
  });

  it('answering again returns the comm_loss and re-annunciates what is still active', async () => {
    const lc = h.device(LC);
    const mark = h.db.lastHistoryId();
    lc.clearFault();
    await h.transition('comm_loss to return', (t) => t.alarmKey === COMM && t.to === 'rtn_unacknowledged', {
      afterId: mark,
      timeoutMs: 10_000,
    });
    await waitUntil(
      'every suppressed alarm of the concentrator to be recomputed',
      () => h.db.alarms(LC).every((r) => r.state !== 'suppressed'),
      { detail: () => describeTransitions(h.db.transitions({ afterId: mark })) },
    );
    const back = h.db.transitions({ afterId: mark });
    const list = describeTransitions(back);
    for (const key of [DOOR, LAMP3]) {
      const t = back.find((x) => x.alarmKey === key);
      // Still active: back to unacknowledged, since nobody has seen this activation
      // (docs/alarms.md).
      assert.deepEqual(
        [t?.from, t?.to, t?.cause],
        ['suppressed', 'unacknowledged', 'dependency'],
        `${key}\n${list}`,
      );
    }
    assert.ok(
      back
        .filter((t) => ![COMM, DOOR, LAMP3].includes(t.alarmKey))
        .every((t) => t.from === 'suppressed' && t.to === 'normal'),
      `the inactive ones go back to normal:\n${list}`,
    );
    assert.deepEqual(
      h.db
        .alarms(LC)
        .filter((r) => r.state !== 'normal')
        .map((r) => [r.alarmKey, r.state]),
      [
        [COMM, 'rtn_unacknowledged'],
        [DOOR, 'unacknowledged'],
        [LAMP3, 'unacknowledged'],
      ],
    );
  });

  it('left a consistent kerbside.db (history and outbox in step, records = last transitions)', () => {
    assert.deepEqual(storeProblems(h.db), []);
  });
});
