/**
 * Temperature compensation and baseline tracking of one vibrating-wire strain channel.
 *
 * A vibrating-wire gauge reads an apparent strain that changes with temperature even when the
 * load does not (the wire and the structure expand differently, and the structure itself moves).
 * The correction is linear (docs/domain.md "Bridge load"):
 *
 *   compensated µε = raw µε - zeroOffset - coefficient × (T - T0)
 *
 * with 12.2 µε/°C on steel and 10.4 µε/°C on concrete unless the gauge's calibration sheet
 * says otherwise, T the gauge's own thermistor and T0 the temperature at which zeroOffset was
 * read on the unloaded bridge (commissioning).
 *
 * What the linear correction leaves (thermal gradients through the deck, creep and shrinkage of
 * concrete, gauge drift) changes over minutes to months; a vehicle crosses in seconds. The
 * BaselineTracker follows the slow part so that vehicle peaks are measured above it.
 */
import type { StrainDeviceConfig, StrainMaterial } from './types.js';

/** Apparent strain per °C of a vibrating-wire gauge, µε/°C (docs/domain.md "Bridge load"). */
export const THERMAL_COEFFICIENTS: Readonly<Record<StrainMaterial, number>> = {
  steel: 12.2,
  concrete: 10.4,
};

export interface ChannelCompensation {
  /** µε/°C */
  coefficient: number;
  /** µε */
  zeroOffset: number;
  /** °C; null until captured from the channel's first temperature reading. */
  referenceTemperatureC: number | null;
}

/** Temperature-compensated strain, µε. */
export function compensate(
  rawMicrostrain: number,
  temperatureC: number,
  c: { coefficient: number; zeroOffset: number; referenceTemperatureC: number },
): number {
  return rawMicrostrain - c.zeroOffset - c.coefficient * (temperatureC - c.referenceTemperatureC);
}

/**
 * The compensation of one channel from the configuration: the channel's own values first, then
 * the device's. Returns null when no coefficient is known (no material and no channel value);
 * the configuration check reports that, so it only happens with a configuration built in code.
 */
export function channelCompensation(config: StrainDeviceConfig, channel: string): ChannelCompensation | null {
  const own = config.channels[channel] ?? {};
  const coefficient =
    own.coefficient ?? (config.material === undefined ? undefined : THERMAL_COEFFICIENTS[config.material]);
  if (coefficient === undefined) return null;
  return {
    coefficient,
    zeroOffset: own.zeroOffset ?? 0,
    referenceTemperatureC: own.referenceTemperatureC ?? config.referenceTemperatureC ?? null,
  };
}

/**
 * How much faster the baseline comes down when the signal is clearly below it. On the gauges
 * used for detection a vehicle only adds strain, so a signal more than the release threshold
 * below the baseline is not noise (both thresholds are set above the noise) but a baseline taken
 * while a vehicle was on the span (start-up, or the end of an over-long event): it then comes
 * down within seconds instead of minutes. Within the margin the tracker is symmetric, so noise
 * does not bias it.
 */
export const BASELINE_FAST_DOWN_SPEEDUP = 10;

/**
 * A first-order low-pass (exponential moving average) with time constant tauS, stepped by the
 * actual time between samples so an irregular poll rate does not change its speed. The analyzer
 * feeds it only while no vehicle event is in progress, so a vehicle's pulse does not pull it up.
 */
export class BaselineTracker {
  private current: number | null = null;
  private lastMonoMs: number | null = null;

  /**
   * @param tauS time constant, s
   * @param fastDownMarginMicrostrain a signal this far below the baseline brings it down
   *   BASELINE_FAST_DOWN_SPEEDUP times faster (the analyzer passes the release threshold)
   */
  constructor(
    private readonly tauS: number,
    private readonly fastDownMarginMicrostrain: number,
  ) {}

  /** The baseline, µε, or null before the first sample. */
  get value(): number | null {
    return this.current;
  }

  /** Takes `value` as the baseline at once (first sample, or after a fault or a stuck event). */
  reset(value: number, monoMs: number): void {
    this.current = value;
    this.lastMonoMs = monoMs;
  }

  /** Moves the baseline towards `value` by the share of tau that has passed since the last update. */
  update(value: number, monoMs: number): void {
    if (this.current === null || this.lastMonoMs === null) {
      this.reset(value, monoMs);
      return;
    }
    const dtS = Math.max(0, monoMs - this.lastMonoMs) / 1000;
    const clearlyBelow = value < this.current - this.fastDownMarginMicrostrain;
    const tauS = clearlyBelow ? this.tauS / BASELINE_FAST_DOWN_SPEEDUP : this.tauS;
    // Exact discretisation of dB/dt = (x - B) / tau over dt: a long gap moves it (almost) all the way.
    const alpha = 1 - Math.exp(-dtS / tauS);
    this.current += alpha * (value - this.current);
    this.lastMonoMs = monoMs;
  }
}
