import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PointValue } from '../../../gateway/bus/types.js';
import type { CommandState, DeviceSnapshot } from '../../../gateway/lighting/conditions.js';
import { localCalendar } from '../../../gateway/lighting/local-time.js';
import { desiredState } from '../../../gateway/lighting/schedule.js';
import { buildPlan } from '../../../gateway/lighting/targets.js';
import type { DerivedCondition, LightingConfig } from '../../../gateway/lighting/types.js';
import { verify } from '../../../gateway/lighting/verification.js';
import { cst, lightingConfig, shippedProfile } from './helpers.js';

const profiles = new Map([['lc', shippedProfile('kerbtek-lc3200')]]);
const NIGHT = cst('2025-06-20T22:00');
const DAY = cst('2025-06-20T12:00');
/** Commands were given at t = 0; settle is 30 s; readings at t = 60 s are fresh. */
const CMD_AT = 0;
const READ_AT = 60_000;

interface Scene {
  config?: LightingConfig;
  wallMs?: number;
  /** Values the device holds for writable points (commanded at CMD_AT). */
  commanded?: Record<string, PointValue>;
  /** Readings of the last poll (at READ_AT unless readAt says otherwise). */
  readings?: Record<string, PointValue>;
  readAt?: number;
  previous?: DerivedCondition[];
}

/** A night at the cabinet: every loop and lamp commanded on at full level, all healthy, then `scene` on top. */
function run(scene: Scene): Map<string, DerivedCondition> {
  const config = scene.config ?? lightingConfig();
  const plan = buildPlan(config, profiles);
  const wallMs = scene.wallMs ?? NIGHT;
  const desired = desiredState(
    config,
    plan,
    { wallMs, monoMs: READ_AT },
    localCalendar(wallMs, config.timezone),
  );
  const on = wallMs === NIGHT;
  const commanded: Record<string, PointValue> = {};
  const readings: Record<string, PointValue> = {
    phase_a_current: on ? 5.4 : 0,
    phase_b_current: on ? 2.7 : 0,
    phase_c_current: on ? 2.7 : 0,
  };
  for (const n of [1, 2, 3, 4]) {
    commanded[`loop_${n}_command`] = on;
    readings[`loop_${n}_state`] = on;
  }
  for (let i = 1; i <= 16; i++) {
    const lamp = `lamp_${String(i).padStart(2, '0')}`;
    commanded[`${lamp}.lamp_switch`] = true;
    commanded[`${lamp}.dim_level`] = 100;
    Object.assign(readings, {
      [`${lamp}.lamp_voltage`]: on ? 226 : 0,
      [`${lamp}.lamp_power`]: on ? 150 : 0,
      [`${lamp}.lamp_failure`]: false,
      [`${lamp}.comm_status`]: true,
    });
  }
  Object.assign(commanded, scene.commanded);
  Object.assign(readings, scene.readings);
  const readAt = scene.readAt ?? READ_AT;
  const snapshot: DeviceSnapshot = {
    values: new Map(Object.entries(readings).map(([key, value]) => [key, { value, monoMs: readAt }])),
    lastHeardMonoMs: readAt,
  };
  const desiredOnSince = new Map([...desired].filter(([, s]) => s.on).map(([id]) => [id, CMD_AT]));
  const result = verify(
    {
      plan,
      config: config.verification,
      desired,
      desiredOnSinceMonoMs: desiredOnSince,
      commanded: (_device, key): CommandState | undefined => {
        const value = commanded[key];
        return value === undefined ? undefined : { value, sinceMonoMs: CMD_AT };
      },
      snapshot: () => snapshot,
    },
    new Map((scene.previous ?? []).map((c) => [c.rule.alarmKey, c])),
  );
  return new Map(result.map((c) => [c.rule.alarmKey, c]));
}

function get(map: Map<string, DerivedCondition>, key: string): DerivedCondition {
  const found = map.get(key);
  if (!found) assert.fail(`no condition ${key}; have ${[...map.keys()].join(', ')}`);
  return found;
}

const active = (map: Map<string, DerivedCondition>): string[] =>
  [...map.values()].filter((c) => c.active).map((c) => c.rule.alarmKey);

describe('verify: loops (TALQ switchingErrorOn / switchingErrorOff)', () => {
  it('a healthy night raises nothing', () => {
    assert.deepEqual(active(run({})), []);
  });

  it('one rule per loop and direction, one per lamp, keyed `${device}:derived.<kind>.<target>`', () => {
    const map = run({});
    assert.equal(map.size, 4 * 2 + 16);
    const rule = get(map, 'lc:derived.switching_error.loop_2').rule;
    assert.deepEqual(
      [rule.deviceId, rule.ruleKey, rule.kind, rule.derivedKind, rule.priority],
      ['lc', 'derived.switching_error.loop_2', 'derived', 'switching_error', 'high'],
    );
    assert.match(rule.source, /docs\/domain\.md/);
    assert.equal(get(map, 'lc:derived.switching_error_off.loop_2').rule.derivedKind, 'switching_error');
  });

  it('commanded on, feedback off -> switching_error', () => {
    const map = run({ readings: { loop_2_state: false, phase_b_current: 0 } });
    assert.deepEqual(active(map), ['lc:derived.switching_error.loop_2']);
    assert.equal(get(map, 'lc:derived.switching_error.loop_2').value, false);
  });

  it('commanded on, feedback on, but no current on its own phase -> switching_error (cut cable)', () => {
    const map = run({ readings: { phase_b_current: 0.004 } });
    assert.deepEqual(active(map), ['lc:derived.switching_error.loop_2']);
    assert.equal(get(map, 'lc:derived.switching_error.loop_2').value, 0.004);
  });

  it('a phase shared with a lit loop cannot tell: loop 1 with current from loop 4 is fine', () => {
    // Both loop 1 and loop 4 are on phase a; current flows, so neither is judged dark by current.
    const map = run({ readings: { phase_a_current: 2.7 } });
    assert.deepEqual(active(map), []);
  });

  it('no current expected when every lamp on the loop is switched off: no error', () => {
    const off = Object.fromEntries(['05', '06', '07', '08'].map((n) => [`lamp_${n}.lamp_switch`, false]));
    const map = run({ commanded: off, readings: { phase_b_current: 0.01 } });
    assert.equal(get(map, 'lc:derived.switching_error.loop_2').active, false);
  });

  it('commanded off, feedback on -> switching_error_off', () => {
    const map = run({ commanded: { loop_3_command: false } });
    assert.ok(active(map).includes('lc:derived.switching_error_off.loop_3'));
    assert.equal(get(map, 'lc:derived.switching_error.loop_3').active, false);
  });

  it('commanded off, feedback off, but current on a phase whose loops are all off -> switching_error_off', () => {
    const map = run({
      commanded: { loop_3_command: false },
      readings: { loop_3_state: false, phase_c_current: 2.7 },
    });
    assert.deepEqual(
      active(map).filter((k) => k.includes('loop')),
      ['lc:derived.switching_error_off.loop_3'],
    );
  });

  it('readings from before the settle time are not judged: the previous state holds', () => {
    const stale = { loop_2_state: false };
    const fresh = run({ readings: stale, readAt: 10_000 });
    assert.equal(get(fresh, 'lc:derived.switching_error.loop_2').active, false, 'no previous: inactive');
    const previous = run({ readings: stale });
    const held = run({ readings: stale, readAt: 10_000, previous: [...previous.values()] });
    assert.equal(get(held, 'lc:derived.switching_error.loop_2').active, true, 'previous active holds');
  });
});

describe('verify: lamps (TALQ lampFailure)', () => {
  it('switched on at 100 %, supply present, no power -> lamp_failure', () => {
    const map = run({ readings: { 'lamp_07.lamp_power': 0.4 } });
    assert.deepEqual(active(map), ['lc:derived.lamp_failure.lamp_07']);
    const c = get(map, 'lc:derived.lamp_failure.lamp_07');
    assert.deepEqual([c.value, c.rule.child, c.rule.derivedKind], [0.4, 'lamp_07', 'lamp_failure']);
  });

  it("the controller's own failure bit is its profile alarm's job: the derived check stays quiet", () => {
    // One alarm per failed lamp: the template rule lamp_failure watches the bit.
    assert.deepEqual(active(run({ readings: { 'lamp_07.lamp_failure': true } })), []);
    assert.deepEqual(
      active(run({ readings: { 'lamp_07.lamp_failure': true, 'lamp_07.lamp_power': 0 } })),
      [],
    );
  });

  it("no supply at the lamp is its loop's fault, not a lamp failure", () => {
    const map = run({ readings: { 'lamp_07.lamp_voltage': 0, 'lamp_07.lamp_power': 0 } });
    assert.deepEqual(active(map), []);
  });

  it('an unreachable controller (comm_status 0) is not judged', () => {
    const map = run({ readings: { 'lamp_07.comm_status': false, 'lamp_07.lamp_power': 0 } });
    assert.deepEqual(active(map), []);
  });

  it('a lamp dimmed to 0 % is not expected to draw', () => {
    const map = run({ commanded: { 'lamp_07.dim_level': 0 }, readings: { 'lamp_07.lamp_power': 0 } });
    assert.equal(get(map, 'lc:derived.lamp_failure.lamp_07').active, false);
  });

  it('a lamp in planned maintenance gets no check', () => {
    const map = run({
      config: lightingConfig({ maintenance: ['lc:lamp_07'] }),
      readings: { 'lamp_07.lamp_power': 0 },
    });
    assert.equal(map.has('lc:derived.lamp_failure.lamp_07'), false);
  });

  it('outside the scheduled-on period a failed lamp stays failed (nothing to judge it by)', () => {
    const night = run({ readings: { 'lamp_07.lamp_power': 0 } });
    const day = run({ wallMs: DAY, previous: [...night.values()] });
    assert.equal(get(day, 'lc:derived.lamp_failure.lamp_07').active, true);
    assert.equal(get(day, 'lc:derived.lamp_failure.lamp_08').active, false);
  });
});
