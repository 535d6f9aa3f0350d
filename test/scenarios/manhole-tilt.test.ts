/**
 * Manhole cover tilt defaults (docs/domain.md "Alarm defaults": alarm at 10°, ignore excursions
 * shorter than 2 s (passing vehicles), always alarm beyond 90° (cover off)), end to end: the
 * anjing-mc200 simulator on a socat pty at 115200 baud, polled every 100 ms by a real gateway; what
 * counts is what the gateway committed to kerbside.db and published on its event bus.
 *
 * The profile's rules: tilt_high (tilt_angle >= 10°, deadband 1, on-delay 2 s) and cover_off
 * (tilt_angle >= 90°, no on-delay).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeTransitions,
  rtuLine,
  startScenario,
  storeProblems,
  valueOf,
  type ScenarioHarness,
} from '../helpers/gateway-harness.js';

const COVER = 'manhole-14';
const TILT = `${COVER}:tilt_high`;
const COVER_OFF = `${COVER}:cover_off`;
const ON_DELAY_MS = 2_000;

const tilt = (poll: Parameters<typeof valueOf>[0]): number => Number(valueOf(poll, 'tilt_angle'));

describe('manhole cover tilt (anjing-mc200 on RTU) through a real gateway', () => {
  let h: ScenarioHarness;

  before(async () => {
    h = await startScenario({
      name: 'manhole',
      buses: [rtuLine('line')],
      devices: [
        {
          id: COVER,
          bus: 'line',
          unitId: 2,
          profile: 'anjing-mc200',
          gateway: { pollIntervalMs: 100, timeoutMs: 200 },
        },
      ],
    });
  });
  after(() => h?.stop());

  /** Uptime of the first committed tilt reading at or above `degrees` after reading seq `afterSeq`. */
  function firstReadingAbove(degrees: number, afterSeq: number): { seq: number; monoMs: number } {
    const reading = h.db.readings(COVER, 'tilt_angle', afterSeq).find((r) => (r.value ?? 0) >= degrees);
    assert.ok(reading, `a committed tilt reading >= ${degrees}°`);
    return reading;
  }

  const lastReadingSeq = (): number => h.db.readings(COVER, 'tilt_angle').at(-1)?.seq ?? 0;

  it('a 1 s bump to 14° (a passing vehicle) raises nothing', async () => {
    const mark = h.db.lastHistoryId();
    const seqBefore = lastReadingSeq();
    const cover = h.device(COVER);
    cover.hold('tilt_angle', 14);
    const first = await h.committedPoll(COVER, (p) => tilt(p) >= 10);
    await sleep(1_000); // the vehicle rocks the cover for one second
    cover.release('tilt_angle');
    await h.committedPoll(COVER, (p) => tilt(p) < 10);
    // Long enough for an on-delay counted from the bump to have matured, had it not been reset.
    await h.committedPoll(COVER, (p) => p.monotonicMs >= first.monotonicMs + ON_DELAY_MS + 500);

    // The bump as the gateway saw it: from its first reading above 10° to the first one below.
    const readings = h.db.readings(COVER, 'tilt_angle', seqBefore);
    const up = readings.findIndex((r) => (r.value ?? 0) >= 10);
    const down = readings.findIndex((r, i) => i > up && (r.value ?? 0) < 10);
    assert.ok(up >= 0 && down > up, 'the bump and its end were committed');
    const bumpMs = (readings[down]?.monoMs ?? 0) - (readings[up]?.monoMs ?? 0);
    assert.ok(
      bumpMs < ON_DELAY_MS,
      `the bump lasted ${bumpMs} ms on the gateway's clock, not under 2 s: the machine is too loaded for this test`,
    );
    const committed = h.db.transitions({ afterId: mark, deviceId: COVER });
    assert.deepEqual(committed, [], `a ${bumpMs} ms excursion raised:\n${describeTransitions(committed)}`);
    assert.equal(h.changes.filter((c) => c.deviceId === COVER).length, 0, 'nothing published either');
    assert.equal(h.db.alarm(TILT)?.state ?? 'normal', 'normal');
  });

  it('a 3 s tilt to 14° raises exactly one tilt alarm, once the 2 s on-delay has passed', async () => {
    const mark = h.db.lastHistoryId();
    const seqBefore = lastReadingSeq();
    const cover = h.device(COVER);
    cover.hold('tilt_angle', 14);
    const first = await h.committedPoll(COVER, (p) => tilt(p) >= 10);
    const raised = await h.transition(
      'the tilt alarm',
      (t) => t.alarmKey === TILT && t.to === 'unacknowledged',
      { afterId: mark },
    );
    await h.committedPoll(COVER, (p) => p.monotonicMs >= first.monotonicMs + 3_000);
    cover.release('tilt_angle');
    const cleared = await h.transition(
      'the tilt alarm to return',
      (t) => t.alarmKey === TILT && t.to === 'rtn_unacknowledged',
      { afterId: raised.historyId },
    );

    const entered = firstReadingAbove(10, seqBefore);
    assert.ok(
      raised.monoMs - entered.monoMs >= ON_DELAY_MS,
      `raised ${raised.monoMs - entered.monoMs} ms after the first reading above 10°: the on-delay is 2 s`,
    );
    const committed = h.db.transitions({ afterId: mark, deviceId: COVER });
    assert.deepEqual(
      committed.map((t) => [t.alarmKey, t.from, t.to, t.level, t.setpoint]),
      [
        [TILT, 'normal', 'unacknowledged', 1, 10],
        [TILT, 'unacknowledged', 'rtn_unacknowledged', 0, 10],
      ],
      `exactly one tilt alarm and its return:\n${describeTransitions(committed)}`,
    );
    assert.equal(raised.priority, 'high');
    assert.equal(raised.value, 14);
    assert.ok(cleared.value !== null && Number(cleared.value) < 9, 'returned only below 10° - deadband 1°');
    assert.deepEqual(
      h.changes.filter((c) => c.deviceId === COVER).map((c) => [c.alarmKey, c.from, c.to]),
      committed.map((t) => [t.alarmKey, t.from, t.to]),
      'the event bus published what was committed',
    );
    assert.deepEqual(
      { ...h.db.alarm(TILT) },
      {
        alarmKey: TILT,
        deviceId: COVER,
        state: 'rtn_unacknowledged',
        active: false,
        level: 0,
        acknowledged: false,
      },
    );
  });

  it('beyond 90° (cover off) alarms at once: in the commit of the first reading beyond 90°', async () => {
    const mark = h.db.lastHistoryId();
    // announce() publishes a cycle's alarm changes before its polls: if the cover_off change
    // comes before every poll showing > 90°, it was committed with the first of them.
    const order: string[] = [];
    const offChange = h.gateway.events.on('alarm:changed', (c) => {
      if (c.alarmKey === COVER_OFF && c.to === 'unacknowledged') order.push('alarm');
    });
    const offPoll = h.gateway.events.on('poll:result', (p) => {
      if (p.deviceId === COVER && tilt(p) >= 90) order.push('poll');
    });
    const cover = h.device(COVER);
    try {
      cover.hold('tilt_angle', 120);
      const raised = await h.transition(
        'the cover-off alarm',
        (t) => t.alarmKey === COVER_OFF && t.to === 'unacknowledged',
        { afterId: mark },
      );
      assert.equal(order[0], 'alarm', `cover_off was committed after a poll beyond 90°: ${order.join(', ')}`);
      assert.deepEqual(
        [raised.from, raised.level, raised.priority, raised.cause, raised.value, raised.setpoint],
        ['normal', 1, 'critical', 'reading', 120, 90],
      );
    } finally {
      offChange();
      offPoll();
      cover.release('tilt_angle');
    }
    await h.transition(
      'the cover-off alarm to return',
      (t) => t.alarmKey === COVER_OFF && t.to === 'rtn_unacknowledged',
      { afterId: mark },
    );
    const raisedOff = h.db
      .transitions({ afterId: mark, alarmKey: COVER_OFF })
      .filter((t) => t.to === 'unacknowledged');
    assert.equal(raisedOff.length, 1, 'one cover-off alarm');
  });

  it('left a consistent kerbside.db (history and outbox in step, records = last transitions)', () => {
    assert.deepEqual(storeProblems(h.db), []);
  });
});
