/**
 * TypeScript types of the uplink messages (docs/uplink-contract.md), written by hand next to their
 * JSON schemas in schemas.ts; test/cloud-sync/contract checks that samples typed with these types
 * validate, so the two cannot drift apart unnoticed. Event bodies live in events.ts.
 */
import type { RemoteConfig } from './config-document.js';
import type { EventClass, Lane, OutboxEvent } from './events.js';
import type { DownlinkSignature } from './signing.js';

/** `up/events`: a batch of outbox events, gateway → cloud. */
export interface EventsBatch {
  /** Gateway id; must equal the id in the topic. */
  gw: string;
  /** The gateway database's random id (UUID); a replaced database starts a new epoch. */
  epoch: string;
  /** The stream within the epoch (docs/uplink-lanes.md); `priority` when absent. */
  lane?: Lane;
  /** Highest seq the gateway holds as acknowledged; every event in the batch has a higher seq. */
  after: number;
  /** In strictly increasing seq order; holes mean evicted telemetry (a gap event says so). */
  events: OutboxEvent[];
}

/** `down/ack`: everything up to `upTo` in `epoch` is committed in the cloud, cloud → gateway. */
export interface Ack {
  epoch: string;
  /** The lane acknowledged; `priority` when absent. */
  lane?: Lane;
  upTo: number;
}

export interface Backlog {
  /** Unacknowledged outbox events. */
  count: number;
  /** Age of the oldest of them on the gateway's monotonic clock, seconds; null when empty. */
  oldestAgeS: number | null;
  byClass?: Partial<Record<EventClass, number>>;
}

/** `up/status` (retained, and the last will with online false), gateway → cloud. */
export interface Status {
  online: boolean;
  /** Gateway software version. */
  version: string;
  uptimeS: number;
  backlog: Backlog;
  epoch?: string;
  /** Per lane: highest seq assigned and highest seq acknowledged, for the console's lag display. */
  lanes?: Partial<Record<Lane, { lastSeq: number; ackedSeq: number }>>;
  /** Version of the configuration document running; null when only the local file is used. */
  configVersion?: number | null;
  /**
   * The gateway's storage (issue 10): `ok`, `low` (decisions only, readings and telemetry
   * dropped) or `full` (a write failed for want of space). Read from memory, so it is sent even
   * when nothing can be written. Optional within v1.
   */
  storage?: StatusStorage;
}

export interface StatusStorage {
  state: 'ok' | 'low' | 'full';
  /** Free bytes in the gateway's data folder; null when unknown. */
  freeBytes: number | null;
  /** Why it is not ok, in words; null when ok. */
  reason: string | null;
}

/** Fields every command carries. */
export interface CommandEnvelope {
  /** UUID; commands are idempotent by id (docs/uplink-contract.md, delivery rule 7). */
  id: string;
  /** ISO 8601 wall-clock times set by the cloud; a command arriving after expiresAt is not run. */
  issuedAt: string;
  expiresAt: string;
  /** A lighting target (lamp or loop name) or an alarm key `${deviceId}:${ruleKey}`. */
  target: string;
  /** The cloud's signature (signing.ts); the gateway refuses a command without a valid one. */
  sig?: DownlinkSignature;
}

/** A manual override of the lighting schedule, for `durationS` seconds. */
export interface SwitchParams {
  on: boolean;
  durationS: number;
  by: string;
  reason: string;
}

export interface DimParams {
  /** Dim level, percent 0..100. */
  level: number;
  durationS: number;
  by: string;
  reason: string;
}

export interface AcknowledgeParams {
  by: string;
  reason?: string;
}

export interface ShelveParams {
  by: string;
  /** Required: ISA-18.2 asks why an alarm is shelved. */
  reason: string;
  mode: 'one-shot' | 'timed';
  /** Required when mode is 'timed'. */
  durationS?: number;
}

export interface LampSwitchCommand extends CommandEnvelope {
  action: 'lamp.switch';
  params: SwitchParams;
}
export interface LampDimCommand extends CommandEnvelope {
  action: 'lamp.dim';
  params: DimParams;
}
export interface LoopSwitchCommand extends CommandEnvelope {
  action: 'loop.switch';
  params: SwitchParams;
}
export interface AlarmAcknowledgeCommand extends CommandEnvelope {
  action: 'alarm.acknowledge';
  params: AcknowledgeParams;
}
export interface AlarmShelveCommand extends CommandEnvelope {
  action: 'alarm.shelve';
  params: ShelveParams;
}

/** `down/cmd`, cloud → gateway. The result comes back as a command_result outbox event. */
export type Command =
  LampSwitchCommand | LampDimCommand | LoopSwitchCommand | AlarmAcknowledgeCommand | AlarmShelveCommand;

export type CommandAction = Command['action'];

/** `down/config` (retained), cloud → gateway. The result comes back as a config_result event. */
export interface ConfigDocument {
  /** Increases with every new document. */
  version: number;
  /** Lower-case hex SHA-256 of the document, for comparing without sending it back. */
  hash: string;
  /** An overlay on the cabinet's configuration file (config-document.ts); the gateway checks it in full. */
  document: RemoteConfig;
  /** The cloud's signature (signing.ts); the gateway refuses a document without a valid one. */
  sig?: DownlinkSignature;
}
