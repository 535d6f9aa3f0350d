/**
 * The events a gateway sends upstream (docs/uplink-contract.md, topic `up/events`). The gateway
 * writes each one to its outbox in the same SQLite transaction as the decision that produced it;
 * the uplink ships them in seq order. This file is the one place their TypeScript types live; their
 * JSON schemas are in schemas.ts and a test checks that typed samples of each kind validate.
 *
 * `class` decides the outbox policy (docs/uplink-contract.md, delivery rule 5): everything except
 * `telemetry` is never evicted; telemetry may be evicted oldest-first with a gap record.
 */

import type { DownlinkRefusalCode } from './signing.js';

export type EventClass =
  'alarm' | 'event' | 'command_result' | 'config_result' | 'audit' | 'gap' | 'telemetry';

/** ISA-18.2 / IEC 62682 alarm states as the gateway reports them: the one list schemas and metrics use. */
export const ALARM_STATES = [
  'normal',
  'unacknowledged',
  'acknowledged',
  'rtn_unacknowledged',
  'latched',
  'shelved',
  'suppressed',
  'out_of_service',
] as const;

export type AlarmStateName = (typeof ALARM_STATES)[number];

export type AlarmPriority = 'low' | 'medium' | 'high' | 'critical';

/** One ISA-18.2 state transition of one alarm. */
export interface AlarmTransitionEvent {
  kind: 'alarm_transition';
  /** `${deviceId}:${ruleKey}`, stable across restarts. */
  alarmKey: string;
  deviceId: string;
  ruleKey: string;
  /** The rule's condition kind: high, low, boolean, rate, stale, comm_loss, or a derived kind (switching_error, lamp_failure, overweight, lit_rate_low ...). */
  condition: string;
  from: AlarmStateName;
  to: AlarmStateName;
  /** Active level 1..3, 0 when the condition is inactive. */
  level: number;
  priority: AlarmPriority | null;
  /** Whether the process condition is active (independent of shelving/suppression). */
  active: boolean;
  /** The value that caused it (null for operations, comm loss, timers without a value). */
  value: number | boolean | null;
  setpoint: number | null;
  /** What moved the alarm: a reading, a timer (delays, stale, shelve expiry), an operator, or a dependency. */
  cause: 'reading' | 'timer' | 'operation' | 'dependency' | 'config';
  /** For operations: who and why. */
  by: string | null;
  reason: string | null;
  message: { 'zh-CN': string; en: string } | null;
  /**
   * The device's family from its profile (gas-detector, manhole-cover, lamp-concentrator,
   * bridge-strain), absent for alarms of the gateway itself. Optional within v1 (added in issue 9):
   * it lets the cloud match a filing rule for a device that is not yet a registered component.
   */
  family?: string;
}

/** Chattering: 3 or more activations of one alarm within a minute (ISA-18.2, docs/domain.md). */
export interface AlarmChatteringEvent {
  kind: 'alarm_chattering';
  alarmKey: string;
  deviceId: string;
  activations: number;
  windowS: number;
}

/** A vehicle crossing detected on the bridge (telemetry class: high volume). */
export interface VehicleEvent {
  kind: 'vehicle';
  deviceId: string;
  /** Peak temperature-compensated strain, microstrain, and the channel it was seen on. */
  peakMicrostrain: number;
  channel: string;
  /** Estimated gross weight, tonnes (peak x calibrated load factor). */
  estimatedTonnes: number;
  durationMs: number;
}

/** An overweight vehicle: estimated load above a configured level (alarm class: never evicted). */
export interface OverweightEvent {
  kind: 'overweight';
  deviceId: string;
  level: number;
  thresholdTonnes: number;
  estimatedTonnes: number;
  peakMicrostrain: number;
  channel: string;
  durationMs: number;
  /** Raw-window id: the readings around the event are kept under this id. */
  windowId: string;
}

/** Something the lighting controller did (switch or dim), and why. */
export interface LightingActionEvent {
  kind: 'lighting_action';
  deviceId: string;
  target: string;
  action: 'switch' | 'dim';
  value: number | boolean;
  reason: 'astronomical' | 'calendar' | 'override' | 'command' | 'restore';
  ok: boolean;
  error: string | null;
}

/** Report-by-exception: a point moved by more than its deadband since it was last reported. */
export interface TelemetryEvent {
  kind: 'telemetry';
  deviceId: string;
  values: Record<string, number | boolean>;
}

/** Periodic aggregates (1-minute or 1-hour) of numeric points. */
export interface TelemetryAggregateEvent {
  kind: 'telemetry_aggregate';
  deviceId: string;
  periodS: 60 | 3600;
  /** Start of the period, wall clock ms (display only). */
  periodStartMs: number;
  points: Record<string, { min: number; max: number; mean: number; count: number }>;
}

/** Per-minute strain statistics of a bridge channel. */
export interface StrainStatisticsEvent {
  kind: 'strain_statistics';
  deviceId: string;
  periodStartMs: number;
  channels: Record<string, { min: number; max: number; mean: number; rms: number; count: number }>;
}

/** Who did what on the cabinet (web UI, CLI, cloud command). */
export interface AuditEvent {
  kind: 'audit';
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

/** Telemetry evicted from a full outbox (docs/uplink-contract.md, delivery rule 5). */
/** Telemetry-lane events fromSeq..toSeq (telemetry-lane seqs) were evicted unsent; it rides the priority lane. */
export interface GapEvent {
  kind: 'gap';
  /** The missing seqs, in the lane `lane` names. */
  fromSeq: number;
  toSeq: number;
  count: number;
  fromTs: string;
  toTs: string;
  reason: string;
  /**
   * The lane whose seqs are missing: `telemetry` (absent means telemetry: evicted or dropped
   * telemetry) or `priority` (issue 10: decisions held in memory while the disk was full and
   * lost in a crash). Optional within v1.
   */
  lane?: Lane;
}

/** The event database was found corrupt and replaced: what was lost. */
export interface StoreQuarantinedEvent {
  kind: 'store_quarantined';
  file: string;
  quarantinedAs: string;
  reason: string;
}

/**
 * What became of a `down/cmd` command (docs/uplink-contract.md, delivery rule 7): commands report
 * as outbox events.
 */
export interface CommandResultEvent {
  kind: 'command_result';
  /** The command's `id`: the cloud matches results to commands by it. */
  commandId: string;
  action: string;
  target: string;
  /**
   * succeeded / failed: it ran; rejected: invalid or refused before running; expired: it arrived
   * after `expiresAt`; duplicate: an `id` already handled (commands are idempotent by id).
   */
  status: 'succeeded' | 'failed' | 'rejected' | 'expired' | 'duplicate';
  error: string | null;
  /**
   * Only on a message refused for its signature (status rejected; signing.ts): the command was
   * not run and not recorded, so the genuine command with this id still runs when it arrives.
   */
  code?: DownlinkRefusalCode;
}

/** What became of a `down/config` document (docs/uplink-contract.md, delivery rule 7). */
export interface ConfigResultEvent {
  kind: 'config_result';
  version: number;
  hash: string;
  /** applied: now running; rejected: invalid, the previous version stays; rolled_back: applied, failed, restored. */
  status: 'applied' | 'rejected' | 'rolled_back';
  /** The version running after this result (the previous one when rejected); null when none. */
  activeVersion: number | null;
  /** Why it was rejected or rolled back (empty when applied). */
  errors: Array<{ pointer: string; message: string }>;
  /** Only on a document refused for its signature (status rejected; signing.ts): not recorded. */
  code?: DownlinkRefusalCode;
}

/**
 * A technician changed a setting on the cabinet (docs/config-downlink.md): it stays in force over
 * the cloud's document until cleared there or locally, and is reported so it is never silently lost.
 */
export interface ConfigOverrideEvent {
  kind: 'config_override';
  /** The setting, as a pointer into the configuration document's shape (contract/config-document.ts). */
  pointer: string;
  /** set: the local value now wins over the document; clear: the document's value is back in force. */
  action: 'set' | 'clear';
  /** The value in force locally (null for clear). */
  value: unknown;
  /** What the cloud's document (or the file) had there before; null when nothing. */
  previous: unknown;
  by: string;
  reason: string | null;
}

export type GatewayEventBody =
  | AlarmTransitionEvent
  | AlarmChatteringEvent
  | VehicleEvent
  | OverweightEvent
  | LightingActionEvent
  | TelemetryEvent
  | TelemetryAggregateEvent
  | StrainStatisticsEvent
  | AuditEvent
  | GapEvent
  | StoreQuarantinedEvent
  | CommandResultEvent
  | ConfigResultEvent
  | ConfigOverrideEvent;

export type GatewayEventKind = GatewayEventBody['kind'];

/** Outbox class of each kind. */
export const EVENT_CLASS: Readonly<Record<GatewayEventKind, EventClass>> = {
  alarm_transition: 'alarm',
  alarm_chattering: 'alarm',
  overweight: 'alarm',
  store_quarantined: 'alarm',
  lighting_action: 'event',
  vehicle: 'telemetry',
  telemetry: 'telemetry',
  telemetry_aggregate: 'telemetry',
  strain_statistics: 'telemetry',
  audit: 'audit',
  gap: 'gap',
  command_result: 'command_result',
  config_result: 'config_result',
  config_override: 'config_result',
};

/**
 * Uplink lanes (docs/uplink-lanes.md): each gateway epoch has two independent streams, each with
 * its own strictly increasing seq, `after`/`upTo` and lastCommitted. The priority lane carries
 * every class that is never evicted, so a new alarm never waits behind a telemetry backlog
 * (docs/uplink-contract.md, delivery rule 6) without breaking rule 2.
 */
export const LANES = ['priority', 'telemetry'] as const;
export type Lane = (typeof LANES)[number];

/** The lane of each outbox class: only evictable telemetry rides the telemetry lane. */
export const LANE_OF_CLASS: Readonly<Record<EventClass, Lane>> = {
  alarm: 'priority',
  event: 'priority',
  command_result: 'priority',
  config_result: 'priority',
  audit: 'priority',
  gap: 'priority',
  telemetry: 'telemetry',
};

/** An event as stored in the outbox and sent upstream: envelope fields plus the body. */
export type OutboxEvent = GatewayEventBody & {
  /**
   * Strictly increasing within its lane, never reused within an epoch (docs/uplink-contract.md,
   * delivery rule 1).
   */
  seq: number;
  /** Stable unique id (UUID). */
  id: string;
  /** Wall-clock time, ISO 8601 (display only: the cabinet's clock may be untrusted). */
  ts: string;
};
