/**
 * Telemetry for the uplink, written to the outbox as the evictable `telemetry` class
 * (docs/uplink-contract.md, delivery rule 5):
 * - report-by-exception: after each poll, one `telemetry` event per device with the points that
 *   moved beyond their deadband (deadband.ts); the first poll reports everything;
 * - periodic aggregates: every period (default 1 minute, by the monotonic clock) one
 *   `telemetry_aggregate` event per device with min, max, mean and count of each numeric point.
 * Pure bookkeeping: no I/O; the pipeline commits the returned events.
 */
import type { TelemetryAggregateEvent, TelemetryEvent } from '../../cloud-sync/contract/events.js';
import type { Instant } from '../alarms/types.js';
import type { DevicePollResult, PointValue } from '../bus/types.js';
import type { LoadedProfile, ResolvedPoint } from '../profiles/types.js';
import { deadbandFor, exceedsDeadband, type DeadbandOptions } from './deadband.js';

export interface TelemetryOptions {
  /** device id -> its profile (for deadbands). */
  profiles: ReadonlyMap<string, LoadedProfile>;
  relativeDeadband?: number;
  /** device id -> point key -> absolute deadband. */
  deadbands?: Record<string, Record<string, number>>;
  aggregatePeriodMs?: number;
}

interface Accumulator {
  min: number;
  max: number;
  sum: number;
  count: number;
}

interface DeviceTelemetry {
  points: Map<string, ResolvedPoint>;
  deadband: DeadbandOptions;
  lastReported: Map<string, PointValue>;
  period: Map<string, Accumulator>;
  periodStartMono: number;
  periodStartWall: number;
}

export class TelemetryReporter {
  private readonly devices = new Map<string, DeviceTelemetry>();
  private readonly periodMs: number;

  constructor(private readonly options: TelemetryOptions) {
    this.periodMs = options.aggregatePeriodMs ?? 60_000;
  }

  /** Report-by-exception for one poll; also feeds the running aggregates. */
  onPoll(result: DevicePollResult, now: Instant): TelemetryEvent[] {
    if (result.readings.length === 0) return [];
    const device = this.device(result.deviceId, now);
    if (!device) return [];
    const changed: Record<string, number | boolean> = {};
    let any = false;
    for (const { key, value } of result.readings) {
      if (typeof value === 'number') this.accumulate(device, key, value);
      const point = device.points.get(key);
      const last = device.lastReported.get(key);
      const deadband =
        point && typeof value === 'number'
          ? deadbandFor(point, typeof last === 'number' ? last : value, device.deadband)
          : 0;
      if (exceedsDeadband(value, last, deadband)) {
        // NaN (a sensor's fault encoding) has no JSON form: it travels as absent, and the
        // alarm side reports the sensor fault.
        if (typeof value === 'number' && Number.isNaN(value)) continue;
        changed[key] = value;
        device.lastReported.set(key, value);
        any = true;
      }
    }
    return any ? [{ kind: 'telemetry', deviceId: result.deviceId, values: changed }] : [];
  }

  /** Closes every aggregation period that has ended by `now`. */
  tick(now: Instant): TelemetryAggregateEvent[] {
    const events: TelemetryAggregateEvent[] = [];
    for (const [deviceId, device] of this.devices) {
      if (now.monoMs - device.periodStartMono < this.periodMs) continue;
      if (device.period.size > 0) {
        const points: TelemetryAggregateEvent['points'] = {};
        for (const [key, acc] of device.period)
          points[key] = { min: acc.min, max: acc.max, mean: acc.sum / acc.count, count: acc.count };
        events.push({
          kind: 'telemetry_aggregate',
          deviceId,
          periodS: this.periodMs === 3_600_000 ? 3600 : 60,
          periodStartMs: device.periodStartWall,
          points,
        });
      }
      device.period = new Map();
      // Periods are contiguous on the monotonic clock, so an idle minute does not shift them.
      const elapsedPeriods = Math.floor((now.monoMs - device.periodStartMono) / this.periodMs);
      device.periodStartMono += elapsedPeriods * this.periodMs;
      // Rounded: the monotonic clock is fractional, the contract's periodStartMs whole milliseconds.
      device.periodStartWall = Math.round(now.wallMs - (now.monoMs - device.periodStartMono));
    }
    return events;
  }

  private device(deviceId: string, now: Instant): DeviceTelemetry | undefined {
    const existing = this.devices.get(deviceId);
    if (existing) return existing;
    const profile = this.options.profiles.get(deviceId);
    if (!profile) return undefined;
    const absolute = new Map(Object.entries(this.options.deadbands?.[deviceId] ?? {}));
    const created: DeviceTelemetry = {
      points: new Map(profile.points.map((p) => [p.key, p])),
      deadband: { relative: this.options.relativeDeadband ?? 0.01, absolute },
      lastReported: new Map(),
      period: new Map(),
      periodStartMono: now.monoMs,
      periodStartWall: Math.round(now.wallMs),
    };
    this.devices.set(deviceId, created);
    return created;
  }

  private accumulate(device: DeviceTelemetry, key: string, value: number): void {
    if (Number.isNaN(value)) return;
    const acc = device.period.get(key);
    if (!acc) {
      device.period.set(key, { min: value, max: value, sum: value, count: 1 });
      return;
    }
    acc.min = Math.min(acc.min, value);
    acc.max = Math.max(acc.max, value);
    acc.sum += value;
    acc.count++;
  }
}
