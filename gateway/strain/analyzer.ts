/**
 * StrainAnalyzer: everything the gateway derives from one bridge strain logger's polls.
 *
 *   poll -> per channel: sensor fault? -> temperature compensation -> minute statistics
 *        -> µε above the channel's baseline -> combined over the detection channels
 *        -> PeakDetector -> VehicleEvent (+ OverweightEvent and the raw window to keep)
 *        -> baselines follow the signal only while no vehicle is on the span
 *
 * Channels are found by the point naming of the bridge-strain profiles (device-profiles/
 * bridge-strain): `strain_N` (µε), its thermistor `temperature_N` (or one `temperature` for the
 * whole logger) and its fault flag `sensor_N_fault`. A channel with its fault flag set, or without
 * a usable strain value, is left out of that poll (statistics and detection alike); when it comes
 * back from a fault its baseline is taken afresh, as a coil fault often comes with a jump in the
 * reading (a missing reading, e.g. a failed request, keeps the baseline).
 *
 * The analyzer is pure apart from logging: it keeps no timers and does no I/O; the pipeline
 * commits its output in the same transaction as the readings (ARCHITECTURE.md, "The path of one
 * reading").
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { DevicePollResult, PointValue } from '../bus/types.js';
import type { Instant } from '../alarms/types.js';
import {
  BaselineTracker,
  channelCompensation,
  compensate,
  type ChannelCompensation,
} from './compensation.js';
import { StrainError } from './errors.js';
import { combineChannels, PeakDetector, vehicleEvents, type DetectedVehicle } from './peaks.js';
import { StrainStatistics } from './statistics.js';
import type { StrainDeviceConfig, StrainOutput } from './types.js';

/**
 * Thermistor readings outside this range are a broken sensor (an open or shorted thermistor
 * reads the end of its scale, e.g. ±327.67 °C in an i16 × 0.01 register), never a bridge
 * temperature; the channel then keeps its last good temperature.
 */
const PLAUSIBLE_TEMPERATURE_C = { min: -50, max: 100 };

const STRAIN_POINT = /^strain_(\d+)$/;

interface ChannelState {
  key: string;
  /** The channel's own thermistor; a logger with one sensor for all channels has `temperature`. */
  temperatureKey: string;
  faultKey: string;
  compensation: ChannelCompensation | null;
  detect: boolean;
  baseline: BaselineTracker;
  lastTemperatureC: number | null;
  /** Had its fault flag set: the baseline is taken afresh when the channel returns. */
  faulted: boolean;
  /** Why it was left out, to log each change of reason once. */
  excludedFor: string | null;
}

export interface StrainAnalyzerOptions {
  deviceId: string;
  config: StrainDeviceConfig;
  logger: Logger;
}

/** Checks what the analyzer cannot run without (gateway/config/strain.ts checks the same at load). */
function checkConfig(deviceId: string, config: StrainDeviceConfig): void {
  const problems: string[] = [];
  if (config.device !== deviceId) problems.push(`config is for device '${config.device}', not '${deviceId}'`);
  if (!(config.releaseMicrostrain < config.triggerMicrostrain))
    problems.push('releaseMicrostrain must be below triggerMicrostrain');
  if (!(config.loadFactorTonnesPerMicrostrain > 0))
    problems.push('loadFactorTonnesPerMicrostrain must be > 0');
  if (!(config.holdMs >= 0) || !(config.maxEventS > 0) || !(config.baselineTauS > 0))
    problems.push('holdMs must be >= 0, maxEventS and baselineTauS > 0');
  const levels = config.overweightTonnes;
  if (levels.some((t, i) => !(t > 0) || (i > 0 && !(t > (levels[i - 1] ?? 0)))))
    problems.push('overweightTonnes must be positive and ascending');
  if (problems.length > 0)
    throw new StrainError('STRAIN_CONFIG_INVALID', `strain config of ${deviceId}: ${problems.join('; ')}`);
}

export class StrainAnalyzer {
  private readonly deviceId: string;
  private readonly config: StrainDeviceConfig;
  private readonly logger: Logger;
  private readonly channels = new Map<string, ChannelState>();
  private readonly statistics: StrainStatistics;
  private readonly detector: PeakDetector;
  private lastMonoMs: number | null = null;

  constructor(options: StrainAnalyzerOptions) {
    checkConfig(options.deviceId, options.config);
    this.deviceId = options.deviceId;
    this.config = options.config;
    this.logger = options.logger.child({ module: 'strain', deviceId: options.deviceId });
    this.statistics = new StrainStatistics(options.deviceId);
    this.detector = new PeakDetector({
      triggerMicrostrain: options.config.triggerMicrostrain,
      releaseMicrostrain: options.config.releaseMicrostrain,
      holdMs: options.config.holdMs,
      maxEventMs: options.config.maxEventS * 1000,
    });
  }

  /**
   * Analyses one poll of the device. The sample is timed by the poll itself
   * (result.monotonicMs, when the registers were read, the time the readings are stored under);
   * its wall time is mapped through `now`, the pipeline's clock, and is for display only.
   */
  onPoll(result: DevicePollResult, now: Instant): StrainOutput {
    const out: StrainOutput = { events: [], windows: [] };
    if (result.deviceId !== this.deviceId) return out;
    const at: Instant = {
      monoMs: result.monotonicMs,
      wallMs: now.wallMs - (now.monoMs - result.monotonicMs),
    };
    if (this.lastMonoMs !== null && at.monoMs <= this.lastMonoMs) {
      this.logger.debug({ monoMs: at.monoMs, lastMonoMs: this.lastMonoMs }, 'poll out of order; ignored');
      return out;
    }
    this.lastMonoMs = at.monoMs;

    const closed = this.statistics.roll(at);
    if (closed !== null) out.events.push(closed);
    if (result.readings.length === 0) return out;

    const values = new Map<string, PointValue>(result.readings.map((r) => [r.key, r.value]));
    this.discoverChannels(values);

    const compensated = new Map<string, number>();
    const excess = new Map<string, number>();
    for (const channel of this.channels.values()) {
      const value = this.compensated(channel, values);
      if (value === null) continue;
      compensated.set(channel.key, value);
      this.statistics.add(channel.key, value);
      if (channel.faulted || channel.baseline.value === null) {
        channel.baseline.reset(value, at.monoMs);
        channel.faulted = false;
      }
      if (channel.detect) excess.set(channel.key, value - (channel.baseline.value ?? value));
    }

    const combined = combineChannels(excess, this.config.detection);
    const vehicle = combined === null ? null : this.detector.push({ monoMs: at.monoMs, ...combined });
    if (vehicle !== null) this.report(vehicle, out);

    if (vehicle?.end === 'too_long') {
      // A load that does not leave (a jam) or a step in a gauge: start again from where the signal is.
      for (const [key, value] of compensated) this.channels.get(key)?.baseline.reset(value, at.monoMs);
    } else if (!this.detector.inEvent) {
      for (const [key, value] of compensated) this.channels.get(key)?.baseline.update(value, at.monoMs);
    }
    return out;
  }

  private discoverChannels(values: ReadonlyMap<string, PointValue>): void {
    let added = false;
    for (const key of values.keys()) {
      const match = STRAIN_POINT.exec(key);
      if (match === null || this.channels.has(key)) continue;
      const n = match[1] ?? '';
      this.channels.set(key, {
        key,
        temperatureKey:
          values.has(`temperature_${n}`) || !values.has('temperature') ? `temperature_${n}` : 'temperature',
        faultKey: `sensor_${n}_fault`,
        compensation: channelCompensation(this.config, key),
        detect: this.config.channels[key]?.detect ?? true,
        baseline: new BaselineTracker(this.config.baselineTauS, this.config.releaseMicrostrain),
        lastTemperatureC: null,
        faulted: false,
        excludedFor: null,
      });
      added = true;
    }
    // Keep channel order stable (strain_2 before strain_10) for logs and ties in detection.
    if (added) {
      const sorted = [...this.channels.entries()].sort(([a], [b]) =>
        a.localeCompare(b, 'en', { numeric: true }),
      );
      this.channels.clear();
      for (const [key, state] of sorted) this.channels.set(key, state);
    }
  }

  /** The channel's compensated strain in this poll, or null when it is left out (and why, logged once). */
  private compensated(channel: ChannelState, values: ReadonlyMap<string, PointValue>): number | null {
    const temperature = values.get(channel.temperatureKey);
    if (
      typeof temperature === 'number' &&
      temperature >= PLAUSIBLE_TEMPERATURE_C.min &&
      temperature <= PLAUSIBLE_TEMPERATURE_C.max
    )
      channel.lastTemperatureC = temperature;
    const raw = values.get(channel.key);
    const temperatureC = channel.lastTemperatureC;
    const compensation = channel.compensation;
    if (values.get(channel.faultKey) === true) {
      channel.faulted = true;
      return this.exclude(channel, 'sensor fault');
    }
    if (typeof raw !== 'number' || !Number.isFinite(raw)) return this.exclude(channel, 'no strain reading');
    if (temperatureC === null) return this.exclude(channel, 'no temperature reading');
    if (compensation === null) return this.exclude(channel, 'no temperature coefficient');
    if (channel.excludedFor !== null) {
      this.logger.info({ channel: channel.key }, 'strain channel back in the analysis');
      channel.excludedFor = null;
    }
    if (compensation.referenceTemperatureC === null) {
      // No T0 configured: the first reading becomes T0 (write it into the configuration to keep
      // the compensated values comparable across restarts; detection does not depend on it).
      compensation.referenceTemperatureC = temperatureC;
      this.logger.info(
        { channel: channel.key, referenceTemperatureC: temperatureC },
        'reference temperature captured from the first reading',
      );
    }
    return compensate(raw, temperatureC, {
      coefficient: compensation.coefficient,
      zeroOffset: compensation.zeroOffset,
      referenceTemperatureC: compensation.referenceTemperatureC,
    });
  }

  /** Leaves the channel out of this poll; logs when the reason changes. */
  private exclude(channel: ChannelState, reason: string): null {
    if (reason !== channel.excludedFor)
      this.logger.warn({ channel: channel.key, reason }, 'strain channel left out of the analysis');
    channel.excludedFor = reason;
    return null;
  }

  private report(vehicle: DetectedVehicle, out: StrainOutput): void {
    const { vehicle: event, overweight } = vehicleEvents(this.deviceId, vehicle, this.config, () =>
      randomUUID(),
    );
    out.events.push(event);
    if (vehicle.end === 'too_long') {
      this.logger.warn(
        { peakMicrostrain: vehicle.peakMicrostrain, durationMs: vehicle.durationMs },
        'strain stayed above the release threshold too long; event closed and baseline taken again',
      );
    }
    if (overweight === null) return;
    out.events.push(overweight);
    out.windows.push({
      windowId: overweight.windowId,
      deviceId: this.deviceId,
      fromMonoMs: vehicle.startMonoMs - this.config.windowBeforeS * 1000,
      toMonoMs: vehicle.endMonoMs + this.config.windowAfterS * 1000,
      reason: `overweight level ${overweight.level}`,
    });
    this.logger.warn(
      {
        overweightLevel: overweight.level,
        estimatedTonnes: overweight.estimatedTonnes,
        thresholdTonnes: overweight.thresholdTonnes,
        peakMicrostrain: overweight.peakMicrostrain,
        channel: overweight.channel,
      },
      'overweight vehicle',
    );
  }
}
