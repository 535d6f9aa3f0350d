import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BASELINE_FAST_DOWN_SPEEDUP,
  BaselineTracker,
  channelCompensation,
  compensate,
  THERMAL_COEFFICIENTS,
} from '../../../gateway/strain/compensation.js';
import { strainConfig } from './synthetic.js';

function near(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

describe('compensate', () => {
  it('uses the docs/domain.md coefficients: 12.2 µε/°C steel, 10.4 µε/°C concrete', () => {
    assert.deepEqual(THERMAL_COEFFICIENTS, { steel: 12.2, concrete: 10.4 });
  });

  it('concrete, warmer than T0: 250 - 12 - 10.4 × (25 - 15) = 134 µε', () => {
    near(compensate(250, 25, { coefficient: 10.4, zeroOffset: 12, referenceTemperatureC: 15 }), 134);
  });

  it('steel, colder than T0: 100 - 0 - 12.2 × (5 - 20) = 283 µε', () => {
    near(compensate(100, 5, { coefficient: 12.2, zeroOffset: 0, referenceTemperatureC: 20 }), 283);
  });

  it('at T0 only the zero offset is removed: -35.5 - (-40) = 4.5 µε', () => {
    near(compensate(-35.5, 18.3, { coefficient: 10.4, zeroOffset: -40, referenceTemperatureC: 18.3 }), 4.5);
  });
});

describe('channelCompensation', () => {
  it('takes the coefficient from the material, T0 from the device, zero offset 0', () => {
    assert.deepEqual(channelCompensation(strainConfig({ material: 'steel' }), 'strain_1'), {
      coefficient: 12.2,
      zeroOffset: 0,
      referenceTemperatureC: 15,
    });
  });

  it("a channel's own values win over the device's", () => {
    const config = strainConfig({
      channels: { strain_2: { coefficient: 11.1, zeroOffset: -3.5, referenceTemperatureC: 12 } },
    });
    assert.deepEqual(channelCompensation(config, 'strain_2'), {
      coefficient: 11.1,
      zeroOffset: -3.5,
      referenceTemperatureC: 12,
    });
    assert.equal(channelCompensation(config, 'strain_1')?.coefficient, 10.4);
  });

  it('no material and no channel coefficient: null; no T0 anywhere: captured later (null)', () => {
    const config = strainConfig({ channels: { strain_1: { coefficient: 9 } } });
    delete config.material;
    delete config.referenceTemperatureC;
    assert.equal(channelCompensation(config, 'strain_2'), null);
    assert.deepEqual(channelCompensation(config, 'strain_1'), {
      coefficient: 9,
      zeroOffset: 0,
      referenceTemperatureC: null,
    });
  });
});

describe('BaselineTracker', () => {
  it('starts at the first value', () => {
    const b = new BaselineTracker(60, 10);
    assert.equal(b.value, null);
    b.update(7, 0);
    assert.equal(b.value, 7);
  });

  it('after one time constant it has moved 1 - 1/e (63.2%) of an upward step', () => {
    const b = new BaselineTracker(60, 10);
    b.update(0, 0);
    b.update(100, 60_000);
    near(b.value ?? NaN, 100 * (1 - Math.exp(-1)));
  });

  it('moves the same whatever the poll rate (exact discretisation)', () => {
    const fast = new BaselineTracker(60, 10);
    const slow = new BaselineTracker(60, 10);
    fast.update(0, 0);
    slow.update(0, 0);
    for (let t = 100; t <= 30_000; t += 100) fast.update(8, t);
    slow.update(8, 30_000);
    near(fast.value ?? NaN, slow.value ?? NaN, 1e-9);
    near(slow.value ?? NaN, 8 * (1 - Math.exp(-0.5)));
  });

  it('within the margin below it is symmetric; further below it comes down 10× faster', () => {
    const b = new BaselineTracker(60, 10);
    b.update(0, 0);
    b.update(-8, 60_000); // 8 µε below: within the 10 µε margin, normal speed
    near(b.value ?? NaN, -8 * (1 - Math.exp(-1)));
    const c = new BaselineTracker(60, 10);
    c.update(100, 0);
    c.update(0, 6_000); // 100 µε below: tau / 10 = 6 s, so one time constant
    assert.equal(BASELINE_FAST_DOWN_SPEEDUP, 10);
    near(c.value ?? NaN, 100 * Math.exp(-1));
  });

  it('reset takes the value at once', () => {
    const b = new BaselineTracker(60, 10);
    b.update(0, 0);
    b.reset(42, 1_000);
    assert.equal(b.value, 42);
    b.update(42, 2_000);
    assert.equal(b.value, 42);
  });
});
