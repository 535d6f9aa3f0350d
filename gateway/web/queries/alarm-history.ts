/**
 * One alarm's history for the alarms page: its rows of alarm_history, newest first, by the index
 * alarm_history_alarm (alarm_key, id). The transition body (the outbox event as committed) gives
 * the reason and the value; `actor` is the operator of an operation (docs/alarms.md).
 */
import type { AlarmTransitionEvent } from '../../../cloud-sync/contract/events.js';
import type { SqliteDatabase } from '../../store/database.js';

export interface AlarmHistoryRow {
  wallMs: number;
  transition: AlarmTransitionEvent;
  actor: string | null;
}

/** The newest `limit` transitions of `alarmKey` (newest first). */
export function alarmHistory(db: SqliteDatabase, alarmKey: string, limit: number): AlarmHistoryRow[] {
  const rows = db
    .prepare<[string, number], { wallMs: number; actor: string | null; body: string }>(
      `SELECT wall_ms AS wallMs, actor, body FROM alarm_history
       WHERE alarm_key = ? ORDER BY id DESC LIMIT ?`,
    )
    .all(alarmKey, limit);
  return rows.map((row) => ({
    wallMs: row.wallMs,
    actor: row.actor,
    transition: JSON.parse(row.body) as AlarmTransitionEvent,
  }));
}
