/**
 * Devices and their values as the overview and device page show them (api-types.ts
 * DeviceSummary, PointDefinition, PointValueView, BusView). Names and units come from the
 * profiles (device-profiles/, `name: {zh-CN, en}`).
 *
 * Quality of a value (PointValueView.quality): 'bad' when the device sent NaN (a sensor fault,
 * stored NULL), 'stale' when the device's last poll failed or the value is older than three of
 * its poll intervals (at least 30 s), else the quality of the poll that read it.
 */
import { performance } from 'node:perf_hooks';
import type { AlarmPriority } from '../../../cloud-sync/contract/events.js';
import type { BusConfig, BusCounters, DeviceCounters } from '../../bus/types.js';
import type { SerialSettings } from '../../../drivers/transport/transport.js';
import type { LoadedProfile } from '../../profiles/types.js';
import type {
  BusDiagnostics,
  BusView,
  DeviceLineHealth,
  DeviceSummary,
  PointDefinition,
  PointValueView,
} from '../api-types.js';
import type { AlarmView } from '../api-types.js';
import type { CabinetDevice, CabinetPort, LatestPoll } from '../cabinet-port.js';
import { byUrgency } from './alarms.js';
import type { CabinetIndex } from './cabinet-index.js';

const STALE_POLLS = 3;
const MIN_STALE_MS = 30_000;

export function deviceCounters(port: CabinetPort): Map<string, DeviceCounters> {
  const counters = new Map<string, DeviceCounters>();
  for (const bus of port.buses()) for (const d of bus.counters?.devices ?? []) counters.set(d.deviceId, d);
  return counters;
}

/** Online: the scheduler does not count it dead, and it answered since its bus started. */
export function isOnline(counters: DeviceCounters | undefined): boolean {
  return counters !== undefined && counters.health !== 'dead' && counters.lastSuccessMonotonicMs !== null;
}

export function deviceSummary(
  device: CabinetDevice,
  latest: LatestPoll | null,
  counters: DeviceCounters | undefined,
  alarms: readonly AlarmView[],
): DeviceSummary {
  const own = alarms.filter((a) => a.deviceId === device.id && a.state !== 'normal').sort(byUrgency);
  const highest: AlarmPriority | null = own[0]?.priority ?? null;
  return {
    id: device.id,
    name: { ...device.profile.name },
    label: device.config.name ?? null,
    location: device.config.location?.description ?? null,
    family: device.profile.family,
    profileId: device.profile.id,
    busId: device.busId,
    online: isOnline(counters),
    lastPollWallMs: latest?.wallMs ?? null,
    activeAlarms: own.length,
    highestPriority: highest,
  };
}

export function pointDefinitions(profile: LoadedProfile): PointDefinition[] {
  return profile.points.map((p) => ({
    key: p.key,
    name: { ...p.name },
    child: p.child,
    unit: p.unit,
    table: p.table,
    address: p.address,
    count: p.count,
    dataType: p.type,
    writable: p.writable,
    min: p.min,
    max: p.max,
  }));
}

/** Every point of the profile with its latest value (null and 'stale' when never read). */
export function pointValues(
  profile: LoadedProfile,
  latest: LatestPoll | null,
  effectiveIntervalMs: number,
  nowMonoMs: number = performance.now(),
): PointValueView[] {
  const staleAfterMs = Math.max(MIN_STALE_MS, STALE_POLLS * effectiveIntervalMs);
  return profile.points.map((point) => {
    const value = latest?.values.get(point.key);
    if (value === undefined) return { key: point.key, value: null, quality: 'stale', wallMs: null };
    const bad = typeof value.value === 'number' && !Number.isFinite(value.value);
    const stale = latest?.quality === 'failed' || nowMonoMs - value.monoMs > staleAfterMs;
    return {
      key: point.key,
      value: bad ? null : value.value,
      quality: bad ? 'bad' : stale ? 'stale' : value.quality,
      wallMs: value.wallMs,
    };
  });
}

/** The values of one poll only (the live stream's `values` event): the points it read. */
export function polledValues(latest: LatestPoll, keys: readonly string[]): PointValueView[] {
  return keys.flatMap((key) => {
    const value = latest.values.get(key);
    if (value === undefined) return [];
    const bad = typeof value.value === 'number' && !Number.isFinite(value.value);
    return [
      { key, value: bad ? null : value.value, quality: bad ? 'bad' : value.quality, wallMs: value.wallMs },
    ];
  });
}

export function busDiagnostics(port: CabinetPort, index: CabinetIndex): BusDiagnostics {
  const nowMono = performance.now();
  const nowWall = Date.now();
  return {
    buses: port.buses().map(({ config, counters }): BusView => {
      const devices = [...index.devices.values()].filter((d) => d.busId === config.id);
      return {
        id: config.id,
        kind: config.kind,
        endpoint: endpointOf(config),
        running: counters !== null,
        utilisation: counters?.utilisation ?? null,
        transactions: counters?.transactions ?? 0,
        timeouts: counters?.timeouts ?? 0,
        crcErrors: counters?.crcErrors ?? 0,
        exceptions: counters?.exceptions ?? 0,
        otherErrors: counters?.otherErrors ?? 0,
        retries: counters?.retries ?? 0,
        devices: devices.map((device) => lineHealth(device, counters, nowMono, nowWall)),
      };
    }),
  };
}

function lineHealth(
  device: CabinetDevice,
  bus: BusCounters | null,
  nowMono: number,
  nowWall: number,
): DeviceLineHealth {
  const c = bus?.devices.find((d) => d.deviceId === device.id);
  return {
    deviceId: device.id,
    name: { ...device.profile.name },
    unitId: device.config.unitId,
    transactions: c?.transactions ?? 0,
    timeouts: c?.timeouts ?? 0,
    crcErrors: c?.crcErrors ?? 0,
    exceptions: c?.exceptions ?? 0,
    otherErrors: c?.otherErrors ?? 0,
    retries: c?.retries ?? 0,
    lastRoundTripMs: c?.lastRttMs ?? null,
    meanRoundTripMs: c?.meanRttMs ?? null,
    maxRoundTripMs: c?.maxRttMs ?? null,
    health: c?.health ?? 'dead',
    consecutiveFailures: c?.consecutiveFailures ?? 0,
    pollIntervalS: device.config.pollIntervalMs / 1000,
    effectiveIntervalS: (c?.effectiveIntervalMs ?? device.config.pollIntervalMs) / 1000,
    // The scheduler stamps on the process clock; shown on the wall clock of now.
    lastSuccessWallMs:
      c?.lastSuccessMonotonicMs == null ? null : Math.round(nowWall - (nowMono - c.lastSuccessMonotonicMs)),
    online: isOnline(c),
  };
}

/** "/dev/ttyS1@9600-8E1", "10.0.0.5:502" (the gateway's log uses the same notation). */
function endpointOf(config: BusConfig): string {
  switch (config.kind) {
    case 'rtu':
      return `${config.path}@${serial(config.serial)}`;
    case 'rtu-over-tcp':
      return `${config.host}:${config.port} (RTU ${serial(config.serial)})`;
    case 'tcp':
      return `${config.host}:${config.port}`;
  }
}

function serial(s: SerialSettings): string {
  return `${s.baudRate}-${s.dataBits}${{ none: 'N', even: 'E', odd: 'O' }[s.parity]}${s.stopBits}`;
}
