/**
 * The configuration document the cloud sends on `down/config` (docs/uplink-contract.md, delivery
 * rule 7): a versioned overlay on the cabinet's own configuration file, limited to what operators
 * change from the console: alarm thresholds per device, lighting schedules, device settings. The
 * gateway merges it over its file and checks the result with its full configuration schema before
 * applying anything (gateway/downlink, docs/config-downlink.md); this file holds only its shape,
 * the JSON pointers both ends use to name a setting, and the hash both ends compute.
 *
 *   {
 *     "alarms":   { "<deviceId>": { "<ruleKey>": { "levels": [...], "onDelayS": 0, ... } } },
 *     "devices":  { "<deviceId>": { "pollIntervalMs": 1000, "name": "...", "location": {...} } },
 *     "lighting": { "astronomical": {...}, "rules": [...], "midnightDimming": {...} },
 *     "clearLocalOverrides": true
 *   }
 *
 * Pointers (RFC 6901) are written in this shape, e.g. `/alarms/gas-1/h2s/levels`: a technician's
 * local override and a rejection's error both name settings the same way.
 */
import { createHash } from 'node:crypto';

/** Alarm rule fields a document may set; gateway/config/schema.json `alarmOverride` checks them. */
export type AlarmOverrideDocument = Record<string, unknown>;

export interface DeviceSettingsDocument {
  pollIntervalMs?: number;
  name?: string;
  location?: { description?: string; latitude?: number; longitude?: number };
}

export interface RemoteConfig {
  /** Device id -> rule key -> override of that rule. */
  alarms?: Record<string, Record<string, AlarmOverrideDocument>>;
  /** Device id -> settings. */
  devices?: Record<string, DeviceSettingsDocument>;
  /** Replaces the named parts of the `lighting` section (gateway/config/schema.json). */
  lighting?: Record<string, unknown>;
  /** Drop every technician override in force (the console's "take over" after reviewing them). */
  clearLocalOverrides?: boolean;
}

const MAP_KEYS = 256;
const KEY = { type: 'string', minLength: 1, maxLength: 256 } as const;
/**
 * MAX_DEPTH of schemas.ts, which imports this file and so cannot be imported here (the contract
 * tests check that the two agree). Alarm rules and lighting are free-form here (the gateway's own
 * schema checks their content), and the gateway hashes a document that passed this shape with
 * canonicalJson below, which recurses: their depth is bounded like every free-form field's.
 */
const MAX_DEPTH = 32;

/** Shape of `document` in `down/config`; the gateway checks the content in full. */
export const REMOTE_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    alarms: {
      type: 'object',
      maxProperties: MAP_KEYS,
      propertyNames: KEY,
      additionalProperties: {
        type: 'object',
        maxProperties: MAP_KEYS,
        propertyNames: KEY,
        additionalProperties: { type: 'object', maxDepth: MAX_DEPTH },
      },
    },
    devices: {
      type: 'object',
      maxProperties: MAP_KEYS,
      propertyNames: KEY,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          pollIntervalMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
          name: { type: 'string', maxLength: 256 },
          location: {
            type: 'object',
            additionalProperties: false,
            properties: {
              description: { type: 'string', maxLength: 2048 },
              latitude: { type: 'number', minimum: -90, maximum: 90 },
              longitude: { type: 'number', minimum: -180, maximum: 180 },
            },
          },
        },
      },
    },
    lighting: { type: 'object', maxDepth: MAX_DEPTH },
    clearLocalOverrides: { type: 'boolean' },
  },
} as const;

/**
 * JSON with object keys sorted at every level and no whitespace: the same document always gives
 * the same text, whichever end built it and in whatever key order.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Lower-case hex SHA-256 of the canonical JSON: the `hash` of `down/config`. */
export function configDocumentHash(document: RemoteConfig | Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(document)).digest('hex');
}

/** RFC 6901 pointer from path segments (`~` -> `~0`, `/` -> `~1`). */
export function toPointer(segments: readonly string[]): string {
  return segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** Path segments of an RFC 6901 pointer. */
export function fromPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}
