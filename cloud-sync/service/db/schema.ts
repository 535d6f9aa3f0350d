/**
 * Kysely table types of the cloud database. Column types are portable between SQLite and
 * PostgreSQL: timestamps are ISO 8601 text, JSON is text, booleans are integers 0/1 (better-sqlite3
 * cannot bind booleans), seqs are `bigint` columns read as numbers.
 */
import type { CaseTables } from './case-tables.js';
import type { EdgeTables } from './edge-tables.js';
import type { EnrollmentTables } from './enrollment-tables.js';
import type { StatusTables } from './status-tables.js';

/**
 * One row per stream, i.e. per gateway database (epoch) and uplink lane (docs/uplink-lanes.md): how
 * far it is committed (docs/uplink-contract.md, delivery rule 3).
 */
export interface GatewayStreamsTable {
  gateway_id: string;
  /**
   * The gateway database's random id; a replaced database is a new epoch (docs/uplink-contract.md,
   * delivery rule 1).
   */
  epoch: string;
  /** 'priority' or 'telemetry': each lane has its own seqs. */
  lane: string;
  /**
   * Highest seq committed here; the gateway may delete its outbox up to it
   * (docs/uplink-contract.md, delivery rule 4).
   */
  last_committed: number;
  updated_at: string;
}

/** Every committed outbox event, exactly once per (gateway_id, epoch, lane, seq). */
export interface EventsTable {
  gateway_id: string;
  epoch: string;
  lane: string;
  seq: number;
  /**
   * The event's stable UUID (docs/uplink-contract.md, delivery rule 1); unique across all gateways
   * and epochs.
   */
  event_id: string;
  kind: string;
  /** Outbox class (EVENT_CLASS), kept for queries by class (docs/uplink-contract.md, delivery rule 5). */
  class: string;
  /** Gateway wall clock, display only. */
  ts: string;
  /** JSON of the event body (kind and its fields, without the seq/id/ts envelope). */
  body: string;
  /** The event's deviceId when it has one (migration 0004): a case's trend evidence reads by it. */
  device_id: string | null;
  /** Cloud wall clock at commit. */
  received_at: string;
}

/** Latest reported value of every telemetry point of a device. */
export interface DeviceStateTable {
  gateway_id: string;
  device_id: string;
  /** JSON object point -> latest value (number or boolean), merged from telemetry events. */
  latest_values: string;
  /** Where the newest value came from. */
  epoch: string;
  seq: number;
  ts: string;
  updated_at: string;
}

/**
 * Events of a batch that break the contract, kept instead of committed (issue 9): the lane moves
 * past them so one bad event never blocks the rest (docs/uplink-contract.md, "invalid events").
 */
export interface DeadLettersTable {
  gateway_id: string;
  epoch: string;
  lane: string;
  seq: number;
  /** The event's own id and kind when they were readable, else null. */
  event_id: string | null;
  kind: string | null;
  /** The event as it arrived (JSON text). */
  raw: string;
  /** JSON array of {pointer, message}: why the contract refused it. */
  reasons: string;
  received_at: string;
}

/** Latest ISA-18.2 state of every alarm, from alarm_transition events. */
export interface AlarmStateTable {
  gateway_id: string;
  /** `${deviceId}:${ruleKey}`. */
  alarm_key: string;
  device_id: string;
  state: string;
  level: number;
  /** 1 when the process condition is active, else 0. */
  active: number;
  priority: string | null;
  epoch: string;
  seq: number;
  ts: string;
  updated_at: string;
}

export interface CloudSchema extends EnrollmentTables, StatusTables, CaseTables, EdgeTables {
  gateway_streams: GatewayStreamsTable;
  events: EventsTable;
  dead_letters: DeadLettersTable;
  device_state: DeviceStateTable;
  alarm_state: AlarmStateTable;
}
