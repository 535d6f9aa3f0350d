import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  calibrateLoadFactor,
  combineChannels,
  estimateTonnes,
  overweightLevel,
  PeakDetector,
  type DetectionSample,
} from '../../../gateway/strain/peaks.js';
import { isStrainError } from '../../../gateway/strain/errors.js';

const settings = { triggerMicrostrain: 10, releaseMicrostrain: 5, holdMs: 1000, maxEventMs: 120_000 };

/** One sample per 100 ms from t = 0, channel strain_1 unless given. */
function samples(values: number[], channel = 'strain_1'): DetectionSample[] {
  return values.map((value, i) => ({ monoMs: i * 100, value, channel }));
}

function feed(detector: PeakDetector, input: DetectionSample[]): ReturnType<PeakDetector['push']>[] {
  return input.map((s) => detector.push(s)).filter((v) => v !== null);
}

describe('PeakDetector state machine', () => {
  it('starts at the trigger, reports peak, channel and duration once held below release', () => {
    const d = new PeakDetector(settings);
    //          0  1   2   3   4   5  6  7 ... (100 ms apart)
    const values = [0, 12, 30, 55, 20, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0];
    const found = feed(d, samples(values));
    assert.equal(found.length, 1);
    assert.deepEqual(found[0], {
      startMonoMs: 100,
      endMonoMs: 500,
      durationMs: 400,
      peakMicrostrain: 55,
      peakChannel: 'strain_1',
      peakMonoMs: 300,
      end: 'released',
    });
    assert.equal(d.inEvent, false);
  });

  it('values between release and trigger neither start nor end an event', () => {
    const d = new PeakDetector(settings);
    assert.equal(feed(d, samples([9.9, 9, 6, 9.99])).length, 0);
    assert.equal(d.inEvent, false);
    d.push({ monoMs: 1000, value: 10, channel: 'strain_2' });
    assert.equal(d.inEvent, true, 'at the trigger: starts');
    for (let t = 1100; t < 5000; t += 100) assert.equal(d.push({ monoMs: t, value: 5, channel: 'x' }), null);
    assert.equal(d.inEvent, true, 'at the release value: still on');
  });

  it('a dip below release shorter than the hold time stays one event', () => {
    const d = new PeakDetector(settings);
    const values = [20, 40, 2, 2, 2, 2, 2, 2, 2, 2, 50, 20, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const found = feed(d, samples(values));
    assert.equal(found.length, 1);
    assert.equal(found[0]?.peakMicrostrain, 50);
    assert.equal(found[0]?.durationMs, 1200);
  });

  it('an event held longer than maxEventMs is closed as too_long', () => {
    const d = new PeakDetector({ ...settings, maxEventMs: 2000 });
    const found = feed(d, samples(Array.from({ length: 40 }, () => 30)));
    assert.equal(found.length, 1, 'closed once; the next event needs a new rise (the analyzer re-baselines)');
    assert.equal(found[0]?.end, 'too_long');
    assert.equal(found[0]?.durationMs, 2000);
  });
});

describe('combineChannels', () => {
  const excess = new Map([
    ['strain_1', 3],
    ['strain_2', 41.5],
    ['strain_3', -2],
  ]);
  it('max: the largest and its channel', () => {
    assert.deepEqual(combineChannels(excess, 'max'), { value: 41.5, channel: 'strain_2' });
  });
  it("sum: the sum, channel 'sum'", () => {
    assert.deepEqual(combineChannels(excess, 'sum'), { value: 42.5, channel: 'sum' });
  });
  it('no channels: null', () => {
    assert.equal(combineChannels(new Map(), 'max'), null);
  });
});

describe('load factor and overweight levels', () => {
  it('estimated tonnes = peak × factor: 344.7 µε × 0.348 t/µε = 119.96 t', () => {
    assert.ok(Math.abs(estimateTonnes(344.7, 0.348) - 119.9556) < 1e-9);
  });

  it('calibration: a 40 t truck with peaks 110, 118, 112 µε -> 40 / 113.33 = 0.3529 t/µε', () => {
    assert.ok(Math.abs(calibrateLoadFactor(40, [110, 118, 112]) - 40 / (340 / 3)) < 1e-12);
    assert.throws(
      () => calibrateLoadFactor(40, []),
      (e) => isStrainError(e, 'STRAIN_CALIBRATION_INVALID'),
    );
    assert.throws(
      () => calibrateLoadFactor(0, [100]),
      (e) => isStrainError(e, 'STRAIN_CALIBRATION_INVALID'),
    );
  });

  const cases: Array<[number, ReturnType<typeof overweightLevel>]> = [
    [60, null],
    [85, null], // a limit is a maximum: exactly 85 t is allowed
    [85.1, { level: 1, thresholdTonnes: 85 }],
    [95, { level: 1, thresholdTonnes: 85 }],
    [120, { level: 2, thresholdTonnes: 95 }],
  ];
  for (const [tonnes, expected] of cases) {
    it(`${tonnes} t against 85 / 95 t -> ${expected === null ? 'not overweight' : `level ${expected.level}`}`, () => {
      assert.deepEqual(overweightLevel(tonnes, [85, 95]), expected);
    });
  }
});
