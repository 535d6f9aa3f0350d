/**
 * Lifecycles over time: shelving (recorded while shelved), latching and reset, suppression by
 * design, chattering, derived conditions, and restart from persisted records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmEngine } from '../../../gateway/alarms/engine.js';
import { resolveAlarmRules } from '../../../gateway/alarms/rules.js';
import type { AlarmRecord, AlarmRule } from '../../../gateway/alarms/types.js';
import { TECH, annunciated, at, commLoss, merge, moves, rule, shippedProfile } from './helpers.js';

const DOOR = 'd:door';

function doorEngine(fields: Partial<AlarmRule> = {}, options = {}): AlarmEngine {
  return new AlarmEngine(
    [rule('d', 'door', { kind: 'boolean', pointKey: 'door', ...fields })],
    [],
    { devices: [] },
    options,
  );
}

const door = (e: AlarmEngine, value: boolean, s: number) =>
  e.evaluateReadings('d', [{ key: 'door', value }], at(s));

describe('shelving', () => {
  it('a shelved alarm is still evaluated and recorded: from = to = shelved with the new condition', () => {
    const e = doorEngine();
    door(e, true, 0);
    e.shelve(DOOR, { mode: 'timed', durationMs: 600_000 }, TECH, at(1));
    const cleared = door(e, false, 2);
    assert.deepEqual(moves(cleared), ['d:door shelved->shelved']);
    assert.equal(cleared.transitions[0]?.active, false);
    assert.equal(cleared.transitions[0]?.level, 0);
    assert.equal(cleared.transitions[0]?.cause, 'reading');
    const again = door(e, true, 3);
    assert.deepEqual(moves(again), ['d:door shelved->shelved']);
    assert.equal(again.transitions[0]?.active, true);
    assert.equal(e.record(DOOR)?.active, true);
    assert.deepEqual(annunciated(merge(cleared, again)), [], 'nothing annunciated while shelved');
  });

  it('a timed shelve ends at its expiry, and the state is recomputed from the condition', () => {
    const e = doorEngine();
    door(e, true, 0);
    e.acknowledge(DOOR, TECH, at(1));
    e.shelve(DOOR, { mode: 'timed', durationMs: 60_000 }, TECH, at(10));
    assert.deepEqual(moves(e.tick(at(69.9))), []);
    const out = e.tick(at(70));
    assert.deepEqual(
      moves(out),
      ['d:door shelved->unacknowledged'],
      'still active: annunciated again, ack gone',
    );
    assert.equal(out.transitions[0]?.cause, 'timer');
    assert.equal(e.record(DOOR)?.shelve, null);
  });

  it('a timed shelve whose condition cleared returns to normal at expiry', () => {
    const e = doorEngine();
    door(e, true, 0);
    e.shelve(DOOR, { mode: 'timed', durationMs: 60_000 }, TECH, at(1));
    door(e, false, 2);
    assert.deepEqual(moves(e.tick(at(61))), ['d:door shelved->normal']);
  });

  it('a one-shot shelve ends when the condition returns to normal', () => {
    const e = doorEngine();
    door(e, true, 0);
    e.shelve(DOOR, { mode: 'one-shot' }, TECH, at(1));
    assert.equal(e.record(DOOR)?.shelve?.untilMonoMs, null);
    assert.deepEqual(moves(e.tick(at(100_000))), [], 'no time limit');
    assert.deepEqual(moves(door(e, false, 100_001)), ['d:door shelved->normal']);
    assert.deepEqual(
      moves(door(e, true, 100_002)),
      ['d:door normal->unacknowledged'],
      'the next activation is seen',
    );
  });

  it('unshelve recomputes from the current condition', () => {
    const e = doorEngine();
    door(e, true, 0);
    e.shelve(DOOR, { mode: 'timed', durationMs: 60_000 }, TECH, at(1));
    door(e, false, 2);
    const out = e.unshelve(DOOR, TECH, at(3));
    assert.deepEqual(moves(out), ['d:door shelved->normal']);
  });

  it('a persisted shelve end far beyond the maximum (monotonic clock restarted) is pulled in', () => {
    const e1 = doorEngine();
    door(e1, true, 0);
    e1.shelve(DOOR, { mode: 'timed', durationMs: 3_600_000 }, TECH, at(100_000));
    const persisted = e1.records();
    // After a restart the monotonic clock starts again near zero.
    const e2 = new AlarmEngine([rule('d', 'door', { kind: 'boolean', pointKey: 'door' })], persisted, {
      devices: [],
    });
    const out = e2.tick(at(1));
    assert.equal(out.records[0]?.shelve?.untilMonoMs, 1000 + 8 * 3_600_000);
    assert.deepEqual(moves(e2.tick(at(1 + 8 * 3600))), ['d:door shelved->unacknowledged']);
  });
});

describe('latched alarms', () => {
  it('stay latched after the condition clears until reset; reset only when clear', () => {
    const e = doorEngine({ latched: true });
    door(e, true, 0);
    e.acknowledge(DOOR, TECH, at(1));
    assert.throws(() => e.reset(DOOR, TECH, at(2)), /still active/);
    assert.deepEqual(moves(door(e, false, 3)), ['d:door acknowledged->latched']);
    assert.equal(e.record(DOOR)?.acknowledged, true);
    const out = e.reset(DOOR, TECH, at(4));
    assert.deepEqual(moves(out), ['d:door latched->normal']);
    assert.equal(out.transitions[0]?.by, TECH.by);
  });

  it('cleared before acknowledgement: ack leads to latched, then reset', () => {
    const e = doorEngine({ latched: true });
    door(e, true, 0);
    door(e, false, 1);
    assert.deepEqual(moves(e.acknowledge(DOOR, TECH, at(2))), ['d:door rtn_unacknowledged->latched']);
    assert.deepEqual(moves(e.reset(DOOR, TECH, at(3))), ['d:door latched->normal']);
  });

  it('re-activation while latched annunciates again', () => {
    const e = doorEngine({ latched: true });
    door(e, true, 0);
    e.acknowledge(DOOR, TECH, at(1));
    door(e, false, 2);
    assert.deepEqual(moves(door(e, true, 3)), ['d:door latched->unacknowledged']);
  });
});

describe('rtn_unacknowledged', () => {
  it('re-activation before acknowledgement goes back to unacknowledged; ack of rtn goes to normal', () => {
    const e = doorEngine();
    door(e, true, 0);
    assert.deepEqual(moves(door(e, false, 1)), ['d:door unacknowledged->rtn_unacknowledged']);
    assert.deepEqual(moves(door(e, true, 2)), ['d:door rtn_unacknowledged->unacknowledged']);
    door(e, false, 3);
    assert.deepEqual(moves(e.acknowledge(DOOR, TECH, at(4))), ['d:door rtn_unacknowledged->normal']);
  });
});

describe('suppressed by design and out of service', () => {
  it('suppressed by design: evaluated and recorded, never annunciated', () => {
    const e = doorEngine({ suppressedByDesign: true });
    assert.equal(e.record(DOOR)?.state, 'suppressed');
    assert.equal(e.record(DOOR)?.suppressedBy, 'design');
    const out = merge(door(e, true, 0), door(e, false, 1));
    assert.deepEqual(moves(out), ['d:door suppressed->suppressed', 'd:door suppressed->suppressed']);
    assert.deepEqual(
      out.transitions.map((t) => t.active),
      [true, false],
    );
  });

  it('a rule newly suppressed by design in the config moves on the next pass (cause config)', () => {
    const e1 = doorEngine();
    door(e1, true, 0);
    const e2 = new AlarmEngine(
      [rule('d', 'door', { kind: 'boolean', pointKey: 'door', suppressedByDesign: true })],
      e1.records(),
      { devices: [] },
    );
    const out = e2.tick(at(1));
    assert.deepEqual(moves(out), ['d:door unacknowledged->suppressed']);
    assert.equal(out.transitions[0]?.cause, 'config');
  });

  it('out of service: still evaluated and recorded; return to service recomputes', () => {
    const e = doorEngine();
    door(e, true, 0);
    e.removeFromService(DOOR, { by: 'tech', reason: 'switch replaced' }, at(1));
    assert.deepEqual(e.record(DOOR)?.outOfService, { by: 'tech', reason: 'switch replaced' });
    assert.deepEqual(moves(door(e, false, 2)), ['d:door out_of_service->out_of_service']);
    assert.deepEqual(moves(e.returnToService(DOOR, TECH, at(3))), ['d:door out_of_service->normal']);
  });
});

describe('chattering', () => {
  it('3 activations within 60 s: one chattering event per episode', () => {
    const e = doorEngine();
    const outputs = [];
    for (let i = 0; i < 6; i++) {
      outputs.push(door(e, true, i * 10), door(e, false, i * 10 + 5));
    }
    const out = merge(...outputs);
    assert.deepEqual(out.chattering, [
      { kind: 'alarm_chattering', alarmKey: DOOR, deviceId: 'd', activations: 3, windowS: 60 },
    ]);
    // Quiet for a whole window, then chattering again: a new episode.
    const later = [];
    for (let i = 0; i < 3; i++) later.push(door(e, true, 200 + i * 10), door(e, false, 205 + i * 10));
    assert.equal(merge(...later).chattering.length, 1);
  });

  it('2 activations in a minute, or 3 spread over more than a minute, are not chattering', () => {
    const e = doorEngine();
    const out = merge(
      door(e, true, 0),
      door(e, false, 1),
      door(e, true, 30),
      door(e, false, 31),
      door(e, true, 61),
    );
    assert.deepEqual(out.chattering, []);
  });

  it('counts activations while shelved too (that is when chattering is shelved)', () => {
    const e = doorEngine();
    door(e, true, 0);
    e.shelve(DOOR, { mode: 'timed', durationMs: 600_000 }, TECH, at(1));
    const out = merge(door(e, false, 2), door(e, true, 3), door(e, false, 4), door(e, true, 5));
    assert.equal(out.chattering.length, 1);
  });

  it('count and window are options', () => {
    const e = doorEngine({}, { chatterCount: 2, chatterWindowMs: 10_000 });
    const out = merge(door(e, true, 0), door(e, false, 1), door(e, true, 2));
    assert.deepEqual(out.chattering[0]?.windowS, 10);
  });
});

describe('derived conditions', () => {
  const lampFailure = rule('lc-1', 'lamp_07.lamp_failure_verified', {
    kind: 'derived',
    derivedKind: 'lamp_failure',
    child: 'lamp_07',
    onDelayMs: 0,
    priority: 'high',
  });

  it('registers on first use and goes through the same lifecycle', () => {
    const e = new AlarmEngine([commLoss('lc-1')], [], {
      devices: [{ deviceId: 'lc-1', busId: 'b', children: [] }],
    });
    const out = e.setDerivedCondition(lampFailure, true, 1, 0.02, at(1));
    assert.deepEqual(moves(out), ['lc-1:lamp_07.lamp_failure_verified normal->unacknowledged']);
    assert.equal(out.transitions[0]?.condition, 'lamp_failure');
    assert.equal(out.transitions[0]?.value, 0.02);
    assert.equal(out.transitions[0]?.priority, 'high');
    assert.ok(e.rules().some((r) => r.alarmKey === lampFailure.alarmKey));
    e.acknowledge(lampFailure.alarmKey, TECH, at(2));
    assert.deepEqual(moves(e.setDerivedCondition({ ...lampFailure }, false, 0, 1.1, at(3))), [
      'lc-1:lamp_07.lamp_failure_verified acknowledged->normal',
    ]);
  });

  it('keeps its on-delay across calls that pass a new rule object each time', () => {
    const e = new AlarmEngine([], [], { devices: [] });
    const delayed = { ...lampFailure, onDelayMs: 10_000 };
    e.setDerivedCondition({ ...delayed }, true, 1, null, at(0));
    assert.deepEqual(moves(e.setDerivedCondition({ ...delayed }, true, 1, null, at(5))), []);
    assert.equal(moves(e.setDerivedCondition({ ...delayed }, true, 1, null, at(10))).length, 1);
  });

  it('refuses a non-derived rule or one that would replace a profile rule', () => {
    const e = new AlarmEngine([rule('d', 'door', { kind: 'boolean', pointKey: 'door' })], [], {
      devices: [],
    });
    assert.throws(
      () => e.setDerivedCondition(rule('d', 'x', { kind: 'boolean' }), true, 1, null, at(0)),
      (error: unknown) => error instanceof Error && 'code' in error && error.code === 'ALARM_RULE_INVALID',
    );
    assert.throws(
      () => e.setDerivedCondition(rule('d', 'door', { kind: 'derived' }), true, 1, null, at(0)),
      /profile/,
    );
  });
});

describe('restart from persisted records', () => {
  function gasRules(): AlarmRule[] {
    return resolveAlarmRules('gd-1', shippedProfile('anqi-gd300'));
  }
  const topology = { devices: [{ deviceId: 'gd-1', busId: 'line-1', children: [] }] };

  it('states survive a restart; nothing is re-raised or cleared by the restart itself', () => {
    const e1 = new AlarmEngine(gasRules(), [], topology);
    e1.evaluateReadings('gd-1', [{ key: 'h2s', value: 22 }], at(0));
    e1.acknowledge('gd-1:h2s_high', TECH, at(1));
    e1.evaluateReadings('gd-1', [{ key: 'ch4', value: 30 }], at(2));
    const persisted: AlarmRecord[] = e1.records();

    const e2 = new AlarmEngine(gasRules(), persisted, topology);
    assert.deepEqual(e2.records(), persisted);
    // Same values after the restart: no transitions (the level and hysteresis are restored).
    const out = e2.evaluateReadings(
      'gd-1',
      [
        { key: 'h2s', value: 19.5 },
        { key: 'ch4', value: 30 },
      ],
      at(0.5),
    );
    assert.deepEqual(moves(out), [], '19.5 is inside level 2 deadband; nothing moves');
    // The acknowledged alarm clears to normal (its ack survived), the other to rtn_unack.
    const clear = e2.evaluateReadings(
      'gd-1',
      [
        { key: 'h2s', value: 1 },
        { key: 'ch4', value: 1 },
      ],
      at(1),
    );
    assert.deepEqual(moves(clear), [
      'gd-1:h2s_high acknowledged->normal',
      'gd-1:ch4_high unacknowledged->rtn_unacknowledged',
    ]);
  });

  it('rules without a record start in normal; records of removed rules are dropped', () => {
    const ghost: AlarmRecord = {
      alarmKey: 'gd-1:removed_rule',
      deviceId: 'gd-1',
      ruleKey: 'removed_rule',
      state: 'unacknowledged',
      active: true,
      level: 1,
      acknowledged: false,
      shelve: null,
      outOfService: null,
      suppressedBy: null,
      lastValue: 3,
      lastChangeMonoMs: 0,
      lastChangeWallMs: 0,
    };
    const e = new AlarmEngine(gasRules(), [ghost], topology);
    assert.equal(e.record('gd-1:removed_rule'), undefined);
    assert.ok(e.records().every((r) => r.state === 'normal'));
    assert.equal(e.records().length, gasRules().length);
  });

  it('a device dark at shutdown stays dark (and its alarms suppressed) until it answers', () => {
    const e1 = new AlarmEngine(gasRules(), [], topology);
    e1.evaluateReadings('gd-1', [{ key: 'h2s', value: 15 }], at(0));
    e1.tick(at(60));
    assert.equal(e1.record('gd-1:comm_loss')?.state, 'unacknowledged');
    assert.equal(e1.record('gd-1:h2s_high')?.state, 'suppressed');

    const e2 = new AlarmEngine(gasRules(), e1.records(), topology);
    assert.deepEqual(moves(e2.tick(at(1))), [], 'a restart is no evidence the device came back');
    const back = e2.evaluateReadings(
      'gd-1',
      [
        { key: 'h2s', value: 15 },
        { key: 'ch4', value: 1 },
        { key: 'o2', value: 20.9 },
      ],
      at(2),
    );
    assert.deepEqual(annunciated(back), ['gd-1:h2s_high'], 'recomputed: still high');
    assert.equal(back.transitions.find((t) => t.ruleKey === 'comm_loss')?.to, 'rtn_unacknowledged');
    assert.ok(e2.records().every((r) => r.state !== 'suppressed'));
  });

  it('a timed shelve persisted across a restart still expires on time', () => {
    const e1 = new AlarmEngine(gasRules(), [], topology);
    e1.evaluateReadings('gd-1', [{ key: 'h2s', value: 15 }], at(0));
    e1.shelve('gd-1:h2s_high', { mode: 'timed', durationMs: 600_000 }, TECH, at(10));
    const e2 = new AlarmEngine(gasRules(), e1.records(), topology);
    e2.evaluateReadings('gd-1', [{ key: 'h2s', value: 15.5 }], at(100));
    e2.evaluateReadings('gd-1', [{ key: 'h2s', value: 15.6 }], at(600));
    assert.deepEqual(
      moves(e2.tick(at(610))).filter((m) => m.startsWith('gd-1:h2s_high')),
      ['gd-1:h2s_high shelved->unacknowledged'],
    );
  });

  it('a derived rule registered after the restart adopts its persisted record', () => {
    const derived = rule('lc-1', 'loop_1.switching_error', {
      kind: 'derived',
      derivedKind: 'switching_error',
    });
    const e1 = new AlarmEngine([], [], { devices: [] });
    e1.setDerivedCondition(derived, true, 1, null, at(0));
    e1.acknowledge(derived.alarmKey, TECH, at(1));
    const e2 = new AlarmEngine([], e1.records(), { devices: [] });
    assert.equal(e2.record(derived.alarmKey), undefined, 'not in evaluation until registered');
    const out = e2.setDerivedCondition(derived, true, 1, null, at(2));
    assert.deepEqual(moves(out), [], 'still active and acknowledged');
    assert.equal(e2.record(derived.alarmKey)?.state, 'acknowledged');
  });
});
