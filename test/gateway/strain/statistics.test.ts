import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { StrainAnalyzer } from '../../../gateway/strain/analyzer.js';
import { StrainStatistics, summarize } from '../../../gateway/strain/statistics.js';
import { validateEventBody } from '../../../cloud-sync/contract/validate.js';
import { bridgePolls, MONO0, ofKind, run, strainConfig, WALL0, DEVICE } from './synthetic.js';

const silent = pino({ level: 'silent' });

function near(actual: number | undefined, expected: number, tolerance = 1e-9): void {
  assert.ok(
    actual !== undefined && Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );
}

describe('summarize', () => {
  it('3, -4, 5, 0: min -4, max 5, mean 1, RMS sqrt((9+16+25+0)/4) = sqrt(12.5)', () => {
    const s = summarize([3, -4, 5, 0]);
    assert.ok(s);
    assert.equal(s.min, -4);
    assert.equal(s.max, 5);
    near(s.mean, 1);
    near(s.rms, Math.sqrt(12.5)); // 3.5355...
    assert.equal(s.count, 4);
  });

  it('RMS is not the mean of magnitudes: 1, 2, 3, 4 -> mean 2.5, RMS sqrt(30/4) = 2.7386', () => {
    const s = summarize([1, 2, 3, 4]);
    near(s?.mean, 2.5);
    near(s?.rms, 2.7386127875, 1e-9);
  });

  it('a constant: RMS is its magnitude; nothing: null', () => {
    near(summarize([-7, -7, -7])?.rms, 7);
    assert.equal(summarize([]), null);
  });
});

describe('StrainStatistics', () => {
  const at = (tS: number, wallShiftMs = 0): { monoMs: number; wallMs: number } => ({
    monoMs: MONO0 + tS * 1000,
    wallMs: WALL0 + tS * 1000 + wallShiftMs,
  });

  it('cuts periods on the monotonic clock, lined up with the wall-clock minute at the start', () => {
    const stats = new StrainStatistics(DEVICE);
    // First sample 20 s into a wall-clock minute: the first period began 20 s earlier.
    const samples: Array<[number, number]> = [
      [20, 3],
      [40, -4],
      [50, 5],
      [59.999, 0],
    ];
    for (const [tS, value] of samples) {
      assert.equal(stats.roll(at(tS)), null);
      stats.add('strain_1', value);
    }
    const closed = stats.roll(at(60));
    assert.ok(closed);
    assert.equal(closed.kind, 'strain_statistics');
    assert.equal(closed.deviceId, DEVICE);
    assert.equal(
      closed.periodStartMs,
      WALL0,
      'the period began at the whole minute, 20 s before the first sample',
    );
    const c = closed.channels['strain_1'];
    assert.ok(c);
    assert.deepEqual({ min: c.min, max: c.max, count: c.count }, { min: -4, max: 5, count: 4 });
    near(c.mean, 1);
    near(c.rms, Math.sqrt(12.5));
  });

  it('after a gap without polls the boundaries stay on the 60 s grid; empty periods make no event', () => {
    const stats = new StrainStatistics(DEVICE);
    stats.roll(at(0));
    stats.add('strain_1', 1);
    const first = stats.roll(at(60));
    assert.equal(first?.channels['strain_1']?.count, 1);
    stats.add('strain_1', 2);
    // 150 s later: the period [60, 120) closes; [120, 180) was empty; the sample falls in [180, 240).
    const second = stats.roll(at(210));
    assert.equal(second?.periodStartMs, WALL0 + 60_000);
    assert.equal(second?.channels['strain_1']?.mean, 2);
    stats.add('strain_1', 3);
    assert.equal(stats.roll(at(239.9)), null);
    const third = stats.roll(at(240));
    assert.equal(third?.periodStartMs, WALL0 + 180_000);
    assert.equal(stats.roll(at(400)), null, 'nothing was added: no event');
  });

  it('a wall-clock jump moves only the displayed start, never the boundaries', () => {
    const stats = new StrainStatistics(DEVICE);
    stats.roll(at(0));
    stats.add('strain_1', 1);
    // NTP arrives at t = 30 s and moves the wall clock one hour ahead.
    assert.equal(stats.roll(at(30, 3_600_000)), null);
    stats.add('strain_1', 1);
    const closed = stats.roll(at(60, 3_600_000));
    assert.equal(closed?.channels['strain_1']?.count, 2, 'the period still lasted 60 s of monotonic time');
    stats.add('strain_1', 1);
    const next = stats.roll(at(120, 3_600_000));
    assert.equal(next?.periodStartMs, WALL0 + 60_000 + 3_600_000, 'displayed in the corrected wall time');
  });

  it('a fractional monotonic clock gives a whole-millisecond periodStartMs the contract accepts', () => {
    // The uptime clock maps performance.now(), which is fractional: the demo once sent
    // periodStartMs 1796658000000.0002 and the cloud refused the batch (issue 9).
    const stats = new StrainStatistics(DEVICE);
    // Date.now() is whole, the monotonic reading is not, and their difference wanders.
    const fractional = (tS: number): { monoMs: number; wallMs: number } => ({
      monoMs: MONO0 + tS * 1000 + (tS % 1) * 0.7071,
      wallMs: WALL0 + Math.round(tS * 1000),
    });
    const closed = [];
    for (const tS of [20.25, 40.5, 59.75, 61.1, 95.3, 120.4, 150.9, 181.6]) {
      const event = stats.roll(fractional(tS));
      if (event !== null) closed.push(event);
      stats.add('strain_1', tS);
    }
    assert.equal(closed.length, 3);
    for (const event of closed) {
      assert.ok(Number.isInteger(event.periodStartMs), `${event.periodStartMs} is whole`);
      assert.deepEqual(validateEventBody(event), { ok: true, value: event });
    }
  });
});

describe('StrainAnalyzer statistics', () => {
  it('per channel over compensated values; a faulted channel is left out of its samples', () => {
    const analyzer = new StrainAnalyzer({ deviceId: DEVICE, config: strainConfig(), logger: silent });
    // 25 °C on every gauge with raw following at 10.4 µε/°C: compensated is the channel offset.
    const polls = bridgePolls({
      durationS: 61,
      rateHz: 1,
      temperatureC: () => 25,
      offset: (n) => (n === 2 ? -20 : 0),
      extra: (tS, n) => (n === 1 ? (tS % 2 === 0 ? 3 : -3) : 0),
      fault: (tS, n) => n === 3 || (n === 4 && tS >= 30),
    });
    const stats = ofKind(run(analyzer, polls).events, 'strain_statistics');
    assert.equal(stats.length, 1);
    const [minute] = stats;
    assert.equal(minute?.periodStartMs, WALL0);
    const ch = minute?.channels ?? {};
    assert.equal(ch['strain_3'], undefined, 'always faulted: no statistics');
    assert.equal(ch['strain_4']?.count, 30, 'faulted from 30 s: 30 samples');
    assert.equal(ch['strain_1']?.count, 60);
    near(ch['strain_1']?.mean, 0, 1e-9);
    near(ch['strain_1']?.rms, 3, 1e-9);
    near(ch['strain_2']?.mean, -20, 1e-9);
    near(ch['strain_2']?.rms, 20, 1e-9);
    near(ch['strain_2']?.min, -20, 1e-9);
    assert.deepEqual(Object.keys(ch), [
      'strain_1',
      'strain_2',
      'strain_4',
      'strain_5',
      'strain_6',
      'strain_7',
      'strain_8',
    ]);
  });
});
