/**
 * JSON Schemas of the cabinet API's shapes (api-types.ts), shared by the data routes: fastify
 * validates requests and serialises answers with them, and the OpenAPI document shows them. An
 * answer schema lists every property (the serialiser drops what it does not list), so a test
 * comparing an answer with the gateway's state also checks the schema.
 *
 * Request schemas are closed (additionalProperties false) and bounded (lengths, ranges): bad input
 * of every kind is a 400 that changes nothing.
 */
import { ALARM_STATES } from '../../../cloud-sync/contract/events.js';

const str = { type: 'string' } as const;
const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const nullable = <T extends { type: string }>(
  schema: T,
): Omit<T, 'type'> & { type: [T['type'], 'null'] } => ({
  ...schema,
  type: [schema.type, 'null'],
});

/** An object whose every listed property is required (the API never leaves a field out: null instead). */
function object(
  properties: Record<string, unknown>,
  optional: readonly string[] = [],
): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

export const ACCESS = { cabinetAccess: { roles: ['technician', 'admin'] } } as const;

export const API_ERROR = object(
  {
    error: str,
    message: str,
    issues: { type: 'array', items: object({ pointer: str, message: str }) },
    requestId: str,
  },
  ['issues', 'requestId'],
);

export const LOCALIZED = object({ 'zh-CN': str, en: str });
export const NULLABLE_LOCALIZED = { anyOf: [LOCALIZED, { type: 'null' }] };
const PRIORITY = { type: 'string', enum: ['low', 'medium', 'high', 'critical'] } as const;
/** The ISA-18.2 states, from the contract's one list. */
const STATE = { type: 'string', enum: ALARM_STATES } as const;
const TABLE = { type: 'string', enum: ['coil', 'discrete', 'input', 'holding'] } as const;
const VALUE = { type: ['number', 'boolean', 'null'] } as const;

export const DEVICE_ID = { type: 'string', minLength: 1, maxLength: 64 } as const;
export const REASON = { type: 'string', maxLength: 500 } as const;

export const POINT_VALUE = object({
  key: str,
  value: VALUE,
  quality: { type: 'string', enum: ['good', 'partial', 'bad', 'stale'] },
  wallMs: nullable(num),
});

export const DEVICE_SUMMARY = object({
  id: str,
  name: LOCALIZED,
  label: nullable(str),
  location: nullable(str),
  family: str,
  profileId: str,
  busId: str,
  online: bool,
  lastPollWallMs: nullable(num),
  activeAlarms: int,
  highestPriority: { anyOf: [PRIORITY, { type: 'null' }] },
});

export const ALARM_VIEW = object({
  alarmKey: str,
  deviceId: str,
  deviceName: LOCALIZED,
  ruleKey: str,
  message: NULLABLE_LOCALIZED,
  priority: PRIORITY,
  state: STATE,
  active: bool,
  acknowledged: bool,
  level: int,
  lastValue: VALUE,
  unit: nullable(str),
  // null: never changed since the gateway made it (a serialiser given `number` would write 0, 1970).
  sinceWallMs: nullable(num),
  shelve: {
    anyOf: [
      object({
        mode: { type: 'string', enum: ['one-shot', 'timed'] },
        untilWallMs: nullable(num),
        by: str,
        reason: str,
      }),
      { type: 'null' },
    ],
  },
  outOfService: { anyOf: [object({ by: str, reason: str }), { type: 'null' }] },
  suppressedBy: nullable(str),
  latched: bool,
});

export const ALARM_COUNTS = object({
  byPriority: object({ critical: int, high: int, medium: int, low: int }),
  byState: { type: 'object', additionalProperties: int },
  unacknowledged: int,
});

export const UPLINK_STATE = object({
  configured: bool,
  connected: bool,
  backlog: int,
  oldestUnsentAgeS: nullable(num),
  lastAckWallMs: nullable(num),
});

export const LIGHTING_RATES = object({
  litRate: nullable(num),
  onlineRate: nullable(num),
  integrityRate: nullable(num),
});

export const CABINET_FACTS = object({
  gatewayId: str,
  siteName: str,
  version: str,
  uptimeS: num,
  clock: object({ wallMs: num, timeZone: str, sane: bool }),
  disk: { anyOf: [object({ freeBytes: num, totalBytes: num }), { type: 'null' }] },
  databaseBytes: num,
});

export const OVERVIEW = object({
  cabinet: CABINET_FACTS,
  devices: { type: 'array', items: DEVICE_SUMMARY },
  alarms: ALARM_COUNTS,
  activeAlarms: { type: 'array', items: ALARM_VIEW },
  uplink: UPLINK_STATE,
  lighting: { anyOf: [LIGHTING_RATES, { type: 'null' }] },
});

export const POINT_DEFINITION = object({
  key: str,
  name: LOCALIZED,
  child: nullable(str),
  unit: nullable(str),
  table: TABLE,
  address: int,
  count: int,
  dataType: str,
  writable: bool,
  min: nullable(num),
  max: nullable(num),
});

export const ALARM_RULE_VIEW = object({
  alarmKey: str,
  ruleKey: str,
  pointKey: nullable(str),
  kind: str,
  priority: PRIORITY,
  unit: nullable(str),
  levels: { type: 'array', items: object({ level: int, setpoint: num, priority: PRIORITY }) },
  deadband: num,
  onDelayS: num,
  offDelayS: num,
  latched: bool,
  enabled: bool,
  origin: { type: 'string', enum: ['profile', 'file', 'document', 'technician'] },
  documentVersion: nullable(int),
  source: str,
  override: {
    anyOf: [object({ pointer: str, by: str, wallMs: num, reason: nullable(str) }), { type: 'null' }],
  },
  message: NULLABLE_LOCALIZED,
});

export const FORBIDDEN_RANGE = object({ table: str, start: int, end: int, reason: NULLABLE_LOCALIZED });

export const DEVICE_DETAIL = object({
  device: DEVICE_SUMMARY,
  points: { type: 'array', items: POINT_DEFINITION },
  values: { type: 'array', items: POINT_VALUE },
  rules: { type: 'array', items: ALARM_RULE_VIEW },
  forbiddenRanges: { type: 'array', items: FORBIDDEN_RANGE },
});

const NULLABLE_NUMBERS = { type: 'array', items: nullable(num) } as const;

export const TREND = object({
  deviceId: str,
  pointKey: str,
  resolution: { type: 'string', enum: ['raw', '1m', '1h'] },
  fromWallMs: num,
  toWallMs: num,
  t: { type: 'array', items: num },
  mean: NULLABLE_NUMBERS,
  min: NULLABLE_NUMBERS,
  max: NULLABLE_NUMBERS,
});

export const ALARM_HISTORY_ENTRY = object({
  wallMs: num,
  fromState: { anyOf: [STATE, { type: 'null' }] },
  toState: STATE,
  cause: str,
  by: nullable(str),
  reason: nullable(str),
  value: VALUE,
});

export const LIGHTING_VIEW = object({
  rates: LIGHTING_RATES,
  loops: {
    type: 'array',
    items: object({
      id: str,
      deviceId: str,
      loop: int,
      on: nullable(bool),
      currentA: nullable(num),
      lamps: { type: 'array', items: str },
      faults: { type: 'array', items: str },
    }),
  },
  lamps: {
    type: 'array',
    items: object({
      id: str,
      deviceId: str,
      loop: nullable(int),
      on: nullable(bool),
      dimLevel: nullable(num),
      powerW: nullable(num),
      online: bool,
      faults: { type: 'array', items: str },
    }),
  },
  overrides: {
    type: 'array',
    items: object({
      target: str,
      action: { type: 'string', enum: ['on', 'off', 'dim'] },
      level: nullable(num),
      untilWallMs: num,
      by: str,
      reason: str,
      origin: { type: 'string', enum: ['local', 'command'] },
    }),
  },
  today: object({
    date: str,
    sunsetWallMs: nullable(num),
    sunriseWallMs: nullable(num),
    switchOnWallMs: nullable(num),
    switchOffWallMs: nullable(num),
    dayType: { type: 'string', enum: ['weekday', 'weekend', 'holiday'] },
  }),
  rules: {
    type: 'array',
    items: object({
      id: str,
      days: { type: 'array', items: str },
      from: str,
      to: str,
      action: str,
      level: nullable(num),
      targets: { type: 'array', items: str },
    }),
  },
});

export const BUS_DIAGNOSTICS = object({
  buses: {
    type: 'array',
    items: object({
      id: str,
      kind: { type: 'string', enum: ['rtu', 'rtu-over-tcp', 'tcp'] },
      endpoint: str,
      running: bool,
      utilisation: nullable(num),
      transactions: int,
      timeouts: int,
      crcErrors: int,
      exceptions: int,
      otherErrors: int,
      retries: int,
      devices: {
        type: 'array',
        items: object({
          deviceId: str,
          name: LOCALIZED,
          unitId: int,
          transactions: int,
          timeouts: int,
          crcErrors: int,
          exceptions: int,
          otherErrors: int,
          retries: int,
          lastRoundTripMs: nullable(num),
          meanRoundTripMs: nullable(num),
          maxRoundTripMs: nullable(num),
          health: { type: 'string', enum: ['healthy', 'degraded', 'dead'] },
          consecutiveFailures: int,
          pollIntervalS: num,
          effectiveIntervalS: num,
          lastSuccessWallMs: nullable(num),
          online: bool,
        }),
      },
    }),
  },
});

export const BUS_READ_RESULT = object({
  deviceId: str,
  table: TABLE,
  address: int,
  count: int,
  point: nullable(str),
  raw: { type: 'array', items: { type: ['number', 'boolean'] } },
  value: VALUE,
  unit: nullable(str),
  roundTripMs: num,
});

export const BUS_READ_REFUSAL = {
  ...API_ERROR,
  properties: {
    ...(API_ERROR['properties'] as Record<string, unknown>),
    forbiddenRange: FORBIDDEN_RANGE,
  },
};

export const STRAIN_VIEW = object({
  deviceId: str,
  channels: { type: 'array', items: object({ key: str, name: LOCALIZED }) },
  minutes: {
    type: 'array',
    items: object({
      channel: str,
      periodStartWallMs: num,
      min: num,
      max: num,
      mean: num,
      rms: nullable(num),
      count: int,
      source: { type: 'string', enum: ['analyzer', 'aggregates'] },
    }),
  },
  events: {
    type: 'array',
    items: object({
      id: str,
      kind: { type: 'string', enum: ['vehicle', 'overweight'] },
      deviceId: str,
      wallMs: num,
      peak: nullable(num),
      channel: nullable(str),
      estimatedTonnes: nullable(num),
      level: nullable(int),
      window: {
        anyOf: [
          object({
            t: { type: 'array', items: num },
            series: { type: 'object', additionalProperties: NULLABLE_NUMBERS },
          }),
          { type: 'null' },
        ],
      },
    }),
  },
});

/** A setting's value is any JSON (the configuration document's shape decides; validated there). */
const ANY_JSON = {
  anyOf: [
    { type: 'object', additionalProperties: true },
    { type: 'array' },
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    { type: 'null' },
  ],
};

export const OVERRIDE_LIST = object({
  overrides: {
    type: 'array',
    items: object({
      pointer: str,
      value: ANY_JSON,
      previous: ANY_JSON,
      by: str,
      reason: nullable(str),
      wallMs: num,
    }),
  },
});

export const POINTER = { type: 'string', minLength: 2, maxLength: 512, pattern: '^/' } as const;
export { ANY_JSON };

/** The common error answers of a route, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(statuses.map((s) => [String(s), API_ERROR]));
}
