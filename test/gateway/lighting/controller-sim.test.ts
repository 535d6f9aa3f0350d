/**
 * The lighting controller against the real lamp-concentrator simulator on Modbus TCP, through a
 * real BusScheduler: a tick at sunset closes the contactors and the simulator then reports them
 * closed; the simulator's loop-trip and lamp-failure scenarios come back as derived conditions.
 * The simulator runs on a ManualClock so contactor delays and scenario timelines are stepped,
 * not slept; the bus and the controller run on real monotonic time.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { DevicePollResult } from '../../../gateway/bus/types.js';
import { LightingController } from '../../../gateway/lighting/controller.js';
import { sunTimes } from '../../../gateway/lighting/sun.js';
import type { DerivedCondition, LightingOutput } from '../../../gateway/lighting/types.js';
import { ManualClock } from '../../../simulators/index.js';
import { CONTACTOR_DELAY_MS } from '../../../simulators/scenarios/lamp-concentrator.js';
import { deviceConfig, startBusHarness, type BusHarness } from '../../helpers/bus-harness.js';
import { BEIJING, cst, lightingConfig, shippedProfile } from './helpers.js';

const DATE = '2025-06-20';
const sun = sunTimes(DATE, BEIJING.latitude, BEIJING.longitude);
if (sun.type !== 'normal') throw new Error('Beijing has a sunset');
const NOON = cst(`${DATE}T12:00`);
const AFTER_SUNSET = sun.sunsetUtcMs + 60_000;
const LOOPS = [1, 2, 3, 4];

const clock = new ManualClock();
let harness: BusHarness;
let controller: LightingController;

const reading = (r: DevicePollResult, key: string): unknown => r.readings.find((x) => x.key === key)?.value;

/** A poll of lc that started now or later (so it shows the simulator after the last clock step). */
function pollAfterNow(predicate: (r: DevicePollResult) => boolean = () => true): Promise<DevicePollResult> {
  const since = performance.now();
  return harness.nextPoll('lc', (r) => r.monotonicMs >= since && predicate(r), 5_000);
}

function tick(wallMs: number): LightingOutput {
  return controller.tick({ wallMs, monoMs: performance.now() });
}

function conditionOf(out: LightingOutput, alarmKey: string): DerivedCondition {
  const found = out.conditions.find((c) => c.rule.alarmKey === alarmKey);
  if (!found) assert.fail(`no condition ${alarmKey}`);
  return found;
}

const activeKeys = (out: LightingOutput): string[] =>
  out.conditions.filter((c) => c.active).map((c) => c.rule.alarmKey);

before(async () => {
  harness = await startBusHarness(
    {
      buses: [{ id: 'lan', kind: 'tcp', port: 0 }],
      devices: [{ bus: 'lan', unitId: 1, profile: 'lamp-concentrator/kerbtek-lc3200' }],
      clock,
    },
    [deviceConfig('lc', 1, 'kerbtek-lc3200', { pollIntervalMs: 50 })],
  );
  controller = new LightingController({
    // Settle 0.2 s: the simulator's contactors take 300 ms of its (stepped) clock.
    config: lightingConfig({
      verification: { settleS: 0.2, minLoopCurrentA: 0.1, minLampPowerW: 5, minSupplyV: 100 },
    }),
    devices: [{ id: 'lc', profile: shippedProfile('kerbtek-lc3200') }],
    writer: (deviceId, pointKey, value) => harness.bus.write(deviceId, pointKey, value),
    logger: pino({ level: 'silent' }),
    cabinetId: 'gw-sim',
  });
  harness.bus.onPoll((r) => controller.onPoll(r));
  controller.start();
});

after(async () => {
  await controller.stop();
  await harness.stop();
});

describe('LightingController on the simulated LC-3200 (Modbus TCP)', () => {
  it('at noon opens every contactor; the simulator reports the loops off', async () => {
    tick(NOON);
    await controller.idle();
    clock.advance(CONTACTOR_DELAY_MS + 100);
    const poll = await pollAfterNow();
    for (const n of LOOPS) {
      assert.equal(reading(poll, `loop_${n}_command`), false);
      assert.equal(reading(poll, `loop_${n}_state`), false, `loop ${n} feedback`);
    }
    assert.ok(Number(reading(poll, 'phase_a_current')) < 0.01, 'no current with the loops open');
    const out = tick(NOON);
    assert.deepEqual(
      out.actions.map((a) => `${a.target}:${String(a.value)}:${a.reason}:${a.ok}`),
      LOOPS.map((n) => `loop_${n}:false:astronomical:true`),
    );
  });

  it('a tick just after sunset closes every contactor; the simulator reports them on and current flowing', async () => {
    const first = tick(AFTER_SUNSET);
    assert.ok(first.desired.every((d) => d.state.on && d.state.reason === 'astronomical'));
    await controller.idle();
    clock.advance(CONTACTOR_DELAY_MS + 100);
    const poll = await pollAfterNow();
    for (const n of LOOPS) assert.equal(reading(poll, `loop_${n}_state`), true, `loop ${n} feedback`);
    for (const phase of ['a', 'b', 'c'])
      assert.ok(Number(reading(poll, `phase_${phase}_current`)) > 1, `phase ${phase} current`);
    assert.ok(Number(reading(poll, 'lamp_07.lamp_power')) > 100, 'lamp 7 lit at full level');
    const out = tick(AFTER_SUNSET);
    const switched = out.actions.filter((a) => a.action === 'switch' && a.target.startsWith('loop_'));
    assert.deepEqual(
      switched.map((a) => [a.target, a.value, a.ok]),
      LOOPS.map((n) => [`loop_${n}`, true, true]),
    );
    assert.ok(out.actions.every((a) => a.ok && a.reason === 'astronomical'));
  });

  it('with every loop and lamp as commanded there is no derived condition, and the lit rate is 100 %', async () => {
    // The 0.2 s settle time runs on the poll results' monotonic clock, from the ticks of the test
    // before (all earlier than now): wait for a poll taken after it has passed.
    const settled = performance.now() + 200;
    await harness.nextPoll('lc', (r) => r.monotonicMs >= settled, 5_000);
    const out = tick(AFTER_SUNSET);
    assert.deepEqual(activeKeys(out), []);
    assert.equal(conditionOf(out, 'lc:derived.switching_error.loop_2').active, false);
    const rates = out.rates.devices[0];
    assert.deepEqual([rates?.lampsLit, rates?.lampsShouldBeLit, rates?.litRatePct], [16, 16, 100]);
  });

  it('scenario loop-trip: loop 2 commanded on without feedback or current -> switching_error', async () => {
    harness.simulation.device('lan', 1).setScenario('loop-trip');
    clock.advance(6_000); // the breaker trips 5 s into the scenario
    const poll = await pollAfterNow();
    assert.equal(reading(poll, 'loop_2_command'), true);
    assert.equal(reading(poll, 'loop_2_state'), false);
    const out = tick(AFTER_SUNSET);
    const error = conditionOf(out, 'lc:derived.switching_error.loop_2');
    assert.deepEqual([error.active, error.level, error.value], [true, 1, false]);
    assert.equal(error.rule.kind, 'derived');
    assert.equal(error.rule.derivedKind, 'switching_error');
    // One alarm for the loop: its four dark lamps have no supply, so no lamp_failure each.
    assert.deepEqual(
      activeKeys(out).filter((k) => !k.includes('lit_rate')),
      ['lc:derived.switching_error.loop_2'],
    );
    // Four of sixteen lamps dark: 75 % < 98 % (main road).
    assert.equal(out.rates.devices[0]?.litRatePct, 75);
    assert.equal(conditionOf(out, 'lc:derived.lit_rate_low').active, true);
  });

  it('scenario lamp-failure: lamp 3 reports its failure bit (its profile alarm), no duplicate derived alarm; the loop recovers', async () => {
    harness.simulation.device('lan', 1).setScenario('lamp-failure');
    clock.advance(6_000);
    const poll = await pollAfterNow();
    assert.equal(reading(poll, 'loop_2_state'), true, 'breaker reset with the scenario');
    assert.equal(reading(poll, 'lamp_03.lamp_failure'), true);
    const out = tick(AFTER_SUNSET);
    // The controller reports the failure itself: the profile rule lamp_03.lamp_failure raises it,
    // so the derived check (dark without a report) stays quiet: one alarm per lamp.
    const failure = conditionOf(out, 'lc:derived.lamp_failure.lamp_03');
    assert.deepEqual([failure.active, failure.rule.child], [false, 'lamp_03']);
    assert.equal(conditionOf(out, 'lc:derived.switching_error.loop_2').active, false);
    assert.equal(conditionOf(out, 'lc:derived.lamp_failure.lamp_04').active, false);
    // 15 of 16 lit = 93.75 % < 98 %.
    assert.equal(out.rates.devices[0]?.litRatePct, 93.75);
  });

  it('a contactor switched off behind the controller\'s back is switched on again with reason "restore"', async () => {
    harness.simulation.device('lan', 1).setScenario('normal');
    harness.simulation.device('lan', 1).set('loop_1_command', false);
    await pollAfterNow((r) => reading(r, 'loop_1_command') === false);
    tick(AFTER_SUNSET);
    await controller.idle();
    const out = tick(AFTER_SUNSET);
    assert.deepEqual(
      out.actions.map((a) => [a.target, a.value, a.reason, a.ok]),
      [['loop_1', true, 'restore', true]],
    );
    const poll = await pollAfterNow();
    assert.equal(reading(poll, 'loop_1_command'), true);
  });
});
