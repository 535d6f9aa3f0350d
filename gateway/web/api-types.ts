/**
 * The cabinet web API's shapes (docs/ui.md, "The cabinet API"): what gateway/web's routes answer and
 * accept, and what ui/cabinet reads. Types only: ui/ imports this file with `import type`, so the
 * browser bundle carries none of the gateway's code (ARCHITECTURE.md, "Invariants"). The routes'
 * JSON Schemas (gateway/web/routes/) describe the same shapes for fastify and the OpenAPI document.
 *
 * Conventions: times are wall-clock milliseconds since the epoch (`...WallMs`), formatted by the
 * browser in the cabinet's time zone (Session.timeZone); durations are seconds (`...S`); a value
 * that is not known is null, never absent. Every error is `ApiError`.
 */
import type { AlarmPriority, AlarmStateName } from '../../cloud-sync/contract/events.js';

/** Every refusal: a stable code (docs/errors.md), a message for people, and the problems by pointer. */
export interface ApiError {
  error: string;
  message: string;
  issues?: Array<{ pointer: string; message: string }>;
  /** On 5xx only: the log line to look for. */
  requestId?: string;
}

export type WebRole = 'technician' | 'admin';

/** Names in both languages, as the profiles write them (`name: {zh-CN, en}`). */
export interface LocalizedName {
  'zh-CN': string;
  en: string;
}

// ---------------------------------------------------------------------------------------------
// Session, sign-in, first-admin setup

/** GET /api/session (200 when signed in, 401 otherwise). */
export interface Session {
  username: string;
  role: WebRole;
  /** The cabinet's IANA time zone: every time on the pages is shown in it. */
  timeZone: string;
  gatewayId: string;
  siteName: string;
  /** Idle expiry of this session (refreshed by every request). */
  idleExpiresWallMs: number;
  absoluteExpiresWallMs: number;
}

/** POST /api/login */
export interface LoginRequest {
  username: string;
  password: string;
}

/** GET /api/setup: whether a first admin is still to be made (then the setup link works). */
export interface SetupState {
  needed: boolean;
}

/** POST /api/setup: the one-time token printed in the gateway's log makes the first admin. */
export interface SetupRequest {
  token: string;
  username: string;
  password: string;
}

// ---------------------------------------------------------------------------------------------
// Overview

export type Quality = 'good' | 'partial' | 'bad' | 'stale';

export interface DeviceSummary {
  id: string;
  /** The profile's name of the model (both languages). */
  name: LocalizedName;
  /** The site's own name for this device (configuration `devices[].name`), null when none. */
  label: string | null;
  /** Where it is (configuration `devices[].location.description`), null when not given. */
  location: string | null;
  /** The profile's family: lighting, gas, cover, strain ... */
  family: string;
  profileId: string;
  busId: string;
  online: boolean;
  lastPollWallMs: number | null;
  /** Active (not normal) alarms of this device, by highest priority first. */
  activeAlarms: number;
  highestPriority: AlarmPriority | null;
}

export interface AlarmCounts {
  /** Annunciated alarms (not normal, not shelved, not suppressed, not out of service) by priority. */
  byPriority: Record<AlarmPriority, number>;
  byState: Partial<Record<AlarmStateName, number>>;
  unacknowledged: number;
}

export interface UplinkState {
  /** false: this cabinet runs without a cloud (no uplink configured). */
  configured: boolean;
  connected: boolean;
  backlog: number;
  oldestUnsentAgeS: number | null;
  lastAckWallMs: number | null;
}

export interface LightingRates {
  /** 0..1, null when nothing to measure yet. */
  litRate: number | null;
  onlineRate: number | null;
  integrityRate: number | null;
}

export interface CabinetFacts {
  gatewayId: string;
  siteName: string;
  version: string;
  uptimeS: number;
  clock: {
    wallMs: number;
    timeZone: string;
    /** false: the wall clock is before the build date or jumped (a cabinet booted without NTP). */
    sane: boolean;
  };
  disk: { freeBytes: number; totalBytes: number } | null;
  databaseBytes: number;
}

/** GET /api/overview */
export interface Overview {
  cabinet: CabinetFacts;
  devices: DeviceSummary[];
  alarms: AlarmCounts;
  /** Annunciated alarms (not normal, not shelved, suppressed or out of service), the most urgent first, at most 50. */
  activeAlarms: AlarmView[];
  uplink: UplinkState;
  lighting: LightingRates | null;
}

// ---------------------------------------------------------------------------------------------
// Devices and trends

export interface PointDefinition {
  key: string;
  name: LocalizedName;
  /** The logical child device it belongs to (lamp_03 behind a concentrator), null for the device's own. */
  child: string | null;
  unit: string | null;
  /** Modbus table and address as the profile maps it (docs/domain.md). */
  table: 'coil' | 'discrete' | 'input' | 'holding';
  address: number;
  /** Registers or bits it spans. */
  count: number;
  dataType: string;
  writable: boolean;
  min: number | null;
  max: number | null;
}

export interface PointValueView {
  key: string;
  value: number | boolean | null;
  quality: Quality;
  wallMs: number | null;
}

export interface AlarmRuleView {
  alarmKey: string;
  ruleKey: string;
  pointKey: string | null;
  kind: string;
  priority: AlarmPriority;
  /** The watched point's unit (null for rules without a point). */
  unit: string | null;
  /** Level set points, in the point's unit. */
  levels: Array<{ level: number; setpoint: number; priority: AlarmPriority }>;
  deadband: number;
  onDelayS: number;
  offDelayS: number;
  latched: boolean;
  enabled: boolean;
  /**
   * Where the settings in force come from: the profile's default, the site's configuration file,
   * the cloud's configuration document (`documentVersion`), or a technician's local override.
   */
  origin: 'profile' | 'file' | 'document' | 'technician';
  documentVersion: number | null;
  /** The default's source as the profile cites it (a standard, docs/domain.md ...). */
  source: string;
  /** Set while a technician's local override is in force on this rule. */
  override: { pointer: string; by: string; wallMs: number; reason: string | null } | null;
  message: LocalizedName | null;
}

/** GET /api/devices/:deviceId */
export interface DeviceDetail {
  device: DeviceSummary;
  points: PointDefinition[];
  values: PointValueView[];
  rules: AlarmRuleView[];
  /** The profile's forbidden register ranges, inclusive (never read or written, docs/domain.md). */
  forbiddenRanges: Array<{ table: string; start: number; end: number; reason: LocalizedName | null }>;
}

export type TrendRange = '1h' | '24h' | '7d';
export type TrendResolution = 'raw' | '1m' | '1h';

/**
 * GET /api/devices/:deviceId/trend?point=&range= (or &fromWallMs=&toWallMs= when zoomed). Columns,
 * not rows (uPlot's shape, and half the bytes): t[i] with mean[i], min[i], max[i]. Raw series have
 * min = max = mean. At most about 2,000 points: longer raw spans are thinned to min/max buckets.
 */
export interface Trend {
  deviceId: string;
  pointKey: string;
  resolution: TrendResolution;
  fromWallMs: number;
  toWallMs: number;
  t: number[];
  mean: Array<number | null>;
  min: Array<number | null>;
  max: Array<number | null>;
}

// ---------------------------------------------------------------------------------------------
// Alarms

export interface AlarmView {
  alarmKey: string;
  deviceId: string;
  deviceName: LocalizedName;
  ruleKey: string;
  message: LocalizedName | null;
  priority: AlarmPriority;
  state: AlarmStateName;
  active: boolean;
  acknowledged: boolean;
  level: number;
  lastValue: number | boolean | null;
  unit: string | null;
  /** When the alarm last changed state; null when it never has since the rule was made. */
  sinceWallMs: number | null;
  shelve: { mode: 'one-shot' | 'timed'; untilWallMs: number | null; by: string; reason: string } | null;
  outOfService: { by: string; reason: string } | null;
  suppressedBy: string | null;
  latched: boolean;
}

/**
 * GET /api/alarms?state=&priority=&device=: `state` is a state name, `not_normal` (the default:
 * every alarm not normal) or `any`.
 */
export interface AlarmList {
  alarms: AlarmView[];
  /** The longest timed shelve the engine allows (the form's maximum). */
  maxShelveS: number;
}

export type AlarmOperationPath =
  'acknowledge' | 'shelve' | 'unshelve' | 'reset' | 'remove-from-service' | 'return-to-service';

/** POST /api/alarms/:alarmKey/:operation */
export interface AlarmOperationRequest {
  /** Required (non-empty) for shelve and remove-from-service (ISA-18.2 management of change). */
  reason?: string;
  /** shelve only: absent for one-shot (until the alarm returns to normal). */
  durationS?: number;
}

export interface AlarmHistoryEntry {
  wallMs: number;
  fromState: AlarmStateName | null;
  toState: AlarmStateName;
  /** What caused it: process, operator action (with who), suppression ... */
  cause: string;
  by: string | null;
  reason: string | null;
  value: number | boolean | null;
}

/** GET /api/alarms/:alarmKey/history */
export interface AlarmHistory {
  alarm: AlarmView;
  entries: AlarmHistoryEntry[];
}

// ---------------------------------------------------------------------------------------------
// Lighting

export interface LampView {
  id: string;
  deviceId: string;
  loop: number | null;
  on: boolean | null;
  dimLevel: number | null;
  powerW: number | null;
  online: boolean;
  faults: string[];
}

export interface LoopView {
  id: string;
  deviceId: string;
  loop: number;
  on: boolean | null;
  currentA: number | null;
  lamps: string[];
  faults: string[];
}

export interface LightingOverrideView {
  target: string;
  action: 'on' | 'off' | 'dim';
  level: number | null;
  untilWallMs: number;
  by: string;
  reason: string;
  origin: 'local' | 'command';
}

/** GET /api/lighting (404 LIGHTING_NOT_CONFIGURED on a cabinet without lighting). */
export interface LightingView {
  rates: LightingRates;
  loops: LoopView[];
  lamps: LampView[];
  overrides: LightingOverrideView[];
  today: {
    date: string;
    sunsetWallMs: number | null;
    sunriseWallMs: number | null;
    /** Today's switching times as the schedule computes them. */
    switchOnWallMs: number | null;
    switchOffWallMs: number | null;
    dayType: 'weekday' | 'weekend' | 'holiday';
  };
  /** The calendar rules in force (the configuration's lighting rules, then midnight dimming). */
  rules: Array<{
    id: string;
    days: string[];
    from: string;
    to: string;
    action: string;
    level: number | null;
    /** Target ids it applies to; empty: every target. */
    targets: string[];
  }>;
}

/** POST /api/lighting/:target: answered once the concentrator answered the write (or failed). */
export interface LightingCommandRequest {
  action: 'on' | 'off' | 'dim';
  /** dim only: 0..100 %. */
  level?: number;
  /** How long the override lasts before the schedule takes over again. */
  durationS: number;
  reason: string;
}

export interface LightingCommandResult {
  target: string;
  result: 'succeeded';
  untilWallMs: number;
}

// ---------------------------------------------------------------------------------------------
// Bus diagnostics and commissioning

export interface DeviceLineHealth {
  deviceId: string;
  name: LocalizedName;
  unitId: number;
  /** Transactions with this device (polls' requests, writes, on-demand reads), answered or not. */
  transactions: number;
  timeouts: number;
  crcErrors: number;
  exceptions: number;
  /** Other failures (wrong unit, malformed reply, transport). */
  otherErrors: number;
  retries: number;
  lastRoundTripMs: number | null;
  meanRoundTripMs: number | null;
  maxRoundTripMs: number | null;
  /** The scheduler's view (gateway/bus/device-health.ts): dead devices are probed with back-off. */
  health: 'healthy' | 'degraded' | 'dead';
  consecutiveFailures: number;
  /** The configured poll interval, and the one in force (longer while degraded or dead: the back-off). */
  pollIntervalS: number;
  effectiveIntervalS: number;
  /** When it last answered (wall time, display only); null: not since the bus started. */
  lastSuccessWallMs: number | null;
  online: boolean;
}

export interface BusView {
  id: string;
  kind: 'rtu' | 'rtu-over-tcp' | 'tcp';
  /** "/dev/ttyS1@9600-8E1" or "10.0.0.5:502". */
  endpoint: string;
  /** false: the bus did not start (its port is missing ...); its counters are then null/0. */
  running: boolean;
  /** Share of time the line was busy with transactions since the bus started, 0..1. */
  utilisation: number | null;
  transactions: number;
  timeouts: number;
  crcErrors: number;
  exceptions: number;
  otherErrors: number;
  retries: number;
  devices: DeviceLineHealth[];
}

/** GET /api/bus */
export interface BusDiagnostics {
  buses: BusView[];
}

/**
 * POST /api/bus/read: one transaction queued on the device's bus scheduler like any poll. Either a
 * profile point, or a raw range. A range touching a forbidden range is refused (403
 * BUS_FORBIDDEN_RANGE, with the profile's reason in the message).
 */
export type BusReadRequest =
  | { deviceId: string; point: string }
  | { deviceId: string; table: 'coil' | 'discrete' | 'input' | 'holding'; address: number; count: number };

export interface BusReadResult {
  deviceId: string;
  table: 'coil' | 'discrete' | 'input' | 'holding';
  address: number;
  count: number;
  /** The point read, null for a raw range. */
  point: string | null;
  /** Raw 16-bit registers or bits, in address order. */
  raw: Array<number | boolean>;
  /** The point's engineering value when a point was read. */
  value: number | boolean | null;
  /** The point's unit when a point was read. */
  unit: string | null;
  roundTripMs: number;
}

/**
 * The 403 of a read touching a forbidden range: the ApiError (BUS_FORBIDDEN_RANGE, the reason in
 * English in `message`) and the range with its reason in both languages.
 */
export interface BusReadRefusal extends ApiError {
  forbiddenRange?: { table: string; start: number; end: number; reason: LocalizedName | null };
}

// ---------------------------------------------------------------------------------------------
// Strain

export interface StrainChannelMinute {
  channel: string;
  periodStartWallMs: number;
  min: number;
  max: number;
  mean: number;
  /** null when read from the stored 1-minute aggregates (after a restart), which keep no RMS. */
  rms: number | null;
  count: number;
  /** 'analyzer': temperature-compensated statistics (docs/strain.md); 'aggregates': stored readings. */
  source: 'analyzer' | 'aggregates';
}

export interface StrainEventView {
  /** The raw window's id for an overweight event; a per-run id for a vehicle. */
  id: string;
  kind: 'vehicle' | 'overweight';
  deviceId: string;
  wallMs: number;
  /**
   * Peak temperature-compensated strain, µε, and the channel it was seen on. null for an overweight
   * event known only from its kept window (seen before the gateway last restarted).
   */
  peak: number | null;
  channel: string | null;
  estimatedTonnes: number | null;
  /** Overweight level (1..3), null for a vehicle. */
  level: number | null;
  /** The raw window kept around the event, when there is one. */
  window: { t: number[]; series: Record<string, Array<number | null>> } | null;
}

/** GET /api/strain/:deviceId (404 CABINET_NOT_STRAIN for a device that is not a strain logger). */
export interface StrainView {
  deviceId: string;
  /** The strain channels (strain_N points) with their names. */
  channels: Array<{ key: string; name: LocalizedName }>;
  minutes: StrainChannelMinute[];
  events: StrainEventView[];
}

// ---------------------------------------------------------------------------------------------
// Thresholds (local overrides)

/**
 * PUT /api/overrides: one setting in the configuration document's shape, e.g.
 * `/alarms/gas-1/h2s_high/levels`, validated like a document and kept as a local override
 * (docs/config-downlink.md); DELETE /api/overrides with {pointer, reason} clears it.
 */
export interface OverrideRequest {
  pointer: string;
  value: unknown;
  reason: string;
}

export interface OverrideClearRequest {
  pointer: string;
  reason: string;
}

export interface OverrideView {
  pointer: string;
  value: unknown;
  previous: unknown;
  by: string;
  reason: string | null;
  wallMs: number;
}

/** GET /api/overrides */
export interface OverrideList {
  overrides: OverrideView[];
}

// ---------------------------------------------------------------------------------------------
// Audit and users (admin)

export interface AuditEntry {
  id: number;
  wallMs: number;
  actor: string;
  action: string;
  target: string;
  /** The client's address, when the action came through the web UI. */
  address: string | null;
  detail: Record<string, unknown>;
}

/** GET /api/audit?beforeId=&limit= (admin) */
export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as beforeId for the next (older) page; null at the end. */
  nextBeforeId: number | null;
}

export interface WebUserView {
  username: string;
  role: WebRole;
  disabled: boolean;
  createdWallMs: number;
  lastLoginWallMs: number | null;
}

/** GET /api/users (admin) */
export interface WebUserList {
  users: WebUserView[];
}

/** POST /api/users (admin) */
export interface WebUserCreateRequest {
  username: string;
  role: WebRole;
  password: string;
}

/** PATCH /api/users/:username (admin): any of role, disabled, a new password. */
export interface WebUserUpdateRequest {
  role?: WebRole;
  disabled?: boolean;
  password?: string;
}

// ---------------------------------------------------------------------------------------------
// Live stream: GET /api/live (text/event-stream). Each SSE `event:` name carries the JSON `data:`
// of the same name below. The server sends `hello` first, then changes; a client that falls behind
// (its buffer over the limit) is disconnected and reconnects (EventSource does so by itself).

export interface LiveEvents {
  hello: { serverWallMs: number };
  /** New values of one device (after each committed poll, at most one per device per second). */
  values: { deviceId: string; values: PointValueView[]; online: boolean };
  /** An alarm changed state (the whole view after the change). */
  alarm: AlarmView;
  /** Bus counters, every 2 s. */
  bus: BusDiagnostics;
  /** Uplink state, every 2 s and on change. */
  uplink: UplinkState;
  /** A lighting action was written (switch, dim): ok false when the write failed (error says why). */
  lighting: {
    deviceId: string;
    target: string;
    on: boolean | null;
    dimLevel: number | null;
    reason: string;
    ok: boolean;
    error: string | null;
  };
}

export type LiveEventName = keyof LiveEvents;
