/**
 * Rules of the `strain` section the schema cannot express, because they relate it to the devices
 * and their profiles, or relate two of its fields. Like semantic.ts they read the document
 * defensively (the schema may have found problems too) so every issue is reported in one run.
 */
import { escapePointerToken } from '../profiles/json-source.js';
import type { LoadedProfile } from '../profiles/types.js';
import { isObj, type Obj } from './json-object.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

const STRAIN_POINT = /^strain_\d+$/;

function num(item: Obj, key: string): number | undefined {
  const value = item[key];
  return typeof value === 'number' ? value : undefined;
}

/** Profile id of each device id in /devices (first definition wins; duplicates are reported elsewhere). */
function deviceProfiles(doc: Obj): Map<string, string | undefined> {
  const map = new Map<string, string | undefined>();
  const devices = doc['devices'];
  if (!Array.isArray(devices)) return map;
  for (const device of devices) {
    if (!isObj(device) || typeof device['id'] !== 'string' || map.has(device['id'])) continue;
    map.set(device['id'], typeof device['profile'] === 'string' ? device['profile'] : undefined);
  }
  return map;
}

export function checkStrain(doc: Obj, profiles: ReadonlyMap<string, LoadedProfile>, issues: Issue[]): void {
  const entries = doc['strain'];
  if (!Array.isArray(entries)) return;
  const devices = deviceProfiles(doc);
  const firstByDevice = new Map<string, number>();
  entries.forEach((entry: unknown, index) => {
    if (!isObj(entry)) return;
    const at = `/strain/${index}`;
    const device = entry['device'];
    if (typeof device === 'string') {
      const first = firstByDevice.get(device);
      if (first !== undefined) {
        issues.push({
          pointer: `${at}/device`,
          message: `device '${device}' is already analysed by /strain/${first}`,
        });
      } else firstByDevice.set(device, index);
      if (!devices.has(device)) {
        issues.push({ pointer: `${at}/device`, message: `no device '${device}' is defined in /devices` });
      } else {
        const profile = profiles.get(devices.get(device) ?? '');
        if (profile !== undefined) checkChannels(entry, at, device, profile, issues);
      }
    }
    checkThresholds(entry, at, issues);
  });
}

/** Channel keys, coefficients and detection channels against the device's profile. */
function checkChannels(
  entry: Obj,
  at: string,
  device: string,
  profile: LoadedProfile,
  issues: Issue[],
): void {
  const points = profile.points.filter((p) => p.child === null && STRAIN_POINT.test(p.id)).map((p) => p.id);
  if (points.length === 0) {
    issues.push({
      pointer: `${at}/device`,
      message: `device '${device}' has profile '${profile.id}', which has no strain_N points to analyse`,
    });
    return;
  }
  const channels = isObj(entry['channels']) ? entry['channels'] : {};
  for (const key of Object.keys(channels)) {
    if (!points.includes(key)) {
      issues.push({
        pointer: `${at}/channels/${escapePointerToken(key)}`,
        message: `profile '${profile.id}' has no strain point '${key}' (strain points: ${points.join(', ')})`,
      });
    }
  }
  const own = (point: string): Obj => {
    const channel = channels[point];
    return isObj(channel) ? channel : {};
  };
  if (entry['material'] === undefined) {
    const missing = points.filter((p) => num(own(p), 'coefficient') === undefined);
    if (missing.length > 0) {
      issues.push({
        pointer: at,
        message: `give 'material' (steel or concrete) or a coefficient for every channel (missing for ${missing.join(', ')})`,
      });
    }
  }
  if (points.every((p) => own(p)['detect'] === false)) {
    issues.push({
      pointer: `${at}/channels`,
      message: 'every channel has detect: false, so no vehicle could be detected',
    });
  }
}

function checkThresholds(entry: Obj, at: string, issues: Issue[]): void {
  const trigger = num(entry, 'triggerMicrostrain');
  const release = num(entry, 'releaseMicrostrain');
  // A release at or above the trigger would end every event at the sample that starts it.
  if (trigger !== undefined && release !== undefined && !(release < trigger)) {
    issues.push({
      pointer: `${at}/releaseMicrostrain`,
      message: `must be below triggerMicrostrain (${trigger}), not ${release}`,
    });
  }
  const levels = entry['overweightTonnes'];
  if (!Array.isArray(levels)) return;
  levels.forEach((tonnes: unknown, i) => {
    const previous: unknown = levels[i - 1];
    if (i > 0 && typeof tonnes === 'number' && typeof previous === 'number' && !(tonnes > previous)) {
      issues.push({
        pointer: `${at}/overweightTonnes/${i}`,
        message: `level ${i + 1} must be above level ${i} (${previous} t), not ${tonnes} t`,
      });
    }
  });
}
