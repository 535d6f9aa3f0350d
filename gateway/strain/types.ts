/**
 * Public shapes of the strain module: the per-device configuration (the `strain` section of the
 * gateway configuration, documented field by field in gateway/config/schema.json and in
 * docs/strain.md) and what the analyzer hands to the pipeline after each poll.
 */
import type {
  OverweightEvent,
  StrainStatisticsEvent,
  VehicleEvent,
} from '../../cloud-sync/contract/events.js';

/** Structure the gauges are fixed to; selects the default temperature coefficient (docs/domain.md). */
export type StrainMaterial = 'steel' | 'concrete';

/** How the channels are combined into the one signal the vehicle detector watches. */
export type DetectionMode = 'max' | 'sum';

/** Per-channel overrides, keyed by the strain point id (`strain_3`). */
export interface StrainChannelConfig {
  /** Apparent strain per °C of this gauge, µε/°C (from its calibration sheet). Default: by material. */
  coefficient?: number;
  /** Reference temperature T0 of this gauge, °C. Default: the device's. */
  referenceTemperatureC?: number;
  /** Raw reading of the unloaded bridge at T0, µε, subtracted from every reading. Default 0. */
  zeroOffset?: number;
  /** Whether the channel takes part in vehicle detection (statistics are kept either way). Default true. */
  detect?: boolean;
}

/** One strain logger (one bridge span), with every default applied. */
export interface StrainDeviceConfig {
  /** Id of the device (in the `devices` section) whose poll results this analyses. */
  device: string;
  /** Default coefficient for every channel; optional when every channel has its own. */
  material?: StrainMaterial;
  /** Reference temperature T0, °C; absent: captured from the first reading of each channel. */
  referenceTemperatureC?: number;
  channels: Record<string, StrainChannelConfig>;
  detection: DetectionMode;
  /** An event starts when the detection signal rises this far above the baseline, µε. */
  triggerMicrostrain: number;
  /** ... and ends once it has stayed below this (µε above baseline) for holdMs. */
  releaseMicrostrain: number;
  holdMs: number;
  /** An event longer than this is closed and the baseline taken again (standing load, gauge step). */
  maxEventS: number;
  /** Time constant of the baseline that follows temperature residue and creep, s. */
  baselineTauS: number;
  /** Calibrated with a truck of known weight: tonnes per µε of peak. */
  loadFactorTonnesPerMicrostrain: number;
  /** Overweight levels 1, 2, (3), ascending gross weights in tonnes (per-bridge design values). */
  overweightTonnes: number[];
  /** Raw readings kept around an overweight event: this long before its start ... */
  windowBeforeS: number;
  /** ... and this long after its end. */
  windowAfterS: number;
}

export type StrainEvent = VehicleEvent | OverweightEvent | StrainStatisticsEvent;

/**
 * A span of raw readings of one device the store must keep beyond the raw retention. Times are
 * on the poll results' monotonic clock (DevicePollResult.monotonicMs), the clock the readings are
 * stored with. `toMonoMs` usually lies a few seconds in the future when the window is reported
 * (it covers the readings after the event): the store keeps readings that arrive later inside it too.
 */
export interface RawWindow {
  /** Unique id; the OverweightEvent carries the same id in `windowId`. */
  windowId: string;
  deviceId: string;
  fromMonoMs: number;
  toMonoMs: number;
  /** Why it is kept, e.g. "overweight level 2". */
  reason: string;
}

/** What one poll produced: events for the outbox and raw windows for the store, to commit together. */
export interface StrainOutput {
  events: StrainEvent[];
  windows: RawWindow[];
}
