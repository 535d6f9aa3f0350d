/**
 * One scheduler per bus. On RS-485 only one transaction may be on the line at a time (Modbus over
 * Serial Line v1.02 section 2.1: single master, the master waits for each reply), so the
 * scheduler is a single loop that always does the most urgent thing next:
 *   1. queued writes, first come first served (a technician switching a lamp should not wait
 *      behind a poll cycle);
 *   2. queued on-demand reads (read(): the cabinet UI's commissioning panel), one at a time and
 *      taking turns with the polls: after a read, a poll that is due goes first, so a flood of
 *      reads at a silent device cannot hold polling and alarm evaluation back (issue 13:
 *      "nothing the web server does may delay polling"); at most MAX_WAITING_READS wait;
 *   3. the device whose next poll is due first (staggered at start so devices do not all fire
 *      at once), its reads coalesced by read-planner.ts.
 * Dead devices are probed with backoff (device-health.ts) so they cost the others little.
 * Modbus TCP endpoints use the same loop: one connection, one transaction at a time, which is
 * what most devices and serial gateways behind them can take.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';
import { ModbusClient, type TransactionResult } from '../../drivers/modbus/client.js';
import { ModbusError, isModbusError } from '../../drivers/modbus/errors.js';
import type { ModbusRequest } from '../../drivers/modbus/pdu.js';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { TcpTransport } from '../../drivers/transport/tcp.js';
import type { Transport } from '../../drivers/transport/transport.js';
import { decodePoint } from '../profiles/point-codec.js';
import type { ForbiddenRange, RegisterTable, ResolvedPoint } from '../profiles/types.js';
import { TransactionStats } from './counters.js';
import { decodeReadResponse } from './decode.js';
import { DEFAULT_HEALTH_POLICY, DeviceHealthTracker, type HealthPolicy } from './device-health.js';
import { planDevice, type ReadRequestPlan } from './read-planner.js';
import { rtuWireCost, tcpWireCost, type WireCostModel } from './wire-cost.js';
import { encodeWrite } from './write-encoder.js';
import type {
  BusConfig,
  BusCounters,
  BusDeviceConfig,
  BusReadRequest,
  BusReadResult,
  DevicePollResult,
  PointReading,
  PointValue,
} from './types.js';

export interface BusSchedulerOptions {
  config: BusConfig;
  devices: BusDeviceConfig[];
  logger: Logger;
  /** false = one request per point span (the reference schedule the benchmark compares with). */
  coalesce?: boolean;
  /** Slave turnaround assumed by the wire-cost model, ms. */
  turnaroundMs?: number;
  healthPolicy?: HealthPolicy;
  /** Tests inject a transport (e.g. the mock); production builds one from `config`. */
  transport?: Transport;
}

type PollListener = (result: DevicePollResult) => void;

interface DeviceState {
  config: BusDeviceConfig;
  plan: ReadRequestPlan[];
  health: DeviceHealthTracker;
  stats: TransactionStats;
  nextDueMs: number;
  lastSuccessMs: number | null;
  points: Map<string, ResolvedPoint>;
}

interface QueuedWrite {
  device: DeviceState;
  point: ResolvedPoint;
  value: PointValue;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A write or an on-demand read waiting for the line: run between two polls, or failed at stop. */
interface QueuedTransaction {
  run(): Promise<void>;
  fail(error: Error): void;
}

/** The read function code of each table (MAP v1.1b3 sections 6.1 to 6.4). */
const READ_FC: Readonly<Record<RegisterTable, 0x01 | 0x02 | 0x03 | 0x04>> = {
  coil: 0x01,
  discrete: 0x02,
  holding: 0x03,
  input: 0x04,
};

/** Protocol maxima of one read: 2000 bits (FC 1, 2) and 125 registers (FC 3, 4), MAP v1.1b3 sections 6.1 to 6.4. */
export const MODBUS_MAX_READ_BITS = 2000;
export const MODBUS_MAX_READ_REGISTERS = 125;

/**
 * How many on-demand reads may wait for the line per bus (besides the one on the wire). Each may
 * cost its device's full timeout and retries when the device is silent, and each takes a turn
 * between polls, so an unbounded queue would let one browser tab stretch every poll cycle; two
 * is enough for a technician clicking through the commissioning panel. One more is refused at
 * once with BUS_BUSY (HTTP 429, RFC 6585 section 4) rather than queued.
 */
export const MAX_WAITING_READS = 2;

/** Errors of the scheduler itself (bad write requests), distinct from wire errors (ModbusError). */
export const BUS_ERRORS = {
  BUS_UNKNOWN_DEVICE: { means: 'No device of that id on the bus.' },
  BUS_UNKNOWN_POINT: { means: 'The device has no point of that key.' },
  BUS_NOT_WRITABLE: { means: 'A write to a read-only point.' },
  BUS_OUT_OF_RANGE: {
    means:
      "A value or poll interval outside what the point or scheduler accepts, or an on-demand read beyond the Modbus limit (125 registers, 2000 bits) or the profile's per-read limit.",
  },
  BUS_STOPPED: { means: 'The bus is not running, or stopped while the write or read was queued.' },
  BUS_FORBIDDEN_RANGE: {
    means:
      "An on-demand read touching a range the device's profile forbids (quirks.forbiddenRanges); refused before it is queued, the message says why.",
    status: 403,
  },
  BUS_BUSY: {
    means: `An on-demand read refused at once because ${MAX_WAITING_READS} reads already wait for the bus (each may take the device's full timeout, and polling must not wait behind them); try again when they are answered.`,
    status: 429,
  },
} as const satisfies ErrorCatalogue<string>;

export class BusError extends errorClass('BusError', BUS_ERRORS) {}

export function isBusError(value: unknown, code?: keyof typeof BUS_ERRORS): value is BusError {
  return value instanceof BusError && (code === undefined || value.code === code);
}

/** Errors worth another attempt right away: the line was noisy, not the request wrong. */
const RETRYABLE = new Set([
  'MODBUS_TIMEOUT',
  'MODBUS_CRC',
  'MODBUS_TRUNCATED',
  'MODBUS_WRONG_UNIT',
  'MODBUS_MALFORMED',
]);

export class BusScheduler {
  private readonly devices = new Map<string, DeviceState>();
  private readonly listeners = new Set<PollListener>();
  /** Writes waiting for the line, oldest first; they go before everything else. */
  private readonly writes: QueuedTransaction[] = [];
  /** On-demand reads waiting for the line, oldest first; at most MAX_WAITING_READS. */
  private readonly reads: QueuedTransaction[] = [];
  /** An on-demand read ran since the last poll: a due poll goes before the next read. */
  private readSincePoll = false;
  private readonly stats = new TransactionStats();
  private readonly costModel: WireCostModel;
  private client: ModbusClient | undefined;
  private transport: Transport | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private startedAtMs = 0;
  private busyMs = 0;
  /** The open failure last logged (its message), so a port that stays missing is one line. */
  private openProblem: string | null = null;
  /** Failed open attempts since the port was last open (or since start). */
  private failedOpens = 0;

  constructor(private readonly options: BusSchedulerOptions) {
    const turnaround = options.turnaroundMs ?? 2;
    const { config } = options;
    this.costModel = config.kind === 'tcp' ? tcpWireCost() : rtuWireCost(config.serial, turnaround);
  }

  get id(): string {
    return this.options.config.id;
  }

  onPoll(listener: PollListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The read requests each device is polled with (for diagnostics and tests). */
  plans(): Map<string, ReadRequestPlan[]> {
    return new Map([...this.devices].map(([id, d]) => [id, d.plan]));
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { config, devices, logger } = this.options;
    const now = performance.now();
    devices.forEach((device, index) => {
      const plan = planDevice(device.profile, this.costModel, { coalesce: this.options.coalesce ?? true });
      // Stagger first polls across one interval so a bus of many devices does not burst at start.
      const stagger = devices.length > 1 ? (device.pollIntervalMs * index) / devices.length : 0;
      this.devices.set(device.id, {
        config: device,
        plan,
        health: new DeviceHealthTracker(
          device.pollIntervalMs,
          this.options.healthPolicy ?? DEFAULT_HEALTH_POLICY,
        ),
        stats: new TransactionStats(),
        nextDueMs: now + stagger,
        lastSuccessMs: null,
        points: new Map(device.profile.points.map((p) => [p.key, p])),
      });
      logger.debug({ bus: config.id, device: device.id, requests: plan.length }, 'read plan');
    });
    this.transport = this.options.transport ?? createTransport(config);
    this.client = new ModbusClient({
      transport: this.transport,
      framing: config.kind === 'tcp' ? 'tcp' : 'rtu',
      ...(config.kind === 'tcp' ? {} : { serial: config.serial }),
      ...(config.kind === 'rtu' && config.frameSilenceMs !== undefined
        ? { frameSilenceMs: config.frameSilenceMs }
        : {}),
    });
    this.running = true;
    this.startedAtMs = performance.now();
    await this.openTransport();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const queued of [...this.writes.splice(0), ...this.reads.splice(0)])
      queued.fail(new BusError('BUS_STOPPED', `bus ${this.id} stopped`));
    await this.client?.close();
    await this.transport?.close().catch(() => undefined);
  }

  /** Writes one point in engineering units through the profile's writable definition. */
  write(deviceId: string, pointKey: string, value: PointValue): Promise<void> {
    const device = this.devices.get(deviceId);
    if (!device)
      return Promise.reject(new BusError('BUS_UNKNOWN_DEVICE', `no device ${deviceId} on bus ${this.id}`));
    const point = device.points.get(pointKey);
    if (!point)
      return Promise.reject(new BusError('BUS_UNKNOWN_POINT', `device ${deviceId} has no point ${pointKey}`));
    if (!point.writable)
      return Promise.reject(new BusError('BUS_NOT_WRITABLE', `point ${deviceId}/${pointKey} is read-only`));
    if (
      typeof value === 'number' &&
      ((point.min !== null && value < point.min) || (point.max !== null && value > point.max))
    ) {
      return Promise.reject(
        new BusError(
          'BUS_OUT_OF_RANGE',
          `${value} is outside ${point.min}..${point.max} for ${deviceId}/${pointKey}`,
        ),
      );
    }
    if (!this.running) return Promise.reject(new BusError('BUS_STOPPED', `bus ${this.id} is not running`));
    return new Promise((resolve, reject) => {
      const write: QueuedWrite = { device, point, value, resolve, reject };
      this.writes.push({ run: () => this.executeWrite(write), fail: reject });
      this.wake?.();
    });
  }

  /**
   * Reads a profile point, or a raw range of one table, on demand (the cabinet UI's
   * commissioning panel): queued like a write, so it takes the line between two polls and never
   * beside one. Refused before it is queued (nothing goes on the wire) with BusError:
   * BUS_UNKNOWN_DEVICE, BUS_UNKNOWN_POINT, BUS_OUT_OF_RANGE (beyond the Modbus limit of one read,
   * MAP v1.1b3 section 6, or the profile's quirks.maxRegistersPerRead / maxBitsPerRead, or past
   * address 65535), BUS_FORBIDDEN_RANGE (the range touches one of the profile's
   * quirks.forbiddenRanges: the device resets, hangs or aborts a calibration; the message quotes
   * the profile's reason), BUS_STOPPED, BUS_BUSY (MAX_WAITING_READS reads already wait; it then
   * takes its turn between polls, see the run loop). A failed transaction rejects with its
   * ModbusError (MODBUS_TIMEOUT, MODBUS_EXCEPTION ...).
   */
  read(deviceId: string, request: BusReadRequest): Promise<BusReadResult> {
    const device = this.devices.get(deviceId);
    if (!device)
      return Promise.reject(new BusError('BUS_UNKNOWN_DEVICE', `no device ${deviceId} on bus ${this.id}`));
    let span: { table: RegisterTable; address: number; count: number; point: ResolvedPoint | null };
    if ('point' in request) {
      const point = device.points.get(request.point);
      if (!point)
        return Promise.reject(
          new BusError('BUS_UNKNOWN_POINT', `device ${deviceId} has no point ${request.point}`),
        );
      span = { table: point.table, address: point.address, count: point.count, point };
    } else {
      span = { ...request, point: null };
    }
    const refusal = readRefusal(device.config, span);
    if (refusal !== null) return Promise.reject(refusal);
    if (!this.running) return Promise.reject(new BusError('BUS_STOPPED', `bus ${this.id} is not running`));
    if (this.reads.length >= MAX_WAITING_READS)
      return Promise.reject(
        new BusError(
          'BUS_BUSY',
          `bus ${this.id} already has ${MAX_WAITING_READS} on-demand reads waiting; try again when they are answered`,
        ),
      );
    return new Promise((resolve, reject) => {
      this.reads.push({
        run: async () => {
          try {
            resolve(await this.executeRead(device, span));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
        fail: reject,
      });
      this.wake?.();
    });
  }

  /**
   * A new poll interval for one device (a configuration document, docs/config-downlink.md),
   * effective from its next poll: a shorter interval is not waited out at the old cadence. The
   * device's health (failures, slowness) carries over. Returns the undo (a rolled-back change).
   * Throws BusError BUS_UNKNOWN_DEVICE.
   */
  setPollInterval(deviceId: string, pollIntervalMs: number): () => void {
    const device = this.devices.get(deviceId);
    if (!device) throw new BusError('BUS_UNKNOWN_DEVICE', `no device ${deviceId} on bus ${this.id}`);
    if (!(Number.isFinite(pollIntervalMs) && pollIntervalMs > 0))
      throw new BusError('BUS_OUT_OF_RANGE', `poll interval ${pollIntervalMs} ms for ${deviceId}`);
    const before = { config: device.config, health: device.health, nextDueMs: device.nextDueMs };
    const health = new DeviceHealthTracker(
      pollIntervalMs,
      this.options.healthPolicy ?? DEFAULT_HEALTH_POLICY,
    );
    health.consecutiveFailures = before.health.consecutiveFailures;
    health.consecutiveSlowPolls = before.health.consecutiveSlowPolls;
    device.config = { ...device.config, pollIntervalMs };
    device.health = health;
    device.nextDueMs = Math.min(device.nextDueMs, performance.now() + health.intervalMs);
    this.wake?.();
    return () => {
      device.config = before.config;
      device.health = before.health;
      device.nextDueMs = before.nextDueMs;
    };
  }

  counters(): BusCounters {
    const elapsed = performance.now() - this.startedAtMs;
    return {
      busId: this.id,
      ...this.stats.snapshot(),
      utilisation: this.startedAtMs === 0 || elapsed <= 0 ? 0 : Math.min(1, this.busyMs / elapsed),
      devices: [...this.devices.values()].map((d) => ({
        deviceId: d.config.id,
        ...d.stats.snapshot(),
        health: d.health.health,
        consecutiveFailures: d.health.consecutiveFailures,
        effectiveIntervalMs: d.health.intervalMs,
        lastSuccessMonotonicMs: d.lastSuccessMs,
      })),
    };
  }

  private async openTransport(): Promise<void> {
    if (!this.transport || this.transport.isOpen) return;
    const endpoint = this.transport.description;
    try {
      await this.transport.open();
      this.logOpen(endpoint);
    } catch (error) {
      // A missing port is not fatal: the loop keeps retrying, and every poll meanwhile reports
      // the failure, so the devices go dead and the alarms downstream see communication loss
      // (and the gateway's summary counts them). So one line per distinct problem, not one per
      // retry forever; the retries are at debug, and `bus open` says how many failed.
      this.failedOpens++;
      const { key, fields } = openFailure(error);
      if (key === this.openProblem) {
        this.options.logger.debug(
          { bus: this.id, endpoint, ...fields, failedAttempts: this.failedOpens },
          'bus still cannot be opened',
        );
        return;
      }
      this.openProblem = key;
      this.options.logger.error({ bus: this.id, endpoint, ...fields }, 'bus could not be opened; retrying');
    }
  }

  private logOpen(endpoint: string): void {
    const after = this.failedOpens > 0 ? { failedAttempts: this.failedOpens } : {};
    this.options.logger.info({ bus: this.id, endpoint, ...after }, 'bus open');
    this.openProblem = null;
    this.failedOpens = 0;
  }

  private async run(): Promise<void> {
    let lastOpenAttempt = performance.now();
    while (this.running) {
      // A TCP transport reconnects by itself: say so, and log the next failure again.
      if (this.openProblem !== null && this.transport?.isOpen) this.logOpen(this.transport.description);
      if (this.transport && !this.transport.isOpen && performance.now() - lastOpenAttempt > 2_000) {
        lastOpenAttempt = performance.now();
        await this.openTransport();
      }
      const write = this.writes.shift();
      if (write) {
        await write.run();
        continue;
      }
      const device = this.nextDue();
      const pollDue = device !== undefined && device.nextDueMs <= performance.now();
      const read = this.readSincePoll && pollDue ? undefined : this.reads.shift();
      if (read) {
        this.readSincePoll = true;
        await read.run();
        continue;
      }
      if (!device) {
        await this.sleep(1_000);
        continue;
      }
      const waitMs = device.nextDueMs - performance.now();
      if (waitMs > 0) {
        await this.sleep(waitMs);
        continue; // a write may have arrived, or stop() was called
      }
      this.readSincePoll = false;
      await this.pollDevice(device);
    }
  }

  private nextDue(): DeviceState | undefined {
    let next: DeviceState | undefined;
    for (const device of this.devices.values()) if (!next || device.nextDueMs < next.nextDueMs) next = device;
    return next;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async pollDevice(device: DeviceState): Promise<void> {
    const startedMono = performance.now();
    const wallTimeMs = Date.now();
    const readings: PointReading[] = [];
    const errors: Array<{ code: string; message: string }> = [];
    const dead = device.health.isDead;
    // A dead device gets one probe: its first request. Only a healthy device gets retries, so a
    // failing one costs its neighbours at most one timeout per request.
    const requests = dead ? device.plan.slice(0, 1) : device.plan;
    const retries = device.health.health === 'healthy' ? device.config.retries : 0;
    let answered = 0;
    let slowestRttMs = 0;
    for (const request of requests) {
      const outcome = await this.transact(device, toModbusRequest(request), retries);
      if (outcome instanceof Error) {
        errors.push({ code: isModbusError(outcome) ? outcome.code : 'BUS_ERROR', message: outcome.message });
        // A silent device will not answer the rest either: do not spend the line on it.
        if (isModbusError(outcome, 'MODBUS_TIMEOUT') || isModbusError(outcome, 'MODBUS_TRANSPORT')) break;
        continue;
      }
      answered++;
      slowestRttMs = Math.max(slowestRttMs, outcome.rttMs);
      decodeReadResponse(readings, request, outcome.response);
    }
    const quality = answered === 0 ? 'failed' : answered === device.plan.length ? 'good' : 'partial';
    device.health.recordPoll(answered > 0, slowestRttMs > device.config.timeoutMs / 2);
    if (answered > 0) device.lastSuccessMs = startedMono;
    const wasDead = dead;
    if (device.health.isDead && !wasDead) {
      this.options.logger.warn(
        { bus: this.id, device: device.config.id, errors },
        'device not answering; probing with backoff',
      );
    } else if (wasDead && !device.health.isDead) {
      this.options.logger.info({ bus: this.id, device: device.config.id }, 'device answering again');
    }
    // Keep the cadence: next poll one interval after the previous due time, but never schedule
    // into the past (a late cycle is not made up by a burst).
    device.nextDueMs = Math.max(device.nextDueMs + device.health.intervalMs, performance.now());
    if (device.health.isDead) device.nextDueMs = performance.now() + device.health.intervalMs;
    const result: DevicePollResult = {
      busId: this.id,
      deviceId: device.config.id,
      wallTimeMs,
      monotonicMs: startedMono,
      quality,
      readings,
      errors,
    };
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch (error) {
        this.options.logger.error({ err: error, bus: this.id }, 'poll listener failed');
      }
    }
  }

  /** One request with retries; returns the result or the last error (never throws). */
  private async transact(
    device: DeviceState,
    request: ModbusRequest,
    retries: number,
  ): Promise<TransactionResult | Error> {
    const client = this.client;
    if (!client) return new BusError('BUS_STOPPED', 'bus not started');
    const { quirks } = device.config.profile;
    let lastError: Error = new ModbusError('MODBUS_TRANSPORT', 'not attempted');
    for (let attempt = 0; attempt <= retries && this.running; attempt++) {
      if (attempt > 0) {
        device.stats.retries++;
        this.stats.retries++;
      }
      const begun = performance.now();
      try {
        const result = await client.request(device.config.unitId, request, {
          timeoutMs: device.config.timeoutMs,
          interFrameDelayMs: quirks.interFrameDelayMs,
        });
        this.busyMs += performance.now() - begun;
        device.stats.recordSuccess(result.rttMs);
        this.stats.recordSuccess(result.rttMs);
        return result;
      } catch (error) {
        this.busyMs += performance.now() - begun;
        lastError = error instanceof Error ? error : new Error(String(error));
        const code = isModbusError(lastError) ? lastError.code : 'BUS_ERROR';
        device.stats.recordFailure(code);
        this.stats.recordFailure(code);
        if (!RETRYABLE.has(code)) break;
      }
    }
    return lastError;
  }

  /** One on-demand read: retried like a poll while the device is healthy (a read changes nothing). */
  private async executeRead(
    device: DeviceState,
    span: { table: RegisterTable; address: number; count: number; point: ResolvedPoint | null },
  ): Promise<BusReadResult> {
    const retries = device.health.health === 'healthy' ? device.config.retries : 0;
    const request: ModbusRequest = { fc: READ_FC[span.table], address: span.address, quantity: span.count };
    const outcome = await this.transact(device, request, retries);
    if (outcome instanceof Error) throw outcome;
    const { response } = outcome;
    // A bit reply is padded to whole bytes (MAP v1.1b3 section 6.1): keep the bits asked for.
    let raw: boolean[] | number[];
    if ('bits' in response) raw = response.bits.slice(0, span.count);
    else if ('registers' in response) raw = response.registers.slice(0, span.count);
    else
      throw new ModbusError(
        'MODBUS_MALFORMED',
        `a read of ${device.config.id} was answered by a write reply`,
      );
    const value = span.point === null ? null : decodePoint(span.point, raw);
    this.options.logger.debug(
      { bus: this.id, device: device.config.id, table: span.table, address: span.address, count: span.count },
      'on-demand read',
    );
    return {
      deviceId: device.config.id,
      table: span.table,
      address: span.address,
      count: span.count,
      point: span.point?.key ?? null,
      raw,
      value,
      roundTripMs: outcome.rttMs,
    };
  }

  private async executeWrite(write: QueuedWrite): Promise<void> {
    const { device, point, value } = write;
    try {
      const requests = await encodeWrite(point, value, device.config.profile.quirks, async (readRequest) => {
        const read = await this.transact(device, readRequest, device.config.retries);
        if (read instanceof Error) throw read;
        return read.response;
      });
      for (const request of requests) {
        // Writes are not retried blindly: a lost reply does not mean the write was not done.
        const outcome = await this.transact(device, request, 0);
        if (outcome instanceof Error) throw outcome;
      }
      // Debug: the lighting controller alone writes dozens of points at start; callers log
      // what the writes were for (e.g. `lighting applied: N writes`).
      this.options.logger.debug(
        { bus: this.id, device: device.config.id, point: point.key, value },
        'point written',
      );
      write.resolve();
    } catch (error) {
      write.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

/**
 * How an open failure is logged. The driver's failures (MODBUS_TRANSPORT: no such port, refused,
 * unreachable) are expected I/O conditions: their message and codes say everything and a stack
 * trace into serialport says nothing. Anything else is a bug, logged with its stack.
 */
function openFailure(error: unknown): { key: string; fields: Record<string, unknown> } {
  if (!isModbusError(error)) {
    const err = error instanceof Error ? error : new Error(String(error));
    return { key: err.message, fields: { err } };
  }
  const cause: unknown = error.cause;
  const systemCode =
    cause instanceof Error && typeof (cause as NodeJS.ErrnoException).code === 'string'
      ? (cause as NodeJS.ErrnoException).code
      : undefined;
  return {
    key: error.message,
    fields: { err: error.message, code: error.code, ...(systemCode === undefined ? {} : { systemCode }) },
  };
}

/**
 * Why an on-demand read may not go on the wire, or null: a count of 0 or beyond what one read may
 * carry (the protocol's limit, or less when the profile says the device takes less), an address
 * past 65535, or a range touching one of the profile's forbidden ranges.
 */
function readRefusal(
  device: BusDeviceConfig,
  span: { table: RegisterTable; address: number; count: number },
): BusError | null {
  const { quirks } = device.profile;
  const bits = span.table === 'coil' || span.table === 'discrete';
  const protocolMax = bits ? MODBUS_MAX_READ_BITS : MODBUS_MAX_READ_REGISTERS;
  const deviceMax = Math.min(protocolMax, bits ? quirks.maxBitsPerRead : quirks.maxRegistersPerRead);
  const unit = bits ? 'bits' : 'registers';
  const what = `${device.id} ${span.table} ${span.address}..${span.address + span.count - 1}`;
  if (!Number.isInteger(span.count) || span.count < 1)
    return new BusError('BUS_OUT_OF_RANGE', `${device.id}: a read needs a count of at least 1`);
  if (span.count > deviceMax) {
    const why =
      deviceMax < protocolMax
        ? `profile ${device.profile.id} allows at most ${deviceMax} ${unit} per read (quirks)`
        : `Modbus allows at most ${protocolMax} ${unit} per read (MAP v1.1b3 section 6)`;
    return new BusError('BUS_OUT_OF_RANGE', `${what}: ${span.count} ${unit} is too many: ${why}`);
  }
  if (!Number.isInteger(span.address) || span.address < 0 || span.address + span.count - 1 > 0xffff)
    return new BusError('BUS_OUT_OF_RANGE', `${what}: addresses run from 0 to 65535`);
  const hit = forbiddenRangeHit(quirks.forbiddenRanges, span.table, span.address, span.count);
  if (hit === null) return null;
  const reason = hit.reason === undefined ? '' : `: ${hit.reason.en}`;
  return new BusError(
    'BUS_FORBIDDEN_RANGE',
    `${what} touches ${hit.table} ${hit.start}..${hit.end}, which profile ${device.profile.id} forbids reading${reason}`,
  );
}

/** The first forbidden range of `table` that [address, address + count) overlaps, or null. */
export function forbiddenRangeHit(
  ranges: readonly ForbiddenRange[],
  table: RegisterTable,
  address: number,
  count: number,
): ForbiddenRange | null {
  const last = address + count - 1;
  return ranges.find((r) => r.table === table && address <= r.end && last >= r.start) ?? null;
}

function toModbusRequest(plan: ReadRequestPlan): ModbusRequest {
  return { fc: plan.fc, address: plan.address, quantity: plan.quantity };
}

function createTransport(config: BusConfig): Transport {
  switch (config.kind) {
    case 'rtu':
      return new SerialTransport({ path: config.path, serial: config.serial });
    case 'rtu-over-tcp':
    case 'tcp':
      return new TcpTransport({
        host: config.host,
        port: config.port,
        connectTimeoutMs: 3_000,
        reconnect: { initialMs: 500, maxMs: 30_000 },
      });
  }
}
