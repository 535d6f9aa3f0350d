/**
 * validateGatewayConfig: schema (with defaults) + semantic rules -> every issue, or the resolved
 * GatewayConfig. The caller's document is never modified.
 */
import { isAbsolute, resolve } from 'node:path';
import type { LoadedProfile } from '../profiles/types.js';
import { resolveLighting, type LightingDocument } from './lighting.js';
import { checkSchema } from './schema.js';
import { checkSemantics } from './semantic.js';
import type { DeviceConfig, GatewayConfig } from './types.js';
import { resolveWeb } from './web.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

export type ConfigValidation = { ok: true; config: GatewayConfig } | { ok: false; issues: Issue[] };

export interface ValidateOptions {
  /** Folder a relative dataDir is resolved against. Default: the working directory. */
  baseDir?: string;
}

/**
 * The document as the schema guarantees it after defaults (only fields without a default may be
 * absent). Derived from GatewayConfig so a new section cannot drift between the two: the sections
 * resolveConfig copies as they are, devices before their profile defaults, lighting before
 * resolveLighting (dataDir has the config's type but may still be relative).
 */
type DefaultedDocument = Omit<GatewayConfig, 'devices' | 'lighting'> & {
  devices: Array<
    Omit<DeviceConfig, 'pollIntervalMs' | 'timeoutMs'> &
      Partial<Pick<DeviceConfig, 'pollIntervalMs' | 'timeoutMs'>>
  >;
  lighting?: LightingDocument;
};

export function validateGatewayConfig(
  doc: unknown,
  profiles: ReadonlyMap<string, LoadedProfile>,
  options: ValidateOptions = {},
): ConfigValidation {
  // ajv writes defaults into the document it checks; work on a copy.
  const copy: unknown = structuredClone(doc);
  const issues = [...checkSchema(copy), ...checkSemantics(copy, profiles)];
  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };
  // The schema has accepted the copy and filled its defaults, so it has DefaultedDocument's shape.
  return {
    ok: true,
    config: resolveConfig(copy as DefaultedDocument, profiles, options.baseDir ?? process.cwd()),
  };
}

const TOP_LEVEL_ORDER = ['$schema', 'gatewayId', 'site', 'dataDir', 'log', 'buses', 'devices', 'storage'];

/** Unknown top-level properties sort last. */
function topLevelRank(key: string): number {
  const rank = TOP_LEVEL_ORDER.indexOf(key);
  return rank === -1 ? TOP_LEVEL_ORDER.length : rank;
}

/** Document order: issues about earlier parts of the file come first. */
function sortIssues(issues: Issue[]): Issue[] {
  const key = (pointer: string): Array<string | number> =>
    pointer
      .split('/')
      .slice(1)
      .map((t) => (/^\d+$/.test(t) ? Number(t) : t));
  return issues
    .map((issue, order) => ({ issue, order, path: key(issue.pointer) }))
    .sort((a, b) => comparePaths(a.path, b.path) || a.order - b.order)
    .map((entry) => entry.issue);
}

function comparePaths(a: Array<string | number>, b: Array<string | number>): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    // Top-level sections in the order a config file is usually written; deeper properties keep
    // the order the checks found them in.
    if (i === 0) return topLevelRank(String(x)) - topLevelRank(String(y));
    return 0;
  }
  return a.length - b.length;
}

function resolveConfig(
  doc: DefaultedDocument,
  profiles: ReadonlyMap<string, LoadedProfile>,
  baseDir: string,
): GatewayConfig {
  const devices: DeviceConfig[] = doc.devices.map((device) => {
    // checkSemantics has verified every profile exists.
    const profile = profiles.get(device.profile);
    const resolved: DeviceConfig = {
      id: device.id,
      bus: device.bus,
      unitId: device.unitId,
      profile: device.profile,
      pollIntervalMs: device.pollIntervalMs ?? profile?.pollIntervalMs ?? 1_000,
      timeoutMs: device.timeoutMs ?? profile?.quirks.responseTimeoutMs ?? 1_000,
      retries: device.retries,
    };
    if (device.name !== undefined) resolved.name = device.name;
    if (device.location !== undefined) resolved.location = device.location;
    if (device.alarms !== undefined) resolved.alarms = device.alarms;
    return resolved;
  });
  return {
    gatewayId: doc.gatewayId,
    site: doc.site,
    dataDir: isAbsolute(doc.dataDir) ? doc.dataDir : resolve(baseDir, doc.dataDir),
    log: doc.log,
    metrics: doc.metrics,
    web: resolveWeb(doc.web, baseDir),
    uplink: doc.uplink,
    buses: doc.buses,
    devices,
    storage: doc.storage,
    strain: doc.strain,
    lighting:
      doc.lighting === undefined ? null : resolveLighting(doc.lighting, doc.site, doc.devices, profiles),
  };
}
