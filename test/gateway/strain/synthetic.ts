/**
 * Synthetic bridge-strain polls for the strain tests: the same traffic model as the simulator
 * (simulators/scenarios/bridge-strain.ts: a 40 m simply supported span, Moses influence lines,
 * 22 µε per tonne at unit ordinate, gauges at 0.2-0.8 L on two girders, 65% of a vehicle on its
 * lane's girder), sampled at any poll rate, with temperature, noise, wiggles and faults on demand.
 */
import type { Instant } from '../../../gateway/alarms/types.js';
import type { DevicePollResult, PointReading } from '../../../gateway/bus/types.js';
import type {
  StrainOutput,
  StrainDeviceConfig,
  StrainEvent,
  RawWindow,
} from '../../../gateway/strain/types.js';
import type { StrainAnalyzer } from '../../../gateway/strain/analyzer.js';
import { influence } from '../../../simulators/scenarios/bridge-strain.js';

export const DEVICE = 'pier-3-strain';
/** Wall clock at t = 0: a whole minute (2024-06-01 08:00:00 UTC). */
export const WALL0 = Date.UTC(2024, 5, 1, 8, 0, 0);
/** Monotonic clock at t = 0 (any value: only differences matter). */
export const MONO0 = 5_000;

const SPAN_M = 40;
const MICROSTRAIN_PER_TONNE = 22;
/** Load factor of this model for a six-axle 120 t truck (calibrated as docs/strain.md says). */
export const LOAD_FACTOR = 0.348;

/** Channels 1-4 on girder 1, 5-8 on girder 2, at 0.2, 0.4, 0.6, 0.8 of the span. */
export const GAUGES = [0.2, 0.4, 0.6, 0.8, 0.2, 0.4, 0.6, 0.8].map((a, i) => ({
  channel: `strain_${i + 1}`,
  n: i + 1,
  a,
  girder: i < 4 ? 1 : 2,
}));

export interface Vehicle {
  enterS: number;
  speedMps: number;
  lane: 1 | 2;
  axles: Array<{ behindM: number; tonnes: number }>;
}

function axles(tonnes: number, spacing: number[], shares: number[]): Vehicle['axles'] {
  return spacing.map((behindM, i) => ({ behindM, tonnes: tonnes * (shares[i] ?? 0) }));
}

export function car(enterS: number, tonnes = 2, lane: 1 | 2 = 1): Vehicle {
  return { enterS, speedMps: 16, lane, axles: axles(tonnes, [0, 2.7], [0.55, 0.45]) };
}

export function truck(enterS: number, tonnes = 30, lane: 1 | 2 = 1, speedMps = 12): Vehicle {
  return { enterS, speedMps, lane, axles: axles(tonnes, [0, 4, 5.3], [0.2, 0.4, 0.4]) };
}

/** The simulator's overweight truck: six axles over 12.6 m, lane 1. */
export function sixAxleTruck(enterS: number, tonnes = 120, speedMps = 11): Vehicle {
  return {
    enterS,
    speedMps,
    lane: 1,
    axles: axles(tonnes, [0, 3.5, 4.9, 10, 11.3, 12.6], [0.1, 0.15, 0.15, 0.2, 0.2, 0.2]),
  };
}

/** Traffic strain at one gauge at time t (µε), summed over the vehicles. */
export function trafficAt(tS: number, vehicles: readonly Vehicle[], gauge: (typeof GAUGES)[number]): number {
  let sum = 0;
  for (const v of vehicles) {
    const front = (tS - v.enterS) * v.speedMps;
    let moment = 0;
    for (const axle of v.axles) moment += axle.tonnes * influence(gauge.a, (front - axle.behindM) / SPAN_M);
    sum += moment * MICROSTRAIN_PER_TONNE * (v.lane === gauge.girder ? 0.65 : 0.35);
  }
  return sum;
}

/** Deterministic uniform noise in [-amplitude, amplitude] (mulberry32). */
export function noise(amplitude: number, seed = 1): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return (unit * 2 - 1) * amplitude;
  };
}

export interface BridgeSpec {
  durationS: number;
  rateHz: number;
  startS?: number;
  vehicles?: Vehicle[];
  /** Gauge temperature, °C (default 15, the reference). */
  temperatureC?: (tS: number, n: number) => number;
  /** How the raw reading follows temperature, µε/°C (default 10.4: concrete, as the simulator). */
  rawCoefficient?: number;
  referenceC?: number;
  /** Multiplies the traffic strain (bouncing, dips). */
  shape?: (tS: number) => number;
  /** Added to every channel (noise, steps), µε. */
  extra?: (tS: number, n: number) => number;
  /** Per-channel raw offset, µε. */
  offset?: (n: number) => number;
  fault?: (tS: number, n: number) => boolean;
}

export function poll(tS: number, readings: PointReading[]): DevicePollResult {
  return {
    busId: 'lan',
    deviceId: DEVICE,
    wallTimeMs: WALL0 + Math.round(tS * 1000),
    monotonicMs: MONO0 + Math.round(tS * 1000),
    quality: 'good',
    readings,
    errors: [],
  };
}

export function instantOf(result: DevicePollResult): Instant {
  return { monoMs: result.monotonicMs, wallMs: result.wallTimeMs };
}

/** The traffic part alone, channel by channel, at one time (after `shape`). */
export function trafficOf(spec: BridgeSpec, tS: number): number[] {
  const factor = spec.shape?.(tS) ?? 1;
  return GAUGES.map((g) => trafficAt(tS, spec.vehicles ?? [], g) * factor);
}

export function sampleTimes(spec: BridgeSpec): number[] {
  const times: number[] = [];
  const count = Math.round(spec.durationS * spec.rateHz);
  for (let i = 0; i < count; i++) times.push((spec.startS ?? 0) + i / spec.rateHz);
  return times;
}

export function bridgePolls(spec: BridgeSpec): DevicePollResult[] {
  const rawCoefficient = spec.rawCoefficient ?? 10.4;
  const referenceC = spec.referenceC ?? 15;
  return sampleTimes(spec).map((tS) => {
    const traffic = trafficOf(spec, tS);
    const readings: PointReading[] = [];
    for (const g of GAUGES) {
      const temperature = spec.temperatureC?.(tS, g.n) ?? referenceC;
      const raw =
        (spec.offset?.(g.n) ?? 0) +
        rawCoefficient * (temperature - referenceC) +
        (traffic[g.n - 1] ?? 0) +
        (spec.extra?.(tS, g.n) ?? 0);
      readings.push({ key: g.channel, value: raw });
      readings.push({ key: `temperature_${g.n}`, value: temperature });
      readings.push({ key: `sensor_${g.n}_fault`, value: spec.fault?.(tS, g.n) ?? false });
    }
    readings.push({ key: 'peak_strain', value: 0 }, { key: 'supply_voltage', value: 12.1 });
    return poll(tS, readings);
  });
}

/** Largest traffic strain of any channel at the poll times: what a perfect analyzer reports. */
export function expectedPeak(spec: BridgeSpec): { value: number; channel: string } {
  let best = { value: -Infinity, channel: '' };
  for (const tS of sampleTimes(spec)) {
    trafficOf(spec, tS).forEach((value, i) => {
      if (value > best.value) best = { value, channel: `strain_${i + 1}` };
    });
  }
  return best;
}

/** Largest traffic strain of one channel at the poll times. */
export function expectedPeakOf(spec: BridgeSpec, channel: string): number {
  const index = GAUGES.findIndex((g) => g.channel === channel);
  return Math.max(...sampleTimes(spec).map((tS) => trafficOf(spec, tS)[index] ?? -Infinity));
}

/** A configuration for the tests: concrete, T0 15 °C, the schema's defaults, the model's load factor. */
export function strainConfig(overrides: Partial<StrainDeviceConfig> = {}): StrainDeviceConfig {
  return {
    device: DEVICE,
    material: 'concrete',
    referenceTemperatureC: 15,
    channels: {},
    detection: 'max',
    triggerMicrostrain: 10,
    releaseMicrostrain: 5,
    holdMs: 1000,
    maxEventS: 120,
    baselineTauS: 60,
    loadFactorTonnesPerMicrostrain: LOAD_FACTOR,
    overweightTonnes: [85, 95],
    windowBeforeS: 5,
    windowAfterS: 5,
    ...overrides,
  };
}

/** Feeds every poll to the analyzer and collects its output. */
export function run(analyzer: StrainAnalyzer, polls: readonly DevicePollResult[]): StrainOutput {
  const events: StrainEvent[] = [];
  const windows: RawWindow[] = [];
  for (const result of polls) {
    const out = analyzer.onPoll(result, instantOf(result));
    events.push(...out.events);
    windows.push(...out.windows);
  }
  return { events, windows };
}

export function ofKind<K extends StrainEvent['kind']>(
  events: readonly StrainEvent[],
  kind: K,
): Array<Extract<StrainEvent, { kind: K }>> {
  return events.filter((e): e is Extract<StrainEvent, { kind: K }> => e.kind === kind);
}
