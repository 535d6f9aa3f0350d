/**
 * Bounded storage (docs/storage.md): every table that grows is trimmed inside the commit
 * transaction that grows it, oldest first, by sequence number or by the uptime clock, never by
 * the wall clock (a cabinet may boot without a trusted clock, and a clock set back a year must
 * not delete a year of data, nor a clock set forward keep nothing).
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export interface RetentionPolicy {
  /** Raw readings kept at most (and as many poll rows). */
  maxRows: number;
  /** Readings older than this much gateway uptime are deleted. */
  maxAgeS: number;
}

/** What the GatewayStore keeps, beyond which the oldest rows go. */
export interface StoreRetention {
  /** Raw readings and poll rows: the configuration's `storage.rawRetention`. */
  raw: RetentionPolicy;
  /** 1-minute aggregates, by the uptime clock. Default 30 days. */
  minuteAggregatesMaxAgeS: number;
  /** 1-hour aggregates, by the uptime clock. Default 2 years. */
  hourAggregatesMaxAgeS: number;
  /** Rows of alarm_history (the cloud keeps the full history). Default 100 000. */
  alarmHistoryMaxRows: number;
  /** Rows of the local audit table. Default 100 000. */
  auditMaxRows: number;
  /** Raw windows (readings kept around an event), by count and by the uptime clock. */
  windowsMaxCount: number;
  windowsMaxAgeS: number;
}

const DAY_S = 86_400;

export const DEFAULT_STORE_RETENTION: Readonly<StoreRetention> = {
  // The configuration schema's defaults (gateway/config/schema.json).
  raw: { maxRows: 2_000_000, maxAgeS: 7 * DAY_S },
  minuteAggregatesMaxAgeS: 30 * DAY_S,
  hourAggregatesMaxAgeS: 730 * DAY_S,
  alarmHistoryMaxRows: 100_000,
  auditMaxRows: 100_000,
  windowsMaxCount: 1_000,
  windowsMaxAgeS: 365 * DAY_S,
};

export interface RawDeleted {
  readings: number;
  polls: number;
}

export interface RetentionDeleted extends RawDeleted {
  minuteAggregates: number;
  hourAggregates: number;
  alarmHistory: number;
  audit: number;
  windows: number;
}

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface SeqTableStatements {
  maxSeq: Statement<[], number | null>;
  firstYoung: Statement<[number], number>;
  deleteBelow: Statement<[number]>;
}

/** Raw readings and polls: shared by the GatewayStore and the ReadingWriter. */
export class RawRetention {
  private readonly tables: Record<'readings' | 'polls', SeqTableStatements>;

  constructor(db: SqliteDatabase) {
    const prepare = (table: 'readings' | 'polls'): SeqTableStatements => ({
      maxSeq: db.prepare<[], number | null>(`SELECT MAX(seq) FROM ${table}`).pluck(),
      firstYoung: db
        .prepare<[number], number>(`SELECT seq FROM ${table} WHERE mono_ms >= ? ORDER BY seq LIMIT 1`)
        .pluck(),
      deleteBelow: db.prepare<[number]>(`DELETE FROM ${table} WHERE seq < ?`),
    });
    this.tables = { readings: prepare('readings'), polls: prepare('polls') };
  }

  /**
   * Deletes the oldest rows beyond the caps. The row cap goes by seq: seqs are assigned without
   * gaps (AUTOINCREMENT, and a rolled-back insert gives its number back) and deleted from the
   * bottom, so MAX(seq) - cap is exactly the last seq to drop. The age cap finds the first row
   * young enough, scanning from the oldest, so its cost is the number of rows it deletes.
   */
  apply(policy: RetentionPolicy, uptimeNowMs: number): RawDeleted {
    const cutoffMono = uptimeNowMs - policy.maxAgeS * 1000;
    const deleted: RawDeleted = { readings: 0, polls: 0 };
    for (const table of ['readings', 'polls'] as const) {
      const { maxSeq: maxSeqStatement, firstYoung, deleteBelow } = this.tables[table];
      const maxSeq = maxSeqStatement.get();
      if (typeof maxSeq !== 'number') continue;
      const byCount = maxSeq - policy.maxRows + 1;
      const byAge = firstYoung.get(cutoffMono) ?? maxSeq + 1;
      deleted[table] = deleteBelow.run(Math.max(byCount, byAge)).changes;
    }
    return deleted;
  }
}

/** Everything the GatewayStore trims, in one call per commit. */
export class StoreRetentionRunner {
  private readonly raw: RawRetention;
  private readonly statements: {
    minute: Statement<[number]>;
    hour: Statement<[number]>;
    historyMax: Statement<[], number | null>;
    historyBelow: Statement<[number]>;
    auditMax: Statement<[], number | null>;
    auditBelow: Statement<[number]>;
    windowsOld: Statement<[number]>;
    windowsBeyondCount: Statement<[number]>;
  };

  constructor(db: SqliteDatabase) {
    this.raw = new RawRetention(db);
    this.statements = {
      // A period goes once all of it is older than the cutoff.
      minute: db.prepare<[number]>('DELETE FROM readings_1m WHERE period_start_mono <= ? - 60000'),
      hour: db.prepare<[number]>('DELETE FROM readings_1h WHERE period_start_mono <= ? - 3600000'),
      historyMax: db.prepare<[], number | null>('SELECT MAX(id) FROM alarm_history').pluck(),
      historyBelow: db.prepare<[number]>('DELETE FROM alarm_history WHERE id < ?'),
      auditMax: db.prepare<[], number | null>('SELECT MAX(id) FROM audit').pluck(),
      auditBelow: db.prepare<[number]>('DELETE FROM audit WHERE id < ?'),
      // raw_window_readings go with their window (ON DELETE CASCADE).
      windowsOld: db.prepare<[number]>('DELETE FROM raw_windows WHERE created_mono_ms < ?'),
      // Windows are created in rowid order; the subquery is NULL (nothing deleted) while fewer
      // than the cap exist.
      windowsBeyondCount: db.prepare<[number]>(
        `DELETE FROM raw_windows WHERE rowid <=
           (SELECT rowid FROM raw_windows ORDER BY rowid DESC LIMIT 1 OFFSET ?)`,
      ),
    };
  }

  apply(retention: StoreRetention, uptimeNowMs: number): RetentionDeleted {
    const s = this.statements;
    const raw = this.raw.apply(retention.raw, uptimeNowMs);
    const minuteAggregates = s.minute.run(uptimeNowMs - retention.minuteAggregatesMaxAgeS * 1000).changes;
    const hourAggregates = s.hour.run(uptimeNowMs - retention.hourAggregatesMaxAgeS * 1000).changes;
    // alarm_history and audit ids are AUTOINCREMENT and deleted from the bottom only, so, as for
    // readings, MAX(id) - cap is the last id to drop.
    const alarmHistory = s.historyBelow.run(
      (s.historyMax.get() ?? 0) - retention.alarmHistoryMaxRows + 1,
    ).changes;
    const audit = s.auditBelow.run((s.auditMax.get() ?? 0) - retention.auditMaxRows + 1).changes;
    const windows =
      s.windowsOld.run(uptimeNowMs - retention.windowsMaxAgeS * 1000).changes +
      s.windowsBeyondCount.run(retention.windowsMaxCount).changes;
    return { ...raw, minuteAggregates, hourAggregates, alarmHistory, audit, windows };
  }
}
