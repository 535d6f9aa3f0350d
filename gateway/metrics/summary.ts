/**
 * The gateway's periodic summary (every 30 s by default): poll outcomes per bus since the previous
 * summary, bus and device counters, store and pipeline figures, alarms by state. A person reads
 * it in the log, so the info line carries the few numbers one scans for and the detail is at
 * debug; storage short is something a person must fix, so the line is at warn then, every time.
 */
import type { Logger } from 'pino';
import type { BusCounters, DevicePollResult } from '../bus/types.js';
import type { GatewayStoreStats } from '../store/event-store.js';

/** Poll outcomes of one bus since the previous summary. */
export interface PollTally {
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
  store: GatewayStoreStats | null;
  pipeline: {
    bufferedPolls: number;
    pendingEvents: number;
    droppedPolls: number;
    droppedCycles: number;
  } | null;
  alarms: Record<string, number>;
}

export const emptyTally = (): PollTally => ({ polls: 0, good: 0, partial: 0, failed: 0, errors: 0 });

/** Counts one poll into its bus's tally. */
export function tallyPoll(tally: PollTally, result: DevicePollResult): void {
  tally.polls++;
  tally[result.quality]++;
  tally.errors += result.errors.length;
}

/** One bus's summary from its tally and its scheduler's counters. */
export function busSummary(busId: string, tally: PollTally, counters: BusCounters): BusSummary {
  const devices = { healthy: 0, degraded: 0, dead: 0 };
  for (const device of counters.devices) devices[device.health]++;
  return {
    busId,
    ...tally,
    devices,
    timeouts: counters.timeouts,
    crcErrors: counters.crcErrors,
    exceptions: counters.exceptions,
    utilisation: Math.round(counters.utilisation * 1000) / 1000,
  };
}

/** Alarm records counted by ISA-18.2 state. */
export function alarmsByState(records: ReadonlyArray<{ state: string }>): Record<string, number> {
  const alarms: Record<string, number> = {};
  for (const record of records) alarms[record.state] = (alarms[record.state] ?? 0) + 1;
  return alarms;
}

/** What the summary line says: its level, its structured fields and its text. */
export interface SummaryLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  text: string;
}

export function summaryLine(summary: GatewaySummary): SummaryLine {
  const total = summary.buses.reduce(
    (sum, b) => ({
      polls: sum.polls + b.polls,
      failed: sum.failed + b.failed,
      errors: sum.errors + b.errors,
      degradedDevices: sum.degradedDevices + b.devices.degraded,
      deadDevices: sum.deadDevices + b.devices.dead,
    }),
    { polls: 0, failed: 0, errors: 0, degradedDevices: 0, deadDevices: 0 },
  );
  const readingsWritten = summary.store?.readingsWritten ?? 0;
  const bufferedPolls = summary.pipeline?.bufferedPolls ?? 0;
  const outbox = summary.store?.outbox.count ?? 0;
  const storage = summary.store?.storage;
  const short = storage !== undefined && storage.state !== 'ok';
  const text =
    `summary: ${total.polls} polls, ${total.failed} failed, ${total.errors} request errors; ` +
    `${total.degradedDevices} devices degraded, ${total.deadDevices} dead; ` +
    `${readingsWritten} readings stored, ${bufferedPolls} buffered, ${outbox} events in the outbox` +
    (short ? `; STORAGE ${storage.state.toUpperCase()}: ${storage.reason ?? ''}` : '');
  const fields = { ...total, readingsWritten, bufferedPolls, outbox, storage: storage?.state ?? null };
  return { level: short ? 'warn' : 'info', fields, text };
}

/** Logs the summary every `everyMs` (0: never) while started. */
export class SummaryLog {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly summary: () => GatewaySummary,
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  start(): void {
    if (this.everyMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.log(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One summary: the detail at debug, the line at info (warn while storage is short). */
  log(): void {
    try {
      const summary = this.summary();
      // Every 30 s for the life of a cabinet: the info line is the few numbers a person scans for
      // (the whole summary was 1.8 KB of JSON); per bus, store and alarm detail is at debug.
      this.logger.debug(summary, 'summary detail');
      const line = summaryLine(summary);
      if (line.level === 'warn') this.logger.warn(line.fields, line.text);
      else this.logger.info(line.fields, line.text);
    } catch (error) {
      this.logger.error({ err: error }, 'summary failed');
    }
  }
}
