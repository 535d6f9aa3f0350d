/**
 * The gateway configuration after validation, with every default applied (schema.json documents
 * each field). Buses keep the exact shape the bus module takes (gateway/bus/types.ts).
 */
import type { BusConfig } from '../bus/types.js';
import type { LogLevel } from '../logger.js';
import type { RetentionPolicy } from '../store/reading-writer.js';

export interface SiteConfig {
  name: string;
  latitude?: number;
  longitude?: number;
}

export interface DeviceLocation {
  description?: string;
  latitude?: number;
  longitude?: number;
}

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
}

export interface GatewayConfig {
  gatewayId: string;
  site: SiteConfig;
  /** Absolute path (a relative one is resolved against the configuration file's folder). */
  dataDir: string;
  log: { level: LogLevel };
  buses: BusConfig[];
  devices: DeviceConfig[];
  storage: { rawRetention: RetentionPolicy };
}
