/**
 * The outbox table: events waiting for the cloud (DESIGN.md section 6). Every function runs
 * inside the caller's transaction. Policy per class (rule 5): telemetry may be evicted
 * oldest-first when its quota is full, and each eviction is reported by a gap event; every other
 * class is never evicted, and a commit that would take one beyond its quota fails instead
 * (event-store.ts).
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  EVENT_CLASS,
  type EventClass,
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
  seq: number;
  id: string;
  ts: string;
}

/** What one eviction removed: a gap event's fields without the reason. */
export interface EvictedRange {
  fromSeq: number;
  toSeq: number;
  count: number;
  fromTs: string;
  toTs: string;
}

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface EnvelopeRow {
  seq: number;
  ts: string;
}

interface OutboxRow {
  seq: number;
  id: string;
  ts: string;
  body: string;
}

export class Outbox {
  private readonly s: {
    insert: Statement<[string, EventClass, string, string, number, string]>;
    count: Statement<[EventClass], number>;
    nthOfClass: Statement<[EventClass, number], EnvelopeRow>;
    newestOfClass: Statement<[EventClass], EnvelopeRow>;
    deleteClassRange: Statement<[EventClass, number, number]>;
    after: Statement<[number, number], OutboxRow>;
    deleteUpTo: Statement<[number]>;
    lastAssigned: Statement<[], number>;
    oldestOfClass: Statement<[EventClass], { seq: number; mono_ms: number }>;
  };

  constructor(db: SqliteDatabase) {
    this.s = {
      insert: db.prepare('INSERT INTO outbox (id, class, kind, ts, mono_ms, body) VALUES (?, ?, ?, ?, ?, ?)'),
      count: db.prepare<[EventClass], number>('SELECT rows FROM outbox_counts WHERE class = ?').pluck(),
      nthOfClass: db.prepare<[EventClass, number], EnvelopeRow>(
        'SELECT seq, ts FROM outbox WHERE class = ? ORDER BY seq LIMIT 1 OFFSET ?',
      ),
      newestOfClass: db.prepare<[EventClass], EnvelopeRow>(
        'SELECT seq, ts FROM outbox WHERE class = ? ORDER BY seq DESC LIMIT 1',
      ),
      deleteClassRange: db.prepare<[EventClass, number, number]>(
        'DELETE FROM outbox WHERE class = ? AND seq BETWEEN ? AND ?',
      ),
      after: db.prepare<[number, number], OutboxRow>(
        'SELECT seq, id, ts, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      deleteUpTo: db.prepare<[number]>('DELETE FROM outbox WHERE seq <= ?'),
      // sqlite_sequence holds the highest seq ever assigned, even when every row is deleted.
      lastAssigned: db
        .prepare<[], number>("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'")
        .pluck(),
      oldestOfClass: db.prepare<[EventClass], { seq: number; mono_ms: number }>(
        'SELECT seq, mono_ms FROM outbox WHERE class = ? ORDER BY seq LIMIT 1',
      ),
    };
  }

  /** Stores one event; SQLite assigns its seq. */
  insert(body: GatewayEventBody, monoMs: number, wallMs: number): StoredEnvelope {
    const id = randomUUID();
    const ts = new Date(wallMs).toISOString();
    const { lastInsertRowid } = this.s.insert.run(
      id,
      EVENT_CLASS[body.kind],
      body.kind,
      ts,
      monoMs,
      JSON.stringify(body),
    );
    // seq is the INTEGER PRIMARY KEY, i.e. the rowid (the count triggers insert nothing).
    return { seq: Number(lastInsertRowid), id, ts };
  }

  count(eventClass: EventClass): number {
    return this.s.count.get(eventClass) ?? 0;
  }

  /** Deletes the `rows` oldest events of a class (never more than exist). */
  evictOldest(eventClass: EventClass, rows: number): EvictedRange | null {
    if (rows <= 0) return null;
    const first = this.s.nthOfClass.get(eventClass, 0);
    const last = this.s.nthOfClass.get(eventClass, rows - 1) ?? this.s.newestOfClass.get(eventClass);
    if (first === undefined || last === undefined) return null;
    const count = this.s.deleteClassRange.run(eventClass, first.seq, last.seq).changes;
    return { fromSeq: first.seq, toSeq: last.seq, count, fromTs: first.ts, toTs: last.ts };
  }

  /** Events with seq > `seq`, in seq order. */
  after(seq: number, limit: number): OutboxEvent[] {
    return this.s.after.all(seq, limit).map((row) => {
      const body: unknown = JSON.parse(row.body);
      if (!isEventBody(body)) {
        throw new StoreError('STORE_CORRUPT', `outbox event ${row.seq} has an unreadable body`);
      }
      return { seq: row.seq, id: row.id, ts: row.ts, ...body };
    });
  }

  deleteUpTo(seq: number): number {
    return this.s.deleteUpTo.run(seq).changes;
  }

  /** Highest seq ever assigned (0 when none). */
  lastAssignedSeq(): number {
    return this.s.lastAssigned.get() ?? 0;
  }

  oldest(eventClass: EventClass): { seq: number; monoMs: number } | null {
    const row = this.s.oldestOfClass.get(eventClass);
    return row === undefined ? null : { seq: row.seq, monoMs: row.mono_ms };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isEventBody(value: unknown): value is GatewayEventBody {
  return isRecord(value) && typeof value['kind'] === 'string' && Object.hasOwn(EVENT_CLASS, value['kind']);
}
