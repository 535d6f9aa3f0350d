/**
 * The gateway's running core: the readings store and one bus scheduler per bus, wired so that
 * every poll result lands in the ReadingWriter. main.ts builds it; tests build it with a fake
 * bus. The constructor only assigns (DESIGN.md section 3); start() opens and starts, stop()
 * stops in the reverse order so the last polls are flushed before the database closes.
 */
import type { Logger } from 'pino';
import type { SerialSettings } from '../drivers/transport/transport.js';
import { BusScheduler } from './bus/scheduler.js';
import type { BusConfig, BusCounters, BusDeviceConfig, DevicePollResult } from './bus/types.js';
import { planBuses, type BusPlan } from './config/bus-plan.js';
import type { GatewayConfig } from './config/types.js';
import type { LoadedProfile } from './profiles/types.js';
import type { SqliteDatabase } from './store/database.js';
import { openReadingsDatabase } from './store/readings-db.js';
import { ReadingWriter, type ReadingWriterStats } from './store/reading-writer.js';

/** What the gateway needs of a bus scheduler (BusScheduler implements it). */
export interface PollingBus {
  start(): Promise<void>;
  stop(): Promise<void>;
  onPoll(listener: (result: DevicePollResult) => void): () => void;
  counters(): BusCounters;
}

export type BusFactory = (options: {
  config: BusConfig;
  devices: BusDeviceConfig[];
  logger: Logger;
}) => PollingBus;

export interface GatewayOptions {
  /** Builds the scheduler of one bus. Default: a BusScheduler. Tests inject a fake. */
  createBus?: BusFactory;
  /** Period of the info-level summary line; 0 turns it off. Default 30 s. */
  summaryIntervalMs?: number;
  /** Passed to the ReadingWriter. Default 500 ms. */
  flushIntervalMs?: number;
}

/** Poll outcomes of one bus since the previous summary. */
interface PollTally {
  polls: number;
  good: number;
  partial: number;
  failed: number;
  /** Failed requests (one poll may have several). */
  errors: number;
}

export interface BusSummary extends PollTally {
  busId: string;
  devices: { healthy: number; degraded: number; dead: number };
  timeouts: number;
  crcErrors: number;
  exceptions: number;
  utilisation: number;
}

export interface GatewaySummary {
  buses: BusSummary[];
  store: ReadingWriterStats;
}

interface RunningBus {
  id: string;
  bus: PollingBus;
  tally: PollTally;
  unsubscribe: () => void;
}

const emptyTally = (): PollTally => ({ polls: 0, good: 0, partial: 0, failed: 0, errors: 0 });

export class Gateway {
  private db: SqliteDatabase | undefined;
  private writer: ReadingWriter | undefined;
  private buses: RunningBus[] = [];
  private summaryTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly config: GatewayConfig,
    private readonly profiles: ReadonlyMap<string, LoadedProfile>,
    private readonly logger: Logger,
    private readonly options: GatewayOptions = {},
  ) {}

  /**
   * Opens the readings store (throws StoreError if it cannot be trusted: the gateway must not
   * run on it) and starts every bus. A bus that fails to start is logged and left out; the
   * others keep polling.
   */
  async start(): Promise<void> {
    if (this.running) return;
    const plans = planBuses(this.config, this.profiles);
    const opened = openReadingsDatabase(this.config.dataDir);
    this.db = opened.db;
    if (opened.migration.applied.length > 0) {
      this.logger.info({ file: opened.path, ...opened.migration }, 'readings database migrated');
    }
    this.writer = new ReadingWriter({
      db: opened.db,
      logger: this.logger.child({ module: 'store' }),
      retention: this.config.storage.rawRetention,
      ...(this.options.flushIntervalMs === undefined
        ? {}
        : { flushIntervalMs: this.options.flushIntervalMs }),
    });
    this.writer.start();
    this.running = true;

    try {
      await this.startBuses(plans);
    } catch (error) {
      // Only a programming error gets here (a bus that fails to start is handled per bus);
      // release what is open so the caller can exit cleanly.
      await this.stop();
      throw error;
    }

    const every = this.options.summaryIntervalMs ?? 30_000;
    if (every > 0) {
      this.summaryTimer = setInterval(() => this.logSummary(), every);
      this.summaryTimer.unref();
    }
  }

  private async startBuses(plans: BusPlan[]): Promise<void> {
    const createBus = this.options.createBus ?? ((o) => new BusScheduler(o));
    for (const plan of plans) {
      // The scheduler tags its own lines with the bus id; this child is for the gateway's lines.
      const busLogger = this.logger.child({ bus: plan.bus.id });
      const bus = createBus({ config: plan.bus, devices: plan.devices, logger: this.logger });
      const running: RunningBus = { id: plan.bus.id, bus, tally: emptyTally(), unsubscribe: () => undefined };
      running.unsubscribe = bus.onPoll((result) => this.onPoll(running, result));
      try {
        await bus.start();
      } catch (error) {
        running.unsubscribe();
        busLogger.error({ err: error }, 'bus failed to start; the other buses keep polling');
        // Release whatever the failed start left open.
        await bus
          .stop()
          .catch((stopError: unknown) => busLogger.debug({ err: stopError }, 'stop after failed start'));
        continue;
      }
      this.buses.push(running);
      busLogger.info(
        { kind: plan.bus.kind, endpoint: describeEndpoint(plan.bus), devices: plan.devices.map((d) => d.id) },
        `bus ${plan.bus.id} started with ${plan.devices.length} device${plan.devices.length === 1 ? '' : 's'}`,
      );
    }
  }

  /** Stops polling, flushes the last readings, closes the database. Never throws. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.summaryTimer);
    this.summaryTimer = undefined;
    const buses = this.buses;
    this.buses = [];
    await Promise.all(
      buses.map(async ({ id, bus, unsubscribe }) => {
        try {
          await bus.stop();
        } catch (error) {
          this.logger.error({ err: error, bus: id }, 'bus did not stop cleanly');
        } finally {
          unsubscribe();
        }
      }),
    );
    this.writer?.stop();
    try {
      this.db?.close();
    } catch (error) {
      this.logger.error({ err: error }, 'closing the readings database failed');
    }
    this.logger.info({ store: this.writer?.stats() }, 'gateway stopped');
    this.writer = undefined;
    this.db = undefined;
  }

  /** Poll tallies since the previous summary (reset by this call), bus counters and store stats. */
  summary(): GatewaySummary {
    const buses = this.buses.map((running): BusSummary => {
      const counters = running.bus.counters();
      const devices = { healthy: 0, degraded: 0, dead: 0 };
      for (const device of counters.devices) devices[device.health]++;
      const tally = running.tally;
      running.tally = emptyTally();
      return {
        busId: running.id,
        ...tally,
        devices,
        timeouts: counters.timeouts,
        crcErrors: counters.crcErrors,
        exceptions: counters.exceptions,
        utilisation: Math.round(counters.utilisation * 1000) / 1000,
      };
    });
    return { buses, store: this.writer?.stats() ?? emptyStoreStats() };
  }

  private onPoll(running: RunningBus, result: DevicePollResult): void {
    const tally = running.tally;
    tally.polls++;
    tally[result.quality]++;
    tally.errors += result.errors.length;
    // The writer never throws from add(); the guard keeps it that way should it ever change,
    // because a throwing listener must not cost the bus its poll loop.
    try {
      this.writer?.add(result);
    } catch (error) {
      this.logger.error({ err: error, bus: running.id }, 'storing a poll result failed');
    }
  }

  private logSummary(): void {
    try {
      const summary = this.summary();
      const total = summary.buses.reduce(
        (sum, b) => ({
          polls: sum.polls + b.polls,
          failed: sum.failed + b.failed,
          errors: sum.errors + b.errors,
        }),
        { polls: 0, failed: 0, errors: 0 },
      );
      this.logger.info(
        summary,
        `summary: ${total.polls} polls, ${total.failed} failed, ${total.errors} request errors; ` +
          `${summary.store.readingsWritten} readings stored, ${summary.store.pendingReadings} pending`,
      );
    } catch (error) {
      this.logger.error({ err: error }, 'summary failed');
    }
  }
}

function describeEndpoint(bus: BusConfig): string {
  switch (bus.kind) {
    case 'rtu':
      return `${bus.path}@${serialLabel(bus.serial)}`;
    case 'rtu-over-tcp':
      return `${bus.host}:${bus.port} (RTU ${serialLabel(bus.serial)})`;
    case 'tcp':
      return `${bus.host}:${bus.port}`;
  }
}

/** The usual "9600-8E1" notation. */
function serialLabel(serial: SerialSettings): string {
  const parity = { none: 'N', even: 'E', odd: 'O' }[serial.parity];
  return `${serial.baudRate}-${serial.dataBits}${parity}${serial.stopBits}`;
}

function emptyStoreStats(): ReadingWriterStats {
  return {
    flushes: 0,
    failedFlushes: 0,
    pollsWritten: 0,
    readingsWritten: 0,
    readingsDropped: 0,
    readingsDeleted: 0,
    pollsDeleted: 0,
    pendingReadings: 0,
    lastError: null,
  };
}
