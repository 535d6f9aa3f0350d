/**
 * Writes poll results to the readings database in batches: results are buffered and committed
 * in ONE transaction per flush (every flushIntervalMs, earlier when the buffer is large, and
 * at stop). A commit per reading would cost one WAL append per value and, at
 * synchronous=FULL, one fsync each; a cabinet's flash wears out and the bus loop would wait on
 * the disk (DESIGN.md section 5, docs/storage.md).
 *
 * The same transaction applies retention, by sequence number for the row cap and by the gateway
 * uptime clock for the age cap, never by wall clock (a cabinet may boot without a trusted clock).
 */
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { DevicePollResult } from '../bus/types.js';
import type { SqliteDatabase } from './database.js';
import { StoreError } from './errors.js';

export interface RetentionPolicy {
  /** Raw readings kept at most (and as many poll rows). */
  maxRows: number;
  /** Readings older than this much gateway uptime are deleted. */
  maxAgeS: number;
}

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

/** Codes of polls.quality and readings.quality (see migrations/readings.ts). */
export const POLL_QUALITY = { good: 0, partial: 1, failed: 2 } as const;
export const READING_QUALITY = { good: 0, partial: 1, bad: 2 } as const;

const UPTIME_KEY = 'uptime_ms';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface RetentionStatements {
  maxSeq: Statement<[], number | null>;
  firstYoung: Statement<[number], number>;
  deleteBelow: Statement<[number]>;
}

interface Statements {
  findSeries: Statement<[string, string], number>;
  insertSeries: Statement<[string, string]>;
  insertReading: Statement<[number, number, number, number | null, number]>;
  insertPoll: Statement<[string, string, number, number, number, number, number, string | null]>;
  readMeta: Statement<[string], number>;
  writeMeta: Statement<[string, number]>;
  retention: Record<'readings' | 'polls', RetentionStatements>;
}

export class ReadingWriter {
  private pending: DevicePollResult[] = [];
  private pendingReadings = 0;
  private readonly seriesIds = new Map<string, number>();
  private statements: Statements | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** uptime = now() + uptimeOffset; set at start from the stored high-water mark. */
  private uptimeOffset = 0;
  private uptimeFloor = 0;
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
    const retention = (table: 'readings' | 'polls'): RetentionStatements => ({
      maxSeq: db.prepare<[], number | null>(`SELECT MAX(seq) FROM ${table}`).pluck(),
      firstYoung: db
        .prepare<[number], number>(`SELECT seq FROM ${table} WHERE mono_ms >= ? ORDER BY seq LIMIT 1`)
        .pluck(),
      deleteBelow: db.prepare<[number]>(`DELETE FROM ${table} WHERE seq < ?`),
    });
    this.statements = {
      findSeries: db
        .prepare<[string, string], number>('SELECT id FROM series WHERE device_id = ? AND point_key = ?')
        .pluck(),
      insertSeries: db.prepare<[string, string]>('INSERT INTO series (device_id, point_key) VALUES (?, ?)'),
      insertReading: db.prepare<[number, number, number, number | null, number]>(
        'INSERT INTO readings (series_id, wall_ms, mono_ms, value, quality) VALUES (?, ?, ?, ?, ?)',
      ),
      insertPoll: db.prepare<[string, string, number, number, number, number, number, string | null]>(
        `INSERT INTO polls (bus_id, device_id, wall_ms, mono_ms, quality, reading_count, error_count, first_error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      readMeta: db.prepare<[string], number>('SELECT value FROM store_meta WHERE key = ?').pluck(),
      writeMeta: db.prepare<[string, number]>(
        'INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      retention: { readings: retention('readings'), polls: retention('polls') },
    };
    // The uptime clock resumes where the previous run stopped: monotonic across restarts,
    // without trusting the wall clock. Downtime is not counted (see docs/storage.md).
    this.uptimeFloor = this.statements.readMeta.get(UPTIME_KEY) ?? 0;
    this.uptimeOffset = this.uptimeFloor - this.now();
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
    if (statements === undefined || this.pending.length === 0) return { polls: 0, readings: 0 };
    const batch = this.pending;
    const newSeries = new Map<string, number>();
    let deleted = { readings: 0, polls: 0 };
    try {
      this.options.db.transaction(() => {
        for (const result of batch) this.writeResult(statements, result, newSeries);
        statements.writeMeta.run(UPTIME_KEY, this.uptimeNow());
        deleted = this.applyRetention(statements);
      })();
    } catch (error) {
      this.counters.failedFlushes++;
      const reason = error instanceof Error ? error.message : String(error);
      this.counters.lastError = reason;
      throw new StoreError('STORE_WRITE_FAILED', `could not commit ${batch.length} poll results: ${reason}`, {
        file: this.options.db.name,
        cause: error,
      });
    }
    // Series ids created inside a rolled-back transaction do not exist, so they join the cache
    // only after the commit.
    for (const [key, id] of newSeries) this.seriesIds.set(key, id);
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

  private writeResult(
    statements: Statements,
    result: DevicePollResult,
    newSeries: Map<string, number>,
  ): void {
    const monoMs = this.toUptime(result.monotonicMs);
    const wallMs = Math.round(result.wallTimeMs);
    const pollQuality = POLL_QUALITY[result.quality];
    const readingQuality = result.quality === 'good' ? READING_QUALITY.good : READING_QUALITY.partial;
    const firstError = result.errors[0];
    statements.insertPoll.run(
      result.busId,
      result.deviceId,
      wallMs,
      monoMs,
      pollQuality,
      result.readings.length,
      result.errors.length,
      firstError === undefined ? null : `${firstError.code}: ${firstError.message}`,
    );
    for (const reading of result.readings) {
      const seriesId = this.seriesId(statements, result.deviceId, reading.key, newSeries);
      const value = typeof reading.value === 'boolean' ? (reading.value ? 1 : 0) : reading.value;
      // SQLite turns NaN into NULL; a float register holding NaN is how many sensors say "fault",
      // so it is kept, as NULL with its own quality, rather than dropped or left to fail the batch.
      if (Number.isNaN(value))
        statements.insertReading.run(seriesId, wallMs, monoMs, null, READING_QUALITY.bad);
      else statements.insertReading.run(seriesId, wallMs, monoMs, value, readingQuality);
    }
  }

  private seriesId(
    statements: Statements,
    deviceId: string,
    pointKey: string,
    newSeries: Map<string, number>,
  ): number {
    // NUL cannot occur in ids, so the joined key is unambiguous.
    const key = `${deviceId}\u0000${pointKey}`;
    const cached = this.seriesIds.get(key) ?? newSeries.get(key);
    if (cached !== undefined) return cached;
    const id =
      statements.findSeries.get(deviceId, pointKey) ??
      Number(statements.insertSeries.run(deviceId, pointKey).lastInsertRowid);
    newSeries.set(key, id);
    return id;
  }

  /**
   * Deletes the oldest rows beyond the caps. The row cap goes by seq: seqs are assigned without
   * gaps and deleted from the bottom, so MAX(seq) - cap is exactly the last seq to drop. The age
   * cap finds the first row young enough, scanning from the oldest, so its cost is the number of
   * rows it deletes.
   */
  private applyRetention(statements: Statements): { readings: number; polls: number } {
    const { maxRows, maxAgeS } = this.options.retention;
    const cutoffMono = this.uptimeNow() - maxAgeS * 1000;
    const deleted = { readings: 0, polls: 0 };
    for (const table of ['readings', 'polls'] as const) {
      const {
        maxSeq: maxSeqStatement,
        firstYoung: firstYoungStatement,
        deleteBelow,
      } = statements.retention[table];
      const maxSeq = maxSeqStatement.get();
      if (typeof maxSeq !== 'number') continue;
      const byCount = maxSeq - maxRows + 1;
      const firstYoung = firstYoungStatement.get(cutoffMono);
      const byAge = firstYoung ?? maxSeq + 1;
      deleted[table] = deleteBelow.run(Math.max(byCount, byAge)).changes;
    }
    return deleted;
  }

  private now(): number {
    return this.options.now === undefined ? performance.now() : this.options.now();
  }

  private uptimeNow(): number {
    return this.toUptime(this.now());
  }

  /** Maps a monotonic timestamp of this process onto the persistent uptime clock. */
  private toUptime(monotonicMs: number): number {
    // A poll that started before this writer did maps below the stored high-water mark; clamp
    // it so the clock never runs backwards across a restart.
    return Math.max(this.uptimeFloor, Math.round(monotonicMs + this.uptimeOffset));
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
