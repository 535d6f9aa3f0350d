/**
 * The `alarms` table: the current AlarmRecord of every alarm, so the alarm engine resumes after a
 * restart where it stopped (latched and unacknowledged alarms stay so, shelving keeps its end).
 * Upserted in the commit that changed the record, with the transitions and outbox events of
 * that change.
 */
import type Database from 'better-sqlite3';
import type { AlarmRecord } from '../alarms/types.js';
import type { SqliteDatabase } from './database.js';
import { StoreError } from './errors.js';

type UpsertParams = [string, string, string, string, number, number, number, number, number, string];

export class AlarmRecords {
  private readonly upsertStatement: Database.Statement<UpsertParams>;
  private readonly loadStatement: Database.Statement<[], string>;

  constructor(db: SqliteDatabase) {
    this.upsertStatement = db.prepare<UpsertParams>(
      `INSERT INTO alarms (alarm_key, device_id, rule_key, state, active, level, acknowledged,
                           last_change_mono_ms, last_change_wall_ms, record)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (alarm_key) DO UPDATE SET
         device_id = excluded.device_id, rule_key = excluded.rule_key, state = excluded.state,
         active = excluded.active, level = excluded.level, acknowledged = excluded.acknowledged,
         last_change_mono_ms = excluded.last_change_mono_ms,
         last_change_wall_ms = excluded.last_change_wall_ms, record = excluded.record`,
    );
    this.loadStatement = db.prepare<[], string>('SELECT record FROM alarms ORDER BY alarm_key').pluck();
  }

  upsert(record: AlarmRecord): void {
    this.upsertStatement.run(
      record.alarmKey,
      record.deviceId,
      record.ruleKey,
      record.state,
      record.active ? 1 : 0,
      record.level,
      record.acknowledged ? 1 : 0,
      Math.round(record.lastChangeMonoMs),
      Math.round(record.lastChangeWallMs),
      JSON.stringify(record),
    );
  }

  /** Every stored record, by alarm key. */
  loadAll(): AlarmRecord[] {
    return this.loadStatement.all().map((text) => {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || !('alarmKey' in value)) {
        throw new StoreError('STORE_CORRUPT', `an alarms row holds no AlarmRecord: ${text.slice(0, 80)}`);
      }
      // Written by upsert() from an AlarmRecord, read back whole (the `record` column comment in
      // migrations/gateway.ts says why the whole record).
      return value as AlarmRecord;
    });
  }
}
