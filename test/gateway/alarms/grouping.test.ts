/**
 * Grouping and suppression by dependency: a dark concentrator is one alarm, not one per lamp; a
 * dark bus is one alarm, not one per device; recovery recomputes what was suppressed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmEngine, busRule } from '../../../gateway/alarms/engine.js';
import { resolveGrouping, type GroupingDevice } from '../../../gateway/alarms/grouping.js';
import { resolveAlarmRules } from '../../../gateway/alarms/rules.js';
import type { AlarmTopology } from '../../../gateway/alarms/types.js';
import { TECH, annunciated, at, merge, moves, shippedProfile } from './helpers.js';

function concentratorEngine(extra: AlarmTopology['devices'] = []): AlarmEngine {
  const profile = shippedProfile('kerbtek-lc3200');
  const gasProfile = shippedProfile('anqi-gd300');
  const rules = [...resolveAlarmRules('lc-1', profile)];
  for (const device of extra) rules.push(...resolveAlarmRules(device.deviceId, gasProfile));
  return new AlarmEngine(rules, [], {
    devices: [{ deviceId: 'lc-1', busId: 'line-1', children: profile.children.map((c) => c.id) }, ...extra],
  });
}

/** The concentrator answers at t, with lamp 3 failed. */
function concentratorPoll(e: AlarmEngine, s: number, lampFailure = true) {
  return e.evaluateReadings(
    'lc-1',
    [
      { key: 'phase_a_voltage', value: 220 + (s % 3) },
      { key: 'lamp_03.lamp_failure', value: lampFailure },
      { key: 'lamp_03.comm_status', value: true },
    ],
    at(s),
  );
}

describe('a concentrator going dark', () => {
  it('raises exactly one alarm and suppresses the alarms of the device and its 16 lamps', () => {
    const e = concentratorEngine();
    concentratorPoll(e, 0);
    // The 15 s on-delay matures on the poll that confirms the failure (not on a tick).
    const lampAlarm = concentratorPoll(e, 15);
    assert.deepEqual(annunciated(lampAlarm), ['lc-1:lamp_03.lamp_failure'], '15 s on-delay');

    const history = [e.evaluateCommunication('lc-1', false, at(20))];
    // comm_loss: 30 s after the last good poll (15 s).
    for (let s = 25; s <= 50; s += 5) {
      history.push(e.evaluateCommunication('lc-1', false, at(s)), e.tick(at(s)));
    }
    const out = merge(...history);
    assert.deepEqual(annunciated(out), ['lc-1:comm_loss'], 'exactly one alarm for the whole concentrator');
    const suppressed = out.transitions.filter((t) => t.to === 'suppressed');
    const rules = e.rules().filter((r) => r.deviceId === 'lc-1' && r.ruleKey !== 'comm_loss');
    assert.equal(suppressed.length, rules.length, 'every other alarm of the device and its lamps');
    assert.ok(suppressed.every((t) => t.cause === 'dependency'));
    assert.equal(rules.filter((r) => r.child !== null).length, 32, '16 lamps x 2 rules');
    const lamp = e.record('lc-1:lamp_03.lamp_failure');
    assert.equal(lamp?.state, 'suppressed');
    assert.equal(lamp?.suppressedBy, 'lc-1:comm_loss');
    assert.equal(lamp?.active, true, 'the condition is kept');
  });

  it('recomputes the suppressed alarms from their conditions when it answers again', () => {
    const e = concentratorEngine();
    concentratorPoll(e, 0);
    concentratorPoll(e, 15);
    e.acknowledge('lc-1:lamp_03.lamp_failure', TECH, at(16));
    e.evaluateCommunication('lc-1', false, at(20));
    e.tick(at(45)); // 30 s after the last good poll
    assert.equal(e.record('lc-1:comm_loss')?.state, 'unacknowledged');

    const back = concentratorPoll(e, 60);
    assert.deepEqual(
      moves(back).filter((m) => m.includes('comm_loss')),
      ['lc-1:comm_loss unacknowledged->rtn_unacknowledged'],
    );
    const lamp = back.transitions.find((t) => t.alarmKey === 'lc-1:lamp_03.lamp_failure');
    assert.equal(lamp?.from, 'suppressed');
    assert.equal(
      lamp?.to,
      'unacknowledged',
      'still failed: annunciated again (its ack was before the outage)',
    );
    assert.equal(lamp?.cause, 'dependency');
    const door = back.transitions.find((t) => t.alarmKey === 'lc-1:door_open');
    assert.equal(door?.to, 'normal');
    assert.ok(e.records().every((r) => r.state !== 'suppressed'));
  });

  it('an alarm whose condition activates while the device is dark goes straight to suppressed', () => {
    const e = concentratorEngine();
    concentratorPoll(e, 0, false);
    e.evaluateCommunication('lc-1', false, at(5));
    e.tick(at(30));
    // Not realistic for a polled point, but derived conditions can arrive at any time.
    const out = e.setDerivedCondition(
      {
        ...busRule('x'),
        alarmKey: 'lc-1:loop_1.switching_error',
        deviceId: 'lc-1',
        ruleKey: 'loop_1.switching_error',
        derivedKind: 'switching_error',
      },
      true,
      1,
      null,
      at(31),
    );
    assert.deepEqual(moves(out), ['lc-1:loop_1.switching_error normal->suppressed']);
    assert.equal(out.transitions[0]?.active, true);
  });

  it('suppresses the alarms of devices listed as its children in the topology', () => {
    const profile = shippedProfile('anqi-gd300');
    const relay = shippedProfile('anjing-mc200');
    const e = new AlarmEngine(
      [...resolveAlarmRules('relay', relay), ...resolveAlarmRules('gd-behind', profile)],
      [],
      {
        devices: [
          { deviceId: 'relay', busId: 'line-2', children: ['gd-behind'] },
          { deviceId: 'gd-behind', busId: 'line-2', children: [] },
        ],
      },
    );
    e.evaluateCommunication('relay', true, at(0));
    e.evaluateCommunication('gd-behind', true, at(0));
    e.evaluateCommunication('relay', false, at(5));
    const out = e.tick(at(30));
    assert.deepEqual(annunciated(out), ['relay:comm_loss']);
    assert.equal(e.record('gd-behind:h2s_high')?.suppressedBy, 'relay:comm_loss');
    assert.equal(e.record('gd-behind:comm_loss')?.suppressedBy, 'relay:comm_loss');
    // The device behind also falls silent, later: still only the relay's alarm.
    const later = e.tick(at(60));
    assert.deepEqual(annunciated(later), []);
    assert.equal(e.record('gd-behind:comm_loss')?.active, true);
    assert.equal(e.record('gd-behind:comm_loss')?.state, 'suppressed');
  });
});

describe('a bus going dark', () => {
  function busEngine(): AlarmEngine {
    return concentratorEngine([
      { deviceId: 'gd-1', busId: 'line-1', children: [] },
      { deviceId: 'gd-2', busId: 'line-1', children: [] },
    ]);
  }

  /** A good gas detector poll (values move, so nothing is stale). */
  function gasPoll(e: AlarmEngine, deviceId: string, s: number) {
    return e.evaluateReadings(
      deviceId,
      [
        { key: 'h2s', value: 0.5 + (s % 7) / 100 },
        { key: 'ch4', value: 1 + (s % 7) / 100 },
        { key: 'o2', value: 20.9 - (s % 7) / 100 },
      ],
      at(s),
    );
  }

  /** Every device on line-1 fails its poll every 5 s from t = 5 s. */
  function lineCut(e: AlarmEngine, until: number) {
    const outputs = [];
    for (let s = 5; s <= until; s += 5) {
      for (const d of ['lc-1', 'gd-1', 'gd-2']) outputs.push(e.evaluateCommunication(d, false, at(s + 0.1)));
      outputs.push(e.tick(at(s + 0.5)));
    }
    return merge(...outputs);
  }

  it('raises one bus alarm and suppresses the comm_loss of every device on it', () => {
    const e = busEngine();
    for (const d of ['lc-1', 'gd-1', 'gd-2']) e.evaluateCommunication(d, true, at(0));
    const out = lineCut(e, 90);
    assert.deepEqual(annunciated(out), ['bus:line-1:bus_dark'], 'exactly one alarm for the bus');
    const bus = out.transitions.find((t) => t.alarmKey === 'bus:line-1:bus_dark');
    assert.equal(bus?.condition, 'bus_dark');
    assert.equal(bus?.deviceId, 'bus:line-1');
    for (const d of ['lc-1', 'gd-1', 'gd-2']) {
      const comm = e.record(`${d}:comm_loss`);
      assert.equal(comm?.active, true, `${d} comm_loss condition recorded`);
      assert.equal(comm?.state, 'suppressed');
      assert.equal(comm?.suppressedBy, 'bus:line-1:bus_dark');
    }
    // The lamp concentrator went dark first (30 s) and the gas detectors later (60 s): the
    // concentrator's comm_loss went straight to suppressed, never annunciated and taken back.
    const first = out.transitions.find((t) => t.alarmKey === 'lc-1:comm_loss');
    assert.equal(first?.from, 'normal');
    assert.equal(first?.to, 'suppressed');
    assert.equal(e.record('gd-1:h2s_high')?.suppressedBy, 'gd-1:comm_loss', 'device alarms: by their device');
  });

  it('one device dark while the others answer is a device alarm, not a bus alarm', () => {
    const e = busEngine();
    const outputs = [];
    for (let s = 0; s <= 60; s += 5) {
      outputs.push(e.evaluateCommunication('lc-1', s === 0, at(s)));
      outputs.push(gasPoll(e, 'gd-1', s), gasPoll(e, 'gd-2', s));
      outputs.push(e.tick(at(s)));
    }
    assert.deepEqual(annunciated(merge(...outputs)), ['lc-1:comm_loss']);
  });

  it('recovery: the bus alarm returns; devices not heard from yet get one staleAfter period of grace', () => {
    const e = busEngine();
    for (const d of ['lc-1', 'gd-1', 'gd-2']) e.evaluateCommunication(d, true, at(0));
    lineCut(e, 90);
    // The line is repaired at 100 s; the scheduler reaches lc-1 and gd-1, but gd-2 died meanwhile.
    const outputs = [e.evaluateCommunication('lc-1', true, at(100))];
    assert.deepEqual(
      moves(outputs[0] ?? merge()).filter((m) => m.startsWith('bus')),
      ['bus:line-1:bus_dark unacknowledged->rtn_unacknowledged'],
    );
    outputs.push(gasPoll(e, 'gd-1', 101));
    assert.equal(e.record('gd-2:comm_loss')?.state, 'suppressed', 'gd-2 not polled yet: grace');
    for (let s = 105; s <= 160; s += 5) {
      outputs.push(e.evaluateCommunication('lc-1', true, at(s)), gasPoll(e, 'gd-1', s));
      outputs.push(e.evaluateCommunication('gd-2', false, at(s)), e.tick(at(s)));
    }
    const out = merge(...outputs);
    assert.deepEqual(annunciated(out), ['gd-2:comm_loss'], 'only the device that is really lost');
    const gd2 = out.transitions.find((t) => t.alarmKey === 'gd-2:comm_loss' && t.to === 'unacknowledged');
    assert.equal(gd2?.cause, 'dependency');
    assert.equal(e.record('lc-1:comm_loss')?.state, 'normal', 'came back while suppressed: normal');
    assert.equal(e.record('gd-1:h2s_high')?.state, 'normal');
  });
});

describe('resolveGrouping (pure)', () => {
  const device = (id: string, fields: Partial<GroupingDevice>): GroupingDevice => ({
    deviceId: id,
    busId: 'b',
    parentId: null,
    commKey: `${id}:comm_loss`,
    commActive: false,
    failing: false,
    staleAfterMs: 30_000,
    ...fields,
  });

  it('a single-device bus never raises a bus alarm', () => {
    const devices = new Map([['a', device('a', { commActive: true, failing: true })]]);
    const result = resolveGrouping(devices, [], 0);
    assert.equal(result.commSuppressor.get('a'), null);
    assert.equal(result.deviceSuppressor.get('a'), 'a:comm_loss');
  });

  it('all failing but none stale yet is not dark', () => {
    const devices = new Map([
      ['a', device('a', { failing: true })],
      ['b', device('b', { failing: true })],
    ]);
    const bus = {
      busId: 'b',
      alarmKey: 'bus:b:bus_dark',
      deviceIds: ['a', 'b'],
      wasDark: false,
      recoveredAtMs: null,
    };
    assert.equal(resolveGrouping(devices, [bus], 0).buses.get('b')?.dark, false);
  });

  it('all dark is dark even without failure reports', () => {
    const devices = new Map([
      ['a', device('a', { commActive: true })],
      ['b', device('b', { commActive: true })],
    ]);
    const bus = {
      busId: 'b',
      alarmKey: 'bus:b:bus_dark',
      deviceIds: ['a', 'b'],
      wasDark: false,
      recoveredAtMs: null,
    };
    const result = resolveGrouping(devices, [bus], 0);
    assert.equal(result.buses.get('b')?.dark, true);
    assert.equal(result.commSuppressor.get('a'), 'bus:b:bus_dark');
    assert.equal(result.deviceSuppressor.get('a'), 'a:comm_loss');
  });

  it('one device answering keeps the bus out of the dark', () => {
    const devices = new Map([
      ['a', device('a', { commActive: true, failing: true })],
      ['b', device('b', { failing: false })],
    ]);
    const bus = {
      busId: 'b',
      alarmKey: 'bus:b:bus_dark',
      deviceIds: ['a', 'b'],
      wasDark: false,
      recoveredAtMs: null,
    };
    assert.equal(resolveGrouping(devices, [bus], 0).buses.get('b')?.dark, false);
  });

  it('ignores a parent cycle in a broken topology', () => {
    const devices = new Map([
      ['a', device('a', { parentId: 'b' })],
      ['b', device('b', { parentId: 'a' })],
    ]);
    assert.equal(resolveGrouping(devices, [], 0).deviceSuppressor.get('a'), null);
  });
});
