/**
 * The gateway configuration after validation, with every default applied (schema.json documents
 * each field). Buses keep the exact shape the bus module takes (gateway/bus/types.ts).
 */
import type { EventClass } from '../../cloud-sync/contract/events.js';
import type { BusConfig } from '../bus/types.js';
import type { LightingConfig } from '../lighting/types.js';
import type { LogLevel } from '../logger.js';
import type { AlarmLevel } from '../profiles/types.js';
import type { RetentionPolicy } from '../store/retention.js';
import type { StrainDeviceConfig } from '../strain/types.js';

export interface SiteConfig {
  name: string;
  /** IANA time zone for display (web UI); absent: lighting.timezone, else the machine's zone (siteTimeZone). */
  timeZone?: string;
  latitude?: number;
  longitude?: number;
}

export interface DeviceLocation {
  description?: string;
  latitude?: number;
  longitude?: number;
}

/**
 * Per-device change of one profile alarm rule (schema.json `#/definitions/alarmOverride`). Absent
 * fields keep the profile default; `levels` replaces the profile's levels as a whole.
 */
export interface AlarmRuleOverride {
  enabled?: boolean;
  levels?: AlarmLevel[];
  deadband?: number;
  onDelayS?: number;
  offDelayS?: number;
  latched?: boolean;
  suppressedByDesign?: boolean;
  priority?: NonNullable<AlarmLevel['priority']>;
  staleAfterS?: number;
  rateLimit?: number;
}

/** Rule key (`id` or `${child}.${id}` of the device's profile, or `comm_loss`) -> override. */
export type DeviceAlarmOverrides = Record<string, AlarmRuleOverride>;

export interface DeviceConfig {
  id: string;
  /** Id of the bus in GatewayConfig.buses. */
  bus: string;
  unitId: number;
  /** Profile id, a key of the loaded profiles. */
  profile: string;
  /** Resolved: the device's own value or its profile's default. */
  pollIntervalMs: number;
  /** Resolved: the device's own value or its profile's quirks.responseTimeoutMs. */
  timeoutMs: number;
  retries: number;
  name?: string;
  location?: DeviceLocation;
  /** Alarm rule overrides, as written in the document (checked against the profile's rules). */
  alarms?: DeviceAlarmOverrides;
}

export interface GatewayConfig {
  gatewayId: string;
  site: SiteConfig;
  /** Absolute path (a relative one is resolved against the configuration file's folder). */
  dataDir: string;
  log: { level: LogLevel };
  /** Prometheus /metrics endpoint (gateway/metrics). */
  metrics: MetricsConfig;
  /** The cabinet web UI (gateway/web). */
  web: WebConfig;
  /** Store-and-forward to the cloud (gateway/uplink). */
  uplink: UplinkConfig;
  buses: BusConfig[];
  devices: DeviceConfig[];
  storage: StorageConfig;
  /** Bridge strain analysis, one entry per strain logger (gateway/strain, docs/strain.md). */
  strain: StrainDeviceConfig[];
  /** Street-lighting control (gateway/lighting, docs/lighting.md); null when the section is absent. */
  lighting: LightingConfig | null;
}

/** Local storage bounds (docs/storage.md). */
export interface StorageConfig {
  rawRetention: RetentionPolicy;
  outbox: OutboxStorageConfig;
}

/** The outbox's quotas and eviction step (`storage.outbox`; the store's `outboxQuota`, `telemetryEvictRows`). */
export interface OutboxStorageConfig {
  /** Most unacknowledged events per class; every class is present (the schema's defaults). */
  quotas: Record<EventClass, number>;
  /** Telemetry events evicted at once; absent: the store's default, 10 % of the telemetry quota. */
  telemetryEvictRows?: number;
}

export interface UplinkConfig {
  enabled: boolean;
  batchSize: number;
  maxInFlightBatches: number;
  telemetryEventsPerS: number;
  ackTimeoutS: number;
  statusIntervalS: number;
  /** Accept mqtt:// (no TLS) to a host that is not loopback (gateway/enrollment/transport-policy.ts). */
  allowInsecureMqtt: boolean;
}

export interface MetricsConfig {
  enabled: boolean;
  host: string;
  port: number;
}

/** The cabinet web UI (`web`; gateway/web/server.ts). */
export interface WebConfig {
  enabled: boolean;
  host: string;
  port: number;
  /**
   * true: a self-signed certificate in <dataDir>/web-tls/; files: these PEM files (absolute paths
   * after validation); false: plain HTTP (loopback only unless allowPlainHttpBeyondLoopback).
   */
  tls: boolean | WebTlsFiles;
  allowPlainHttpBeyondLoopback: boolean;
  /** Cookie without Secure (plain HTTP only). */
  insecureCookies: boolean;
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
}

export interface WebTlsFiles {
  certFile: string;
  keyFile: string;
}

/** The zone every time is shown in on the cabinet's web UI (site.timeZone in the schema). */
export function siteTimeZone(config: Pick<GatewayConfig, 'site' | 'lighting'>): string {
  return (
    config.site.timeZone ?? config.lighting?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone
  );
}
