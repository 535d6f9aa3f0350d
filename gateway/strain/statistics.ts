/**
 * Per-minute statistics of each strain channel: min, max, mean and RMS of the temperature-
 * compensated values, the figures a bridge engineer reads for fatigue and trend analysis without
 * downloading the raw readings.
 *
 * Periods are cut on the monotonic clock, so a wall-clock jump (NTP arriving on a cabinet that
 * booted without a trusted clock, docs/storage.md) never makes a period shorter, longer or
 * run backwards. The first period is lined up with the wall-clock minute so that, with a good
 * clock, periods read as whole minutes; the wall time attached to each period is for display
 * only and is taken afresh for each period, so it catches up once the clock is corrected.
 */
import type { StrainStatisticsEvent } from '../../cloud-sync/contract/events.js';
import type { Instant } from '../alarms/types.js';

export const STATISTICS_PERIOD_MS = 60_000;

export interface ChannelSummary {
  min: number;
  max: number;
  mean: number;
  /** Root mean square: sqrt(mean of the squares). */
  rms: number;
  count: number;
}

/** Running sums of one channel over one period (O(1) memory whatever the poll rate). */
class RunningSummary {
  count = 0;
  sum = 0;
  sumOfSquares = 0;
  min = Infinity;
  max = -Infinity;

  add(value: number): void {
    this.count++;
    this.sum += value;
    this.sumOfSquares += value * value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  summary(): ChannelSummary {
    return {
      min: this.min,
      max: this.max,
      mean: this.sum / this.count,
      rms: Math.sqrt(this.sumOfSquares / this.count),
      count: this.count,
    };
  }
}

/** Min, max, mean and RMS of a list of values (what one period of one channel reduces to). */
export function summarize(values: readonly number[]): ChannelSummary | null {
  if (values.length === 0) return null;
  const running = new RunningSummary();
  for (const v of values) running.add(v);
  return running.summary();
}

export class StrainStatistics {
  private periodStartMono: number | null = null;
  private periodStartWall = 0;
  private channels = new Map<string, RunningSummary>();

  constructor(
    private readonly deviceId: string,
    private readonly periodMs = STATISTICS_PERIOD_MS,
  ) {}

  /**
   * Call with the time of each sample before adding its values: when the sample lies past the
   * end of the current period, that period is closed and returned (null if nothing was added
   * in it), and the period containing the sample begins.
   */
  roll(at: Instant): StrainStatisticsEvent | null {
    if (this.periodStartMono === null) {
      const intoMinute = ((at.wallMs % this.periodMs) + this.periodMs) % this.periodMs;
      this.begin(at.monoMs - intoMinute, at);
      return null;
    }
    if (at.monoMs < this.periodStartMono + this.periodMs) return null;
    const closed = this.close();
    // Whole periods only, so boundaries stay where they were even after a gap without polls.
    const skipped = Math.floor((at.monoMs - this.periodStartMono) / this.periodMs);
    this.begin(this.periodStartMono + skipped * this.periodMs, at);
    return closed;
  }

  /** Adds one compensated value of one channel to the current period. */
  add(channel: string, microstrain: number): void {
    let running = this.channels.get(channel);
    if (running === undefined) {
      running = new RunningSummary();
      this.channels.set(channel, running);
    }
    running.add(microstrain);
  }

  private begin(startMono: number, at: Instant): void {
    this.periodStartMono = startMono;
    // Wall time of the period's start, mapped through this sample (display only). Rounded: the
    // monotonic clock is fractional, and the contract's periodStartMs is whole milliseconds.
    this.periodStartWall = Math.round(at.wallMs - (at.monoMs - startMono));
    this.channels = new Map();
  }

  private close(): StrainStatisticsEvent | null {
    if (this.channels.size === 0) return null;
    const channels: StrainStatisticsEvent['channels'] = {};
    const names = [...this.channels.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    for (const name of names) {
      const running = this.channels.get(name);
      if (running !== undefined) channels[name] = running.summary();
    }
    return {
      kind: 'strain_statistics',
      deviceId: this.deviceId,
      periodStartMs: this.periodStartWall,
      channels,
    };
  }
}
