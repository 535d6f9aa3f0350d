/**
 * Everything the cabinet web UI's data routes and live stream need of the running gateway
 * (docs/ui.md, "The cabinet API"), in one interface, so the routes depend on this and not on the
 * Gateway class: cabinet-adapter.ts implements it over a real Gateway (cabinetPortOf), and a
 * composition root (gateway/main.ts, simulators/demo.ts) hands it to registerCabinetRoutes.
 *
 * Reads come in three kinds:
 * - snapshots of what the gateway holds in memory (alarm records and rules, bus counters, the
 *   lighting, the latest value of every point), cheap and never touching the database;
 * - `store.read`: a short read transaction on kerbside.db's read-only connection (trends,
 *   histories, strain windows: gateway/web/queries/);
 * - `on`: the gateway's event bus, for the live stream.
 *
 * Actions take the signed-in user as `WebActor` (ports.ts actorOf): the user is the actor of the
 * alarm operation, lighting override, configuration override or bus read, and the client's
 * address is recorded in the audit event of each.
 */
import type {
  OverweightEvent,
  StrainStatisticsEvent,
  VehicleEvent,
} from '../../cloud-sync/contract/events.js';
import type { ShelveOptions } from '../alarms/engine.js';
import type { AlarmRecord, AlarmRule, Instant } from '../alarms/types.js';
import type { RemoteConfig } from '../../cloud-sync/contract/config-document.js';
import type { BusConfig, BusCounters, BusReadRequest, BusReadResult, PointValue } from '../bus/types.js';
import type { DeviceConfig } from '../config/types.js';
import type { GatewayEventMap, GatewayEventName } from '../events/event-bus.js';
import type { LocalLightingCommand, LocalLightingOutcome } from '../lighting/local-command.js';
import type { LightingSnapshot } from '../lighting/snapshot.js';
import type { AlarmOperationName } from '../pipeline/pipeline.js';
import type { LoadedProfile } from '../profiles/types.js';
import type { LocalOverrideRow } from '../store/downlink-rows.js';
import type { GatewayStoreStats } from '../store/event-store.js';
import type { UplinkStats } from '../uplink/uplink.js';
import type { WebActor, WebStorePort } from './ports.js';

/** Who this cabinet is; fixed while the web server runs. */
export interface CabinetIdentity {
  gatewayId: string;
  siteName: string;
  /** The gateway's version (package.json). */
  version: string;
  /** The cabinet's IANA time zone: the pages show every time in it. */
  timeZone: string;
}

export interface CabinetDevice {
  id: string;
  busId: string;
  config: DeviceConfig;
  profile: LoadedProfile;
}

/** The latest committed value of one point (poll:result), with the quality of its poll. */
export interface LatestValue {
  value: PointValue;
  /** Wall time of the poll that read it (display only). */
  wallMs: number;
  /** Process-clock time of that poll (performance.now()), for its age. */
  monoMs: number;
  quality: 'good' | 'partial';
}

/** What the cabinet last heard from one device. */
export interface LatestPoll {
  /** Every point read so far, merged over polls (a partial or failed poll keeps the others). */
  values: ReadonlyMap<string, LatestValue>;
  /** The last poll's outcome and time. */
  quality: 'good' | 'partial' | 'failed';
  wallMs: number;
  monoMs: number;
}

/** A strain event the cabinet saw since the web server started, with the wall time it was committed. */
export type StrainEventRecord = (VehicleEvent | OverweightEvent) & { id: string; wallMs: number };

/** The live stream's subscription to the gateway's event bus. */
export type CabinetEvents = <K extends GatewayEventName>(
  name: K,
  listener: (payload: GatewayEventMap[K]) => void,
) => () => void;

export interface CabinetPort {
  identity: CabinetIdentity;
  /** kerbside.db: short read transactions on the read-only connection, and the store's clock. */
  store: Pick<WebStorePort, 'read' | 'now'>;
  /** false while the gateway is stopped: the routes answer 503. */
  running(): boolean;
  /** When this run of the gateway started (process clock and wall clock); null while stopped. */
  startedTime(): { monoMs: number; wallMs: number } | null;
  /** Free and total bytes of the data folder's file system; null when it cannot be read. */
  disk(): { freeBytes: number; totalBytes: number } | null;
  storeStats(): GatewayStoreStats | null;

  // --- devices and values ------------------------------------------------------------------------
  devices(): CabinetDevice[];
  /** The latest values of a device (null: not heard from since the web server started). */
  latest(deviceId: string): LatestPoll | null;

  // --- alarms ------------------------------------------------------------------------------------
  alarmRecords(): AlarmRecord[];
  /** The rules in force (the effective configuration), derived and bus rules included. */
  alarmRules(): AlarmRule[];
  /** The longest timed shelve the alarm engine accepts (ISA-18.2: shelving is time limited). */
  maxShelveMs: number;
  /** Throws AlarmError (ALARM_UNKNOWN, ALARM_ILLEGAL_OPERATION, ALARM_SHELVE_TOO_LONG, ALARM_REASON_REQUIRED). */
  operateAlarm(
    operation: AlarmOperationName,
    alarmKey: string,
    actor: WebActor,
    reason: string,
    shelve?: ShelveOptions,
  ): void;

  // --- configuration -----------------------------------------------------------------------------
  localOverrides(): LocalOverrideRow[];
  /** The file's document and the cloud's active one: where a rule's settings came from. */
  configDocuments(): { file: unknown; active: { version: number; document: RemoteConfig } | null };
  /** Throws DownlinkError (DOWNLINK_BAD_POINTER, DOWNLINK_INVALID with issues, DOWNLINK_NO_SOURCE ...). */
  setLocalOverride(pointer: string, value: unknown, actor: WebActor, reason: string): void;
  /** Throws DownlinkError (DOWNLINK_NO_OVERRIDE ...). */
  clearLocalOverride(pointer: string, actor: WebActor, reason: string): void;

  // --- field bus ---------------------------------------------------------------------------------
  buses(): Array<{ config: BusConfig; counters: BusCounters | null }>;
  /** Queued on the device's bus scheduler; rejects with BusError or the transaction's ModbusError. */
  readBus(deviceId: string, request: BusReadRequest, actor: WebActor): Promise<BusReadResult>;

  // --- lighting ----------------------------------------------------------------------------------
  /** null: this cabinet runs no lighting. */
  lighting(): LightingSnapshot | null;
  /** Resolves once the concentrator answered; rejects with LightingError or the write's ModbusError. */
  commandLighting(cmd: LocalLightingCommand, actor: WebActor): Promise<LocalLightingOutcome>;

  // --- uplink ------------------------------------------------------------------------------------
  /** configured false: this cabinet runs without a cloud. */
  uplink(): { configured: boolean; stats: UplinkStats | null };

  // --- strain ------------------------------------------------------------------------------------
  /** Minute statistics of a strain logger since the web server started, oldest first (at most an hour). */
  strainMinutes(deviceId: string): StrainStatisticsEvent[];
  /** Vehicle and overweight events since the web server started, newest first (at most 50). */
  strainEvents(deviceId: string): StrainEventRecord[];

  // --- live --------------------------------------------------------------------------------------
  on: CabinetEvents;
  /** Store time now (uptime and wall clock). */
  now(): Instant;
  /** Ends the port's own subscriptions (the registerCabinetRoutes app's onClose). */
  close(): void;
}
