/**
 * Rules the schema cannot express because they relate several values: unique ids, references
 * between devices, buses and profiles, Modbus addressing limits, and the outbox's eviction step
 * against its telemetry quota. They run on the document even when the schema found problems
 * (reading defensively, as any value may have the wrong type), so that the installer sees every
 * problem in one run.
 */
import type { LoadedProfile } from '../profiles/types.js';
import { checkAlarmOverrides } from './alarms.js';
import { checkLighting } from './lighting.js';
import { checkStorage } from './storage.js';
import { checkStrain } from './strain.js';
import { checkWeb } from './web.js';
import { isValidTimeZone } from '../lighting/local-time.js';
import { isObj, type Obj } from './json-object.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

/** The object items of doc[key], with their index (non-objects are the schema's business). */
function objectItems(doc: Obj, key: string): Array<{ index: number; item: Obj }> {
  const list = doc[key];
  if (!Array.isArray(list)) return [];
  return list.flatMap((item: unknown, index) => (isObj(item) ? [{ index, item }] : []));
}

function str(item: Obj, key: string): string | undefined {
  const value = item[key];
  return typeof value === 'string' ? value : undefined;
}

function int(item: Obj, key: string): number | undefined {
  const value = item[key];
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

const SERIAL_KINDS = new Set(['rtu', 'rtu-over-tcp']);

export function checkSemantics(doc: unknown, profiles: ReadonlyMap<string, LoadedProfile>): Issue[] {
  if (!isObj(doc)) return [];
  const issues: Issue[] = [];
  const busKinds = checkBuses(doc, issues);
  checkDevices(doc, busKinds, profiles, issues);
  checkAlarmOverrides(doc, profiles, issues);
  checkStrain(doc, profiles, issues);
  checkLighting(doc, profiles, issues);
  checkStorage(doc, issues);
  checkWeb(doc, issues);
  checkSiteTimeZone(doc, issues);
  return issues;
}

/** site.timeZone must be a zone Intl knows, or every time on the web UI would be wrong. */
function checkSiteTimeZone(doc: Obj, issues: Issue[]): void {
  const site = doc['site'];
  if (!isObj(site)) return;
  const zone = site['timeZone'];
  if (typeof zone === 'string' && zone !== '' && !isValidTimeZone(zone))
    issues.push({
      pointer: '/site/timeZone',
      message: `unknown time zone '${zone}' (use an IANA name such as "Asia/Shanghai")`,
    });
}

/** Returns the kind of each bus id (first definition wins). */
function checkBuses(doc: Obj, issues: Issue[]): Map<string, string> {
  const kinds = new Map<string, string>();
  const firstById = new Map<string, number>();
  const firstByEndpoint = new Map<string, number>();
  for (const { index, item } of objectItems(doc, 'buses')) {
    const at = `/buses/${index}`;
    const id = str(item, 'id');
    if (id !== undefined) {
      const first = firstById.get(id);
      if (first === undefined) {
        firstById.set(id, index);
        kinds.set(id, str(item, 'kind') ?? '');
      } else {
        issues.push({
          pointer: `${at}/id`,
          message: `duplicate bus id '${id}' (first defined at /buses/${first})`,
        });
      }
    }
    // Two buses on one port or endpoint would be two masters on one line: their transactions
    // would collide (Modbus over Serial Line v1.02 section 2.1 allows one master).
    const endpoint = endpointOf(item);
    if (endpoint !== undefined) {
      const first = firstByEndpoint.get(endpoint.key);
      if (first === undefined) firstByEndpoint.set(endpoint.key, index);
      else {
        issues.push({
          pointer: `${at}/${endpoint.field}`,
          message: `${endpoint.label} is already used by /buses/${first}; put all devices of one line on one bus`,
        });
      }
    }
    // Modbus over Serial Line v1.02 section 2.5.1: an RTU character has 8 data bits.
    const serial = item['serial'];
    if (SERIAL_KINDS.has(str(item, 'kind') ?? '') && isObj(serial) && serial['dataBits'] === 7) {
      issues.push({
        pointer: `${at}/serial/dataBits`,
        message: 'Modbus RTU needs 8 data bits (7 is Modbus ASCII, which the gateway does not speak)',
      });
    }
  }
  return kinds;
}

function endpointOf(bus: Obj): { key: string; field: string; label: string } | undefined {
  const kind = str(bus, 'kind');
  if (kind === 'rtu') {
    const path = str(bus, 'path');
    return path === undefined
      ? undefined
      : { key: `serial:${path}`, field: 'path', label: `serial port ${path}` };
  }
  if (kind === 'rtu-over-tcp' || kind === 'tcp') {
    const host = str(bus, 'host');
    const port = int(bus, 'port');
    if (host === undefined || port === undefined) return undefined;
    return { key: `tcp:${host.toLowerCase()}:${port}`, field: 'host', label: `endpoint ${host}:${port}` };
  }
  return undefined;
}

function checkDevices(
  doc: Obj,
  busKinds: ReadonlyMap<string, string>,
  profiles: ReadonlyMap<string, LoadedProfile>,
  issues: Issue[],
): void {
  const firstById = new Map<string, number>();
  const firstByUnit = new Map<string, { index: number; id: string }>();
  for (const { index, item } of objectItems(doc, 'devices')) {
    const at = `/devices/${index}`;
    const id = str(item, 'id');
    if (id !== undefined) {
      const first = firstById.get(id);
      if (first === undefined) firstById.set(id, index);
      else
        issues.push({
          pointer: `${at}/id`,
          message: `duplicate device id '${id}' (first defined at /devices/${first})`,
        });
    }

    const bus = str(item, 'bus');
    const kind = bus === undefined ? undefined : busKinds.get(bus);
    if (bus !== undefined && kind === undefined) {
      const known = [...busKinds.keys()].map((b) => `'${b}'`).join(', ');
      issues.push({
        pointer: `${at}/bus`,
        message: `no bus '${bus}' is defined (${known === '' ? 'there are no buses' : `buses: ${known}`})`,
      });
    }

    const unitId = int(item, 'unitId');
    if (bus !== undefined && unitId !== undefined) {
      const key = `${bus}\u0000${unitId}`;
      const first = firstByUnit.get(key);
      if (first === undefined) firstByUnit.set(key, { index, id: id ?? `#${index}` });
      else {
        issues.push({
          pointer: `${at}/unitId`,
          message: `unit id ${unitId} on bus '${bus}' is already used by device '${first.id}' (/devices/${first.index})`,
        });
      }
      // Modbus over Serial Line v1.02 section 2.2: 0 is the broadcast address and 248..255 are
      // reserved, so a device on a serial line has an address 1..247.
      // Values beyond 0..255 are already reported by the schema.
      if (kind !== undefined && SERIAL_KINDS.has(kind) && (unitId === 0 || (unitId > 247 && unitId <= 255))) {
        issues.push({
          pointer: `${at}/unitId`,
          message: `must be 1..247 on serial bus '${bus}' (0 is broadcast, 248..255 are reserved), not ${unitId}`,
        });
      }
    }

    const profile = str(item, 'profile');
    if (profile !== undefined && !profiles.has(profile)) {
      issues.push({ pointer: `${at}/profile`, message: unknownProfileMessage(profile, profiles) });
    }
  }
}

function unknownProfileMessage(profile: string, profiles: ReadonlyMap<string, LoadedProfile>): string {
  const known = [...profiles.keys()].sort();
  if (known.length === 0) return `unknown profile '${profile}' (no device profiles are loaded)`;
  const shown = known
    .slice(0, 12)
    .map((p) => `'${p}'`)
    .join(', ');
  const more = known.length > 12 ? ` and ${known.length - 12} more` : '';
  return `unknown profile '${profile}' (known profiles: ${shown}${more})`;
}
