/**
 * Rule resolution: profile defaults (including per-child template rules) with per-device overrides.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_COMM_LOSS_S, overrideProblems, resolveAlarmRules } from '../../../gateway/alarms/rules.js';
import { AlarmError } from '../../../gateway/alarms/types.js';
import type { LoadedProfile } from '../../../gateway/profiles/types.js';
import { shippedProfile } from './helpers.js';

function byKey(rules: ReturnType<typeof resolveAlarmRules>, key: string) {
  const found = rules.find((r) => r.ruleKey === key);
  assert.ok(found, `rule ${key}`);
  return found;
}

describe('resolveAlarmRules: profile defaults', () => {
  it('resolves the gas detector defaults (GB/T 50493-2019) with seconds in ms and default priorities', () => {
    const rules = resolveAlarmRules('gd-1', shippedProfile('anqi-gd300'));
    const h2s = byKey(rules, 'h2s_high');
    assert.equal(h2s.alarmKey, 'gd-1:h2s_high');
    assert.equal(h2s.deviceId, 'gd-1');
    assert.equal(h2s.pointKey, 'h2s');
    assert.equal(h2s.child, null);
    assert.deepEqual(h2s.levels, [
      { level: 1, setpoint: 10, priority: 'high' },
      { level: 2, setpoint: 20, priority: 'critical' },
    ]);
    assert.equal(h2s.deadband, 1);
    assert.equal(h2s.priority, 'high', 'the rule priority is level 1s');
    assert.equal(h2s.enabled, true);
    assert.equal(h2s.latched, false);
    assert.equal(h2s.suppressedByDesign, false);
    assert.match(h2s.source, /GB\/T 50493-2019/);
    const stale = byKey(rules, 'h2s_stale');
    assert.equal(stale.staleAfterMs, 60_000);
    assert.equal(stale.rateLimit, null);
    const fault = byKey(rules, 'h2s_sensor_fault');
    assert.equal(fault.activeWhen, true);
    assert.equal(fault.priority, 'medium', 'no levels, no priority: medium (level 1 default)');
    assert.deepEqual(fault.levels, []);
    assert.equal(byKey(rules, 'comm_loss').staleAfterMs, 60_000, 'the profile comm_loss');
  });

  it('includes per-child template rules, keyed child.id, for every lamp', () => {
    const profile = shippedProfile('kerbtek-lc3200');
    const rules = resolveAlarmRules('lc-1', profile);
    const lamp = byKey(rules, 'lamp_03.controller_offline');
    assert.equal(lamp.alarmKey, 'lc-1:lamp_03.controller_offline');
    assert.equal(lamp.child, 'lamp_03');
    assert.equal(lamp.pointKey, 'lamp_03.comm_status');
    assert.equal(lamp.activeWhen, false);
    assert.equal(lamp.onDelayMs, 60_000);
    assert.equal(rules.filter((r) => r.child !== null).length, profile.children.length * 2);
    assert.equal(rules.filter((r) => r.kind === 'comm_loss').length, 1);
  });

  it('gives every device a comm_loss rule, 30 s when the profile has none', () => {
    const profile = shippedProfile('anqi-gd300');
    const bare: LoadedProfile = { ...profile, alarms: profile.alarms.filter((r) => r.kind !== 'comm_loss') };
    const comm = byKey(resolveAlarmRules('gd-9', bare), 'comm_loss');
    assert.equal(comm.kind, 'comm_loss');
    assert.equal(comm.staleAfterMs, DEFAULT_COMM_LOSS_S * 1000);
    assert.equal(comm.staleAfterMs, 30_000);
    assert.equal(comm.pointKey, undefined);
    assert.match(comm.source, /default/);
  });

  it('defaults the level priorities to medium, high, critical when the profile names none', () => {
    const profile = shippedProfile('anqi-gd300');
    const plain: LoadedProfile = {
      ...profile,
      alarms: profile.alarms.map((r) =>
        r.key === 'h2s_high'
          ? { ...r, levels: r.levels?.map((l) => ({ level: l.level, setpoint: l.setpoint })) }
          : r,
      ),
    };
    const h2s = byKey(resolveAlarmRules('gd-1', plain), 'h2s_high');
    assert.deepEqual(
      h2s.levels.map((l) => l.priority),
      ['medium', 'high'],
    );
    assert.equal(h2s.priority, 'medium');
  });
});

describe('resolveAlarmRules: overrides', () => {
  it('applies every override field', () => {
    const rules = resolveAlarmRules('gd-1', shippedProfile('anqi-gd300'), {
      h2s_high: {
        levels: [
          { level: 1, setpoint: 5 },
          { level: 2, setpoint: 10, priority: 'critical' },
          { level: 3, setpoint: 20 },
        ],
        deadband: 0.5,
        onDelayS: 2,
        offDelayS: 10,
        latched: true,
        priority: 'high',
      },
      h2s_sensor_fault: { enabled: false },
      o2_sensor_fault: { suppressedByDesign: true, priority: 'low' },
      comm_loss: { staleAfterS: 120 },
      h2s_stale: { staleAfterS: 90.5 },
    });
    const h2s = byKey(rules, 'h2s_high');
    assert.deepEqual(h2s.levels, [
      { level: 1, setpoint: 5, priority: 'high' }, // the override's rule priority
      { level: 2, setpoint: 10, priority: 'critical' }, // its own
      { level: 3, setpoint: 20, priority: 'high' },
    ]);
    assert.equal(h2s.deadband, 0.5);
    assert.equal(h2s.onDelayMs, 2000);
    assert.equal(h2s.offDelayMs, 10_000);
    assert.equal(h2s.latched, true);
    assert.equal(h2s.priority, 'high');
    assert.match(h2s.source, /overridden in the gateway config/);
    assert.equal(byKey(rules, 'h2s_sensor_fault').enabled, false);
    const o2 = byKey(rules, 'o2_sensor_fault');
    assert.equal(o2.suppressedByDesign, true);
    assert.equal(o2.priority, 'low');
    assert.equal(byKey(rules, 'comm_loss').staleAfterMs, 120_000);
    assert.equal(byKey(rules, 'h2s_stale').staleAfterMs, 90_500);
    // Untouched rules keep their defaults and source.
    assert.equal(byKey(rules, 'ch4_high').deadband, 1);
    assert.doesNotMatch(byKey(rules, 'ch4_high').source, /overridden/);
  });

  it('a priority override without levels applies to the profile levels', () => {
    const rules = resolveAlarmRules('gd-1', shippedProfile('anqi-gd300'), {
      ch4_high: { priority: 'medium' },
    });
    assert.deepEqual(
      byKey(rules, 'ch4_high').levels.map((l) => l.priority),
      ['medium', 'medium'],
    );
  });

  it('overrides per-child rules by their child.id key', () => {
    const rules = resolveAlarmRules('lc-1', shippedProfile('kerbtek-lc3200'), {
      'lamp_05.lamp_failure': { onDelayS: 30 },
    });
    assert.equal(byKey(rules, 'lamp_05.lamp_failure').onDelayMs, 30_000);
    assert.equal(byKey(rules, 'lamp_06.lamp_failure').onDelayMs, 15_000);
  });

  it('an unknown rule key or a misplaced field is ALARM_RULE_INVALID', () => {
    const profile = shippedProfile('anqi-gd300');
    assert.throws(
      () => resolveAlarmRules('gd-1', profile, { nh3_high: { deadband: 1 } }),
      (e: unknown) =>
        e instanceof AlarmError && e.code === 'ALARM_RULE_INVALID' && /nh3_high/.test(e.message),
    );
    assert.throws(
      () => resolveAlarmRules('gd-1', profile, { h2s_sensor_fault: { levels: [{ level: 1, setpoint: 1 }] } }),
      (e: unknown) => e instanceof AlarmError && e.code === 'ALARM_RULE_INVALID' && /levels/.test(e.message),
    );
  });
});

describe('overrideProblems', () => {
  const cases: Array<{
    name: string;
    kind: Parameters<typeof overrideProblems>[0];
    override: unknown;
    paths: string[];
  }> = [
    {
      name: 'fields of every kind are fine anywhere',
      kind: 'boolean',
      override: { enabled: false, onDelayS: 1 },
      paths: [],
    },
    { name: 'levels on boolean', kind: 'boolean', override: { levels: [] }, paths: ['levels'] },
    { name: 'deadband on stale', kind: 'stale', override: { deadband: 1 }, paths: ['deadband'] },
    { name: 'deadband on rate', kind: 'rate', override: { deadband: 1, rateLimit: 2 }, paths: [] },
    { name: 'rateLimit on high', kind: 'high', override: { rateLimit: 1 }, paths: ['rateLimit'] },
    { name: 'staleAfterS on low', kind: 'low', override: { staleAfterS: 1 }, paths: ['staleAfterS'] },
    { name: 'staleAfterS on comm_loss', kind: 'comm_loss', override: { staleAfterS: 1 }, paths: [] },
    {
      name: 'levels out of order',
      kind: 'high',
      override: {
        levels: [
          { level: 2, setpoint: 10 },
          { level: 1, setpoint: 20 },
        ],
      },
      paths: ['levels/0/level', 'levels/1/level'],
    },
    {
      name: 'high setpoints must rise',
      kind: 'high',
      override: {
        levels: [
          { level: 1, setpoint: 20 },
          { level: 2, setpoint: 20 },
        ],
      },
      paths: ['levels/1/setpoint'],
    },
    {
      name: 'low setpoints must fall',
      kind: 'low',
      override: {
        levels: [
          { level: 1, setpoint: 20 },
          { level: 2, setpoint: 30 },
        ],
      },
      paths: ['levels/1/setpoint'],
    },
    { name: 'not an object', kind: 'high', override: 'x', paths: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(
        overrideProblems(c.kind, c.override).map((p) => p.path),
        c.paths,
      );
    });
  }
});
