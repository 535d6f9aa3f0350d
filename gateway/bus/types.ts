/**
 * Public shapes of the bus module: what a bus is configured with, what one device poll yields,
 * and the counters a technician reads in the bus diagnostics.
 */
import type { SerialSettings } from '../../drivers/transport/transport.js';
import type { LoadedProfile, RegisterTable } from '../profiles/types.js';

/** An RS-485 line on a local serial port. */
export interface RtuBusConfig {
  id: string;
  kind: 'rtu';
  path: string;
  serial: SerialSettings;
  /** Override of the silence that ends a frame (USB adapters deliver bytes in bursts). */
  frameSilenceMs?: number;
}

/** RTU frames carried over TCP (serial device servers; the demo when no pty exists). */
export interface RtuOverTcpBusConfig {
  id: string;
  kind: 'rtu-over-tcp';
  host: string;
  port: number;
  serial: SerialSettings;
}

/** Modbus TCP: one connection per endpoint, reused for every device (unit id) behind it. */
export interface TcpBusConfig {
  id: string;
  kind: 'tcp';
  host: string;
  port: number;
}

export type BusConfig = RtuBusConfig | RtuOverTcpBusConfig | TcpBusConfig;

export interface BusDeviceConfig {
  id: string;
  unitId: number;
  profile: LoadedProfile;
  pollIntervalMs: number;
  /** Response timeout per transaction (default: the profile's quirks.responseTimeoutMs). */
  timeoutMs: number;
  /** Extra attempts after a failed transaction while the device is healthy. */
  retries: number;
}

export type PointValue = number | boolean;

export interface PointReading {
  /** Point key from the profile (`id` or `${child}.${id}`). */
  key: string;
  value: PointValue;
}

/** What one poll of one device produced. */
export interface DevicePollResult {
  busId: string;
  deviceId: string;
  /** Wall-clock time (ms since epoch) the poll started; may be untrusted on a cabinet without NTP. */
  wallTimeMs: number;
  /** Monotonic time (performance.timeOrigin-based ms) the poll started; use this for ordering and age. */
  monotonicMs: number;
  /** 'good' = every request answered; 'partial' = some failed; 'failed' = none answered. */
  quality: 'good' | 'partial' | 'failed';
  readings: PointReading[];
  /** Error codes of the failed requests (ModbusError codes), empty when good. */
  errors: Array<{ code: string; message: string }>;
}

export type DeviceHealth = 'healthy' | 'degraded' | 'dead';

export interface TransactionCounters {
  transactions: number;
  timeouts: number;
  crcErrors: number;
  exceptions: number;
  otherErrors: number;
  retries: number;
  lastRttMs: number | null;
  meanRttMs: number | null;
  maxRttMs: number | null;
}

export interface DeviceCounters extends TransactionCounters {
  deviceId: string;
  health: DeviceHealth;
  consecutiveFailures: number;
  /** Current effective poll interval (grows while the device is dead). */
  effectiveIntervalMs: number;
  lastSuccessMonotonicMs: number | null;
}

export interface BusCounters extends TransactionCounters {
  busId: string;
  /** Share of elapsed time the line was busy with transactions, 0..1, since start. */
  utilisation: number;
  devices: DeviceCounters[];
}

/**
 * An on-demand read (the cabinet UI's commissioning panel, BusScheduler.read): a profile point,
 * or a raw range of one table. Addresses are 0-based PDU addresses (MAP v1.1b3 section 4.4).
 */
export type BusReadRequest = { point: string } | { table: RegisterTable; address: number; count: number };

export interface BusReadResult {
  deviceId: string;
  table: RegisterTable;
  address: number;
  count: number;
  /** The point read, or null for a raw range. */
  point: string | null;
  /** Raw 16-bit registers (holding, input) or bits (coil, discrete), in address order. */
  raw: Array<number | boolean>;
  /** The point's engineering value (profile scale, offset, word order); null for a raw range. */
  value: PointValue | null;
  /** Request to reply of the transaction that answered (ModbusClient's measure). */
  roundTripMs: number;
}
