import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { StrainAnalyzer } from '../../../gateway/strain/analyzer.js';
import { isStrainError } from '../../../gateway/strain/errors.js';
import type { StrainDeviceConfig } from '../../../gateway/strain/types.js';
import {
  bridgePolls,
  car,
  DEVICE,
  expectedPeak,
  expectedPeakOf,
  instantOf,
  LOAD_FACTOR,
  MONO0,
  noise,
  ofKind,
  poll,
  run,
  sixAxleTruck,
  strainConfig,
  truck,
  type BridgeSpec,
} from './synthetic.js';

const silent = pino({ level: 'silent' });

function analyzer(overrides: Partial<StrainDeviceConfig> = {}): StrainAnalyzer {
  return new StrainAnalyzer({ deviceId: DEVICE, config: strainConfig(overrides), logger: silent });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('vehicle detection on synthetic influence-line pulses', () => {
  // Sensitive settings so a 2 t car counts: trigger 5 µε, release 2.5 µε, 10 Hz, ±0.3 µε noise.
  const sensitive = { triggerMicrostrain: 5, releaseMicrostrain: 2.5 };
  const jitter = (): ((tS: number, n: number) => number) => {
    const next = noise(0.3, 7);
    return () => next();
  };
  const table: Array<{ name: string; spec: BridgeSpec; vehicles: number; peaks?: number[] }> = [
    { name: 'a car (2 t)', spec: { durationS: 10, rateHz: 10, vehicles: [car(2)] }, vehicles: 1 },
    { name: 'a truck (30 t)', spec: { durationS: 12, rateHz: 10, vehicles: [truck(2)] }, vehicles: 1 },
    {
      name: 'two close vehicles: a truck, then a car entering 1.2 s after the truck has left',
      spec: { durationS: 14, rateHz: 10, vehicles: [truck(2, 30, 1, 12), car(7, 2, 2)] },
      vehicles: 2,
      peaks: [96.2, 6.5],
    },
    {
      name: 'two trucks on the span together: one event (one line of gauges cannot part them)',
      spec: { durationS: 14, rateHz: 10, vehicles: [truck(2, 30, 1), truck(3, 20, 2)] },
      vehicles: 1,
    },
    {
      name: 'a bouncing truck (±25% at 3 Hz) is one event',
      spec: {
        durationS: 12,
        rateHz: 10,
        vehicles: [truck(2, 20)],
        shape: (t) => 1 + 0.25 * Math.sin(2 * Math.PI * 3 * t),
      },
      vehicles: 1,
    },
    {
      name: 'a pulse dipping below release for 0.5 s (< hold 1 s) is one event',
      spec: {
        durationS: 12,
        rateHz: 10,
        vehicles: [truck(2, 30)],
        shape: (t) => (t >= 3.5 && t < 4 ? 0 : 1),
      },
      vehicles: 1,
    },
    {
      name: 'noise below the trigger (±4.5 µε, trigger 5) makes nothing',
      spec: {
        durationS: 120,
        rateHz: 10,
        extra: (
          (n) => () =>
            n()
        )(noise(4.9, 3)),
      },
      vehicles: 0,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const spec: BridgeSpec = { ...row.spec, extra: row.spec.extra ?? jitter() };
      const out = run(analyzer(sensitive), bridgePolls(spec));
      const vehicles = ofKind(out.events, 'vehicle');
      assert.equal(vehicles.length, row.vehicles, JSON.stringify(vehicles));
      assert.equal(ofKind(out.events, 'overweight').length, 0);
      if (row.peaks) {
        row.peaks.forEach((peak, i) => {
          const got = vehicles[i]?.peakMicrostrain ?? NaN;
          assert.ok(Math.abs(got - peak) < 1, `vehicle ${i}: peak ${got} vs ${peak}`);
        });
      } else if (row.vehicles === 1) {
        const expected = expectedPeak({ ...row.spec });
        const [v] = vehicles;
        assert.ok(v);
        assert.ok(
          Math.abs(v.peakMicrostrain - expected.value) < 1,
          `peak ${v.peakMicrostrain} vs ${expected.value}`,
        );
        // Gauges at 0.4 L and 0.6 L peak alike: any channel within 1 µε of the best is right.
        const perChannel = expectedPeakOf(row.spec, v.channel);
        assert.ok(
          perChannel > expected.value - 1,
          `${v.channel} peaks at ${perChannel}, not ${expected.value}`,
        );
        assert.ok(Math.abs(v.estimatedTonnes - v.peakMicrostrain * LOAD_FACTOR) < 1e-9);
        assert.ok(v.durationMs > 1000 && v.durationMs < 8000, `duration ${v.durationMs} ms`);
      }
    });
  }

  it("a car's weight comes out right with the model's load factor (2 t car -> about 2.3 t)", () => {
    const out = run(analyzer(sensitive), bridgePolls({ durationS: 10, rateHz: 10, vehicles: [car(2, 2)] }));
    const [v] = ofKind(out.events, 'vehicle');
    assert.ok(v && v.estimatedTonnes > 2 && v.estimatedTonnes < 2.5, `${v?.estimatedTonnes} t`);
  });
});

describe('overweight', () => {
  it("logs an overweight vehicle as a warning whose level is pino's, the overweight level beside it", () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // JSON.parse keeps the last of two equal keys, as log shippers and pino-pretty do.
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ level: 'info' }, destination);
    const a = new StrainAnalyzer({ deviceId: DEVICE, config: strainConfig(), logger });
    run(a, bridgePolls({ durationS: 20, rateHz: 10, vehicles: [sixAxleTruck(3, 120)], extra: noise(0.3) }));
    const logged = lines.filter((l) => l['msg'] === 'overweight vehicle');
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.['level'], 40, 'a warning, not level 2 (USERLVL)');
    assert.equal(logged[0]?.['overweightLevel'], 2);
  });

  it('a 120 t truck raises exactly ONE overweight event (level 2) with its peak, and one raw window', () => {
    const spec: BridgeSpec = {
      durationS: 20,
      rateHz: 10,
      vehicles: [sixAxleTruck(3, 120)],
      extra: noise(0.3),
    };
    const polls = bridgePolls(spec);
    const out = run(analyzer(), polls);
    const overweight = ofKind(out.events, 'overweight');
    const vehicles = ofKind(out.events, 'vehicle');
    assert.equal(overweight.length, 1);
    assert.equal(vehicles.length, 1, 'and one vehicle event');
    const [o] = overweight;
    assert.ok(o);
    const expected = expectedPeak(spec);
    assert.ok(
      Math.abs(o.peakMicrostrain - expected.value) < 1,
      `peak ${o.peakMicrostrain} vs ${expected.value}`,
    );
    assert.equal(o.level, 2);
    assert.equal(o.thresholdTonnes, 95);
    assert.ok(Math.abs(o.estimatedTonnes - 120) < 1.5, `${o.estimatedTonnes} t`);
    assert.equal(o.channel, expected.channel);
    assert.equal(o.deviceId, DEVICE);
    assert.equal(o.peakMicrostrain, vehicles[0]?.peakMicrostrain);
    assert.match(o.windowId, UUID);

    assert.equal(out.windows.length, 1);
    const [w] = out.windows;
    assert.ok(w);
    assert.equal(w.windowId, o.windowId);
    assert.equal(w.deviceId, DEVICE);
    assert.equal(w.reason, 'overweight level 2');
    // The event starts once the truck is well on the span (about 3.5 s) and lasts o.durationMs.
    const startMono = w.fromMonoMs + 5_000;
    assert.ok(startMono > MONO0 + 3_000 && startMono < MONO0 + 5_000, `start ${startMono - MONO0} ms`);
    assert.equal(w.toMonoMs - w.fromMonoMs, o.durationMs + 10_000);
  });

  it('a 90 t truck: level 1 (85 t)', () => {
    const out = run(analyzer(), bridgePolls({ durationS: 20, rateHz: 10, vehicles: [sixAxleTruck(3, 90)] }));
    const overweight = ofKind(out.events, 'overweight');
    assert.deepEqual(
      overweight.map((o) => [o.level, o.thresholdTonnes]),
      [[1, 85]],
    );
    assert.equal(out.windows[0]?.reason, 'overweight level 1');
  });

  it('a 45 t truck and a 40 t truck 10 s apart: two vehicles, no overweight, no window', () => {
    const out = run(
      analyzer(),
      bridgePolls({
        durationS: 25,
        rateHz: 10,
        vehicles: [truck(2, 45), truck(12, 40, 2)],
        extra: noise(0.3),
      }),
    );
    assert.equal(ofKind(out.events, 'vehicle').length, 2);
    assert.equal(ofKind(out.events, 'overweight').length, 0);
    assert.deepEqual(out.windows, []);
  });

  it('configured levels are used: [40, 50, 60] t makes a 120 t truck level 3', () => {
    const out = run(
      analyzer({ overweightTonnes: [40, 50, 60] }),
      bridgePolls({ durationS: 20, rateHz: 10, vehicles: [sixAxleTruck(3, 120)] }),
    );
    assert.deepEqual(
      ofKind(out.events, 'overweight').map((o) => [o.level, o.thresholdTonnes]),
      [[3, 60]],
    );
  });

  it("at the profile's 1 s poll interval the truck is still one event, its peak undersampled by < 15%", () => {
    const spec: BridgeSpec = { durationS: 30, rateHz: 1, vehicles: [sixAxleTruck(3.3, 120)] };
    const out = run(analyzer(), bridgePolls(spec));
    const overweight = ofKind(out.events, 'overweight');
    assert.equal(overweight.length, 1);
    const truePeak = expectedPeak({ ...spec, rateHz: 100 }).value;
    const got = overweight[0]?.peakMicrostrain ?? NaN;
    assert.ok(got <= truePeak + 1e-6 && got > 0.85 * truePeak, `${got} vs ${truePeak}`);
  });

  it("detection: 'sum' adds the channels (channel 'sum'); calibrated in that mode it weighs alike", () => {
    const spec: BridgeSpec = { durationS: 20, rateHz: 10, vehicles: [sixAxleTruck(3, 120)] };
    const sumPeak = run(analyzer({ detection: 'sum', loadFactorTonnesPerMicrostrain: 1 }), bridgePolls(spec));
    const [calibration] = ofKind(sumPeak.events, 'vehicle');
    assert.equal(calibration?.channel, 'sum');
    const factor = 120 / (calibration?.peakMicrostrain ?? NaN);
    const out = run(
      analyzer({ detection: 'sum', loadFactorTonnesPerMicrostrain: factor }),
      bridgePolls({ ...spec, vehicles: [sixAxleTruck(3, 100)] }),
    );
    const [o] = ofKind(out.events, 'overweight');
    assert.ok(o && Math.abs(o.estimatedTonnes - 100) < 0.5, `${o?.estimatedTonnes} t`);
  });
});

describe('what must raise nothing', () => {
  it('temperature drift alone (+12 °C in 20 min, compensated at the right coefficient)', () => {
    const out = run(
      analyzer(),
      bridgePolls({ durationS: 1200, rateHz: 1, temperatureC: (t, n) => 10 + (12 * t) / 1200 + n * 0.05 }),
    );
    assert.equal(ofKind(out.events, 'vehicle').length, 0);
    assert.equal(ofKind(out.events, 'overweight').length, 0);
    const stats = ofKind(out.events, 'strain_statistics');
    assert.equal(stats.length, 19);
    for (const s of stats) assert.ok(Math.abs(s.channels['strain_1']?.max ?? NaN) < 1e-6, 'compensated flat');
  });

  it('temperature drift with a wrong coefficient (steel 12.2 on a 10.4 gauge): the baseline follows', () => {
    // -1.8 µε/°C × 15 °C = -27 µε of residue over 20 min, and back: far past the trigger,
    // but slow, so the baseline takes it.
    const out = run(
      analyzer({ material: 'steel' }),
      bridgePolls({
        durationS: 2400,
        rateHz: 1,
        temperatureC: (t) => 10 + 15 * Math.sin((Math.PI * t) / 2400),
        extra: noise(0.5, 9),
      }),
    );
    assert.equal(ofKind(out.events, 'vehicle').length, 0);
  });

  it('a channel with its fault flag set is left out, however wild its reading', () => {
    const out = run(
      analyzer(),
      bridgePolls({
        durationS: 30,
        rateHz: 10,
        extra: (t, n) => (n === 2 && t > 5 && t < 20 ? 5_000 * Math.sin(t) : 0),
        fault: (t, n) => n === 2 && t > 5 && t < 20,
      }),
    );
    assert.equal(ofKind(out.events, 'vehicle').length, 0);
  });

  it('a channel back from a fault with a new offset takes a fresh baseline (no false event)', () => {
    const out = run(
      analyzer(),
      bridgePolls({
        durationS: 40,
        rateHz: 10,
        extra: (t, n) => (n === 4 && t >= 10 ? 300 : 0), // the coil was replaced: new zero
        fault: (t, n) => n === 4 && t >= 8 && t < 10,
      }),
    );
    assert.equal(ofKind(out.events, 'vehicle').length, 0);
  });

  it('failed polls and polls of other devices are ignored', () => {
    const a = analyzer();
    const failed = {
      ...poll(1, []),
      quality: 'failed' as const,
      errors: [{ code: 'MODBUS_TIMEOUT', message: 'x' }],
    };
    assert.deepEqual(a.onPoll(failed, instantOf(failed)), { events: [], windows: [] });
    const [other] = bridgePolls({ durationS: 1, rateHz: 1, vehicles: [] });
    assert.ok(other);
    const foreign = { ...other, deviceId: 'someone-else' };
    assert.deepEqual(a.onPoll(foreign, instantOf(foreign)), { events: [], windows: [] });
  });
});

describe('incomplete polls', () => {
  it('failed polls in the middle of a truck neither split it nor move the baseline', () => {
    const spec: BridgeSpec = { durationS: 20, rateHz: 10, vehicles: [sixAxleTruck(3, 120)] };
    const polls = bridgePolls(spec).map((p) =>
      p.monotonicMs >= MONO0 + 5_000 && p.monotonicMs < MONO0 + 5_400
        ? { ...p, quality: 'failed' as const, readings: [] }
        : p,
    );
    const out = run(analyzer(), polls);
    assert.equal(ofKind(out.events, 'vehicle').length, 1);
    assert.equal(ofKind(out.events, 'overweight').length, 1);
  });

  it('a logger with one thermistor (`temperature`) compensates every channel with it', () => {
    const polls = bridgePolls({ durationS: 61, rateHz: 1, temperatureC: () => 20 }).map((p) => ({
      ...p,
      readings: [
        ...p.readings.filter((r) => !r.key.startsWith('temperature_')),
        { key: 'temperature', value: 20 },
      ],
    }));
    const [minute] = ofKind(run(analyzer(), polls).events, 'strain_statistics');
    assert.equal(Object.keys(minute?.channels ?? {}).length, 8);
    assert.ok(
      Math.abs(minute?.channels['strain_5']?.max ?? NaN) < 1e-9,
      'raw 52 µε at 20 °C compensates to 0',
    );
  });
});

describe('baseline edge cases', () => {
  it('a step that stays (a slipped gauge) is closed after maxEventS once, then re-baselined', () => {
    const out = run(
      analyzer({ maxEventS: 30 }),
      bridgePolls({ durationS: 100, rateHz: 1, extra: (t, n) => (n === 5 && t >= 10 ? 60 : 0) }),
    );
    const vehicles = ofKind(out.events, 'vehicle');
    assert.equal(vehicles.length, 1);
    assert.equal(vehicles[0]?.durationMs, 30_000);
    assert.equal(vehicles[0]?.channel, 'strain_5');
  });

  it('started while a truck is on the span: the baseline comes down, the next truck is weighed right', () => {
    const spec: BridgeSpec = {
      startS: 4, // the 30 t truck that entered at t = 2 s is near mid-span
      durationS: 60,
      rateHz: 10,
      vehicles: [truck(2, 30), truck(40, 30)],
      extra: noise(0.3, 5),
    };
    const out = run(analyzer(), bridgePolls(spec));
    const vehicles = ofKind(out.events, 'vehicle');
    // The first truck is at most seen in part (gauges it has not reached yet still rise).
    assert.ok(vehicles.length <= 2);
    if (vehicles.length === 2) assert.ok((vehicles[0]?.peakMicrostrain ?? 0) < 50);
    const expected = expectedPeak({ ...spec, startS: 30, durationS: 30 }).value;
    // Within the release margin the rest of the start-up baseline decays at tau (60 s): a few µε.
    const got = vehicles.at(-1)?.peakMicrostrain ?? NaN;
    assert.ok(Math.abs(got - expected) < 4, `${got} vs ${expected}`);
  });

  it('without a configured T0, the first temperature becomes T0 (compensated values start at 0)', () => {
    const config = strainConfig();
    delete config.referenceTemperatureC;
    const a = new StrainAnalyzer({ deviceId: DEVICE, config, logger: silent });
    const polls = bridgePolls({ durationS: 61, rateHz: 1, temperatureC: (t) => 22 + t / 60 });
    const [minute] = ofKind(run(a, polls).events, 'strain_statistics');
    // raw = 10.4 × (T - 15); T0 = 22 => compensated = 10.4 × (T - 15) - 10.4 × (T - 22) = 72.8
    assert.ok(Math.abs((minute?.channels['strain_1']?.mean ?? NaN) - 72.8) < 1e-6);
  });
});

describe('configuration guard', () => {
  const cases: Array<[string, Partial<StrainDeviceConfig>]> = [
    ['release at the trigger', { triggerMicrostrain: 10, releaseMicrostrain: 10 }],
    ['a zero load factor', { loadFactorTonnesPerMicrostrain: 0 }],
    ['levels not ascending', { overweightTonnes: [95, 85] }],
    ['another device', { device: 'other' }],
  ];
  for (const [name, overrides] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => analyzer(overrides),
        (e) => isStrainError(e, 'STRAIN_CONFIG_INVALID'),
      );
    });
  }
});
