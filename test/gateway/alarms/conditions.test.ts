/**
 * Condition evaluation through the engine: on/off delays, deadband, levels, rate of change, stale
 * (frozen values), bad-quality readings. Uses the shipped profiles where the defaults matter.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmEngine } from '../../../gateway/alarms/engine.js';
import { resolveAlarmRules } from '../../../gateway/alarms/rules.js';
import { annunciated, at, merge, moves, rule, shippedProfile } from './helpers.js';

function cover(): AlarmEngine {
  const rules = resolveAlarmRules('mc-1', shippedProfile('anjing-mc200'));
  return new AlarmEngine(rules, [], { devices: [{ deviceId: 'mc-1', busId: 'nb', children: [] }] });
}

function gas(): AlarmEngine {
  const rules = resolveAlarmRules('gd-1', shippedProfile('anqi-gd300'));
  return new AlarmEngine(rules, [], { devices: [{ deviceId: 'gd-1', busId: 'line-1', children: [] }] });
}

describe('on-delay and off-delay', () => {
  it('a 1 s tilt bump with the 2 s on-delay raises nothing (passing vehicle)', () => {
    const e = cover();
    const out = merge(
      e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 0.5 }], at(0)),
      e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 15 }], at(10)),
      e.tick(at(10.5)),
      e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 0.4 }], at(11)),
      e.tick(at(12)),
      e.tick(at(13)),
      e.tick(at(20)),
    );
    assert.deepEqual(moves(out), []);
    assert.equal(e.record('mc-1:tilt_high')?.state, 'normal');
  });

  it('a tilt held for 3 s raises exactly one alarm, when the 2 s have passed', () => {
    const e = cover();
    e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 0.5 }], at(0));
    assert.deepEqual(moves(e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 15 }], at(10))), []);
    assert.deepEqual(moves(e.tick(at(11))), []);
    const raised = e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 15.2 }], at(12));
    assert.deepEqual(moves(raised), ['mc-1:tilt_high normal->unacknowledged']);
    const t = raised.transitions[0];
    assert.equal(t?.cause, 'reading');
    assert.equal(t?.value, 15.2);
    assert.equal(t?.setpoint, 10);
    assert.equal(t?.priority, 'high');
    assert.equal(t?.condition, 'high');
    assert.deepEqual(t?.message, { 'zh-CN': '井盖倾斜', en: 'Manhole cover tilted' });
    assert.deepEqual(moves(e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 15 }], at(13))), []);
  });

  it('the on-delay matures only on a reading that confirms the condition held, never on a tick', () => {
    const e = cover();
    e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 15 }], at(10));
    // The next poll is late (a busy line): time alone is no evidence that the tilt persisted.
    assert.deepEqual(moves(e.tick(at(12))), []);
    assert.deepEqual(moves(e.tick(at(14))), []);
    const out = e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 14 }], at(14.5));
    assert.deepEqual(moves(out), ['mc-1:tilt_high normal->unacknowledged']);
    assert.equal(out.transitions[0]?.cause, 'reading');
    assert.equal(out.transitions[0]?.value, 14);
  });

  it('a bump whose late next sample is already back to normal raises nothing', () => {
    const e = cover();
    e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 15 }], at(10));
    assert.deepEqual(moves(e.tick(at(13))), []);
    assert.deepEqual(moves(e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 0.6 }], at(13.5))), []);
  });

  it('cover off (> 90°) has no on-delay', () => {
    const e = cover();
    const out = e.evaluateReadings('mc-1', [{ key: 'tilt_angle', value: 95 }], at(1));
    assert.deepEqual(annunciated(out), ['mc-1:cover_off']);
  });

  it('the off-delay holds the alarm until the condition has stayed clear', () => {
    const e = new AlarmEngine(
      [rule('d', 'door', { kind: 'boolean', pointKey: 'door', offDelayMs: 5000 })],
      [],
      {
        devices: [],
      },
    );
    e.evaluateReadings('d', [{ key: 'door', value: true }], at(0));
    assert.deepEqual(moves(e.evaluateReadings('d', [{ key: 'door', value: false }], at(1))), []);
    // Opens again inside the off-delay: the clear stretch restarts.
    e.evaluateReadings('d', [{ key: 'door', value: true }], at(3));
    e.evaluateReadings('d', [{ key: 'door', value: false }], at(4));
    assert.deepEqual(moves(e.tick(at(9))), [], 'a tick is no evidence');
    assert.deepEqual(moves(e.evaluateReadings('d', [{ key: 'door', value: false }], at(8.9))), []);
    assert.deepEqual(moves(e.evaluateReadings('d', [{ key: 'door', value: false }], at(9))), [
      'd:door unacknowledged->rtn_unacknowledged',
    ]);
  });

  it('the on-delay applies to a level increase too', () => {
    const e = new AlarmEngine(
      [
        rule('d', 'p_high', {
          kind: 'high',
          pointKey: 'p',
          onDelayMs: 2000,
          levels: [
            { level: 1, setpoint: 10, priority: 'medium' },
            { level: 2, setpoint: 20, priority: 'high' },
          ],
        }),
      ],
      [],
      { devices: [] },
    );
    e.evaluateReadings('d', [{ key: 'p', value: 12 }], at(0));
    assert.equal(e.evaluateReadings('d', [{ key: 'p', value: 12 }], at(2)).transitions[0]?.level, 1);
    e.evaluateReadings('d', [{ key: 'p', value: 25 }], at(3)); // spike
    e.evaluateReadings('d', [{ key: 'p', value: 12 }], at(4));
    assert.deepEqual(
      moves(e.evaluateReadings('d', [{ key: 'p', value: 12 }], at(10))),
      [],
      'a 1 s spike does not escalate',
    );
    e.evaluateReadings('d', [{ key: 'p', value: 25 }], at(11));
    const out = e.evaluateReadings('d', [{ key: 'p', value: 25 }], at(13));
    assert.equal(out.transitions[0]?.level, 2);
  });
});

describe('levels and deadband (H2S, GB/T 50493-2019 via the shipped gas profile)', () => {
  it('ramps through 10 and 20 mg/m³ and back: level 1, level 2, normal only below setpoint - deadband', () => {
    const e = gas();
    const h2s = (v: number, s: number) => e.evaluateReadings('gd-1', [{ key: 'h2s', value: v }], at(s));
    const key = 'gd-1:h2s_high';
    const steps: Array<[number, number, string, number]> = [
      // value, time, state after, level after
      [2, 0, 'normal', 0],
      [9.9, 1, 'normal', 0],
      [10, 2, 'unacknowledged', 1],
      [15, 3, 'unacknowledged', 1],
      [20, 4, 'unacknowledged', 2],
      [19.1, 5, 'unacknowledged', 2], // inside the deadband of level 2 (20 - 1)
      [18.9, 6, 'unacknowledged', 1], // below 19: back to level 1
      [9.5, 7, 'unacknowledged', 1], // inside the deadband of level 1 (10 - 1)
      [9.0, 8, 'unacknowledged', 1], // exactly setpoint - deadband still holds
      [8.9, 9, 'rtn_unacknowledged', 0],
      [9.9, 10, 'rtn_unacknowledged', 0], // re-entering needs the setpoint itself
    ];
    const levels: number[] = [];
    for (const [value, s, state, level] of steps) {
      const out = h2s(value, s);
      for (const t of out.transitions) if (t.alarmKey === key) levels.push(t.level);
      assert.equal(e.record(key)?.state, state, `after ${value} mg/m³`);
      assert.equal(e.record(key)?.level, level, `level after ${value} mg/m³`);
    }
    assert.deepEqual(levels, [1, 2, 1, 0], 'one transition per level change');
  });

  it('reports the set point crossed and the priority of each level', () => {
    const e = gas();
    const h2s = (v: number, s: number) =>
      e
        .evaluateReadings('gd-1', [{ key: 'h2s', value: v }], at(s))
        .transitions.filter((t) => t.ruleKey === 'h2s_high');
    assert.deepEqual(
      h2s(12, 1).map((t) => [t.level, t.setpoint, t.priority]),
      [[1, 10, 'high']],
    );
    assert.deepEqual(
      h2s(25, 2).map((t) => [t.level, t.setpoint, t.priority]),
      [[2, 20, 'critical']],
    );
    assert.deepEqual(
      h2s(15, 3).map((t) => [t.level, t.setpoint, t.priority]),
      [[1, 20, 'high']],
    );
    assert.deepEqual(
      h2s(1, 4).map((t) => [t.level, t.setpoint, t.priority]),
      [[0, 10, 'high']],
    );
  });

  it('a level increase re-annunciates an acknowledged alarm; a decrease keeps the ack', () => {
    const e = gas();
    e.evaluateReadings('gd-1', [{ key: 'h2s', value: 12 }], at(1));
    e.acknowledge('gd-1:h2s_high', { by: 'tech', reason: '' }, at(2));
    const up = e.evaluateReadings('gd-1', [{ key: 'h2s', value: 22 }], at(3));
    assert.deepEqual(moves(up), ['gd-1:h2s_high acknowledged->unacknowledged']);
    e.acknowledge('gd-1:h2s_high', { by: 'tech', reason: '' }, at(4));
    const down = e.evaluateReadings('gd-1', [{ key: 'h2s', value: 12 }], at(5));
    assert.deepEqual(moves(down), ['gd-1:h2s_high acknowledged->acknowledged']);
    assert.equal(down.transitions[0]?.level, 1, 'the recorded condition change');
  });

  it('a low rule (O2 deficiency) uses the deadband upwards', () => {
    const e = gas();
    const o2 = (v: number, s: number) => {
      e.evaluateReadings('gd-1', [{ key: 'o2', value: v }], at(s));
      return e.record('gd-1:o2_low')?.active;
    };
    assert.equal(o2(20.9, 0), false);
    assert.equal(o2(19.5, 1), true);
    assert.equal(o2(19.6, 2), true, '19.6 < 19.5 + 0.2');
    assert.equal(o2(19.71, 3), false);
  });
});

describe('bad quality', () => {
  it('NaN and null readings neither activate nor clear a value alarm', () => {
    const e = gas();
    e.evaluateReadings('gd-1', [{ key: 'h2s', value: 1 }], at(0));
    assert.deepEqual(moves(e.evaluateReadings('gd-1', [{ key: 'h2s', value: Number.NaN }], at(1))), []);
    e.evaluateReadings('gd-1', [{ key: 'h2s', value: 15 }], at(2));
    assert.equal(e.record('gd-1:h2s_high')?.active, true);
    const bad = merge(
      e.evaluateReadings('gd-1', [{ key: 'h2s', value: null }], at(3)),
      e.evaluateReadings('gd-1', [{ key: 'h2s', value: Number.NaN }], at(4)),
      e.evaluateReadings('gd-1', [{ key: 'h2s', value: Number.POSITIVE_INFINITY }], at(5)),
    );
    assert.deepEqual(moves(bad), []);
    assert.equal(e.record('gd-1:h2s_high')?.active, true);
  });

  it('a bad reading is not a new value for stale detection', () => {
    const e = gas();
    e.evaluateReadings('gd-1', [{ key: 'h2s', value: 1 }], at(0));
    e.evaluateReadings('gd-1', [{ key: 'h2s', value: null }], at(30));
    const out = e.evaluateReadings('gd-1', [{ key: 'h2s', value: Number.NaN }], at(60));
    assert.ok(annunciated(out).includes('gd-1:h2s_stale'));
  });
});

describe('rate of change', () => {
  function rateEngine(): AlarmEngine {
    return new AlarmEngine(
      [rule('d', 'level_rate', { kind: 'rate', pointKey: 'level', rateLimit: 2, deadband: 0.5 })],
      [],
      { devices: [] },
    );
  }

  it('activates when |Δvalue/Δt| between consecutive readings exceeds the limit, in either direction', () => {
    const e = rateEngine();
    const level = (v: number, s: number) => {
      e.evaluateReadings('d', [{ key: 'level', value: v }], at(s));
      return e.record('d:level_rate')?.active;
    };
    assert.equal(level(10, 0), false, 'first reading: no rate yet');
    assert.equal(level(11, 1), false, '1 /s');
    assert.equal(level(14, 2), true, '3 /s');
    assert.equal(level(15.6, 3), true, '1.6 /s is inside the deadband (2 - 0.5)');
    assert.equal(level(16.5, 4), false, '0.9 /s');
    assert.equal(level(10, 5), true, '-6.5 /s');
    const t = e.record('d:level_rate');
    assert.equal(t?.lastValue, -6.5, 'the rate is the reported value');
  });

  it('uses the time between readings, not the number of readings', () => {
    const e = rateEngine();
    e.evaluateReadings('d', [{ key: 'level', value: 0 }], at(0));
    const out = e.evaluateReadings('d', [{ key: 'level', value: 10 }], at(10)); // 1 /s
    assert.deepEqual(moves(out), []);
  });
});

describe('stale', () => {
  it('a constant reading stays fresh (clean air reads 0.0 for hours)', () => {
    const e = gas();
    for (let s = 0; s <= 300; s += 5) {
      const out = e.evaluateReadings(
        'gd-1',
        [
          { key: 'h2s', value: 0 },
          { key: 'ch4', value: 0 },
          { key: 'o2', value: 20.9 },
        ],
        at(s),
      );
      assert.deepEqual(annunciated(out), [], `nothing stale at ${s} s`);
    }
    assert.deepEqual(annunciated(e.tick(at(301))), []);
  });

  it('a point that stops arriving is stale after staleAfterS, and its next reading clears it', () => {
    const e = gas();
    // H2S is read once, then the polls carry only CH4 and O2 (the H2S register block fails).
    const poll = (s: number, withH2s: boolean) =>
      e.evaluateReadings(
        'gd-1',
        [
          ...(withH2s ? [{ key: 'h2s', value: 1.25 }] : []),
          { key: 'ch4', value: 2 },
          { key: 'o2', value: 20.9 },
        ],
        at(s),
      );
    poll(0, true);
    for (let s = 5; s < 60; s += 5) {
      assert.deepEqual(annunciated(poll(s, false)), [], `not yet stale at ${s} s`);
    }
    const out = poll(60, false);
    assert.deepEqual(annunciated(out), ['gd-1:h2s_stale']);
    assert.equal(out.transitions[0]?.cause, 'timer');
    const back = poll(65, true);
    assert.deepEqual(moves(back), ['gd-1:h2s_stale unacknowledged->rtn_unacknowledged']);
    assert.equal(back.transitions[0]?.cause, 'reading');
  });

  it('a changing value is never stale; a stuck heartbeat counter is, by its staleWhenUnchanged flag (manhole cover)', () => {
    const e = cover();
    e.evaluateReadings('mc-1', [{ key: 'heartbeat_counter', value: 1 }], at(0));
    for (let n = 2; n <= 8; n++) {
      const out = e.evaluateReadings('mc-1', [{ key: 'heartbeat_counter', value: n }], at(n * 600));
      assert.deepEqual(annunciated(out), []);
    }
    // Counter stuck at 8 from 4800 s: polls still answer, but nothing new for 3600 s.
    e.evaluateReadings('mc-1', [{ key: 'heartbeat_counter', value: 8 }], at(6000));
    const before = e.evaluateReadings('mc-1', [{ key: 'heartbeat_counter', value: 8 }], at(8399));
    assert.deepEqual(annunciated(before), []);
    assert.deepEqual(annunciated(e.tick(at(8400))), ['mc-1:heartbeat_missing']);
  });

  it('a point never heard from is stale staleAfterS after the engine first looked', () => {
    const e = gas();
    e.tick(at(100));
    e.evaluateCommunication('gd-1', true, at(150));
    const out = e.tick(at(160));
    assert.deepEqual(annunciated(out).sort(), ['gd-1:ch4_stale', 'gd-1:h2s_stale', 'gd-1:o2_stale']);
  });
});

describe('boolean rules', () => {
  it('activeWhen false: a single-lamp controller offline when its comm status reads false', () => {
    const rules = resolveAlarmRules('lc-1', shippedProfile('kerbtek-lc3200'));
    const e = new AlarmEngine(rules, [], { devices: [] });
    e.evaluateReadings('lc-1', [{ key: 'lamp_03.comm_status', value: true }], at(0));
    // The concentrator answers every 5 s; lamp 3 behind it does not.
    for (let s = 10; s < 70; s += 5) {
      const out = e.evaluateReadings('lc-1', [{ key: 'lamp_03.comm_status', value: false }], at(s));
      assert.deepEqual(moves(out), [], '60 s on-delay');
    }
    assert.deepEqual(moves(e.tick(at(70))), [], 'a tick is no evidence');
    assert.deepEqual(
      moves(e.evaluateReadings('lc-1', [{ key: 'lamp_03.comm_status', value: false }], at(70))),
      ['lc-1:lamp_03.controller_offline normal->unacknowledged'],
    );
  });
});
