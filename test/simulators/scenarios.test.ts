/**
 * Scenario behaviour on a manual clock: the timelines documented in simulators/scenarios/ happen,
 * with the docs/domain.md thresholds crossed in the right order. No sleeping: time is stepped.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatorError } from '../../simulators/errors.js';
import { formatPlan, parsePlan } from '../../simulators/scenarios/index.js';
import { H2S_PPM_PER_MG_M3 } from '../../simulators/scenarios/units.js';
import { BRIDGE, COVER, GAS, LAMPS, makeDevice, profile, run } from './helpers.js';

function isSimError(code: string): (e: unknown) => boolean {
  return (e) => e instanceof SimulatorError && e.code === code;
}

/** Index of the first sample satisfying pred, or -1. */
function firstIndex<T>(values: T[], pred: (v: T) => boolean, from = 0): number {
  for (let i = from; i < values.length; i++) if (pred(values[i] as T)) return i;
  return -1;
}

describe('normal', () => {
  it('every measured numeric point moves, and stays near its nominal value', () => {
    const { device, clock } = makeDevice(GAS);
    const samples = run(device, clock, 600_000, 10_000, () => ({
      h2s: device.num('h2s'),
      o2: device.num('o2'),
      t: device.num('temperature'),
    }));
    const distinct = (key: 'h2s' | 'o2' | 't'): number => new Set(samples.map((s) => s[key])).size;
    assert.ok(distinct('h2s') > 10 && distinct('o2') > 10, 'values drift with noise');
    for (const s of samples) {
      assert.ok(s.h2s >= 0 && s.h2s < 2, `h2s ${s.h2s}`);
      assert.ok(s.o2 > 20 && s.o2 < 21.8, `o2 ${s.o2}`);
    }
  });

  it('is repeatable for the same seed', () => {
    const a = makeDevice(BRIDGE, 'bridge-traffic', { seed: 7 });
    const b = makeDevice(BRIDGE, 'bridge-traffic', { seed: 7 });
    const sa = run(a.device, a.clock, 30_000, 250, () => a.device.num('strain_2'));
    const sb = run(b.device, b.clock, 30_000, 250, () => b.device.num('strain_2'));
    assert.deepEqual(sa, sb);
  });
});

describe('gas-leak', () => {
  it('H2S crosses 10 then 20 mg/m3 and returns below 10; CH4 passes 50 %LEL; O2 dips below 19.5', () => {
    const { device, clock } = makeDevice(GAS, 'gas-leak');
    const s = run(device, clock, 200_000, 500, (t) => ({
      t,
      h2s: device.num('h2s'),
      ppm: device.num('h2s_ppm'),
      ch4: device.num('ch4'),
      o2: device.num('o2'),
    }));
    const over10 = firstIndex(s, (v) => v.h2s >= 10);
    const over20 = firstIndex(s, (v) => v.h2s >= 20);
    const back = firstIndex(s, (v) => v.h2s < 10, over20);
    assert.ok(over10 > 0 && over20 > over10 && back > over20, `crossings at ${over10}, ${over20}, ${back}`);
    assert.ok((s[over10]?.t ?? 0) > 10_000, 'nothing happens in the first 10 s');
    assert.ok(
      s.slice(back).every((v) => v.h2s < 10),
      'stays below level 1 once back',
    );
    assert.ok(
      s.filter((v) => v.t >= 165_000).every((v) => v.h2s < 2),
      'back to the baseline after the timeline',
    );
    assert.ok(s.some((v) => v.ch4 > 50) && s.some((v) => v.o2 < 19.5));
    for (const v of s)
      assert.ok(Math.abs(v.ppm - v.h2s * H2S_PPM_PER_MG_M3) <= 0.1, 'the ppm register follows the mg/m3 one');
  });
});

describe('manhole cover', () => {
  it('vehicle-bump tilts above 10 degrees for about 1 s, once, then settles', () => {
    const { device, clock } = makeDevice(COVER, 'vehicle-bump');
    const s = run(device, clock, 12_000, 10, (t) => ({
      t,
      tilt: device.num('tilt_angle'),
      open: device.get('cover_open'),
    }));
    const above = s.filter((v) => v.tilt > 10);
    const durationMs = above.length * 10;
    assert.ok(durationMs >= 900 && durationMs <= 1100, `above 10 degrees for ${durationMs} ms`);
    const first = above[0]?.t ?? 0;
    const last = above[above.length - 1]?.t ?? 0;
    assert.ok(last - first <= 1100, 'one contiguous bump');
    assert.ok(first >= 5000 && last < 6500);
    assert.ok(
      s.every((v) => v.open === false),
      'a bump is not an opened cover',
    );
  });

  it('cover-open tilts beyond 90 degrees with the cover_open flag, then closes again', () => {
    const { device, clock } = makeDevice(COVER, 'cover-open');
    const s = run(device, clock, 140_000, 1000, (t) => ({
      t,
      tilt: device.num('tilt_angle'),
      open: device.get('cover_open'),
    }));
    const at = (t: number): { tilt: number; open: boolean | number } =>
      s.find((v) => v.t === t) ?? { tilt: NaN, open: false };
    assert.ok(at(3000).tilt < 5 && at(3000).open === false);
    assert.ok(at(30_000).tilt > 90 && at(30_000).open === true);
    assert.ok(at(135_000).tilt < 5 && at(135_000).open === false);
  });
});

describe('bridge-traffic', () => {
  it("an overweight truck's peak is far above every normal vehicle's", () => {
    const { device, clock } = makeDevice(BRIDGE, 'bridge-traffic:firstOverweightS=20:overweightEveryS=60');
    const channels = device.allPoints().filter((p) => /^strain_\d+$/.test(p.id));
    assert.equal(channels.length, 8);
    const base = run(device, clock, 0, 50, () => channels.map((c) => device.num(c.key)))[0] ?? [];
    const s = run(device, clock, 110_000, 50, (t) => ({
      t,
      traffic: Math.max(...channels.map((c, i) => device.num(c.key) - (base[i] ?? 0))),
      strongest: Math.max(...channels.map((c) => Math.abs(device.num(c.key)))),
      peakRegister: device.num('peak_strain'),
    }));
    const overweight = (t: number): boolean => (t >= 20_000 && t <= 27_000) || (t >= 80_000 && t <= 87_000);
    const heavy = Math.max(...s.filter((v) => overweight(v.t)).map((v) => v.traffic));
    const normal = Math.max(...s.filter((v) => !overweight(v.t)).map((v) => v.traffic));
    assert.ok(normal > 20, `normal traffic makes strain pulses (${normal.toFixed(1)} µε)`);
    assert.ok(heavy > 250, `overweight peak ${heavy.toFixed(1)} µε`);
    assert.ok(heavy > 1.8 * normal, `overweight ${heavy.toFixed(1)} vs normal ${normal.toFixed(1)} µε`);
    const strongest = Math.max(...s.map((v) => v.strongest));
    assert.ok(
      Math.abs(Math.max(...s.map((v) => v.peakRegister)) - strongest) < 0.2,
      'peak_strain holds the largest strain',
    );
  });

  it('baseline strain follows temperature at 10.4 µε/°C', () => {
    const { device, clock } = makeDevice(BRIDGE);
    device.hold('temperature_3', 25);
    run(device, clock, 1000, 50, () => 0);
    const warm = device.num('strain_3');
    device.hold('temperature_3', 15);
    run(device, clock, 1000, 50, () => 0);
    const cold = device.num('strain_3');
    assert.ok(Math.abs(warm - cold - 104) < 5, `10 °C makes ${warm - cold} µε`);
  });
});

describe('lamp concentrator', () => {
  it('lamp-failure: the lamp draws nothing and flags lamp_failure only while commanded on', () => {
    const { device, clock } = makeDevice(LAMPS, 'lamp-failure:lamp=lamp_07');
    run(device, clock, 6000, 1000, () => 0);
    assert.equal(device.num('lamp_07.lamp_power'), 0);
    assert.equal(device.get('lamp_07.lamp_failure'), true);
    assert.ok(device.num('lamp_06.lamp_power') > 140);
    assert.equal(device.get('lamp_06.lamp_failure'), false);
    device.set('lamp_07.lamp_switch', false);
    run(device, clock, 1000, 1000, () => 0);
    assert.equal(device.get('lamp_07.lamp_failure'), false, 'a lamp commanded off is not failed');
  });

  it("loop-trip: feedback drops though commanded on, and that loop's current goes to 0", () => {
    const { device, clock } = makeDevice(LAMPS, 'loop-trip');
    const before = device.num('phase_b_current');
    assert.ok(before > 2);
    run(device, clock, 6000, 1000, () => 0);
    assert.equal(device.get('loop_2_command'), true);
    assert.equal(device.get('loop_2_state'), false);
    assert.equal(device.num('phase_b_current'), 0, 'loop 2 is alone on phase B');
    assert.equal(device.num('lamp_05.lamp_power'), 0);
    assert.equal(device.get('loop_1_state'), true);
  });

  it('cable-theft: a voltage sag and leakage spike, then no current and the loop’s lamps offline', () => {
    const { device, clock } = makeDevice(LAMPS, 'cable-theft');
    run(device, clock, 6500, 500, () => 0);
    assert.ok(device.num('phase_c_voltage') < 200, `sag: ${device.num('phase_c_voltage')} V`);
    assert.ok(device.num('leakage_current') > 30);
    run(device, clock, 4000, 500, () => 0);
    assert.equal(device.get('loop_3_state'), true, 'the contactor is still closed');
    assert.equal(device.num('phase_c_current'), 0);
    for (const n of ['09', '10', '11', '12'])
      assert.equal(device.get(`lamp_${n}.comm_status`), false, `lamp_${n} offline`);
    assert.equal(device.get('lamp_08.comm_status'), true);
    assert.ok(device.num('leakage_current') < 10);
  });
});

describe('plans', () => {
  it('parses and prints sequences, combinations, options and loops', () => {
    const text = 'normal@30,lamp-failure:lamp=lamp_05+loop-trip:loop=2@120,loop';
    const plan = parsePlan(text);
    assert.equal(plan.loop, true);
    assert.equal(plan.steps.length, 2);
    assert.deepEqual(plan.steps[1]?.scenarios[0], { name: 'lamp-failure', options: { lamp: 'lamp_05' } });
    assert.deepEqual(plan.steps[1]?.scenarios[1], { name: 'loop-trip', options: { loop: 2 } });
    assert.equal(formatPlan(plan), text);
    assert.throws(() => parsePlan('gas-leak@-1'), isSimError('SIM_CONFIG_INVALID'));
    assert.throws(() => parsePlan(''), isSimError('SIM_CONFIG_INVALID'));
  });

  it('runs a sequence: the leak starts after the normal step, and loops', () => {
    const { device, clock } = makeDevice(GAS, 'normal@20,gas-leak,loop');
    const s = run(device, clock, 400_000, 1000, (t) => ({ t, h2s: device.num('h2s') }));
    const first = s.find((v) => v.h2s >= 10)?.t ?? 0;
    assert.ok(first > 30_000 && first < 60_000, `first crossing at ${first} ms`);
    const second = s.find((v) => v.t > 200_000 && v.h2s >= 10)?.t ?? 0;
    assert.ok(
      second - first > 170_000 && second - first < 190_000,
      `it repeats every 180 s (${second - first} ms)`,
    );
  });

  it('rejects unknown scenarios, unknown options, endless middle steps and missing points', () => {
    const { device } = makeDevice(GAS);
    assert.throws(() => device.setScenario('cover-open'), isSimError('SIM_SCENARIO_UNKNOWN'));
    assert.throws(() => device.setScenario('gas-leak:speed=2'), isSimError('SIM_CONFIG_INVALID'));
    assert.throws(() => device.setScenario('normal,gas-leak'), isSimError('SIM_CONFIG_INVALID'));
    const base = profile(GAS);
    const noH2s = { ...base, points: base.points.filter((p) => p.id !== 'h2s' && p.id !== 'h2s_ppm') };
    assert.throws(() => makeDevice(noH2s, 'gas-leak'), isSimError('SIM_POINT_MISSING'));
    const lamps = makeDevice(LAMPS).device;
    assert.throws(() => lamps.setScenario('loop-trip:loop=9'), isSimError('SIM_CONFIG_INVALID'));
  });
});
