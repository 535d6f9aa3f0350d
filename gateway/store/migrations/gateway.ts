/**
 * Schema of the gateway database, `kerbside.db`: readings, alarms, outbox, commands, config and
 * audit in ONE file, so that a reading, the alarm transition it caused and the outbox event
 * reporting it commit in one transaction (docs/alarms.md; docs/storage.md says why one
 * file). Append new migrations; never edit a released one.
 */
import type { Migration } from '../migrate.js';
import { READINGS_V1 } from './readings.js';

const EVENT_STORE: Migration = {
  version: 2,
  name: 'event-store',
  sql: `
    -- store_meta of migration 1 typed its value INTEGER; the epoch is text. A column without a
    -- declared type stores each value as given (sqlite.org/datatype3.html, affinity BLOB).
    -- Keys: epoch (text), uptime_ms (the uptime clock's mark), acked_seq (the highest outbox seq
    -- the cloud acknowledged; events at or below it are deleted).
    CREATE TABLE store_meta_v2 (
      key   TEXT PRIMARY KEY,
      value NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO store_meta_v2 (key, value) SELECT key, value FROM store_meta;
    DROP TABLE store_meta;
    ALTER TABLE store_meta_v2 RENAME TO store_meta;

    -- The epoch is born in the same transaction as the schema: a database without one cannot
    -- exist. A random UUID v4 from SQLite's CSPRNG-seeded randomblob(); a replaced database
    -- therefore starts a new epoch, never a replay of old seqs (docs/uplink-contract.md, delivery
    -- rule 1).
    INSERT INTO store_meta (key, value) VALUES ('epoch',
      lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
      substr(lower(hex(randomblob(2))), 2) || '-' ||
      substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' ||
      lower(hex(randomblob(6))));
    INSERT INTO store_meta (key, value) VALUES ('acked_seq', 0);

    -- The events waiting for the cloud (docs/uplink-contract.md). seq: AUTOINCREMENT, so strictly
    -- increasing and never reused, even after acknowledged rows are deleted or telemetry is
    -- evicted (sqlite_sequence keeps the highest ever assigned; a rolled-back insert gives its
    -- number back, so no seq is ever seen twice or skipped by a committed reader).
    -- id: stable UUID. ts: wall clock ISO 8601, display only. mono_ms: uptime clock, for ages.
    -- body: the event (GatewayEventBody) as JSON, kind included.
    -- Rows are deleted once acknowledged (at or below acked_seq), or evicted (telemetry only).
    CREATE TABLE outbox (
      seq     INTEGER PRIMARY KEY AUTOINCREMENT,
      id      TEXT NOT NULL UNIQUE,
      class   TEXT NOT NULL CHECK (class IN
                ('alarm', 'event', 'command_result', 'config_result', 'audit', 'gap', 'telemetry')),
      kind    TEXT NOT NULL,
      ts      TEXT NOT NULL,
      mono_ms INTEGER NOT NULL,
      body    TEXT NOT NULL
    );
    -- Quota checks and eviction walk one class oldest-first.
    CREATE INDEX outbox_class_seq ON outbox (class, seq);

    -- Rows per class, kept by triggers so the quota check of every commit is one lookup instead
    -- of a count over up to 100 000 rows, and is rolled back with the transaction that changed it.
    CREATE TABLE outbox_counts (
      class TEXT PRIMARY KEY,
      rows  INTEGER NOT NULL CHECK (rows >= 0)
    ) WITHOUT ROWID;
    INSERT INTO outbox_counts (class, rows) VALUES
      ('alarm', 0), ('event', 0), ('command_result', 0), ('config_result', 0), ('audit', 0),
      ('gap', 0), ('telemetry', 0);
    CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
      UPDATE outbox_counts SET rows = rows + 1 WHERE class = NEW.class;
    END;
    CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
      UPDATE outbox_counts SET rows = rows - 1 WHERE class = OLD.class;
    END;

    -- Current state of each alarm (gateway/alarms AlarmRecord). record: the whole AlarmRecord as
    -- JSON, the one source loadAlarmRecords() reads, so a field the alarm engine adds later is
    -- kept without a migration. The other columns repeat what the web UI and the sqlite3 prompt
    -- filter on; they are written from the same record in the same statement.
    CREATE TABLE alarms (
      alarm_key           TEXT PRIMARY KEY,
      device_id           TEXT NOT NULL,
      rule_key            TEXT NOT NULL,
      state               TEXT NOT NULL CHECK (state IN ('normal', 'unacknowledged', 'acknowledged',
                            'rtn_unacknowledged', 'latched', 'shelved', 'suppressed', 'out_of_service')),
      active              INTEGER NOT NULL CHECK (active IN (0, 1)),
      level               INTEGER NOT NULL,
      acknowledged        INTEGER NOT NULL CHECK (acknowledged IN (0, 1)),
      last_change_mono_ms INTEGER NOT NULL,
      last_change_wall_ms INTEGER NOT NULL,
      record              TEXT NOT NULL
    );
    CREATE INDEX alarms_device ON alarms (device_id);

    -- One row per alarm transition, written in the same transaction as its outbox event.
    -- outbox_seq / event_id: that event (the outbox row goes once acknowledged; these stay, so a
    -- local history row can always be matched with the cloud's copy). body: the transition event
    -- as JSON (message, value, setpoint, operator and reason included). actor: the event's 'by'.
    CREATE TABLE alarm_history (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      outbox_seq INTEGER NOT NULL UNIQUE,
      event_id   TEXT NOT NULL UNIQUE,
      alarm_key  TEXT NOT NULL,
      device_id  TEXT NOT NULL,
      from_state TEXT NOT NULL,
      to_state   TEXT NOT NULL,
      cause      TEXT NOT NULL,
      actor      TEXT,
      mono_ms    INTEGER NOT NULL,
      wall_ms    INTEGER NOT NULL,
      body       TEXT NOT NULL
    );
    CREATE INDEX alarm_history_alarm ON alarm_history (alarm_key, id);

    -- Commands from the cloud (down/cmd, docs/uplink-contract.md, delivery rule 7), filled by the
    -- downlink. id: the cloud's command id, the idempotency key. issued_at / expires_at: as the
    -- cloud sent them (ISO 8601, cloud clock). received_*: when the gateway got it. params /
    -- result: JSON. status: received -> running -> succeeded | failed; or expired / rejected
    -- without running. result_seq: the outbox seq of the command_result event that reported it.
    CREATE TABLE commands (
      id               TEXT PRIMARY KEY,
      issued_at        TEXT NOT NULL,
      expires_at       TEXT NOT NULL,
      received_mono_ms INTEGER NOT NULL,
      received_wall_ms INTEGER NOT NULL,
      target           TEXT NOT NULL,
      action           TEXT NOT NULL,
      params           TEXT NOT NULL,
      status           TEXT NOT NULL CHECK (status IN
                         ('received', 'running', 'succeeded', 'failed', 'expired', 'rejected')),
      result           TEXT,
      result_seq       INTEGER,
      finished_mono_ms INTEGER
    );
    CREATE INDEX commands_received ON commands (received_mono_ms);

    -- Configuration documents from the cloud (down/config, rule 7): every version received, so
    -- the previous one is at hand for rollback. document: the JSON document as received.
    -- status: applied, rejected (detail says why) or rolled_back. result_seq: the outbox seq of
    -- the config_result event.
    CREATE TABLE config_versions (
      version          INTEGER PRIMARY KEY,
      hash             TEXT NOT NULL,
      document         TEXT NOT NULL,
      status           TEXT NOT NULL CHECK (status IN ('applied', 'rejected', 'rolled_back')),
      detail           TEXT,
      received_mono_ms INTEGER NOT NULL,
      received_wall_ms INTEGER NOT NULL,
      applied_mono_ms  INTEGER,
      applied_wall_ms  INTEGER,
      result_seq       INTEGER
    );

    -- Who did what on the cabinet: one row per audit event, written with its outbox event.
    -- detail: JSON.
    CREATE TABLE audit (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      outbox_seq INTEGER NOT NULL UNIQUE,
      actor      TEXT NOT NULL,
      action     TEXT NOT NULL,
      target     TEXT NOT NULL,
      detail     TEXT NOT NULL,
      mono_ms    INTEGER NOT NULL,
      wall_ms    INTEGER NOT NULL
    );
  `,
};

const AGGREGATES_AND_WINDOWS: Migration = {
  version: 3,
  name: 'aggregates-and-windows',
  sql: `
    -- Minute and hour aggregates of numeric readings, kept far longer than raw readings.
    -- Periods are aligned on the uptime clock (period_start_mono = floor(mono / period)), the
    -- clock every other retention uses, so a wall-clock jump never merges or splits a period.
    -- period_start_wall: the wall time of that start as estimated from the first reading of
    -- the period (display only). mean = sum_value / value_count (view below).
    CREATE TABLE readings_1m (
      series_id         INTEGER NOT NULL REFERENCES series (id),
      period_start_mono INTEGER NOT NULL,
      period_start_wall INTEGER NOT NULL,
      min_value         REAL NOT NULL,
      max_value         REAL NOT NULL,
      sum_value         REAL NOT NULL,
      value_count       INTEGER NOT NULL,
      PRIMARY KEY (series_id, period_start_mono)
    ) WITHOUT ROWID;
    CREATE INDEX readings_1m_period ON readings_1m (period_start_mono);

    CREATE TABLE readings_1h (
      series_id         INTEGER NOT NULL REFERENCES series (id),
      period_start_mono INTEGER NOT NULL,
      period_start_wall INTEGER NOT NULL,
      min_value         REAL NOT NULL,
      max_value         REAL NOT NULL,
      sum_value         REAL NOT NULL,
      value_count       INTEGER NOT NULL,
      PRIMARY KEY (series_id, period_start_mono)
    ) WITHOUT ROWID;
    CREATE INDEX readings_1h_period ON readings_1h (period_start_mono);

    CREATE VIEW readings_1m_named AS
      SELECT s.device_id, s.point_key, a.period_start_mono, a.period_start_wall, a.min_value,
             a.max_value, a.sum_value / a.value_count AS mean_value, a.value_count
      FROM readings_1m a JOIN series s ON s.id = a.series_id;
    CREATE VIEW readings_1h_named AS
      SELECT s.device_id, s.point_key, a.period_start_mono, a.period_start_wall, a.min_value,
             a.max_value, a.sum_value / a.value_count AS mean_value, a.value_count
      FROM readings_1h a JOIN series s ON s.id = a.series_id;

    -- Event windows: the raw readings of one device around an event (an overweight vehicle),
    -- COPIED into raw_window_readings so they outlive raw retention without holes in the
    -- readings table (whose row cap relies on contiguous seqs). id: the windowId the event
    -- carries. from/to_mono_ms: the span, uptime clock. A window stays open, collecting readings
    -- as they are committed, until the uptime clock passes to_mono_ms; copied_to_seq is the last
    -- readings seq already looked at.
    CREATE TABLE raw_windows (
      id              TEXT PRIMARY KEY,
      device_id       TEXT NOT NULL,
      reason          TEXT NOT NULL,
      from_mono_ms    INTEGER NOT NULL,
      to_mono_ms      INTEGER NOT NULL,
      created_mono_ms INTEGER NOT NULL,
      created_wall_ms INTEGER NOT NULL,
      copied_to_seq   INTEGER NOT NULL,
      open            INTEGER NOT NULL CHECK (open IN (0, 1))
    );
    CREATE INDEX raw_windows_open ON raw_windows (open) WHERE open = 1;
    CREATE INDEX raw_windows_created ON raw_windows (created_mono_ms);

    -- reading_seq: the row's seq in readings (that row is gone after raw retention).
    CREATE TABLE raw_window_readings (
      window_id   TEXT NOT NULL REFERENCES raw_windows (id) ON DELETE CASCADE,
      reading_seq INTEGER NOT NULL,
      series_id   INTEGER NOT NULL REFERENCES series (id),
      wall_ms     INTEGER NOT NULL,
      mono_ms     INTEGER NOT NULL,
      value       REAL,
      quality     INTEGER NOT NULL,
      PRIMARY KEY (window_id, reading_seq)
    ) WITHOUT ROWID;
  `,
};

/**
 * Two uplink lanes (docs/uplink-lanes.md): every outbox row gets its lane (from its class) and its
 * lane_seq, the seq the cloud sees. The global seq stays the local commit order.
 */
const UPLINK_LANES: Migration = {
  version: 4,
  name: 'uplink-lanes',
  sql: `
    -- lane_seq: strictly increasing within the lane and never reused in the epoch
    -- (docs/uplink-contract.md, delivery rule 1, per lane), assigned from outbox_lanes.last_seq in
    -- the inserting transaction. Rows written before this migration keep their global seq as
    -- lane_seq: still increasing per lane, and holes mean "nothing else exists" in that lane
    -- (rule 2).
    ALTER TABLE outbox ADD COLUMN lane TEXT NOT NULL DEFAULT 'priority'
      CHECK (lane IN ('priority', 'telemetry'));
    ALTER TABLE outbox ADD COLUMN lane_seq INTEGER NOT NULL DEFAULT 0;
    UPDATE outbox SET lane = CASE class WHEN 'telemetry' THEN 'telemetry' ELSE 'priority' END,
                      lane_seq = seq;
    CREATE UNIQUE INDEX outbox_lane_seq ON outbox (lane, lane_seq);

    -- Per lane: last_seq, the highest lane_seq ever assigned (kept when rows are deleted), and
    -- acked_seq, the highest the cloud acknowledged (rows at or below it are deleted, rule 4).
    CREATE TABLE outbox_lanes (
      lane      TEXT PRIMARY KEY CHECK (lane IN ('priority', 'telemetry')),
      last_seq  INTEGER NOT NULL CHECK (last_seq >= 0),
      acked_seq INTEGER NOT NULL CHECK (acked_seq >= 0 AND acked_seq <= last_seq)
    ) WITHOUT ROWID;
    INSERT INTO outbox_lanes (lane, last_seq, acked_seq)
      SELECT lane,
             (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'),
             (SELECT COALESCE(MAX(value), 0) FROM store_meta WHERE key = 'acked_seq')
      FROM (SELECT 'priority' AS lane UNION ALL SELECT 'telemetry');
    DELETE FROM store_meta WHERE key = 'acked_seq';
  `,
};

/**
 * The downlink (docs/uplink-contract.md, delivery rule 7; docs/commands.md,
 * docs/config-downlink.md): what the commands and config_versions tables of migration 2 lacked, and
 * the technician's local overrides.
 */
const DOWNLINK: Migration = {
  version: 5,
  name: 'downlink',
  sql: `
    -- commands: error is the human reason of a failed / rejected / expired result; finished_wall_ms
    -- when the result was recorded. A command is inserted 'running' and committed BEFORE it runs,
    -- so a row still 'running' at start-up was interrupted by a crash (reported as failed).
    ALTER TABLE commands ADD COLUMN error TEXT;
    ALTER TABLE commands ADD COLUMN finished_wall_ms INTEGER;

    -- config_versions: previous_version is the version that was active when this one was applied
    -- (kept for rollback: a cloud rollback arrives as a new version with the old document).
    ALTER TABLE config_versions ADD COLUMN previous_version INTEGER;

    -- The technician's changes on the cabinet (docs/config-downlink.md): one row per setting, named
    -- by a pointer in the configuration document's shape (cloud-sync/contract/config-document.ts).
    -- value / previous: JSON (previous: what the cloud document or the file had there, for the
    -- config_override event and the UI). They stay in force over later cloud documents until
    -- cleared locally or by a document with clearLocalOverrides.
    CREATE TABLE local_overrides (
      pointer     TEXT PRIMARY KEY,
      value       TEXT NOT NULL,
      previous    TEXT NOT NULL,
      set_by      TEXT NOT NULL,
      reason      TEXT,
      set_mono_ms INTEGER NOT NULL,
      set_wall_ms INTEGER NOT NULL
    );
  `,
};

/**
 * The cabinet web UI's local accounts (gateway/web/accounts, docs/auth.md "The cabinet's
 * accounts"): written only through commitCycle (StoreCycle.webUsers), in the same transaction as
 * the audit event that reports the change upstream.
 */
const WEB_USERS: Migration = {
  version: 6,
  name: 'web-users',
  sql: `
    -- username: lower-case, ^[a-z][a-z0-9._-]{2,63}$ (checked by gateway/web/accounts/users.ts).
    -- password_hash: scrypt$N$r$p$salt$key (runtime/scrypt.ts); never the password.
    -- Times are wall-clock ms, for people to read; nothing is ordered or expired by them.
    CREATE TABLE web_users (
      username           TEXT PRIMARY KEY,
      role               TEXT NOT NULL CHECK (role IN ('technician', 'admin')),
      password_hash      TEXT NOT NULL,
      disabled           INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
      created_wall_ms    INTEGER NOT NULL,
      updated_wall_ms    INTEGER NOT NULL,
      last_login_wall_ms INTEGER
    ) WITHOUT ROWID;
  `,
};

export const GATEWAY_MIGRATIONS: readonly Migration[] = [
  READINGS_V1,
  EVENT_STORE,
  AGGREGATES_AND_WINDOWS,
  UPLINK_LANES,
  DOWNLINK,
  WEB_USERS,
];
