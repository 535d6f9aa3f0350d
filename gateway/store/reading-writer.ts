/**
 * Superseded by the GatewayStore (event-store.ts), which commits readings together with alarm
 * transitions and outbox events in one transaction per poll cycle; kept, on the shared
 * readings.ts and retention.ts code, until gateway.ts moves to it.
 *
 * Writes poll results to the readings database in batches: results are buffered and committed
 * in ONE transaction per flush (every flushIntervalMs, earlier when the buffer is large, and
 * at stop). A commit per reading would cost one WAL append per value and, at
 * synchronous=FULL, one fsync each; a cabinet's flash wears out and the bus loop would wait on
 * the disk (DESIGN.md section 5, docs/storage.md).
 *
 * The same transaction applies retention, by sequence number for the row cap and by the gateway
 * uptime clock for the age cap, never by wall clock (a cabinet may boot without a trusted clock).
 */
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { DevicePollResult } from '../bus/types.js';
import type { SqliteDatabase } from './database.js';
import { StoreError } from './errors.js';
import {
  POLL_QUALITY,
  READING_QUALITY,
  SeriesCache,
  insertPollResult,
  prepareReadingStatements,
  type ReadingStatements,
} from './readings.js';
import { RawRetention, type RetentionPolicy } from './retention.js';
import { UptimeClock, systemClock } from './uptime-clock.js';

// Kept here for the modules that imported them from this file before readings.ts existed.
export { POLL_QUALITY, READING_QUALITY, type RetentionPolicy };

export interface ReadingWriterOptions {
  db: SqliteDatabase;
  logger: Logger;
  retention: RetentionPolicy;
  /** How often buffered results are committed. Default 500 ms. */
  flushIntervalMs?: number;
  /** Commit early once this many readings are buffered. Default 5000. */
  flushAtReadings?: number;
  /**
   * While commits fail (disk full, I/O error) results stay buffered up to this many readings;
   * beyond it the oldest results are dropped and counted, so memory stays bounded. Default 200000.
   */
  maxPendingReadings?: number;
  /** Monotonic clock in ms, the basis of DevicePollResult.monotonicMs. Default performance.now. */
  now?: () => number;
}

export interface ReadingWriterStats {
  flushes: number;
  failedFlushes: number;
  pollsWritten: number;
  readingsWritten: number;
  /** Readings dropped because commits kept failing or results arrived after stop(). */
  readingsDropped: number;
  /** Readings and poll rows deleted by retention. */
  readingsDeleted: number;
  pollsDeleted: number;
  pendingReadings: number;
  lastError: string | null;
}

export interface FlushResult {
  polls: number;
  readings: number;
}

const UPTIME_KEY = 'uptime_ms';

interface Statements {
  readings: ReadingStatements;
  readMeta: Database.Statement<[string], number>;
  writeMeta: Database.Statement<[string, number]>;
  retention: RawRetention;
}

export class ReadingWriter {
  private pending: DevicePollResult[] = [];
  private pendingReadings = 0;
  private readonly series = new SeriesCache();
  private statements: Statements | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private uptime: UptimeClock | undefined;
  private failing = false;
  private readonly counters: Omit<ReadingWriterStats, 'pendingReadings'> = {
    flushes: 0,
    failedFlushes: 0,
    pollsWritten: 0,
    readingsWritten: 0,
    readingsDropped: 0,
    readingsDeleted: 0,
    pollsDeleted: 0,
    lastError: null,
  };

  constructor(private readonly options: ReadingWriterOptions) {}

  start(): void {
    if (this.running) return;
    const { db } = this.options;
    this.statements = {
      readings: prepareReadingStatements(db),
      readMeta: db.prepare<[string], number>('SELECT value FROM store_meta WHERE key = ?').pluck(),
      writeMeta: db.prepare<[string, number]>(
        'INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      retention: new RawRetention(db),
    };
    // The uptime clock resumes where the previous run stopped: monotonic across restarts,
    // without trusting the wall clock. Downtime is not counted (see docs/storage.md).
    const now = this.options.now;
    const clock = now === undefined ? systemClock : { monotonicMs: now, wallMs: () => Date.now() };
    this.uptime = new UptimeClock(clock, this.statements.readMeta.get(UPTIME_KEY) ?? 0);
    this.running = true;
    this.timer = setInterval(() => this.flushFromTimer(), this.options.flushIntervalMs ?? 500);
    // The writer alone must not keep the process alive; the buses and signal handling decide that.
    this.timer.unref();
  }

  /** Final flush, then no more writes. Never throws: a failure is logged and counted. */
  stop(): void {
    if (!this.running) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.flushFromTimer();
    this.running = false;
    if (this.pendingReadings > 0) {
      this.counters.readingsDropped += this.pendingReadings;
      this.options.logger.error(
        { readings: this.pendingReadings, polls: this.pending.length },
        'readings lost at stop: the final commit failed',
      );
      this.pending = [];
      this.pendingReadings = 0;
    }
  }

  /** Poll listener: buffers the result; commits at once when the buffer is large. */
  add(result: DevicePollResult): void {
    if (!this.running) {
      this.counters.readingsDropped += result.readings.length;
      return;
    }
    this.pending.push(result);
    this.pendingReadings += result.readings.length;
    if (this.pendingReadings >= (this.options.flushAtReadings ?? 5_000)) this.flushFromTimer();
    this.enforcePendingCap();
  }

  /**
   * Commits everything buffered in one transaction and applies retention. Throws StoreError
   * STORE_WRITE_FAILED (the results stay buffered for the next attempt).
   */
  flush(): FlushResult {
    const statements = this.statements;
    const uptime = this.uptime;
    if (statements === undefined || uptime === undefined || this.pending.length === 0)
      return { polls: 0, readings: 0 };
    const batch = this.pending;
    let deleted = { readings: 0, polls: 0 };
    try {
      this.options.db.transaction(() => {
        for (const result of batch)
          insertPollResult(
            statements.readings,
            this.series,
            result,
            uptime.fromMonotonic(result.monotonicMs),
          );
        const now = uptime.now();
        statements.writeMeta.run(UPTIME_KEY, now);
        deleted = statements.retention.apply(this.options.retention, now);
      })();
    } catch (error) {
      this.series.rollback();
      this.counters.failedFlushes++;
      const reason = error instanceof Error ? error.message : String(error);
      this.counters.lastError = reason;
      throw new StoreError('STORE_WRITE_FAILED', `could not commit ${batch.length} poll results: ${reason}`, {
        file: this.options.db.name,
        cause: error,
      });
    }
    this.series.commit();
    const written = { polls: batch.length, readings: this.pendingReadings };
    this.pending = [];
    this.pendingReadings = 0;
    this.counters.flushes++;
    this.counters.pollsWritten += written.polls;
    this.counters.readingsWritten += written.readings;
    this.counters.readingsDeleted += deleted.readings;
    this.counters.pollsDeleted += deleted.polls;
    return written;
  }

  stats(): ReadingWriterStats {
    return { ...this.counters, pendingReadings: this.pendingReadings };
  }

  private flushFromTimer(): void {
    try {
      this.flush();
      if (this.failing) {
        this.failing = false;
        this.options.logger.info({ stats: this.stats() }, 'readings store writable again');
      }
    } catch (error) {
      // Log the start of a failure period, not every 500 ms of it; stats() carries the count.
      if (!this.failing)
        this.options.logger.error({ err: error }, 'readings store write failed; keeping results buffered');
      this.failing = true;
    }
  }

  private enforcePendingCap(): void {
    const cap = this.options.maxPendingReadings ?? 200_000;
    while (this.pendingReadings > cap && this.pending.length > 1) {
      const dropped = this.pending.shift();
      if (dropped === undefined) break;
      this.pendingReadings -= dropped.readings.length;
      this.counters.readingsDropped += dropped.readings.length;
    }
  }
}
