/**
 * The outbox table: events waiting for the cloud (docs/uplink-contract.md). Every function runs
 * inside the caller's transaction. Policy per class (rule 5): telemetry may be evicted
 * oldest-first when its quota is full, and each eviction is reported by a gap event; every other
 * class is never evicted, and a commit that would take one beyond its quota fails instead
 * (event-store.ts).
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  EVENT_CLASS,
  LANE_OF_CLASS,
  type EventClass,
  type Lane,
  type GatewayEventBody,
  type OutboxEvent,
} from '../../cloud-sync/contract/events.js';
import type { SqliteDatabase } from './database.js';
import { StoreError } from './errors.js';

export const OUTBOX_CLASSES: readonly EventClass[] = [
  'alarm',
  'event',
  'command_result',
  'config_result',
  'audit',
  'gap',
  'telemetry',
];

/**
 * Most rows per class waiting for acknowledgement. Telemetry beyond its quota is evicted; the
 * other quotas are far above what a cabinet produces in weeks offline (alarm transitions come a
 * few an hour), so reaching one means something is badly wrong and the commit fails loudly.
 */
export const DEFAULT_OUTBOX_QUOTAS: Readonly<Record<EventClass, number>> = {
  telemetry: 100_000,
  alarm: 100_000,
  event: 100_000,
  command_result: 100_000,
  config_result: 10_000,
  audit: 100_000,
  gap: 100_000,
};

/** The envelope a stored event got. */
export interface StoredEnvelope {
  /** Global commit order (local UI). */
  seq: number;
  id: string;
  ts: string;
  /** The uplink lane and the seq the cloud sees (docs/uplink-lanes.md). */
  lane: Lane;
  laneSeq: number;
}

/** What one eviction removed, in telemetry-lane seqs: a gap event's fields without the reason. */
export interface EvictedRange {
  fromSeq: number;
  toSeq: number;
  count: number;
  fromTs: string;
  toTs: string;
}

/** An outbox event as the local UI lists it: `seq` is the global commit order. */
export type LocalOutboxEvent = OutboxEvent & { lane: Lane; laneSeq: number };

/** How far a lane got: highest seq ever assigned, highest acknowledged by the cloud. */
export interface LaneState {
  lastSeq: number;
  ackedSeq: number;
}

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface EnvelopeRow {
  lane_seq: number;
  ts: string;
}

interface OutboxRow {
  seq: number;
  lane: Lane;
  lane_seq: number;
  id: string;
  ts: string;
  body: string;
}

export class Outbox {
  private readonly s: {
    nextLaneSeq: Statement<[Lane], number>;
    skipLaneSeqs: Statement<[number, Lane], number>;
    insert: Statement<[string, EventClass, string, string, number, string, Lane, number]>;
    count: Statement<[EventClass], number>;
    nthOfLane: Statement<[Lane, number], EnvelopeRow>;
    newestOfLane: Statement<[Lane], EnvelopeRow>;
    deleteLaneRange: Statement<[Lane, number, number]>;
    after: Statement<[number, number], OutboxRow>;
    laneAfter: Statement<[Lane, number, number], OutboxRow>;
    deleteLaneUpTo: Statement<[Lane, number]>;
    laneState: Statement<[Lane], LaneState>;
    setAcked: Statement<[number, Lane]>;
    oldestOfClass: Statement<[EventClass], { seq: number; mono_ms: number }>;
  };

  constructor(db: SqliteDatabase) {
    this.s = {
      // The lane's counter moves inside the inserting transaction: a rolled-back insert gives
      // its number back, so no lane seq is ever seen twice or skipped by a committed reader.
      nextLaneSeq: db
        .prepare<[Lane], number>(
          'UPDATE outbox_lanes SET last_seq = last_seq + 1 WHERE lane = ? RETURNING last_seq',
        )
        .pluck(),
      skipLaneSeqs: db
        .prepare<[number, Lane], number>(
          'UPDATE outbox_lanes SET last_seq = last_seq + ? WHERE lane = ? RETURNING last_seq',
        )
        .pluck(),
      insert: db.prepare(
        'INSERT INTO outbox (id, class, kind, ts, mono_ms, body, lane, lane_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      count: db.prepare<[EventClass], number>('SELECT rows FROM outbox_counts WHERE class = ?').pluck(),
      nthOfLane: db.prepare<[Lane, number], EnvelopeRow>(
        'SELECT lane_seq, ts FROM outbox WHERE lane = ? ORDER BY lane_seq LIMIT 1 OFFSET ?',
      ),
      newestOfLane: db.prepare<[Lane], EnvelopeRow>(
        'SELECT lane_seq, ts FROM outbox WHERE lane = ? ORDER BY lane_seq DESC LIMIT 1',
      ),
      deleteLaneRange: db.prepare<[Lane, number, number]>(
        'DELETE FROM outbox WHERE lane = ? AND lane_seq BETWEEN ? AND ?',
      ),
      after: db.prepare<[number, number], OutboxRow>(
        'SELECT seq, lane, lane_seq, id, ts, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      laneAfter: db.prepare<[Lane, number, number], OutboxRow>(
        'SELECT seq, lane, lane_seq, id, ts, body FROM outbox WHERE lane = ? AND lane_seq > ? ORDER BY lane_seq LIMIT ?',
      ),
      deleteLaneUpTo: db.prepare<[Lane, number]>('DELETE FROM outbox WHERE lane = ? AND lane_seq <= ?'),
      laneState: db.prepare<[Lane], LaneState>(
        'SELECT last_seq AS lastSeq, acked_seq AS ackedSeq FROM outbox_lanes WHERE lane = ?',
      ),
      setAcked: db.prepare<[number, Lane]>('UPDATE outbox_lanes SET acked_seq = ? WHERE lane = ?'),
      oldestOfClass: db.prepare<[EventClass], { seq: number; mono_ms: number }>(
        'SELECT seq, mono_ms FROM outbox WHERE class = ? ORDER BY seq LIMIT 1',
      ),
    };
  }

  /** Stores one event; SQLite assigns its global seq, the lane counter its lane seq. */
  insert(body: GatewayEventBody, monoMs: number, wallMs: number): StoredEnvelope {
    const id = randomUUID();
    const ts = new Date(wallMs).toISOString();
    const eventClass = EVENT_CLASS[body.kind];
    const lane = LANE_OF_CLASS[eventClass];
    const laneSeq = this.s.nextLaneSeq.get(lane);
    if (laneSeq === undefined)
      throw new StoreError('STORE_CORRUPT', `outbox lane ${lane} has no counter row`);
    const { lastInsertRowid } = this.s.insert.run(
      id,
      eventClass,
      body.kind,
      ts,
      monoMs,
      JSON.stringify(body),
      lane,
      laneSeq,
    );
    // seq is the INTEGER PRIMARY KEY, i.e. the rowid (the count triggers insert nothing).
    return { seq: Number(lastInsertRowid), id, ts, lane, laneSeq };
  }

  /**
   * Takes `count` seqs of `lane` without writing rows (events decided but not stored: a full
   * disk); the caller reports the range with a gap event in the same transaction.
   */
  skipLaneSeqs(lane: Lane, count: number): { fromSeq: number; toSeq: number } {
    const last = this.s.skipLaneSeqs.get(count, lane);
    if (last === undefined) throw new StoreError('STORE_CORRUPT', `outbox lane ${lane} has no counter row`);
    return { fromSeq: last - count + 1, toSeq: last };
  }

  count(eventClass: EventClass): number {
    return this.s.count.get(eventClass) ?? 0;
  }

  /**
   * Deletes the `rows` oldest events of the telemetry lane (never more than exist), the only
   * evictable lane (docs/uplink-contract.md, delivery rule 5); the range is in telemetry-lane seqs.
   */
  evictOldestTelemetry(rows: number): EvictedRange | null {
    if (rows <= 0) return null;
    const first = this.s.nthOfLane.get('telemetry', 0);
    const last = this.s.nthOfLane.get('telemetry', rows - 1) ?? this.s.newestOfLane.get('telemetry');
    if (first === undefined || last === undefined) return null;
    const count = this.s.deleteLaneRange.run('telemetry', first.lane_seq, last.lane_seq).changes;
    return { fromSeq: first.lane_seq, toSeq: last.lane_seq, count, fromTs: first.ts, toTs: last.ts };
  }

  /** Events with global seq > `seq`, in commit order (local UI). */
  after(seq: number, limit: number): LocalOutboxEvent[] {
    return this.s.after
      .all(seq, limit)
      .map((row) => ({ ...toEvent(row, row.seq), lane: row.lane, laneSeq: row.lane_seq }));
  }

  /** Events of `lane` with lane seq > `laneSeq`, in lane order, as sent upstream (`seq` = lane seq). */
  laneAfter(lane: Lane, laneSeq: number, limit: number): OutboxEvent[] {
    return this.s.laneAfter.all(lane, laneSeq, limit).map((row) => toEvent(row, row.lane_seq));
  }

  deleteLaneUpTo(lane: Lane, laneSeq: number): number {
    return this.s.deleteLaneUpTo.run(lane, laneSeq).changes;
  }

  laneState(lane: Lane): LaneState {
    const state = this.s.laneState.get(lane);
    if (state === undefined) throw new StoreError('STORE_CORRUPT', `outbox lane ${lane} has no counter row`);
    return state;
  }

  setAcked(lane: Lane, laneSeq: number): void {
    this.s.setAcked.run(laneSeq, lane);
  }

  oldest(eventClass: EventClass): { seq: number; monoMs: number } | null {
    const row = this.s.oldestOfClass.get(eventClass);
    return row === undefined ? null : { seq: row.seq, monoMs: row.mono_ms };
  }
}

function toEvent(row: OutboxRow, seq: number): OutboxEvent {
  const body: unknown = JSON.parse(row.body);
  if (!isEventBody(body)) {
    throw new StoreError('STORE_CORRUPT', `outbox event ${row.seq} has an unreadable body`);
  }
  return { seq, id: row.id, ts: row.ts, ...body };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isEventBody(value: unknown): value is GatewayEventBody {
  return isRecord(value) && typeof value['kind'] === 'string' && Object.hasOwn(EVENT_CLASS, value['kind']);
}
