/**
 * Lookups every view needs (names, rules, points by key), built from the CabinetPort. Building
 * them clones the engine's rules, so the live stream, which turns every alarm change into a view,
 * reuses one index for a second instead of building it per change.
 */
import { performance } from 'node:perf_hooks';
import type { AlarmRule } from '../../alarms/types.js';
import type { ResolvedPoint } from '../../profiles/types.js';
import type { LocalizedName } from '../api-types.js';
import type { CabinetDevice, CabinetPort } from '../cabinet-port.js';

export interface CabinetIndex {
  devices: ReadonlyMap<string, CabinetDevice>;
  rules: ReadonlyMap<string, AlarmRule>;
  /** The point a device's point key names. */
  point(deviceId: string, pointKey: string): ResolvedPoint | undefined;
  /** The device's profile name; for the gateway's own alarms (storage, bus dark ...) a name saying so. */
  deviceName(deviceId: string): LocalizedName;
}

/** The gateway's own alarms (storage, quarantine, concentrator online rate) are on its id; a bus is `bus:<id>`. */
const GATEWAY_NAME: LocalizedName = { 'zh-CN': '网关', en: 'Gateway' };

export function buildIndex(port: CabinetPort): CabinetIndex {
  const devices = new Map(port.devices().map((d) => [d.id, d]));
  const rules = new Map(port.alarmRules().map((r) => [r.alarmKey, r]));
  const points = new Map<string, Map<string, ResolvedPoint>>();
  for (const device of devices.values())
    points.set(device.id, new Map(device.profile.points.map((p) => [p.key, p])));
  return {
    devices,
    rules,
    point: (deviceId, pointKey) => points.get(deviceId)?.get(pointKey),
    deviceName(deviceId) {
      const device = devices.get(deviceId);
      if (device !== undefined) return { ...device.profile.name };
      if (deviceId.startsWith('bus:'))
        return { 'zh-CN': `总线 ${deviceId.slice(4)}`, en: `Bus ${deviceId.slice(4)}` };
      return { ...GATEWAY_NAME };
    },
  };
}

/** An index rebuilt at most once per `maxAgeMs` (the live stream's alarm events). */
export function cachedIndex(port: CabinetPort, maxAgeMs = 1_000): () => CabinetIndex {
  let built: { index: CabinetIndex; atMs: number } | null = null;
  return () => {
    const now = performance.now();
    if (built === null || now - built.atMs > maxAgeMs) built = { index: buildIndex(port), atMs: now };
    return built.index;
  };
}
