/**
 * Rows written next to an outbox event, in the same transaction, carrying its seq:
 * alarm_history for every alarm_transition (docs/alarms.md: every transition is one row
 * plus one outbox event) and audit for every audit event. They outlive the outbox row, which is
 * deleted once the cloud acknowledges it.
 */
import type Database from 'better-sqlite3';
import type { AlarmTransitionEvent, AuditEvent } from '../../cloud-sync/contract/events.js';
import type { SqliteDatabase } from './database.js';
import type { StoredEnvelope } from './outbox.js';

type HistoryParams = [
  number,
  string,
  string,
  string,
  string,
  string,
  string,
  string | null,
  number,
  number,
  string,
];
type AuditParams = [number, string, string, string, string, number, number];

export class EventRows {
  private readonly history: Database.Statement<HistoryParams>;
  private readonly audit: Database.Statement<AuditParams>;

  constructor(db: SqliteDatabase) {
    this.history = db.prepare<HistoryParams>(
      `INSERT INTO alarm_history (outbox_seq, event_id, alarm_key, device_id, from_state, to_state,
                                  cause, actor, mono_ms, wall_ms, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.audit = db.prepare<AuditParams>(
      `INSERT INTO audit (outbox_seq, actor, action, target, detail, mono_ms, wall_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  alarmTransition(
    event: AlarmTransitionEvent,
    envelope: StoredEnvelope,
    monoMs: number,
    wallMs: number,
  ): void {
    this.history.run(
      envelope.seq,
      envelope.id,
      event.alarmKey,
      event.deviceId,
      event.from,
      event.to,
      event.cause,
      event.by,
      monoMs,
      wallMs,
      JSON.stringify(event),
    );
  }

  auditRecord(event: AuditEvent, envelope: StoredEnvelope, monoMs: number, wallMs: number): void {
    this.audit.run(
      envelope.seq,
      event.actor,
      event.action,
      event.target,
      JSON.stringify(event.detail),
      monoMs,
      wallMs,
    );
  }
}
