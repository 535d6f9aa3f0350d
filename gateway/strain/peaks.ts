/**
 * Vehicle detection on a bridge: one small state machine per strain logger, fed with one
 * detection value per poll (the compensated strain above baseline, combined over the channels),
 * and the step from a peak to an estimated weight.
 *
 * Bridge weigh-in-motion after Moses (1979): the strain a vehicle causes at a gauge is the sum over
 * its axles of axle weight × the gauge's influence-line ordinate at the axle's position, so for
 * one bridge and one kind of vehicle the peak strain is proportional to the gross weight. The
 * proportion (tonnes per µε) is calibrated by driving a truck of known weight across the bridge
 * (calibrateLoadFactor). docs/domain.md "Bridge load" asks for exactly this: peak detection on
 * temperature-corrected strain with a calibrated factor, and overweight levels per bridge from
 * its design values. docs/strain.md describes the method and its limits.
 *
 * States: idle -> (value >= trigger) -> active -> (value < release, held for holdMs) -> idle.
 * The gap between trigger and release (hysteresis) and the hold time make a wiggling pulse one
 * event: exactly one event per vehicle, reported once it is over, with its peak.
 */
import type { OverweightEvent, VehicleEvent } from '../../cloud-sync/contract/events.js';
import { StrainError } from './errors.js';
import type { DetectionMode } from './types.js';

export interface DetectorSettings {
  /** µε above baseline that starts an event. */
  triggerMicrostrain: number;
  /** µε above baseline below which an event may end; below the trigger. */
  releaseMicrostrain: number;
  /** How long the value must stay below release before the event ends, ms. */
  holdMs: number;
  /** Longest event, ms; a longer one is closed as 'too_long'. */
  maxEventMs: number;
}

/** The detection value at one sample: how far above baseline, and where. */
export interface DetectionSample {
  monoMs: number;
  /** µε above baseline. */
  value: number;
  /** Channel the value was seen on ('sum' when channels are summed). */
  channel: string;
}

/** One vehicle (or several crossing together: one sensor line cannot tell them apart). */
export interface DetectedVehicle {
  startMonoMs: number;
  /** Time of the first sample below release that stayed below for holdMs (or of the cut). */
  endMonoMs: number;
  durationMs: number;
  peakMicrostrain: number;
  peakChannel: string;
  peakMonoMs: number;
  /** 'released' normally; 'too_long' when cut at maxEventMs (standing traffic, or a gauge step). */
  end: 'released' | 'too_long';
}

interface ActiveEvent {
  startMonoMs: number;
  peak: DetectionSample;
  /** First sample of the current run below release, or null while at or above release. */
  belowSinceMonoMs: number | null;
}

export class PeakDetector {
  private active: ActiveEvent | null = null;

  constructor(private readonly settings: DetectorSettings) {}

  /** True while a vehicle is on the span (the baseline must then stand still). */
  get inEvent(): boolean {
    return this.active !== null;
  }

  /** Feeds one sample; returns the vehicle whose event this sample ends, if any. */
  push(sample: DetectionSample): DetectedVehicle | null {
    const { triggerMicrostrain, releaseMicrostrain, holdMs, maxEventMs } = this.settings;
    const active = this.active;
    if (active === null) {
      if (sample.value >= triggerMicrostrain)
        this.active = { startMonoMs: sample.monoMs, peak: sample, belowSinceMonoMs: null };
      return null;
    }
    if (sample.value > active.peak.value) active.peak = sample;
    if (sample.value >= releaseMicrostrain) active.belowSinceMonoMs = null;
    else {
      active.belowSinceMonoMs ??= sample.monoMs;
      if (sample.monoMs - active.belowSinceMonoMs >= holdMs)
        return this.finish(active, active.belowSinceMonoMs, 'released');
    }
    if (sample.monoMs - active.startMonoMs >= maxEventMs)
      return this.finish(active, sample.monoMs, 'too_long');
    return null;
  }

  private finish(active: ActiveEvent, endMonoMs: number, end: DetectedVehicle['end']): DetectedVehicle {
    this.active = null;
    return {
      startMonoMs: active.startMonoMs,
      endMonoMs,
      durationMs: endMonoMs - active.startMonoMs,
      peakMicrostrain: active.peak.value,
      peakChannel: active.peak.channel,
      peakMonoMs: active.peak.monoMs,
      end,
    };
  }
}

/**
 * Combines the channels' µε above baseline into the detection value: the largest one (and its
 * channel), or their sum (which weighs a vehicle on either girder alike; calibrate the load factor
 * in the same mode). Null when no channel has a value.
 */
export function combineChannels(
  excess: ReadonlyMap<string, number>,
  mode: DetectionMode,
): { value: number; channel: string } | null {
  let best: { value: number; channel: string } | null = null;
  let sum = 0;
  for (const [channel, value] of excess) {
    sum += value;
    if (best === null || value > best.value) best = { value, channel };
  }
  if (best === null) return null;
  return mode === 'sum' ? { value: sum, channel: 'sum' } : best;
}

/** Estimated gross weight, tonnes: peak µε × calibrated load factor (t/µε). */
export function estimateTonnes(peakMicrostrain: number, loadFactorTonnesPerMicrostrain: number): number {
  return peakMicrostrain * loadFactorTonnesPerMicrostrain;
}

/**
 * The load factor from calibration runs of a truck of known gross weight: known tonnes divided
 * by the mean peak of the runs (several runs, at different speeds and in each lane, average out
 * the dynamic amplification of a single crossing).
 */
export function calibrateLoadFactor(knownTonnes: number, peaksMicrostrain: readonly number[]): number {
  const mean = peaksMicrostrain.reduce((sum, p) => sum + p, 0) / peaksMicrostrain.length;
  if (!(knownTonnes > 0) || !(mean > 0)) {
    throw new StrainError(
      'STRAIN_CALIBRATION_INVALID',
      `calibration needs a positive known weight and positive peaks (got ${knownTonnes} t, mean peak ${mean} µε)`,
    );
  }
  return knownTonnes / mean;
}

/**
 * The highest overweight level whose threshold the estimate exceeds: a legal limit is a
 * maximum, so a vehicle of exactly the threshold is not over it. Levels are 1-based and the
 * thresholds ascending. Null when under every level.
 */
export function overweightLevel(
  estimatedTonnes: number,
  overweightTonnes: readonly number[],
): { level: number; thresholdTonnes: number } | null {
  for (let i = overweightTonnes.length - 1; i >= 0; i--) {
    const thresholdTonnes = overweightTonnes[i];
    if (thresholdTonnes !== undefined && estimatedTonnes > thresholdTonnes)
      return { level: i + 1, thresholdTonnes };
  }
  return null;
}

/**
 * The events of one detected vehicle: always a VehicleEvent, plus an OverweightEvent when the
 * estimate is over a level. `windowId` is called only for an overweight vehicle.
 */
export function vehicleEvents(
  deviceId: string,
  vehicle: DetectedVehicle,
  calibration: { loadFactorTonnesPerMicrostrain: number; overweightTonnes: readonly number[] },
  windowId: () => string,
): { vehicle: VehicleEvent; overweight: OverweightEvent | null } {
  const estimatedTonnes = estimateTonnes(vehicle.peakMicrostrain, calibration.loadFactorTonnesPerMicrostrain);
  const event: VehicleEvent = {
    kind: 'vehicle',
    deviceId,
    peakMicrostrain: vehicle.peakMicrostrain,
    channel: vehicle.peakChannel,
    estimatedTonnes,
    durationMs: vehicle.durationMs,
  };
  const level = overweightLevel(estimatedTonnes, calibration.overweightTonnes);
  if (level === null) return { vehicle: event, overweight: null };
  return {
    vehicle: event,
    overweight: {
      kind: 'overweight',
      deviceId,
      level: level.level,
      thresholdTonnes: level.thresholdTonnes,
      estimatedTonnes,
      peakMicrostrain: vehicle.peakMicrostrain,
      channel: vehicle.peakChannel,
      durationMs: vehicle.durationMs,
      windowId: windowId(),
    },
  };
}
