/**
 * Bridge strain logger: vibrating-wire strain gauges with a temperature sensor each. The baseline
 * strain follows temperature at 10.4 µε/°C (concrete, docs/domain.md) because the gateway corrects
 * for it; traffic adds strain along each gauge's influence line.
 *
 * Traffic model (bridge weigh-in-motion, Moses' influence-line method, as docs/domain.md cites): a
 * simply supported span of length L; the bending moment at a gauge at fraction a of the span under
 * a unit load at fraction x is x(1-a) for x <= a and a(1-x) beyond, a triangle peaking under the
 * gauge; strain is proportional to moment, summed over the axles. Gauges 1..n/2 sit on girder 1,
 * the rest on girder 2, spread from 0.2 L to 0.8 L; a vehicle in lane 1 puts 65% of its weight on
 * girder 1, in lane 2 on girder 2.
 */
import type { ResolvedPoint } from '../../gateway/profiles/types.js';
import { SimulatorError } from '../errors.js';
import type { Rng } from '../random.js';
import type { SimulatedDevice } from '../simulated-device.js';
import type { DriftSpec } from './drift.js';
import type { DeviceBehaviour, FamilyModel, ScenarioDefinition } from './types.js';

/** Vibrating-wire gauge in concrete: apparent strain per °C (docs/domain.md). */
export const THERMAL_COEFFICIENT = 10.4;
const REFERENCE_TEMPERATURE = 15;
const PEAK_WINDOW_MS = 2000;
const DEFAULT_SAMPLE_RATE_HZ = 20;

const SPAN_M = 40;
/** µε per tonne at unit influence ordinate: a 40 t truck near mid-span gives about 120 µε on its girder. */
const MICROSTRAIN_PER_TONNE = 22;

function channelOf(id: string, prefix: string): number | null {
  const m = new RegExp(`^${prefix}_(\\d+)$`).exec(id);
  return m ? Number(m[1]) : null;
}

function nominal(point: ResolvedPoint): DriftSpec | undefined {
  const temperature = channelOf(point.id, 'temperature');
  if (temperature === 1 || point.id === 'temperature')
    return { mean: REFERENCE_TEMPERATURE, sd: 3, tauS: 3600, noise: 0.02 };
  if (temperature !== null) {
    // Every sensor sees the same weather, with a small offset of its own.
    return { mean: 0, sd: 0.3, tauS: 1800, noise: 0.02, follows: { key: 'temperature_1', gain: 1, ref: 0 } };
  }
  const strain = channelOf(point.id, 'strain');
  if (strain !== null) {
    return {
      mean: 0,
      sd: 2, // gauge creep
      tauS: 3600,
      noise: 0.3,
      follows: { key: `temperature_${strain}`, gain: THERMAL_COEFFICIENT, ref: REFERENCE_TEMPERATURE },
    };
  }
  if (point.id === 'supply_voltage') return { mean: 12.1, sd: 0.05, tauS: 3600, noise: 0.01 };
  return undefined;
}

function strainKeys(device: SimulatedDevice): string[] {
  const keys = device
    .allPoints()
    .filter((p) => p.child === null && channelOf(p.id, 'strain') !== null)
    .sort((a, b) => (channelOf(a.id, 'strain') ?? 0) - (channelOf(b.id, 'strain') ?? 0))
    .map((p) => p.key);
  if (keys.length === 0) {
    throw new SimulatorError(
      'SIM_POINT_MISSING',
      `profile ${device.profile.id} has no strain_N points for the bridge scenarios`,
    );
  }
  return keys;
}

/**
 * The logger samples at its sample_rate; peak_strain is the largest strain magnitude over all
 * channels in the last 2 s of samples, so a poll every second never misses a crossing.
 */
class StrainLoggerBehaviour implements DeviceBehaviour {
  readonly derived: ReadonlySet<string>;
  private readonly channels: string[];
  private samples: Array<{ t: number; peak: number }> = [];

  constructor(private readonly device: SimulatedDevice) {
    this.derived = new Set(device.hasPoint('peak_strain') ? ['peak_strain'] : []);
    this.channels = device
      .allPoints()
      .filter((p) => channelOf(p.id, 'strain') !== null)
      .map((p) => p.key);
  }

  sampleIntervalMs(): number {
    const hz = this.device.hasPoint('sample_rate') ? this.device.num('sample_rate') : DEFAULT_SAMPLE_RATE_HZ;
    return 1000 / (hz > 0 ? hz : DEFAULT_SAMPLE_RATE_HZ);
  }

  beginStep(): void {}

  update(now: number): void {
    if (!this.derived.has('peak_strain')) return;
    const peak = Math.max(0, ...this.channels.map((key) => Math.abs(this.device.num(key))));
    this.samples.push({ t: now, peak });
    this.samples = this.samples.filter((s) => s.t > now - PEAK_WINDOW_MS);
    this.device.set('peak_strain', Math.max(...this.samples.map((s) => s.peak)));
  }
}

interface Axle {
  /** Distance behind the front axle, m. */
  behindM: number;
  tonnes: number;
}

export interface Vehicle {
  kind: 'car' | 'truck' | 'overweight';
  /** Time the front axle enters the span, s from scenario start. */
  enterS: number;
  speedMps: number;
  lane: 1 | 2;
  axles: Axle[];
}

function axlesOf(totalTonnes: number, spacing: number[], shares: number[]): Axle[] {
  return spacing.map((behindM, i) => ({ behindM, tonnes: totalTonnes * (shares[i] ?? 0) }));
}

function randomVehicle(rng: Rng, enterS: number): Vehicle {
  const lane: 1 | 2 = rng.next() < 0.5 ? 1 : 2;
  if (rng.next() < 0.8) {
    return {
      kind: 'car',
      enterS,
      lane,
      speedMps: rng.between(12, 20),
      axles: axlesOf(rng.between(1.2, 2.2), [0, 2.7], [0.55, 0.45]),
    };
  }
  return {
    kind: 'truck',
    enterS,
    lane,
    speedMps: rng.between(10, 16),
    axles: axlesOf(rng.between(15, 45), [0, 4, 5.3], [0.2, 0.4, 0.4]),
  };
}

function overweightTruck(rng: Rng, enterS: number): Vehicle {
  return {
    kind: 'overweight',
    enterS,
    lane: 1,
    speedMps: rng.between(10, 12),
    axles: axlesOf(rng.between(115, 130), [0, 3.5, 4.9, 10, 11.3, 12.6], [0.1, 0.15, 0.15, 0.2, 0.2, 0.2]),
  };
}

/** Moment influence ordinate at gauge position a (fraction of span) for a load at x (fraction). */
export function influence(a: number, x: number): number {
  if (x < 0 || x > 1) return 0;
  return x <= a ? x * (1 - a) : a * (1 - x);
}

/** Strain added at a gauge (position a, girder share) by one vehicle at time t. */
function vehicleStrain(v: Vehicle, t: number, a: number, share: number): number {
  const front = (t - v.enterS) * v.speedMps;
  let sum = 0;
  for (const axle of v.axles) sum += axle.tonnes * influence(a, (front - axle.behindM) / SPAN_M);
  return sum * MICROSTRAIN_PER_TONNE * share;
}

const bridgeTraffic: ScenarioDefinition = {
  name: 'bridge-traffic',
  description:
    "Endless: vehicles arrive at random (mean gap meanGapS, default 4 s; 80% cars of 1-2 t, 20% trucks of 15-45 t) and cross the 40 m span at 10-20 m/s, each a strain pulse on every channel shaped by that gauge's influence line (trucks about 45-150 µε); an overweight truck of 115-130 t (about 350 µε, past strain level 1) enters at firstOverweightS (default 20 s) and then every overweightEveryS (default 60 s). Temperature drifts in the baseline.",
  durationMs: null,
  options: {
    meanGapS: 'mean seconds between vehicles (default 4)',
    firstOverweightS: 'first overweight truck, s from start (default 20)',
    overweightEveryS: 'seconds between overweight trucks (default 60)',
  },
  create(device, _behaviour, options) {
    const keys = strainKeys(device);
    const meanGapS = Number(options.meanGapS ?? 4);
    const everyS = Number(options.overweightEveryS ?? 60);
    let nextOverweightS = Number(options.firstOverweightS ?? 20);
    if (!(meanGapS > 0) || !(everyS > 0))
      throw new SimulatorError(
        'SIM_CONFIG_INVALID',
        'bridge-traffic: meanGapS and overweightEveryS must be positive',
      );
    const perGirder = Math.ceil(keys.length / 2);
    const gauges = keys.map((key, i) => {
      const girder = i < perGirder ? 1 : 2;
      const k = girder === 1 ? i : i - perGirder;
      const m = girder === 1 ? perGirder : keys.length - perGirder;
      return { key, girder, a: m === 1 ? 0.5 : 0.2 + (0.6 * k) / (m - 1) };
    });
    const rng = device.rng;
    let nextArrivalS = -Math.log(1 - rng.next()) * meanGapS;
    let onSpan: Vehicle[] = [];
    return {
      update(elapsedMs) {
        const t = elapsedMs / 1000;
        while (nextArrivalS <= t) {
          onSpan.push(randomVehicle(rng, nextArrivalS));
          nextArrivalS += -Math.log(1 - rng.next()) * meanGapS;
        }
        while (nextOverweightS <= t) {
          onSpan.push(overweightTruck(rng, nextOverweightS));
          nextOverweightS += everyS;
        }
        // A vehicle has left once its last axle is past the far support.
        onSpan = onSpan.filter(
          (v) => (t - v.enterS) * v.speedMps - (v.axles[v.axles.length - 1]?.behindM ?? 0) <= SPAN_M,
        );
        for (const g of gauges) {
          let added = 0;
          for (const v of onSpan) added += vehicleStrain(v, t, g.a, v.lane === g.girder ? 0.65 : 0.35);
          if (added !== 0) device.set(g.key, device.num(g.key) + added);
        }
      },
    };
  },
};

export const bridgeStrain: FamilyModel = {
  family: 'bridge-strain',
  nominal,
  initial: (point) => (point.id === 'sample_rate' ? DEFAULT_SAMPLE_RATE_HZ : undefined),
  createBehaviour: (device) => new StrainLoggerBehaviour(device),
  scenarios: [bridgeTraffic],
};
