/**
 * The `lighting` section: the rules the schema cannot express (they relate it to the site, the
 * devices and their profiles), and its resolution into the LightingConfig the lighting module
 * takes (gateway/lighting/types.ts). Like semantic.ts the checks read the document defensively,
 * since the schema may have found problems too, so every issue is reported in one run.
 */
import { isValidTimeZone } from '../lighting/local-time.js';
import { parseCalendarDate } from '../lighting/sun.js';
import { profileLamps, profileLoops } from '../lighting/targets.js';
import type {
  DayType,
  LightingConfig,
  LightingDeviceConfig,
  LightingRule,
  MidnightDimming,
  Phase,
  RatesConfig,
  RoadClass,
  Twilight,
  VerificationConfig,
} from '../lighting/types.js';
import type { LoadedProfile } from '../profiles/types.js';
import type { SiteConfig } from './types.js';
import { isObj, type Obj } from './json-object.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

function objects(value: unknown): Array<{ index: number; item: Obj }> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown, index) => (isObj(item) ? [{ index, item }] : []));
}

function strings(value: unknown): Array<{ index: number; text: string }> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown, index) => (typeof item === 'string' ? [{ index, text: item }] : []));
}

/** Device id -> profile id, first definition wins (duplicates are reported elsewhere). */
function deviceProfiles(doc: Obj): Map<string, string> {
  const map = new Map<string, string>();
  for (const { item } of objects(doc['devices'])) {
    const id = item['id'];
    const profile = item['profile'];
    if (typeof id === 'string' && typeof profile === 'string' && !map.has(id)) map.set(id, profile);
  }
  return map;
}

/** Lamp concentrators by default: the devices whose profile is of that family. */
function defaultLightingDevices(
  devices: ReadonlyMap<string, string>,
  profiles: ReadonlyMap<string, LoadedProfile>,
): string[] {
  return [...devices].filter(([, p]) => profiles.get(p)?.family === 'lamp-concentrator').map(([id]) => id);
}

/** Target ids each lighting device offers, for checking rule targets and the maintenance list. */
interface KnownTargets {
  devices: Set<string>;
  loops: Set<string>;
  lamps: Set<string>;
}

export function checkLighting(doc: Obj, profiles: ReadonlyMap<string, LoadedProfile>, issues: Issue[]): void {
  const lighting = doc['lighting'];
  if (!isObj(lighting)) return;

  const timezone = lighting['timezone'];
  if (typeof timezone === 'string' && timezone !== '' && !isValidTimeZone(timezone)) {
    issues.push({
      pointer: '/lighting/timezone',
      message: `unknown time zone '${timezone}' (use an IANA name such as "Asia/Shanghai")`,
    });
  }

  // Astronomical switching needs to know where the cabinet is (docs/domain.md Astronomical
  // switching).
  const site = doc['site'];
  if (isObj(site) && (typeof site['latitude'] !== 'number' || typeof site['longitude'] !== 'number')) {
    issues.push({
      pointer: '/site',
      message:
        'lighting control needs the site latitude and longitude (sunrise and sunset are computed from them)',
    });
  }

  const seenDates = new Map<string, string>();
  for (const list of ['holidays', 'workdays'] as const) {
    for (const { index, text } of strings(lighting[list])) {
      const at = `/lighting/${list}/${index}`;
      try {
        parseCalendarDate(text);
      } catch {
        issues.push({ pointer: at, message: `'${text}' is not a calendar date (YYYY-MM-DD)` });
        continue;
      }
      const other = seenDates.get(text);
      if (other !== undefined && other !== list)
        issues.push({ pointer: at, message: `${text} is listed both as a holiday and as a working day` });
      seenDates.set(text, list);
    }
  }

  const known = checkDevices(doc, lighting, profiles, issues);
  checkRules(lighting, known, issues);
  for (const { index, text } of strings(lighting['maintenance'])) {
    if (!known.lamps.has(text)) {
      issues.push({
        pointer: `/lighting/maintenance/${index}`,
        message: `'${text}' is not a lamp of a lighting device (write "<device>:lamp_<nn>", e.g. "${[...known.lamps][0] ?? 'lighting:lamp_01'}")`,
      });
    }
  }
}

function checkDevices(
  doc: Obj,
  lighting: Obj,
  profiles: ReadonlyMap<string, LoadedProfile>,
  issues: Issue[],
): KnownTargets {
  const known: KnownTargets = { devices: new Set(), loops: new Set(), lamps: new Set() };
  const devices = deviceProfiles(doc);
  const addTargets = (device: string, profile: LoadedProfile, loops: number[]): void => {
    known.devices.add(device);
    for (const n of loops) known.loops.add(`${device}:loop_${n}`);
    for (const lamp of profileLamps(profile)) known.lamps.add(`${device}:${lamp}`);
  };

  if (lighting['devices'] === undefined) {
    for (const device of defaultLightingDevices(devices, profiles)) {
      const profile = profiles.get(devices.get(device) ?? '');
      if (profile) addTargets(device, profile, profileLoops(profile));
    }
    return known;
  }

  const first = new Map<string, number>();
  for (const { index, item } of objects(lighting['devices'])) {
    const at = `/lighting/devices/${index}`;
    const device = item['device'];
    if (typeof device !== 'string') continue;
    const earlier = first.get(device);
    if (earlier !== undefined) {
      issues.push({
        pointer: `${at}/device`,
        message: `device '${device}' is already controlled by /lighting/devices/${earlier}`,
      });
      continue;
    }
    first.set(device, index);
    const profileId = devices.get(device);
    if (profileId === undefined) {
      issues.push({ pointer: `${at}/device`, message: `no device '${device}' is defined in /devices` });
      continue;
    }
    const profile = profiles.get(profileId);
    if (!profile) continue; // unknown profile: reported at /devices
    const profileLoopNumbers = profileLoops(profile);
    const lamps = profileLamps(profile);
    if (profileLoopNumbers.length === 0 && lamps.length === 0) {
      issues.push({
        pointer: `${at}/device`,
        message: `device '${device}' has profile '${profile.id}', which has no loop_<n>_command coils and no single-lamp controllers to switch`,
      });
      continue;
    }
    if (item['loops'] === undefined) {
      addTargets(device, profile, profileLoopNumbers);
      continue;
    }
    const loops: number[] = [];
    const lampLoop = new Map<string, number>();
    for (const { index: li, item: loop } of objects(item['loops'])) {
      const lat = `${at}/loops/${li}`;
      const n = loop['loop'];
      if (typeof n !== 'number' || !Number.isInteger(n)) continue;
      if (!profileLoopNumbers.includes(n)) {
        issues.push({
          pointer: `${lat}/loop`,
          message: `profile '${profile.id}' has no loop_${n}_command (loops: ${profileLoopNumbers.join(', ') || 'none'})`,
        });
        continue;
      }
      if (loops.includes(n)) {
        issues.push({ pointer: `${lat}/loop`, message: `loop ${n} is listed twice` });
        continue;
      }
      loops.push(n);
      for (const { index: ki, text } of strings(loop['lamps'])) {
        if (!lamps.includes(text)) {
          issues.push({
            pointer: `${lat}/lamps/${ki}`,
            message: `profile '${profile.id}' has no single-lamp controller '${text}' (${lamps[0] ?? 'none'} .. ${lamps[lamps.length - 1] ?? 'none'})`,
          });
        } else if (lampLoop.has(text)) {
          issues.push({
            pointer: `${lat}/lamps/${ki}`,
            message: `${text} is already on loop ${lampLoop.get(text)}; a lamp hangs on one loop`,
          });
        } else lampLoop.set(text, n);
      }
    }
    addTargets(device, profile, loops);
  }
  return known;
}

function checkRules(lighting: Obj, known: KnownTargets, issues: Issue[]): void {
  const firstId = new Map<string, number>();
  for (const { index, item } of objects(lighting['rules'])) {
    const at = `/lighting/rules/${index}`;
    const id = item['id'];
    if (typeof id === 'string') {
      const earlier = firstId.get(id);
      if (earlier !== undefined)
        issues.push({
          pointer: `${at}/id`,
          message: `duplicate rule id '${id}' (first at /lighting/rules/${earlier})`,
        });
      else firstId.set(id, index);
    }
    const action = item['action'];
    if (action === 'dim' && item['level'] === undefined)
      issues.push({ pointer: at, message: "a 'dim' rule needs a level (0..100 %)" });
    if (action === 'off' && item['level'] !== undefined)
      issues.push({ pointer: `${at}/level`, message: "an 'off' rule takes no level" });
    for (const { index: ti, text } of strings(item['targets'])) {
      if (!known.devices.has(text) && !known.loops.has(text) && !known.lamps.has(text)) {
        issues.push({
          pointer: `${at}/targets/${ti}`,
          message: `'${text}' is not a lighting target (write "<device>", "<device>:loop_<n>" or "<device>:lamp_<nn>" of a lighting device)`,
        });
      }
    }
  }
}

/** The section as the schema leaves it after defaults (devices and midnightDimming may be absent). */
export interface LightingDocument {
  timezone: string;
  astronomical: { twilight: Twilight; onOffsetMin: number; offOffsetMin: number };
  level: number;
  holidays: string[];
  workdays: string[];
  rules: Array<{
    id: string;
    days: DayType[];
    from: string;
    to: string;
    action: 'on' | 'off' | 'dim';
    level?: number;
    targets: string[];
  }>;
  midnightDimming?: MidnightDimming;
  roadClass: RoadClass;
  devices?: Array<{
    device: string;
    roadClass?: RoadClass;
    loops?: Array<{ loop: number; phase?: Phase; lamps: string[] }>;
  }>;
  maintenance: string[];
  verification: VerificationConfig;
  rates: RatesConfig;
}

/** The resolved LightingConfig; called only on a document that passed every check. */
export function resolveLighting(
  doc: LightingDocument,
  site: SiteConfig,
  devices: ReadonlyArray<{ id: string; profile: string }>,
  profiles: ReadonlyMap<string, LoadedProfile>,
): LightingConfig {
  const profileOf = new Map(devices.map((d) => [d.id, profiles.get(d.profile)]));
  type Entry = NonNullable<LightingDocument['devices']>[number];
  const entries: Entry[] =
    doc.devices ??
    defaultLightingDevices(new Map(devices.map((d) => [d.id, d.profile])), profiles).map((device) => ({
      device,
    }));
  const lightingDevices = entries.map((entry): LightingDeviceConfig => {
    const profile = profileOf.get(entry.device);
    const loops =
      entry.loops !== undefined
        ? entry.loops.map((l) => ({ loop: l.loop, phase: l.phase ?? null, lamps: l.lamps }))
        : (profile ? profileLoops(profile) : []).map((loop) => ({ loop, phase: null, lamps: [] }));
    return { device: entry.device, roadClass: entry.roadClass ?? doc.roadClass, loops };
  });
  const rules = doc.rules.map((r): LightingRule => ({
    id: r.id,
    days: r.days,
    from: r.from,
    to: r.to,
    action: r.action,
    level: r.level ?? null,
    targets: r.targets,
  }));
  return {
    timezone: doc.timezone,
    // checkLighting has required both coordinates.
    latitude: site.latitude ?? 0,
    longitude: site.longitude ?? 0,
    astronomical: doc.astronomical,
    level: doc.level,
    holidays: doc.holidays,
    workdays: doc.workdays,
    rules,
    midnightDimming: doc.midnightDimming ?? null,
    devices: lightingDevices,
    maintenance: doc.maintenance,
    verification: doc.verification,
    rates: doc.rates,
  };
}
