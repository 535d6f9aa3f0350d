import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DevicePollResult, PointValue } from '../../../gateway/bus/types.js';
import { deadbandFor } from '../../../gateway/telemetry/deadband.js';
import { TelemetryReporter } from '../../../gateway/telemetry/reporter.js';
import { loadProfileDirectory } from '../../../gateway/profiles/loader.js';
import { validateEventBody } from '../../../cloud-sync/contract/validate.js';

const profiles = loadProfileDirectory().profiles;
const gasProfile = profiles.get('anqi-gd300');
if (!gasProfile) throw new Error('gas profile missing');

function poll(values: Record<string, PointValue>, monoMs: number): DevicePollResult {
  return {
    busId: 'b',
    deviceId: 'gas',
    wallTimeMs: 1_700_000_000_000 + monoMs,
    monotonicMs: monoMs,
    quality: 'good',
    readings: Object.entries(values).map(([key, value]) => ({ key, value })),
    errors: [],
  };
}
const at = (monoMs: number): { monoMs: number; wallMs: number } => ({
  monoMs,
  wallMs: 1_700_000_000_000 + monoMs,
});

describe('telemetry reporter', () => {
  it('reports everything first, then only points that moved beyond their deadband', () => {
    const reporter = new TelemetryReporter({
      profiles: new Map([['gas', gasProfile]]),
      deadbands: { gas: { h2s: 0.5 } },
    });
    const first = reporter.onPoll(poll({ h2s: 1.0, o2: 20.9, h2s_sensor_fault: false }, 0), at(0));
    assert.deepEqual(first[0]?.values, { h2s: 1.0, o2: 20.9, h2s_sensor_fault: false });
    // h2s moves 0.4 (< 0.5 deadband), o2 moves 0.1 (< 1 % of 20.9 = 0.209): nothing to report.
    assert.deepEqual(
      reporter.onPoll(poll({ h2s: 1.4, o2: 20.8, h2s_sensor_fault: false }, 500), at(500)),
      [],
    );
    // h2s 1.6 is 0.6 from the last REPORTED 1.0; the fault bit flips.
    const third = reporter.onPoll(poll({ h2s: 1.6, o2: 20.8, h2s_sensor_fault: true }, 1000), at(1000));
    assert.deepEqual(third[0]?.values, { h2s: 1.6, h2s_sensor_fault: true });
  });

  it('aggregates numeric points per period by the monotonic clock', () => {
    const reporter = new TelemetryReporter({
      profiles: new Map([['gas', gasProfile]]),
      aggregatePeriodMs: 60_000,
    });
    for (const [t, v] of [
      [0, 2],
      [20_000, 4],
      [40_000, 9],
    ] as const) {
      reporter.onPoll(poll({ h2s: v, h2s_sensor_fault: false }, t), at(t));
    }
    assert.deepEqual(reporter.tick(at(59_999)), []);
    const [aggregate] = reporter.tick(at(60_000));
    assert.deepEqual(aggregate?.points.h2s, { min: 2, max: 9, mean: 5, count: 3 });
    assert.equal(aggregate?.points.h2s_sensor_fault, undefined, 'booleans are not aggregated');
    // The next period starts where the last ended, not at the tick.
    reporter.onPoll(poll({ h2s: 1 }, 70_000), at(70_000));
    assert.deepEqual(reporter.tick(at(119_000)), []);
    assert.equal(reporter.tick(at(120_000))[0]?.points.h2s?.count, 1);
  });

  it('a fractional monotonic clock gives whole-millisecond period starts the contract accepts', () => {
    // performance.now() is fractional; periodStartMs once carried 1796658000000.0002 and the
    // cloud refused the batch (issue 9). Every period start must be a whole millisecond.
    const reporter = new TelemetryReporter({ profiles: new Map([['gas', gasProfile]]) });
    const fractional = (monoMs: number): { monoMs: number; wallMs: number } => ({
      monoMs: monoMs + 0.3337,
      wallMs: 1_700_000_000_000 + Math.floor(monoMs) + 0.0002,
    });
    reporter.onPoll(poll({ h2s: 1 }, 0.3337), fractional(0));
    const [first] = reporter.tick(fractional(60_000.5));
    reporter.onPoll(poll({ h2s: 2 }, 70_000.7), fractional(70_000.7));
    const [second] = reporter.tick(fractional(120_000.9));
    for (const aggregate of [first, second]) {
      assert.ok(aggregate);
      assert.ok(Number.isInteger(aggregate.periodStartMs), `${aggregate.periodStartMs} is whole`);
      assert.deepEqual(validateEventBody(aggregate), { ok: true, value: aggregate });
    }
  });

  it('never reports finer than a scaled point resolution', () => {
    const temperature = gasProfile.points.find((p) => p.key === 'temperature');
    assert.ok(temperature);
    assert.equal(
      deadbandFor(temperature, 0.05, { relative: 0.01, absolute: new Map() }),
      Math.abs(temperature.scale),
    );
  });

  it('ignores devices it has no profile for', () => {
    const reporter = new TelemetryReporter({ profiles: new Map() });
    assert.deepEqual(reporter.onPoll(poll({ h2s: 1 }, 0), at(0)), []);
  });
});
