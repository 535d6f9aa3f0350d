/**
 * Gas detector defaults (docs/domain.md "Alarm defaults": H2S level 1 at 10 mg/m³ and level 2 at 20
 * mg/m³; CH4 at 25 and 50 %LEL; O2 below 19.5 %vol), end to end: two anqi-gd300 simulators on
 * Modbus TCP, polled every 100 ms by a real gateway. The simulators run on a ManualClock, so the
 * gas-leak scenario is stepped through its timeline and every value is known; the test waits for
 * the gateway to have committed a poll taken after each step before it takes the next.
 *
 * The profile's rules: h2s_high 10/20 deadband 1, ch4_high 25/50 deadband 1, o2_low 19.5
 * deadband 0.2, no on-delays. docs/alarms.md: with set points 10 and 20 and deadband 1, 19.5
 * stays level 2, 18.9 is level 1, 9.0 is still level 1, 8.9 returns to normal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock, SimulatedDevice } from '../../simulators/index.js';
import {
  describeTransitions,
  shippedProfiles,
  startScenario,
  storeProblems,
  tcpEndpoint,
  valueOf,
  type ScenarioHarness,
} from '../helpers/gateway-harness.js';

const LEAK = 'gas-vault';
const STEPPED = 'gas-sump';
const SEED = 1;

/** Scenario seconds at which the gateway looks, chosen well clear of every set point and deadband. */
const TIMELINE_S = [0, 20, 42, 66, 85, 110, 125, 140, 150, 175];

type Row = [alarmKey: string, from: string, to: string, level: number];

describe('gas detector levels (anqi-gd300 on Modbus TCP) through a real gateway', () => {
  const clock = new ManualClock();
  let h: ScenarioHarness;

  before(async () => {
    h = await startScenario({
      name: 'gas',
      buses: [tcpEndpoint('lan')],
      devices: [
        {
          id: LEAK,
          bus: 'lan',
          unitId: 1,
          profile: 'anqi-gd300',
          scenario: 'gas-leak',
          seed: SEED,
          gateway: { pollIntervalMs: 100, timeoutMs: 300 },
        },
        {
          id: STEPPED,
          bus: 'lan',
          unitId: 2,
          profile: 'anqi-gd300',
          gateway: { pollIntervalMs: 100, timeoutMs: 300 },
        },
      ],
      clock,
    });
  });
  after(() => h?.stop());

  const rows = (deviceId: string, afterId = 0): Row[] =>
    h.db.transitions({ deviceId, afterId }).map((t) => [t.alarmKey, t.from, t.to, t.level]);

  it('the gas-leak timeline raises level 1, then level 2, and returns only through the deadband', async () => {
    // The scenario replayed on its own clock with the same seed: the values the gateway will
    // read at each step, checked to sit clear of every threshold the expectations rely on.
    const replayClock = new ManualClock();
    const replay = new SimulatedDevice({
      profile: shippedProfiles().get('anqi-gd300') ?? assert.fail('no anqi-gd300'),
      unitId: 1,
      clock: replayClock,
      scenario: 'gas-leak',
      seed: SEED,
    });
    const expected: Record<number, { h2s: [number, number]; ch4: [number, number]; o2: [number, number] }> = {
      0: { h2s: [0, 5], ch4: [0, 20], o2: [20, 22] },
      20: { h2s: [0, 8], ch4: [0, 20], o2: [20, 22] },
      42: { h2s: [11, 18], ch4: [26, 45], o2: [19.8, 22] }, // level 1, O2 still fine
      66: { h2s: [21, 35], ch4: [51, 70], o2: [17, 19.4] }, // level 2, O2 low
      85: { h2s: [21, 35], ch4: [51, 70], o2: [17, 19.4] }, // plateau
      110: { h2s: [20.5, 35], ch4: [50.5, 70], o2: [17, 19.45] }, // still level 2
      125: { h2s: [11, 18.5], ch4: [26, 48.5], o2: [19.75, 22] }, // level 1; O2 back above 19.5 + 0.2
      140: { h2s: [9.2, 9.95], ch4: [0, 23.5], o2: [19.75, 22] }, // H2S under 10 but above 10 - 1: stays
      150: { h2s: [0, 8.5], ch4: [0, 23.5], o2: [19.75, 22] }, // H2S normal
      175: { h2s: [0, 5], ch4: [0, 20], o2: [20, 22] },
    };
    for (const t of TIMELINE_S) {
      replayClock.set(t * 1000);
      replay.refresh();
      const want = expected[t];
      assert.ok(want);
      for (const key of ['h2s', 'ch4', 'o2'] as const) {
        const [lo, hi] = want[key];
        const v = replay.num(key);
        assert.ok(v >= lo && v <= hi, `scenario gas-leak at ${t} s: ${key} ${v} outside ${lo}..${hi}`);
      }
    }

    const seen: Array<{ t: number; h2s: unknown; ch4: unknown; o2: unknown }> = [];
    for (const t of TIMELINE_S) {
      clock.set(t * 1000);
      const poll = await h.committedPoll(LEAK, (p) => p.quality === 'good');
      seen.push({ t, h2s: valueOf(poll, 'h2s'), ch4: valueOf(poll, 'ch4'), o2: valueOf(poll, 'o2') });
    }

    const committed = rows(LEAK);
    const of = (key: string): Row[] => committed.filter((r) => r[0] === `${LEAK}:${key}`);
    const context = `values read:\n${seen.map((s) => JSON.stringify(s)).join('\n')}\ncommitted:\n${describeTransitions(h.db.transitions({ deviceId: LEAK }))}`;
    assert.deepEqual(
      of('h2s_high'),
      [
        [`${LEAK}:h2s_high`, 'normal', 'unacknowledged', 1],
        [`${LEAK}:h2s_high`, 'unacknowledged', 'unacknowledged', 2],
        [`${LEAK}:h2s_high`, 'unacknowledged', 'unacknowledged', 1],
        [`${LEAK}:h2s_high`, 'unacknowledged', 'rtn_unacknowledged', 0],
      ],
      context,
    );
    assert.deepEqual(
      of('ch4_high'),
      [
        [`${LEAK}:ch4_high`, 'normal', 'unacknowledged', 1],
        [`${LEAK}:ch4_high`, 'unacknowledged', 'unacknowledged', 2],
        [`${LEAK}:ch4_high`, 'unacknowledged', 'unacknowledged', 1],
        [`${LEAK}:ch4_high`, 'unacknowledged', 'rtn_unacknowledged', 0],
      ],
      context,
    );
    assert.deepEqual(
      of('o2_low'),
      [
        [`${LEAK}:o2_low`, 'normal', 'unacknowledged', 1],
        [`${LEAK}:o2_low`, 'unacknowledged', 'rtn_unacknowledged', 0],
      ],
      context,
    );
    assert.equal(committed.length, 10, `nothing else alarmed:\n${context}`);

    // The H2S return happened at 150 s, not at 140 s (9.6 mg/m³: below 10, inside the deadband).
    const h2s = h.db.transitions({ alarmKey: `${LEAK}:h2s_high` });
    const back = h2s.at(-1);
    assert.ok(back && typeof back.value === 'number' && back.value < 9, `returned at ${String(back?.value)}`);
    const down = h2s[2];
    assert.ok(
      down && typeof down.value === 'number' && down.value < 19,
      `fell to level 1 at ${String(down?.value)}`,
    );
    assert.equal(h2s[1]?.priority, 'critical');
    assert.equal(h2s[1]?.setpoint, 20);
  });

  it('held values walk the H2S deadband edge by edge: exactly four committed transitions', async () => {
    const sump = h.device(STEPPED);
    const mark = h.db.lastHistoryId();
    const key = `${STEPPED}:h2s_high`;
    // value (mg/m³) -> the transitions committed so far: [from, to, level]
    const steps: Array<[number, Array<[string, string, number]>]> = [
      [5, []],
      [9.9, []],
      [10, [['normal', 'unacknowledged', 1]]], // the set point itself alarms (GB/T 50493-2019)
      [19.9, []],
      [20, [['unacknowledged', 'unacknowledged', 2]]],
      [19.5, []], // inside the deadband: still level 2
      [19.1, []],
      [18.9, [['unacknowledged', 'unacknowledged', 1]]],
      [12, []],
      [9.5, []], // below 10 but not below 10 - 1
      [9.1, []],
      [8.9, [['unacknowledged', 'rtn_unacknowledged', 0]]],
      [5, []],
    ];
    const want: Array<[string, string, number]> = [];
    for (const [value, adds] of steps) {
      sump.hold('h2s', value);
      await h.committedPoll(STEPPED, (p) => p.quality === 'good');
      want.push(...adds);
      const got = h.db.transitions({ afterId: mark, deviceId: STEPPED });
      assert.deepEqual(
        got.map((t) => [t.from, t.to, t.level]),
        want,
        `after holding H2S at ${value} mg/m³:\n${describeTransitions(got)}`,
      );
      assert.ok(got.every((t) => t.alarmKey === key));
    }
    const committed = h.db.transitions({ afterId: mark, alarmKey: key });
    assert.deepEqual(
      committed.map((t) => [t.setpoint, t.priority, t.cause]),
      [
        [10, 'high', 'reading'],
        [20, 'critical', 'reading'],
        [20, 'high', 'reading'],
        [10, 'high', 'reading'],
      ],
    );
    assert.deepEqual(
      h.changes.filter((c) => c.alarmKey === key).map((c) => [c.from, c.to, c.level]),
      committed.map((t) => [t.from, t.to, t.level]),
      'the event bus published what was committed',
    );

    // The technician acknowledges the returned alarm: committed with its audit record.
    h.gateway.operateAlarm('acknowledge', key, { by: 'tech-7', reason: 'sump ventilated' });
    const acked = h.db.transitions({ afterId: mark, alarmKey: key }).at(-1);
    assert.deepEqual(
      [acked?.from, acked?.to, acked?.cause, acked?.by],
      ['rtn_unacknowledged', 'normal', 'operation', 'tech-7'],
    );
    assert.deepEqual(
      { ...h.db.alarm(key) },
      {
        alarmKey: key,
        deviceId: STEPPED,
        state: 'normal',
        active: false,
        level: 0,
        acknowledged: false,
      },
    );
    const audit = h.db.all<{ actor: string; action: string; target: string }>(
      'SELECT actor, action, target FROM audit WHERE target = ?',
      key,
    );
    assert.deepEqual(audit, [{ actor: 'tech-7', action: 'alarm.acknowledge', target: key }]);
  });

  it('left a consistent kerbside.db (history and outbox in step, records = last transitions)', () => {
    assert.deepEqual(storeProblems(h.db), []);
  });
});
