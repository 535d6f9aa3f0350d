/**
 * Schema of the readings database (readings.db). Append new migrations; never edit a released
 * one (migrate.ts applies each version exactly once). docs/storage.md explains the design.
 */
import type { Migration } from '../migrate.js';

/**
 * Migration 1 is also migration 1 of the gateway database (kerbside.db, migrations/gateway.ts):
 * the same released SQL, so the readings tables are identical in both files.
 */
export const READINGS_V1: Migration = {
  version: 1,
  name: 'readings',
  sql: `
      -- One row per (device, point) ever seen. Readings refer to it by a small integer so that a
      -- raw row costs ~50 bytes instead of ~110 (docs/storage.md has the measurement).
      CREATE TABLE series (
        id        INTEGER PRIMARY KEY,
        device_id TEXT NOT NULL,
        point_key TEXT NOT NULL,
        UNIQUE (device_id, point_key)
      );

      -- Raw values as polled. seq orders them (AUTOINCREMENT: never reused, even after
      -- retention empties the table); retention deletes the lowest seqs first.
      -- wall_ms: wall clock at poll start, for display only (a cabinet may boot without NTP).
      -- mono_ms: gateway uptime clock at poll start (monotonic, continues across restarts,
      --          does not count downtime); age-based retention uses it, never wall_ms.
      -- value:   engineering value; booleans are stored as 0 / 1; NULL when the device sent NaN.
      -- quality: 0 = good (every request of the poll answered), 1 = partial (some requests of
      --          that poll failed; this value itself was read), 2 = bad (value is NULL: the
      --          device reported NaN, the usual float encoding of a sensor fault).
      CREATE TABLE readings (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        series_id INTEGER NOT NULL REFERENCES series (id),
        wall_ms   INTEGER NOT NULL,
        mono_ms   INTEGER NOT NULL,
        value     REAL,
        quality   INTEGER NOT NULL CHECK (quality IN (0, 1, 2))
      );
      -- No index by series: rows are appended in seq (rowid) order, so a commit touches a few
      -- pages at the end of the table; an index on (series_id, seq) would put every series on its
      -- own page and made a 150-reading commit write ~190 WAL pages instead of ~15 (measured):
      -- flash wear on a cabinet. Trends of one point read the minute/hour aggregates, or scan the
      -- raw window by seq range.

      -- One row per device poll, including failed ones (which have no readings), so that
      -- "no data" can be told apart from "not polled" and a device's dark periods are visible.
      -- quality: 0 = good, 1 = partial, 2 = failed. first_error: 'CODE: message' or NULL.
      CREATE TABLE polls (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        bus_id        TEXT NOT NULL,
        device_id     TEXT NOT NULL,
        wall_ms       INTEGER NOT NULL,
        mono_ms       INTEGER NOT NULL,
        quality       INTEGER NOT NULL CHECK (quality IN (0, 1, 2)),
        reading_count INTEGER NOT NULL,
        error_count   INTEGER NOT NULL,
        first_error   TEXT
      );
      CREATE INDEX polls_device_seq ON polls (device_id, seq);

      -- Small key/value facts about this database, e.g. the uptime clock's high-water mark.
      CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;

      -- For people at the sqlite3 prompt: readings with their names.
      CREATE VIEW readings_named AS
        SELECT r.seq, s.device_id, s.point_key, r.wall_ms, r.mono_ms, r.value, r.quality
        FROM readings r JOIN series s ON s.id = r.series_id;
    `,
};

export const READINGS_MIGRATIONS: readonly Migration[] = [READINGS_V1];
