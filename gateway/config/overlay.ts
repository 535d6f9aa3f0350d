/**
 * The configuration file with the cloud's configuration document and the technician's local
 * overrides laid over it (docs/config-downlink.md; docs/uplink-contract.md, delivery rule 7),
 * checked by the same validation as the file itself (validate.ts: schema + semantic rules).
 *
 *   effective = file  <-  document (RemoteConfig)  <-  local overrides (pointer = value)
 *
 * Merge rules of the document (cloud-sync/contract/config-document.ts):
 * - alarms[device][rule]: merged field by field into that device's `alarms[rule]` override;
 * - devices[device]: pollIntervalMs, name and location replace the file's values;
 * - lighting: each top-level key replaces the same key of the file's lighting section.
 * A local override sets one value at a pointer in the DOCUMENT's shape (/alarms/gas-1/h2s_high/
 * onDelayS, /devices/gas-1/pollIntervalMs, /lighting/rules ...); null removes the setting (the
 * profile's or the schema's default applies). Issues found in the merged document are mapped
 * back to the document's shape where the setting came from an overlay area, so the cloud's
 * console can point at the field it sent.
 *
 * Keys and pointers here come from outside (the cloud, the technician, the file): `__proto__`,
 * `prototype` and `constructor` are refused (cloud-sync/contract/forbidden-keys.ts), and every walk
 * follows own properties only, so no input can reach Object.prototype through the overlay.
 */
import { fromPointer, toPointer, type RemoteConfig } from '../../cloud-sync/contract/config-document.js';
import { forbiddenKeyIssues, forbiddenPointerIssue } from '../../cloud-sync/contract/forbidden-keys.js';
import type { LoadedProfile } from '../profiles/types.js';
import { isObj, type Obj } from './json-object.js';
import type { GatewayConfig } from './types.js';
import { validateGatewayConfig, type ValidateOptions } from './validate.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

/** Device settings a document or an override may change (the rest needs a restart). */
export const DEVICE_OVERLAY_FIELDS: readonly string[] = ['pollIntervalMs', 'name', 'location'];

/** One technician override: a pointer in the document's shape and its value (null: remove). */
export interface PointerValue {
  pointer: string;
  value: unknown;
}

export type OverlayValidation =
  { ok: true; config: GatewayConfig; merged: Obj } | { ok: false; issues: Issue[] };

/**
 * The file (as read, before defaults) with `document` and then `overrides` laid over it, checked
 * in full. Never modifies its arguments.
 */
export function validateOverlaid(
  fileDocument: unknown,
  document: RemoteConfig | null,
  overrides: readonly PointerValue[],
  profiles: ReadonlyMap<string, LoadedProfile>,
  options: ValidateOptions = {},
): OverlayValidation {
  const built = overlaid(fileDocument, document, overrides);
  if (built.issues.length > 0) return { ok: false, issues: built.issues };
  const result = validateGatewayConfig(built.merged, profiles, options);
  if (!result.ok)
    return {
      ok: false,
      issues: result.issues.map((i) => ({ ...i, pointer: toDocumentPointer(built.merged, i.pointer) })),
    };
  return { ok: true, config: result.config, merged: built.merged };
}

/** The merged raw document, and the issues of overlay entries that name nothing in the file. */
export function overlaid(
  fileDocument: unknown,
  document: RemoteConfig | null,
  overrides: readonly PointerValue[],
): { merged: Obj; issues: Issue[] } {
  // The file was checked when read; this also covers a document handed in by a caller (SIGHUP).
  const fileIssues = forbiddenKeyIssues(fileDocument);
  const merged: Obj = isObj(fileDocument) && fileIssues.length === 0 ? structuredClone(fileDocument) : {};
  const issues: Issue[] = [...fileIssues];
  if (document !== null) {
    // The contract refuses these on the wire; a document from the store or a caller is checked too.
    const documentIssues = forbiddenKeyIssues(document);
    if (documentIssues.length === 0) mergeDocument(merged, document, issues);
    else issues.push(...documentIssues);
  }
  for (const { pointer, value } of overrides) {
    const valueIssues = forbiddenKeyIssues(value, pointer);
    if (valueIssues.length > 0) {
      issues.push(...valueIssues);
      continue;
    }
    const problem = setAtDocumentPointer(merged, pointer, value);
    if (problem !== null) issues.push(problem);
  }
  return { merged, issues };
}

function mergeDocument(merged: Obj, document: RemoteConfig, issues: Issue[]): void {
  for (const [deviceId, rules] of Object.entries(document.alarms ?? {})) {
    const device = deviceEntry(merged, deviceId);
    if (device === undefined) {
      issues.push({ pointer: toPointer(['alarms', deviceId]), message: noDevice(deviceId) });
      continue;
    }
    const alarms: Obj = isObj(device['alarms']) ? device['alarms'] : {};
    for (const [ruleKey, fields] of Object.entries(rules)) {
      const current = ownValue(alarms, ruleKey);
      alarms[ruleKey] = { ...(isObj(current) ? current : {}), ...structuredClone(fields) };
    }
    device['alarms'] = alarms;
  }
  for (const [deviceId, settings] of Object.entries(document.devices ?? {})) {
    const device = deviceEntry(merged, deviceId);
    if (device === undefined) {
      issues.push({ pointer: toPointer(['devices', deviceId]), message: noDevice(deviceId) });
      continue;
    }
    for (const field of DEVICE_OVERLAY_FIELDS) {
      const value = (settings as Obj)[field];
      if (value !== undefined) device[field] = structuredClone(value);
    }
  }
  if (document.lighting !== undefined) {
    const lighting: Obj = isObj(merged['lighting']) ? merged['lighting'] : {};
    for (const [key, value] of Object.entries(document.lighting)) lighting[key] = structuredClone(value);
    merged['lighting'] = lighting;
  }
}

/** `obj[key]` when `obj` has it itself; never what it inherits (Object.prototype's members). */
function ownValue(obj: Obj, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** The child of a container at a path segment: an array's item, an object's own property. */
function childAt(container: Obj | unknown[], segment: string): unknown {
  if (!Array.isArray(container)) return ownValue(container, segment);
  const index = Number(segment);
  return Number.isInteger(index) && index >= 0 && index < container.length ? container[index] : undefined;
}

function noDevice(deviceId: string): string {
  return `no device '${deviceId}' in the cabinet's configuration file`;
}

/** The device object with `id` in the merged document's devices list. */
function deviceEntry(merged: Obj, deviceId: string): Obj | undefined {
  const devices = merged['devices'];
  if (!Array.isArray(devices)) return undefined;
  return devices.find((d: unknown): d is Obj => isObj(d) && d['id'] === deviceId);
}

function deviceIndex(merged: Obj, deviceId: string): number {
  const devices = merged['devices'];
  if (!Array.isArray(devices)) return -1;
  return devices.findIndex((d: unknown) => isObj(d) && d['id'] === deviceId);
}

/**
 * Where a document pointer lives in the file's shape, as path segments; or an issue when the
 * pointer names nothing an overlay may change.
 */
export function filePathOf(merged: Obj, pointer: string): string[] | Issue {
  const segments = fromPointer(pointer);
  const [area, key, ...rest] = segments;
  const bad = (message: string): Issue => ({ pointer, message });
  const forbidden = forbiddenPointerIssue(pointer);
  if (forbidden !== null) return forbidden;
  if (!pointer.startsWith('/') || area === undefined || key === undefined)
    return bad(
      'must name a setting: /alarms/<device>/<rule>[/<field>], /devices/<device>/<field> or /lighting/<key>',
    );
  switch (area) {
    case 'alarms': {
      const index = deviceIndex(merged, key);
      if (index < 0) return bad(noDevice(key));
      if (rest.length === 0) return bad('must name a rule: /alarms/<device>/<rule>[/<field>]');
      return ['devices', String(index), 'alarms', ...rest];
    }
    case 'devices': {
      const index = deviceIndex(merged, key);
      if (index < 0) return bad(noDevice(key));
      const field = rest[0];
      if (field === undefined || !DEVICE_OVERLAY_FIELDS.includes(field))
        return bad(`only ${DEVICE_OVERLAY_FIELDS.join(', ')} of a device may be changed without a restart`);
      return ['devices', String(index), ...rest];
    }
    case 'lighting':
      return ['lighting', key, ...rest];
    default:
      return bad(`'${area}' cannot be changed without a restart (alarms, devices and lighting can)`);
  }
}

/** Sets (or, for null, removes) the value at a document pointer in the merged file document. */
export function setAtDocumentPointer(merged: Obj, pointer: string, value: unknown): Issue | null {
  const path = filePathOf(merged, pointer);
  if (!Array.isArray(path)) return path;
  let node: unknown = merged;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i] as string;
    const container = node as Obj | unknown[];
    let next: unknown = childAt(container, segment);
    if (next === undefined || next === null) {
      if (Array.isArray(container))
        return {
          pointer,
          message: `there is nothing at ${toPointer(path.slice(0, i + 1))} to change inside`,
        };
      next = {};
      container[segment] = next;
    }
    if (typeof next !== 'object')
      return { pointer, message: `${toPointer(path.slice(0, i + 1))} is not an object` };
    node = next;
  }
  const last = path[path.length - 1] as string;
  if (Array.isArray(node)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index > node.length)
      return { pointer, message: `index ${last} is outside the list` };
    if (value === null) node.splice(index, 1);
    else node[index] = structuredClone(value);
  } else {
    const obj = node as Obj;
    if (value === null) Reflect.deleteProperty(obj, last);
    else obj[last] = structuredClone(value);
  }
  return null;
}

/** The value at a document pointer in the merged file document (undefined: not set). */
export function valueAtDocumentPointer(merged: Obj, pointer: string): unknown {
  const path = filePathOf(merged, pointer);
  if (!Array.isArray(path)) return undefined;
  let node: unknown = merged;
  for (const segment of path) {
    if (Array.isArray(node) || isObj(node)) node = childAt(node, segment);
    else return undefined;
  }
  return node;
}

/**
 * A pointer into the merged file document, written in the document's shape when it lies in an
 * overlay area (a device's alarms or settings, lighting); other pointers are returned as they are.
 */
export function toDocumentPointer(merged: Obj, filePointer: string): string {
  const segments = fromPointer(filePointer);
  if (segments[0] !== 'devices' || segments[1] === undefined) return filePointer;
  const devices = merged['devices'];
  const device = Array.isArray(devices) ? (devices[Number(segments[1])] as unknown) : undefined;
  const id = isObj(device) && typeof device['id'] === 'string' ? device['id'] : undefined;
  if (id === undefined) return filePointer;
  const [, , field, ...rest] = segments;
  if (field === 'alarms') return toPointer(['alarms', id, ...rest]);
  if (field !== undefined && DEVICE_OVERLAY_FIELDS.includes(field))
    return toPointer(['devices', id, field, ...rest]);
  return filePointer;
}

/**
 * Settings in the overlay areas that differ between two reads of the configuration file (SIGHUP),
 * as pointer/value pairs in the document's shape (null: removed): alarm fields per device and
 * rule, device settings, top-level lighting keys. Devices present in only one read are not
 * compared (adding or removing a device needs a restart).
 */
export function overlayChanges(before: unknown, after: unknown): PointerValue[] {
  const a: Obj = isObj(before) ? before : {};
  const b: Obj = isObj(after) ? after : {};
  const changes: PointerValue[] = [];
  const devicesOf = (doc: Obj): Map<string, Obj> => {
    const list = Array.isArray(doc['devices']) ? (doc['devices'] as unknown[]) : [];
    return new Map(
      list.flatMap((d) => (isObj(d) && typeof d['id'] === 'string' ? [[d['id'], d] as const] : [])),
    );
  };
  const oldDevices = devicesOf(a);
  for (const [id, next] of devicesOf(b)) {
    const previous = oldDevices.get(id);
    if (previous === undefined) continue;
    const oldAlarms: Obj = isObj(previous['alarms']) ? previous['alarms'] : {};
    const newAlarms: Obj = isObj(next['alarms']) ? next['alarms'] : {};
    for (const rule of new Set([...Object.keys(oldAlarms), ...Object.keys(newAlarms)])) {
      const o: Obj = isObj(oldAlarms[rule]) ? oldAlarms[rule] : {};
      const n: Obj = isObj(newAlarms[rule]) ? newAlarms[rule] : {};
      for (const field of new Set([...Object.keys(o), ...Object.keys(n)])) {
        if (sameJson(o[field], n[field])) continue;
        changes.push({ pointer: toPointer(['alarms', id, rule, field]), value: n[field] ?? null });
      }
    }
    for (const field of DEVICE_OVERLAY_FIELDS) {
      if (sameJson(previous[field], next[field])) continue;
      changes.push({ pointer: toPointer(['devices', id, field]), value: next[field] ?? null });
    }
  }
  const oldLighting: Obj = isObj(a['lighting']) ? a['lighting'] : {};
  const newLighting: Obj = isObj(b['lighting']) ? b['lighting'] : {};
  for (const key of new Set([...Object.keys(oldLighting), ...Object.keys(newLighting)])) {
    if (sameJson(oldLighting[key], newLighting[key])) continue;
    changes.push({ pointer: toPointer(['lighting', key]), value: newLighting[key] ?? null });
  }
  return changes;
}

/**
 * Whether two reads differ outside the overlay areas (buses, devices added or removed, a
 * device's bus, unit or profile, site, storage ...): those need a restart.
 */
export function restartNeeded(before: unknown, after: unknown): string[] {
  const strip = (doc: unknown): Obj => {
    const copy: Obj = isObj(doc) ? structuredClone(doc) : {};
    delete copy['lighting'];
    if (Array.isArray(copy['devices'])) {
      copy['devices'] = (copy['devices'] as unknown[]).map((d) => {
        if (!isObj(d)) return d;
        return Object.fromEntries(
          Object.entries(d).filter(([key]) => key !== 'alarms' && !DEVICE_OVERLAY_FIELDS.includes(key)),
        );
      });
    }
    return copy;
  };
  const a = strip(before);
  const b = strip(after);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => !sameJson(a[key], b[key]));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isObj(value))
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical(value[k])]),
    );
  return value;
}
