/**
 * Event windows (tables raw_windows, raw_window_readings): the raw readings of one device around
 * an event, such as an overweight vehicle, kept long after raw retention has deleted the
 * originals. The readings are COPIED rather than protected in place, because the raw row cap
 * relies on contiguous seqs deleted from the bottom (retention.ts); a copy keeps that simple and
 * lets windows have their own, longer, retention.
 *
 * A window usually reaches into the future (the readings after the event are not polled yet),
 * so it stays open and every commit copies the readings committed since the previous one, until
 * the uptime clock has passed its end.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export interface RawWindowRequest {
  /** The id the event carries (OverweightEvent.windowId). Unique; a repeated id is ignored. */
  id: string;
  deviceId: string;
  /** Why it is kept, usually the event kind ('overweight'). */
  reason: string;
  /** The span, on the uptime clock (GatewayStore.uptime() / now().monoMs), inclusive. */
  fromMonoMs: number;
  toMonoMs: number;
}

/** Longest window kept; a longer request is cut to this (its start is kept). */
export const DEFAULT_MAX_WINDOW_SPAN_MS = 10 * 60_000;

/** A poll may be committed a cycle or two after it was taken; a window waits this long past its end. */
const LATE_POLL_MS = 5_000;

/**
 * Readings are committed in seq order with uptime stamps that rise with it, except that the
 * polls of one cycle may come from several buses a little out of order. Searching for a
 * window's first seq starts this much earlier to cover that.
 */
const ORDER_SLACK_MS = 60_000;

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface OpenWindowRow {
  id: string;
  device_id: string;
  from_mono_ms: number;
  to_mono_ms: number;
  copied_to_seq: number;
}

export class RawWindows {
  private readonly s: {
    insert: Statement<[string, string, string, number, number, number, number, number]>;
    lastSeqBefore: Statement<[number], number>;
    maxReadingSeq: Statement<[], number>;
    openWindows: Statement<[], OpenWindowRow>;
    copy: Statement<[string, string, number, number, number, number]>;
    advance: Statement<[number, number, string]>;
  };

  constructor(db: SqliteDatabase) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO raw_windows (id, device_id, reason, from_mono_ms, to_mono_ms, created_mono_ms,
                                  created_wall_ms, copied_to_seq, open)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (id) DO NOTHING`,
      ),
      // Walks back from the newest reading: its cost is the size of the window, not of the table.
      lastSeqBefore: db
        .prepare<[number], number>('SELECT seq FROM readings WHERE mono_ms < ? ORDER BY seq DESC LIMIT 1')
        .pluck(),
      maxReadingSeq: db.prepare<[], number>('SELECT COALESCE(MAX(seq), 0) FROM readings').pluck(),
      openWindows: db.prepare<[], OpenWindowRow>(
        'SELECT id, device_id, from_mono_ms, to_mono_ms, copied_to_seq FROM raw_windows WHERE open = 1',
      ),
      copy: db.prepare(
        `INSERT OR IGNORE INTO raw_window_readings
           (window_id, reading_seq, series_id, wall_ms, mono_ms, value, quality)
         SELECT ?, r.seq, r.series_id, r.wall_ms, r.mono_ms, r.value, r.quality
         FROM readings r JOIN series s ON s.id = r.series_id
         WHERE s.device_id = ? AND r.seq > ? AND r.seq <= ? AND r.mono_ms BETWEEN ? AND ?`,
      ),
      advance: db.prepare(
        `UPDATE raw_windows SET copied_to_seq = ?, open = (? <= to_mono_ms + ${LATE_POLL_MS}) WHERE id = ?`,
      ),
    };
  }

  /** Registers a window (copying happens in collect()). False when the id already exists. */
  open(request: RawWindowRequest, nowMonoMs: number, nowWallMs: number): boolean {
    const startSeq = this.s.lastSeqBefore.get(request.fromMonoMs - ORDER_SLACK_MS) ?? 0;
    const changes = this.s.insert.run(
      request.id,
      request.deviceId,
      request.reason,
      request.fromMonoMs,
      request.toMonoMs,
      nowMonoMs,
      nowWallMs,
      startSeq,
    ).changes;
    return changes === 1;
  }

  /** Copies the readings committed since the last call into every open window. Returns rows copied. */
  collect(nowMonoMs: number): number {
    const windows = this.s.openWindows.all();
    if (windows.length === 0) return 0;
    const maxSeq = this.s.maxReadingSeq.get() ?? 0;
    let copied = 0;
    for (const w of windows) {
      copied += this.s.copy.run(
        w.id,
        w.device_id,
        w.copied_to_seq,
        maxSeq,
        w.from_mono_ms,
        w.to_mono_ms,
      ).changes;
      this.s.advance.run(maxSeq, nowMonoMs, w.id);
    }
    return copied;
  }
}
