import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PointValue } from '../../../gateway/bus/types.js';
import type { CommandState, DeviceSnapshot } from '../../../gateway/lighting/conditions.js';
import { computeRates, type RatesResult } from '../../../gateway/lighting/rates.js';
import type {
  LampTarget,
  LightingDevicePlan,
  LightingPlan,
  LoopTarget,
} from '../../../gateway/lighting/targets.js';
import type {
  DerivedCondition,
  DesiredState,
  RatesConfig,
  RoadClass,
} from '../../../gateway/lighting/types.js';

/** A hand-made plan: `lamps` single-lamp controllers on one loop, per device. */
function plan(
  devices: Array<{ id: string; lamps: number; roadClass?: RoadClass; maintenance?: number[] }>,
): LightingPlan {
  const targets = new Map<string, LoopTarget | LampTarget>();
  const planned = devices.map(({ id, lamps, roadClass, maintenance = [] }): LightingDevicePlan => {
    const loop: LoopTarget = {
      kind: 'loop',
      id: `${id}:loop_1`,
      deviceId: id,
      name: 'loop_1',
      commandPoint: 'loop_1_command',
      statePoint: 'loop_1_state',
      phase: 'a',
      currentPoint: 'phase_a_current',
      lamps: [],
    };
    const lampTargets = Array.from({ length: lamps }, (_, i): LampTarget => {
      const name = `lamp_${String(i + 1).padStart(2, '0')}`;
      return {
        kind: 'lamp',
        id: `${id}:${name}`,
        deviceId: id,
        name,
        loop: loop.id,
        switchPoint: `${name}.lamp_switch`,
        dimPoint: `${name}.dim_level`,
        powerPoint: `${name}.lamp_power`,
        voltagePoint: `${name}.lamp_voltage`,
        failurePoint: `${name}.lamp_failure`,
        commPoint: `${name}.comm_status`,
        maintenance: maintenance.includes(i + 1),
      };
    });
    loop.lamps = lampTargets.map((l) => l.id);
    for (const t of [loop, ...lampTargets]) targets.set(t.id, t);
    return { deviceId: id, roadClass: roadClass ?? 'main', loops: [loop], lamps: lampTargets };
  });
  return { devices: planned, targets };
}

const CONFIG: RatesConfig = {
  litRateMinPct: { main: 98, secondary: 96 },
  onlineRateMinPct: { concentrators: 95, controllers: 95 },
  windowS: 300,
};
const VERIFY = { settleS: 30, minLoopCurrentA: 0.1, minLampPowerW: 5, minSupplyV: 100 };
const NOW = 1_000_000; // ms, monotonic; the lamps went on at 0, the gateway started at 0

interface Scene {
  plan: LightingPlan;
  /** Lamp number -> power W (default 150). */
  power?: Record<string, Record<number, number>>;
  /** Lamp numbers unreachable (comm_status 0, never heard). */
  offline?: Record<string, number[]>;
  on?: boolean;
  loopOn?: boolean;
  /** Device ids whose concentrator was last heard long ago. */
  silent?: string[];
  startedMonoMs?: number;
  previous?: DerivedCondition[];
}

function run(scene: Scene): RatesResult {
  const on = scene.on ?? true;
  const desired = new Map<string, DesiredState>();
  for (const id of scene.plan.targets.keys()) {
    desired.set(id, {
      on,
      dimLevel: on ? 100 : 0,
      reason: 'astronomical',
      dimReason: 'astronomical',
      detail: '',
    });
  }
  const onSince = new Map(on ? [...scene.plan.targets.keys()].map((id) => [id, 0]) : []);
  const snapshots = new Map<string, DeviceSnapshot>();
  for (const device of scene.plan.devices) {
    const values = new Map<string, { value: PointValue; monoMs: number }>();
    const heardAt = scene.silent?.includes(device.deviceId) ? 1_000 : NOW - 2_000;
    device.lamps.forEach((lamp, i) => {
      const offline = scene.offline?.[device.deviceId]?.includes(i + 1) ?? false;
      const power = offline ? 0 : (scene.power?.[device.deviceId]?.[i + 1] ?? (on ? 150 : 0));
      values.set(`${lamp.name}.lamp_power`, { value: power, monoMs: heardAt });
      values.set(`${lamp.name}.comm_status`, { value: !offline, monoMs: heardAt });
    });
    snapshots.set(device.deviceId, { values, lastHeardMonoMs: heardAt });
  }
  return computeRates(
    {
      plan: scene.plan,
      config: CONFIG,
      verification: VERIFY,
      desired,
      desiredOnSinceMonoMs: onSince,
      commanded: (_d, key): CommandState | undefined =>
        key.startsWith('loop_') ? { value: scene.loopOn ?? on, sinceMonoMs: 0 } : undefined,
      snapshot: (id) => snapshots.get(id),
      lastCommOkMonoMs: (lampId) => {
        const [device = '', name = ''] = lampId.split(':');
        const n = Number(name.slice(5));
        if (scene.offline?.[device]?.includes(n)) return undefined;
        return snapshots.get(device)?.lastHeardMonoMs ?? undefined;
      },
      nowMonoMs: NOW,
      startedMonoMs: scene.startedMonoMs ?? 0,
      cabinetId: 'gw-1',
    },
    new Map((scene.previous ?? []).map((c) => [c.rule.alarmKey, c])),
  );
}

function condition(result: RatesResult, key: string): DerivedCondition {
  const found = result.conditions.find((c) => c.rule.alarmKey === key);
  if (!found) assert.fail(`no condition ${key}`);
  return found;
}

describe('lit-lamp rate (docs/domain.md: lit / should be lit, excluding planned maintenance)', () => {
  it('16 lamps, lamp 16 in maintenance, lamps 3 and 7 dark, lamp 9 unreachable: 12 / 15 = 80 %', () => {
    const result = run({
      plan: plan([{ id: 'lc', lamps: 16, maintenance: [16] }]),
      power: { lc: { 3: 0, 7: 0.3 } },
      offline: { lc: [9] },
    });
    const rates = result.report.devices[0];
    assert.deepEqual([rates?.lampsLit, rates?.lampsShouldBeLit, rates?.litRatePct], [12, 15, 80]);
    const c = condition(result, 'lc:derived.lit_rate_low');
    assert.deepEqual([c.active, c.value, c.rule.levels[0]?.setpoint], [true, 80, 98]);
    assert.equal(c.rule.derivedKind, 'lit_rate_low');
  });

  it('exactly at the threshold is not below it: 49 / 50 = 98 % on a main road', () => {
    const result = run({ plan: plan([{ id: 'lc', lamps: 50 }]), power: { lc: { 50: 0 } } });
    assert.equal(result.report.devices[0]?.litRatePct, 98);
    assert.equal(condition(result, 'lc:derived.lit_rate_low').active, false);
  });

  it('48 / 50 = 96 % alarms on a main road (98 %) but not on a secondary road (96 %)', () => {
    const dark = { 49: 0, 50: 0 };
    const main = run({ plan: plan([{ id: 'lc', lamps: 50 }]), power: { lc: dark } });
    assert.equal(condition(main, 'lc:derived.lit_rate_low').active, true);
    const secondary = run({
      plan: plan([{ id: 'lc', lamps: 50, roadClass: 'secondary' }]),
      power: { lc: dark },
    });
    assert.equal(condition(secondary, 'lc:derived.lit_rate_low').active, false);
    assert.equal(condition(secondary, 'lc:derived.lit_rate_low').rule.levels[0]?.setpoint, 96);
  });

  it('in daylight no lamp should be lit: no rate, and the condition keeps its state', () => {
    const night = run({ plan: plan([{ id: 'lc', lamps: 16 }]), power: { lc: { 1: 0 } } });
    assert.equal(condition(night, 'lc:derived.lit_rate_low').active, true);
    const day = run({ plan: plan([{ id: 'lc', lamps: 16 }]), on: false, previous: night.conditions });
    assert.equal(day.report.devices[0]?.litRatePct, null);
    assert.equal(condition(day, 'lc:derived.lit_rate_low').active, true);
  });
});

describe('online rates (docs/domain.md: heard in the window / registered, concentrators and controllers apart)', () => {
  it('controllers: 15 registered (one in maintenance), 14 heard = 93.3 % < 95 %', () => {
    const result = run({ plan: plan([{ id: 'lc', lamps: 16, maintenance: [16] }]), offline: { lc: [4] } });
    const rates = result.report.devices[0];
    assert.deepEqual([rates?.controllersHeard, rates?.controllersRegistered], [14, 15]);
    const c = condition(result, 'lc:derived.online_rate_low.controllers');
    assert.equal(c.active, true);
    assert.ok(Math.abs(Number(c.value) - 93.33) < 0.01);
  });

  it('controllers on a loop commanded off are unpowered by design and not counted', () => {
    const result = run({
      plan: plan([{ id: 'lc', lamps: 16 }]),
      on: false,
      loopOn: false,
      offline: { lc: [1, 2, 3] },
    });
    assert.equal(result.report.devices[0]?.controllersRegistered, 0);
    assert.equal(condition(result, 'lc:derived.online_rate_low.controllers').active, false);
  });

  it('nothing is judged before one window has passed since start', () => {
    const result = run({
      plan: plan([{ id: 'lc', lamps: 16 }]),
      offline: { lc: [1, 2, 3] },
      startedMonoMs: NOW - 60_000,
    });
    assert.equal(condition(result, 'lc:derived.online_rate_low.controllers').active, false);
    assert.equal(result.report.concentratorsOnlinePct, null);
  });

  it('a silent concentrator: its controllers are not judged (its comm_loss alarm covers them)', () => {
    const result = run({ plan: plan([{ id: 'lc', lamps: 16 }]), silent: ['lc'] });
    assert.equal(result.report.devices[0]?.controllersOnlinePct, null);
    assert.equal(condition(result, 'lc:derived.online_rate_low.controllers').active, false);
  });

  it('concentrators: 2 registered, 1 heard in the window = 50 % < 95 %, on the cabinet id', () => {
    const result = run({
      plan: plan([
        { id: 'lc1', lamps: 4 },
        { id: 'lc2', lamps: 4 },
      ]),
      silent: ['lc2'],
    });
    assert.deepEqual(
      [
        result.report.concentratorsHeard,
        result.report.concentratorsRegistered,
        result.report.concentratorsOnlinePct,
      ],
      [1, 2, 50],
    );
    const c = condition(result, 'gw-1:derived.online_rate_low.concentrators');
    assert.deepEqual(
      [c.active, c.rule.suppressedByDesign, c.rule.derivedKind],
      [true, false, 'online_rate_low'],
    );
  });

  it('with a single concentrator the rate repeats its comm_loss alarm: suppressed by design', () => {
    const result = run({ plan: plan([{ id: 'lc', lamps: 4 }]), silent: ['lc'] });
    const c = condition(result, 'gw-1:derived.online_rate_low.concentrators');
    assert.deepEqual([c.active, c.rule.suppressedByDesign], [true, true]);
  });
});
