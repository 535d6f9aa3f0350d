/**
 * The gateway database `<dataDir>/kerbside.db` and the one way to write it: commitCycle(), ONE
 * SQLite transaction per poll cycle holding the cycle's readings, their aggregates, the alarm
 * transitions and records they caused and the outbox events reporting them (docs/storage.md;
 * docs/uplink-contract.md; docs/alarms.md). One file, because SQLite commits atomically per file,
 * not across attached files; synchronous=FULL, because an event the gateway has committed must
 * survive power loss (docs/storage.md has the reasoning and the measurement).
 *
 * Clocks: `mono_ms` everywhere is the uptime clock (uptime-clock.ts). Poll results arrive on the
 * process monotonic clock (DevicePollResult.monotonicMs) and are mapped here; everything else
 * the store is given (cycle.at, window spans, AlarmRecord times) is expected on the uptime clock
 * already: take it from now() or uptime().
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  EVENT_CLASS,
  type EventClass,
  type GatewayEventBody,
  type GapEvent,
  type Lane,
  type OutboxEvent,
} from '../../cloud-sync/contract/events.js';
import { validateEventBody } from '../../cloud-sync/contract/validate.js';
import { StorageGuard, type StorageGuardOptions, type StorageState } from './storage-guard.js';
import type { AlarmRecord, Instant } from '../alarms/types.js';
import type { DevicePollResult } from '../bus/types.js';
import { Aggregates, type AggregateStage } from './aggregates.js';
import { AlarmRecords } from './alarm-records.js';
import { openDatabase, type SqliteDatabase } from './database.js';
import { StoreError, isConstraintError, isDiskFull } from './errors.js';
import { EventRows } from './event-rows.js';
import {
  DownlinkRows,
  type CommandRow,
  type CommandStatus,
  type ConfigVersionRow,
  type DownlinkWrite,
  type LocalOverrideRow,
} from './downlink-rows.js';
import { applyMigrations, type MigrationOutcome } from './migrate.js';
import { GATEWAY_MIGRATIONS } from './migrations/gateway.js';
import { WebUserRows, type WebUserWrite } from './web-user-rows.js';
import {
  DEFAULT_OUTBOX_QUOTAS,
  OUTBOX_CLASSES,
  Outbox,
  type LaneState,
  type LocalOutboxEvent,
} from './outbox.js';
import { quarantineDatabase, shouldQuarantine, type QuarantineReport } from './quarantine.js';
import { RawWindows, DEFAULT_MAX_WINDOW_SPAN_MS, type RawWindowRequest } from './raw-windows.js';
import {
  SeriesCache,
  insertPollResult,
  prepareReadingStatements,
  type ReadingStatements,
} from './readings.js';
import {
  DEFAULT_STORE_RETENTION,
  StoreRetentionRunner,
  type RetentionDeleted,
  type StoreRetention,
} from './retention.js';
import { UptimeClock, systemClock, type StoreClock } from './uptime-clock.js';
import { formatIssue, type Issue } from '../../cloud-sync/contract/errors.js';

export const GATEWAY_DB_FILE = 'kerbside.db';

export interface GatewayStoreOptions {
  logger: Logger;
  /** Process clocks; tests inject their own. Default performance.now() and Date.now(). */
  clock?: StoreClock;
  /** What is kept; `raw` is the configuration's storage.rawRetention. Defaults: DEFAULT_STORE_RETENTION. */
  retention?: Partial<StoreRetention>;
  /** Most unacknowledged outbox rows per class. Defaults: DEFAULT_OUTBOX_QUOTAS. */
  outboxQuota?: Partial<Record<EventClass, number>>;
  /**
   * Telemetry rows evicted at once when its quota is full. Each eviction writes one gap event,
   * which is never evicted, so evicting in chunks keeps gap events few. Default 10% of the quota.
   */
  telemetryEvictRows?: number;
  /** Longest raw window; longer requests are cut. Default 10 minutes. */
  maxWindowSpanMs?: number;
  /** A PASSIVE checkpoint after this many commits or this much uptime, whichever comes first. Defaults 100 and 30 s. */
  checkpointEveryCommits?: number;
  checkpointEveryMs?: number;
  /** SQLite's own checkpoint threshold in WAL pages. Default 1000 (SQLite's default); 0 turns it off. */
  walAutocheckpointPages?: number;
  busyTimeoutMs?: number;
  journalSizeLimitBytes?: number;
  /** Quarantined copies of a damaged database kept in dataDir. Default 3. */
  keepQuarantinedCopies?: number;
  /** A readTransaction() longer than this is logged: long readers keep the WAL from being reset. Default 200 ms. */
  slowReadMs?: number;
  /** Receives every SQL statement executed on the write connection (tests). */
  trace?: (sql: string) => void;
  /** The storage reserve and thresholds (storage-guard.ts); the data folder is the store's. */
  storage?: Omit<StorageGuardOptions, 'dir'>;
}

/** What one commitCycle() records. Every field is optional: an operator action has events only. */
export interface StoreCycle {
  polls?: readonly DevicePollResult[];
  /** Outbox events, in the order they happened. alarm_transition also writes alarm_history, audit writes audit. */
  events?: readonly GatewayEventBody[];
  /** Alarm records whose state changed (upserted). Their times must be on the uptime clock. */
  alarmRecords?: readonly AlarmRecord[];
  /** Raw windows to keep (registered in this commit, filled as readings arrive). */
  windows?: readonly RawWindowRequest[];
  /** When the events happened, uptime clock + wall clock. Default now(). */
  at?: Instant;
  /**
   * Telemetry events decided but not stored, because storage is short (decisions only): their
   * telemetry-lane seqs are taken and one gap event reports them, so the cloud sees the hole
   * explained like an eviction (docs/storage.md "A full disk").
   */
  droppedTelemetry?: DroppedTelemetry;
  /**
   * Decisions the previous run held in memory while the disk was full and lost in a crash
   * (held-marker.ts): priority-lane seqs are taken for them and a gap event says so, so the cloud
   * is told that decisions of that interval may be missing.
   */
  lostDecisions?: DroppedTelemetry;
  /** Downlink rows (commands, config versions, local overrides) written with the events. */
  downlink?: readonly DownlinkWrite[];
  /**
   * The cabinet web UI's account rows (web-user-rows.ts), written with the audit event that
   * reports the change, so an account never changes without its record (gateway/web/accounts).
   */
  webUsers?: readonly WebUserWrite[];
}

/** Events decided but never stored: how many, over which wall-clock span, and why. */
export interface DroppedTelemetry {
  count: number;
  /** Wall-clock span of the dropped events (their cycles' times). */
  fromWallMs: number;
  toWallMs: number;
  reason: string;
}

export interface CommitResult {
  /** First and last outbox seq written by this commit (gap events included); null when none. */
  firstSeq: number | null;
  lastSeq: number | null;
  /** Outbox rows written (events + gap events). */
  count: number;
  /** seq of each written event, in the order of cycle.events (refused events are not written). */
  eventSeqs: number[];
  /** Events of the cycle refused by the uplink contract check (never written; see commitCycle). */
  refused: number;
  polls: number;
  readings: number;
  /** Telemetry events evicted by this commit, and the seq of the gap event reporting them. */
  evicted: number;
  gapSeq: number | null;
  /** Rows deleted by retention in this commit. */
  deleted: RetentionDeleted;
}

export interface OutboxClassStats {
  count: number;
  oldestSeq: number | null;
  /** Age of the oldest row on the uptime clock. */
  oldestAgeMs: number | null;
}

export interface OutboxStats {
  count: number;
  oldestAgeMs: number | null;
  byClass: Record<EventClass, OutboxClassStats>;
  /** Per uplink lane: highest lane seq ever assigned, and highest acknowledged. */
  lanes: Record<Lane, LaneState>;
}

export interface AckResult {
  deleted: number;
  /** The lane's acknowledged seq after this ack. */
  ackedSeq: number;
}

export interface CheckpointResult {
  mode: 'PASSIVE' | 'TRUNCATE';
  /** SQLite could not finish because a reader or writer was active. */
  busy: boolean;
  walFrames: number;
  checkpointedFrames: number;
}

export interface StoreSettings {
  journalMode: string;
  synchronous: number;
  foreignKeys: number;
  busyTimeoutMs: number;
  journalSizeLimitBytes: number;
  walAutocheckpointPages: number;
}

export interface GatewayStoreStats {
  file: string;
  epoch: string;
  uptimeMs: number;
  commits: number;
  failedCommits: number;
  lastError: string | null;
  /** Events refused at commit because they break the uplink contract (each one a gateway bug). */
  refusedEvents: number;
  pollsWritten: number;
  readingsWritten: number;
  eventsWritten: number;
  telemetryEvicted: number;
  gapEvents: number;
  deleted: RetentionDeleted;
  checkpoints: number;
  failedCheckpoints: number;
  lastCheckpoint: CheckpointResult | null;
  /** (series, minute) aggregates held in memory until their minute ends. */
  openAggregateMinutes: number;
  /** Free space, reserve and the storage state (storage-guard.ts). */
  storage: StorageState;
  walBytes: number;
  databaseBytes: number;
  outbox: OutboxStats;
}

/**
 * Opens `<dataDir>/kerbside.db` (creating dataDir and the database if needed), migrates it and
 * returns the store. A damaged database is quarantined and replaced by a fresh one whose outbox
 * starts with a store_quarantined event; `store.quarantine` then says what happened, so the
 * pipeline can raise the alarm. Throws StoreError for everything else the gateway must not run
 * on: STORE_OPEN_FAILED, STORE_MISCONFIGURED, STORE_TOO_NEW, STORE_MIGRATION_FAILED,
 * STORE_QUARANTINE_FAILED.
 */
export function openGatewayStore(dataDir: string, options: GatewayStoreOptions): GatewayStore {
  try {
    // 0700: the folder holds password hashes (web_users), credentials and the web UI's key
    // (docs/security.md, "Assets"); an existing folder keeps the mode its installer gave it.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError('STORE_OPEN_FAILED', `cannot create data directory ${dataDir}: ${reason}`, {
      file: dataDir,
      cause: error,
    });
  }
  const path = join(dataDir, GATEWAY_DB_FILE);
  const clock = options.clock ?? systemClock;
  let quarantine: QuarantineReport | null = null;
  let opened: OpenedFile;
  try {
    opened = openFile(path, options);
  } catch (error) {
    if (!shouldQuarantine(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    quarantine = quarantineDatabase(path, reason, clock.wallMs(), options.keepQuarantinedCopies ?? 3);
    options.logger.error(
      { quarantine },
      `gateway database damaged; moved aside to ${quarantine.quarantinedAs} and started fresh`,
    );
    opened = openFile(path, options);
  }
  const store = new GatewayStore(buildParts(path, opened, quarantine, clock, options));
  store.checkStorage();
  if (quarantine !== null) {
    // Seq 1 of the new epoch tells the cloud what was lost, in the fields the contract has.
    try {
      store.commitCycle({
        events: [
          {
            kind: 'store_quarantined',
            file: quarantine.file,
            quarantinedAs: quarantine.quarantinedAs,
            reason: describeLoss(quarantine),
          },
        ],
      });
    } catch (error) {
      store.close();
      throw error;
    }
  }
  return store;
}

interface OpenedFile {
  db: SqliteDatabase;
  migration: MigrationOutcome;
  epoch: string;
}

function openFile(path: string, options: GatewayStoreOptions): OpenedFile {
  // A new database is born 0600 (SQLite gives its -wal and -shm files the same mode): it holds
  // the cabinet's web accounts. An existing file keeps its mode.
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError('STORE_OPEN_FAILED', `cannot create ${path}: ${reason}`, {
      file: path,
      cause: error,
    });
  }
  const db = openDatabase(path, {
    synchronous: 'FULL',
    walAutocheckpointPages: options.walAutocheckpointPages ?? 1000,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.journalSizeLimitBytes === undefined
      ? {}
      : { journalSizeLimitBytes: options.journalSizeLimitBytes }),
    ...(options.trace === undefined ? {} : { trace: options.trace }),
  });
  try {
    const migration = applyMigrations(db, GATEWAY_MIGRATIONS);
    const epoch: unknown = db.prepare("SELECT value FROM store_meta WHERE key = 'epoch'").pluck().get();
    if (typeof epoch !== 'string' || epoch.length === 0) {
      // Migration 2 creates the epoch with the schema; a database without one is not one this
      // gateway wrote, and its seqs cannot be told apart from another database's.
      throw new StoreError('STORE_CORRUPT', `database ${path} has no epoch in store_meta`, { file: path });
    }
    return { db, migration, epoch };
  } catch (error) {
    db.close();
    throw error;
  }
}

function describeLoss(q: QuarantineReport): string {
  if (q.lostEpoch === null)
    return `${q.reason}; its epoch could not be read (${q.inspectError ?? 'unknown'})`;
  if (q.lostLanes.length === 0) {
    return `${q.reason}; epoch ${q.lostEpoch}: its lanes could not be read, unacknowledged events may be lost`;
  }
  const lost = q.lostLanes.map(({ lane, lastSeq, ackedSeq }) =>
    lastSeq > ackedSeq
      ? `${lane} lane: unacknowledged events ${ackedSeq + 1}..${lastSeq} are lost`
      : `${lane} lane: every event had been acknowledged`,
  );
  return `${q.reason}; epoch ${q.lostEpoch}: ${lost.join('; ')}`;
}

/** Everything the store works with, prepared by openGatewayStore (the constructor only assigns). */
interface StoreParts {
  path: string;
  db: SqliteDatabase;
  epoch: string;
  migration: MigrationOutcome;
  quarantine: QuarantineReport | null;
  clock: StoreClock;
  uptime: UptimeClock;
  logger: Logger;
  readings: ReadingStatements;
  aggregates: Aggregates;
  outbox: Outbox;
  alarmRecords: AlarmRecords;
  eventRows: EventRows;
  downlink: DownlinkRows;
  webUsers: WebUserRows;
  windows: RawWindows;
  retention: StoreRetentionRunner;
  meta: MetaStatements;
  policy: StorePolicy;
  storage: StorageGuard;
}

interface MetaStatements {
  read: Database.Statement<[string], unknown>;
  write: Database.Statement<[string, number | string]>;
}

interface StorePolicy {
  retention: StoreRetention;
  quotas: Record<EventClass, number>;
  telemetryEvictRows: number;
  maxWindowSpanMs: number;
  checkpointEveryCommits: number;
  checkpointEveryMs: number;
  busyTimeoutMs: number;
  slowReadMs: number;
}

function buildParts(
  path: string,
  opened: OpenedFile,
  quarantine: QuarantineReport | null,
  clock: StoreClock,
  options: GatewayStoreOptions,
): StoreParts {
  const { db } = opened;
  const meta: MetaStatements = {
    read: db.prepare<[string], unknown>('SELECT value FROM store_meta WHERE key = ?').pluck(),
    write: db.prepare<[string, number | string]>(
      'INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
  const mark = meta.read.get(UPTIME_KEY);
  const quotas = { ...DEFAULT_OUTBOX_QUOTAS, ...options.outboxQuota };
  return {
    path,
    db,
    epoch: opened.epoch,
    migration: opened.migration,
    quarantine,
    clock,
    // The uptime clock resumes where the previous run stopped (docs/storage.md).
    uptime: new UptimeClock(clock, typeof mark === 'number' ? mark : 0),
    logger: options.logger,
    readings: prepareReadingStatements(db),
    aggregates: new Aggregates(db),
    outbox: new Outbox(db),
    storage: new StorageGuard({ dir: dirname(path), ...options.storage }),
    alarmRecords: new AlarmRecords(db),
    eventRows: new EventRows(db),
    downlink: new DownlinkRows(db),
    webUsers: new WebUserRows(db),
    windows: new RawWindows(db),
    retention: new StoreRetentionRunner(db),
    meta,
    policy: {
      retention: { ...DEFAULT_STORE_RETENTION, ...options.retention },
      quotas,
      telemetryEvictRows: options.telemetryEvictRows ?? Math.max(1, Math.ceil(quotas.telemetry / 10)),
      maxWindowSpanMs: options.maxWindowSpanMs ?? DEFAULT_MAX_WINDOW_SPAN_MS,
      checkpointEveryCommits: options.checkpointEveryCommits ?? 100,
      checkpointEveryMs: options.checkpointEveryMs ?? 30_000,
      busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
      slowReadMs: options.slowReadMs ?? 200,
    },
  };
}

const UPTIME_KEY = 'uptime_ms';

/** What writeCycle hands back out of the transaction. */
interface WrittenCycle {
  result: CommitResult;
  aggregateStage: AggregateStage;
  minutesWritten: Set<string>;
}

const emptyDeleted = (): RetentionDeleted => ({
  readings: 0,
  polls: 0,
  minuteAggregates: 0,
  hourAggregates: 0,
  alarmHistory: 0,
  audit: 0,
  windows: 0,
});

export class GatewayStore {
  readonly path: string;
  /**
   * Random id of this database (docs/uplink-contract.md, delivery rule 1); a replaced database has
   * a new one.
   */
  readonly epoch: string;
  readonly migration: MigrationOutcome;
  /** Set when the previous database was damaged and replaced at this open. */
  readonly quarantine: QuarantineReport | null;

  private readonly parts: StoreParts;
  private readonly series = new SeriesCache();
  private reader: SqliteDatabase | undefined;
  private closed = false;
  private commitsSinceCheckpoint = 0;
  private lastCheckpointMono: number;
  private readonly counters = {
    commits: 0,
    failedCommits: 0,
    lastError: null as string | null,
    refusedEvents: 0,
    pollsWritten: 0,
    readingsWritten: 0,
    eventsWritten: 0,
    telemetryEvicted: 0,
    gapEvents: 0,
    deleted: emptyDeleted(),
    checkpoints: 0,
    failedCheckpoints: 0,
    lastCheckpoint: null as CheckpointResult | null,
  };

  /** Use openGatewayStore(). */
  constructor(parts: StoreParts) {
    this.parts = parts;
    this.path = parts.path;
    this.epoch = parts.epoch;
    this.migration = parts.migration;
    this.quarantine = parts.quarantine;
    this.lastCheckpointMono = parts.uptime.now();
  }

  /** Now on the uptime clock and the wall clock: the `at` of a cycle, the times the alarm engine should use. */
  now(): Instant {
    return { monoMs: this.parts.uptime.now(), wallMs: this.parts.clock.wallMs() };
  }

  /** Maps a process monotonic time (DevicePollResult.monotonicMs) onto the uptime clock. */
  uptime(monotonicMs: number): number {
    return this.parts.uptime.fromMonotonic(monotonicMs);
  }

  /**
   * Records one cycle in ONE transaction: poll and reading rows, the aggregates of the minutes
   * that have ended (aggregates.ts says why not every commit), raw windows, outbox
   * events (with alarm_history and audit rows), telemetry eviction with its gap event, alarm
   * records, retention and the uptime mark. All or nothing: on failure nothing of the cycle is
   * visible, no seq is consumed, and retrying the same cycle (or merging it into the next) is
   * safe. Throws StoreError: STORE_WRITE_FAILED (disk full, I/O error: a retry may succeed),
   * STORE_OUTBOX_FULL (a never-evicted class is at its quota: a retry succeeds once the cloud
   * acknowledges), STORE_INVALID_INPUT (a value the schema refuses, e.g. an unknown alarm state:
   * the same input will never commit), STORE_CLOSED.
   */
  commitCycle(cycle: StoreCycle): CommitResult {
    this.assertOpen();
    const at = this.resolveAt(cycle.at);
    const checked = checkEvents(cycle.events ?? []);
    const toWrite: StoreCycle = checked.refused.length > 0 ? { ...cycle, events: checked.valid } : cycle;
    const windows = (cycle.windows ?? []).map((w) => this.checkWindow(w));
    const duplicateWindows: string[] = [];
    let written: WrittenCycle;
    try {
      written = this.withReserve('cycle', () => {
        try {
          return (
            this.parts.db
              .transaction(() => this.writeCycle(toWrite, at, windows, duplicateWindows))
              // IMMEDIATE takes the write lock at BEGIN: a deferred transaction that reads first and
              // writes later can fail with SQLITE_BUSY_SNAPSHOT if another connection wrote between.
              .immediate()
          );
        } catch (error) {
          this.series.rollback();
          throw error;
        }
      });
    } catch (error) {
      this.counters.failedCommits++;
      const reason = error instanceof Error ? error.message : String(error);
      this.counters.lastError = reason;
      if (error instanceof StoreError) throw error;
      const code = isDiskFull(error)
        ? 'STORE_DISK_FULL'
        : isConstraintError(error)
          ? 'STORE_INVALID_INPUT'
          : 'STORE_WRITE_FAILED';
      throw new StoreError(code, `could not commit the cycle: ${reason}`, { file: this.path, cause: error });
    }
    this.series.commit();
    this.parts.aggregates.commit(written.aggregateStage, written.minutesWritten);
    const result = { ...written.result, refused: checked.refused.length };
    this.reportRefused(checked.refused);
    this.counters.commits++;
    this.counters.pollsWritten += result.polls;
    this.counters.readingsWritten += result.readings;
    this.counters.eventsWritten += result.count;
    this.counters.telemetryEvicted += result.evicted;
    for (const key of Object.keys(result.deleted) as Array<keyof RetentionDeleted>)
      this.counters.deleted[key] += result.deleted[key];
    if (result.gapSeq !== null) {
      this.counters.gapEvents++;
      this.parts.logger.warn(
        { evicted: result.evicted, gapSeq: result.gapSeq, quota: this.parts.policy.quotas.telemetry },
        'outbox telemetry quota full: evicted the oldest telemetry and recorded a gap',
      );
    }
    if (duplicateWindows.length > 0) {
      this.parts.logger.warn({ windows: duplicateWindows }, 'raw window ids already exist; kept the first');
    }
    this.maybeCheckpoint();
    return result;
  }

  /** A received command by id (commands are idempotent by id, docs/uplink-contract.md, delivery rule 7). */
  command(id: string): CommandRow | undefined {
    this.assertOpen();
    return this.parts.downlink.command(id);
  }

  /** Commands in one status: 'running' at start-up means interrupted by a crash. */
  commandsWithStatus(status: CommandStatus): CommandRow[] {
    this.assertOpen();
    return this.parts.downlink.commandsWithStatus(status);
  }

  configVersion(version: number): ConfigVersionRow | undefined {
    this.assertOpen();
    return this.parts.downlink.configVersion(version);
  }

  configVersions(): ConfigVersionRow[] {
    this.assertOpen();
    return this.parts.downlink.configVersions();
  }

  /** The configuration document version in force; null: the file alone. */
  activeConfigVersion(): number | null {
    this.assertOpen();
    return this.parts.downlink.activeConfigVersion();
  }

  localOverrides(): LocalOverrideRow[] {
    this.assertOpen();
    return this.parts.downlink.localOverrides();
  }

  /** Every stored alarm record (for the alarm engine at start). */
  loadAlarmRecords(): AlarmRecord[] {
    this.assertOpen();
    return this.parts.alarmRecords.loadAll();
  }

  /**
   * Up to `limit` outbox events with global seq > `seq`, in commit order, each with its lane and
   * lane seq (local UI; holes are evicted telemetry or acknowledged rows).
   */
  outboxAfter(seq: number, limit: number): LocalOutboxEvent[] {
    this.assertOpen();
    checkRange('outboxAfter', seq, limit);
    return this.parts.outbox.after(seq, limit);
  }

  /**
   * Up to `limit` events of one uplink lane with lane seq > `laneSeq`, in lane order, in the form
   * they travel upstream (`seq` is the lane seq; docs/uplink-contract.md, docs/uplink-lanes.md).
   */
  outboxLaneAfter(lane: Lane, laneSeq: number, limit: number): OutboxEvent[] {
    this.assertOpen();
    checkRange('outboxLaneAfter', laneSeq, limit);
    return this.parts.outbox.laneAfter(lane, laneSeq, limit);
  }

  /** Highest seq ever assigned in a lane and highest acknowledged (the `after` of its next batch). */
  laneState(lane: Lane): LaneState {
    this.assertOpen();
    return this.parts.outbox.laneState(lane);
  }

  outboxStats(): OutboxStats {
    this.assertOpen();
    const { outbox } = this.parts;
    const now = this.parts.uptime.now();
    let count = 0;
    let oldestMono: number | null = null;
    const byClass = {} as Record<EventClass, OutboxClassStats>;
    for (const eventClass of OUTBOX_CLASSES) {
      const rows = outbox.count(eventClass);
      const oldest = rows === 0 ? null : outbox.oldest(eventClass);
      byClass[eventClass] = {
        count: rows,
        oldestSeq: oldest?.seq ?? null,
        oldestAgeMs: oldest === null ? null : Math.max(0, now - oldest.monoMs),
      };
      count += rows;
      if (oldest !== null) oldestMono = Math.min(oldestMono ?? oldest.monoMs, oldest.monoMs);
    }
    return {
      count,
      oldestAgeMs: oldestMono === null ? null : Math.max(0, now - oldestMono),
      byClass,
      lanes: { priority: outbox.laneState('priority'), telemetry: outbox.laneState('telemetry') },
    };
  }

  /**
   * The cloud committed everything of `lane` up to `upTo` (down/ack, docs/uplink-contract.md,
   * delivery rule 4): deletes that lane's outbox rows at or below it, never above, and remembers
   * it. An ack at or below the current mark is a repeat and changes nothing. Throws StoreError
   * STORE_ACK_INVALID for an ack above the highest seq ever assigned: the cloud's state then
   * belongs to another database, and deleting anything on its word would lose events.
   */
  acknowledgeUpTo(lane: Lane, upTo: number): AckResult {
    this.assertOpen();
    const { outbox, db } = this.parts;
    if (!Number.isSafeInteger(upTo) || upTo < 0) {
      throw new StoreError('STORE_ACK_INVALID', `acknowledgement ${upTo} is not a sequence number`);
    }
    const { lastSeq, ackedSeq } = outbox.laneState(lane);
    if (upTo > lastSeq) {
      throw new StoreError(
        'STORE_ACK_INVALID',
        `acknowledgement up to ${upTo} is above the highest ${lane}-lane seq ever assigned (${lastSeq}) in epoch ${this.epoch}`,
      );
    }
    if (upTo <= ackedSeq) return { deleted: 0, ackedSeq };
    try {
      // A few pages at most: the reserve always has room for it when the disk is full.
      const deleted = this.withReserve('acknowledgement', () =>
        db
          .transaction(() => {
            const n = outbox.deleteLaneUpTo(lane, upTo);
            outbox.setAcked(lane, upTo);
            return n;
          })
          .immediate(),
      );
      return { deleted, ackedSeq: upTo };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const code = isDiskFull(error) ? 'STORE_DISK_FULL' : 'STORE_WRITE_FAILED';
      throw new StoreError(code, `could not record the acknowledgement: ${reason}`, {
        file: this.path,
        cause: error,
      });
    }
  }

  /**
   * Runs `fn` in a short read transaction on a separate read-only connection (web UI, CLI): a
   * consistent snapshot that can never write. Keep it short: while it runs, checkpoints cannot
   * reset the WAL, so the WAL file grows. Longer than slowReadMs is logged.
   */
  readTransaction<T>(fn: (db: SqliteDatabase) => T): T {
    this.assertOpen();
    const reader = this.openReader();
    const started = this.parts.clock.monotonicMs();
    try {
      return reader.transaction(() => fn(reader)).deferred();
    } finally {
      const tookMs = this.parts.clock.monotonicMs() - started;
      if (tookMs > this.parts.policy.slowReadMs) {
        this.parts.logger.warn(
          { tookMs: Math.round(tookMs) },
          'slow read transaction holds back WAL checkpoints',
        );
      }
    }
  }

  /** Runs a checkpoint now. PASSIVE never waits; TRUNCATE (at close) also empties the WAL file. */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE'): CheckpointResult {
    this.assertOpen();
    const rows = this.parts.db.pragma(`wal_checkpoint(${mode})`) as Array<{
      busy: number;
      log: number;
      checkpointed: number;
    }>;
    const row = rows[0];
    const result: CheckpointResult = {
      mode,
      busy: row?.busy === 1,
      walFrames: row?.log ?? 0,
      checkpointedFrames: row?.checkpointed ?? 0,
    };
    this.counters.checkpoints++;
    this.counters.lastCheckpoint = result;
    this.commitsSinceCheckpoint = 0;
    this.lastCheckpointMono = this.parts.uptime.now();
    return result;
  }

  /** The pragmas as the write connection reports them now (diagnostics; docs/storage.md). */
  settings(): StoreSettings {
    this.assertOpen();
    const { db } = this.parts;
    const read = (name: string): unknown => db.pragma(name, { simple: true });
    return {
      journalMode: String(read('journal_mode')),
      synchronous: Number(read('synchronous')),
      foreignKeys: Number(read('foreign_keys')),
      busyTimeoutMs: Number(read('busy_timeout')),
      journalSizeLimitBytes: Number(read('journal_size_limit')),
      walAutocheckpointPages: Number(read('wal_autocheckpoint')),
    };
  }

  stats(): GatewayStoreStats {
    this.assertOpen();
    return {
      file: this.path,
      epoch: this.epoch,
      uptimeMs: this.parts.uptime.now(),
      ...this.counters,
      deleted: { ...this.counters.deleted },
      openAggregateMinutes: this.parts.aggregates.openMinutes(),
      storage: this.parts.storage.state(),
      walBytes: fileSize(`${this.path}-wal`),
      databaseBytes: fileSize(this.path),
      outbox: this.outboxStats(),
    };
  }

  /**
   * Reads the free space of the data folder and moves the storage state (storage-guard.ts): the
   * reserve is written back once there is room again. One statfs: cheap enough for every cycle.
   */
  checkStorage(): StorageState {
    this.assertOpen();
    return this.parts.storage.check();
  }

  /** The storage state of the last check or write, without a new statfs. */
  storageState(): StorageState {
    return this.parts.storage.state();
  }

  /**
   * Runs one write transaction; when it fails for want of space, the storage reserve is released
   * and the transaction runs once more in the space it freed (docs/storage.md "A full disk").
   */
  private withReserve<T>(what: string, write: () => T): T {
    try {
      return write();
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      if (!this.parts.storage.onDiskFull(reason)) throw error;
      this.parts.logger.warn(
        { write: what, reserve: this.parts.storage.reserveFile },
        'the data folder is full: released the storage reserve and tried again',
      );
      return write();
    }
  }

  /**
   * Stores the uptime mark, checkpoints with TRUNCATE (the WAL file ends empty, so a copy of
   * kerbside.db alone is complete) and closes. Never throws: problems are logged.
   */
  close(): void {
    if (this.closed) return;
    const { db, logger, meta, uptime } = this.parts;
    try {
      // The minutes still in memory are written now (aggregates.ts), with the uptime mark.
      const stage = this.parts.aggregates.stage();
      const minutes = this.withReserve('close', () =>
        db
          .transaction(() => {
            const now = uptime.now();
            meta.write.run(UPTIME_KEY, now);
            return this.parts.aggregates.writeEnded(stage, now, true);
          })
          .immediate(),
      );
      this.parts.aggregates.commit(stage, minutes);
    } catch (error) {
      logger.error({ err: error }, 'could not store the open aggregates and the uptime mark at close');
    }
    try {
      this.reader?.close();
      this.reader = undefined;
      const result = this.checkpoint('TRUNCATE');
      if (result.busy) logger.warn({ checkpoint: result }, 'final checkpoint could not complete');
    } catch (error) {
      logger.error({ err: error }, 'final checkpoint failed');
    }
    this.closed = true;
    try {
      db.close();
    } catch (error) {
      logger.error({ err: error }, 'closing the gateway database failed');
    }
  }

  private writeCycle(
    cycle: StoreCycle,
    at: Instant,
    windows: RawWindowRequest[],
    duplicateWindows: string[],
  ): WrittenCycle {
    const p = this.parts;
    const nowMono = p.uptime.now();

    const polls = cycle.polls ?? [];
    const aggregates = p.aggregates.stage();
    let readings = 0;
    for (const poll of polls) {
      const monoMs = p.uptime.fromMonotonic(poll.monotonicMs);
      const wallMs = Math.round(poll.wallTimeMs);
      readings += insertPollResult(p.readings, this.series, poll, monoMs, (seriesId, value) =>
        aggregates.add(seriesId, monoMs, wallMs, value),
      );
    }
    const minutesWritten = p.aggregates.writeEnded(aggregates, nowMono);

    for (const window of windows) {
      if (!p.windows.open(window, nowMono, at.wallMs)) duplicateWindows.push(window.id);
    }
    p.windows.collect(nowMono);

    for (const change of cycle.downlink ?? []) p.downlink.write(change);
    for (const change of cycle.webUsers ?? []) p.webUsers.write(change);

    const eventSeqs: number[] = [];
    const touched = new Set<EventClass>();
    for (const event of cycle.events ?? []) {
      const envelope = p.outbox.insert(event, at.monoMs, at.wallMs);
      eventSeqs.push(envelope.seq);
      touched.add(EVENT_CLASS[event.kind]);
      if (event.kind === 'alarm_transition')
        p.eventRows.alarmTransition(event, envelope, at.monoMs, at.wallMs);
      else if (event.kind === 'audit') p.eventRows.auditRecord(event, envelope, at.monoMs, at.wallMs);
    }
    // Seqs taken without rows, each range explained by a gap event (docs/storage.md "A full disk").
    const skippedGapSeqs: number[] = [];
    const dropped = cycle.droppedTelemetry;
    if (dropped !== undefined && dropped.count > 0)
      skippedGapSeqs.push(this.skipWithGap('telemetry', dropped, at));
    const lost = cycle.lostDecisions;
    if (lost !== undefined) skippedGapSeqs.push(this.skipWithGap('priority', lost, at));
    if (skippedGapSeqs.length > 0) touched.add('gap');
    const eviction = this.evictTelemetry(at);
    if (eviction !== null) touched.add('gap');
    this.checkQuotas(touched);

    for (const record of cycle.alarmRecords ?? []) p.alarmRecords.upsert(record);

    const deleted = p.retention.apply(p.policy.retention, nowMono);
    p.meta.write.run(UPTIME_KEY, nowMono);

    const seqs = [...eventSeqs, ...skippedGapSeqs, ...(eviction === null ? [] : [eviction.gapSeq])];
    const result: CommitResult = {
      firstSeq: seqs[0] ?? null,
      lastSeq: seqs[seqs.length - 1] ?? null,
      count: seqs.length,
      eventSeqs,
      refused: 0,
      polls: polls.length,
      readings,
      evicted: eviction?.count ?? 0,
      gapSeq: eviction?.gapSeq ?? null,
      deleted,
    };
    return { result, aggregateStage: aggregates, minutesWritten };
  }

  /** Counts and logs the events checkEvents refused, once the rest of their cycle committed. */
  private reportRefused(refused: readonly RefusedEvent[]): void {
    for (const { event, issues } of refused) {
      this.counters.refusedEvents++;
      this.parts.logger.error(
        { kind: event.kind, issues: describeIssues(issues), event: clipEvent(event) },
        'event refused before the outbox: it breaks the uplink contract (a gateway bug); the rest of the cycle was committed',
      );
    }
  }

  /**
   * Takes `skipped.count` seqs of `lane` (at least one) without rows and writes the gap event
   * that explains the hole; returns the gap event's global seq.
   */
  private skipWithGap(lane: Lane, skipped: DroppedTelemetry, at: Instant): number {
    const count = Math.max(1, skipped.count);
    const range = this.parts.outbox.skipLaneSeqs(lane, count);
    const gap: GapEvent = {
      kind: 'gap',
      ...range,
      count,
      fromTs: new Date(skipped.fromWallMs).toISOString(),
      toTs: new Date(skipped.toWallMs).toISOString(),
      reason: skipped.reason,
      ...(lane === 'telemetry' ? {} : { lane }),
    };
    return this.parts.outbox.insert(gap, at.monoMs, at.wallMs).seq;
  }

  /**
   * Telemetry over its quota: delete the oldest, at least telemetryEvictRows of them, and write a
   * gap event saying exactly which seqs went (docs/uplink-contract.md, delivery rule 5). Evicted
   * seqs are the telemetry rows between fromSeq and toSeq; rows of other classes in that range
   * stay.
   */
  private evictTelemetry(at: Instant): { count: number; gapSeq: number } | null {
    const { outbox, policy } = this.parts;
    const rows = outbox.count('telemetry');
    const quota = policy.quotas.telemetry;
    if (rows <= quota) return null;
    const range = outbox.evictOldestTelemetry(Math.max(rows - quota, policy.telemetryEvictRows));
    if (range === null) return null;
    const gap: GapEvent = {
      kind: 'gap',
      ...range,
      reason: `telemetry quota of ${quota} unacknowledged events full; the oldest ${range.count} were evicted`,
    };
    const envelope = outbox.insert(gap, at.monoMs, at.wallMs);
    return { count: range.count, gapSeq: envelope.seq };
  }

  /**
   * Classes other than telemetry are never evicted. A commit that would take one beyond its
   * quota fails as a whole (nothing of the cycle is stored) rather than drop an alarm or a
   * command result; docs/storage.md says what the gateway does then.
   */
  private checkQuotas(touched: ReadonlySet<EventClass>): void {
    const { outbox, policy } = this.parts;
    for (const eventClass of touched) {
      if (eventClass === 'telemetry') continue;
      const rows = outbox.count(eventClass);
      if (rows > policy.quotas[eventClass]) {
        throw new StoreError(
          'STORE_OUTBOX_FULL',
          `the cycle would hold ${rows} unacknowledged ${eventClass} events, above the quota of ` +
            `${policy.quotas[eventClass]} (never evicted): the cycle was not stored`,
          { file: this.path },
        );
      }
    }
  }

  private resolveAt(at: Instant | undefined): Instant {
    if (at === undefined) return this.now();
    if (!Number.isFinite(at.monoMs) || !Number.isFinite(at.wallMs)) {
      throw new StoreError('STORE_INVALID_INPUT', `cycle time ${JSON.stringify(at)} is not finite`);
    }
    return { monoMs: Math.round(at.monoMs), wallMs: Math.round(at.wallMs) };
  }

  private checkWindow(window: RawWindowRequest): RawWindowRequest {
    const { fromMonoMs, toMonoMs } = window;
    if (
      window.id === '' ||
      !Number.isFinite(fromMonoMs) ||
      !Number.isFinite(toMonoMs) ||
      toMonoMs < fromMonoMs
    ) {
      throw new StoreError(
        'STORE_INVALID_INPUT',
        `raw window ${JSON.stringify(window)} has no id or no valid span`,
      );
    }
    const max = this.parts.policy.maxWindowSpanMs;
    if (toMonoMs - fromMonoMs <= max)
      return { ...window, fromMonoMs: Math.round(fromMonoMs), toMonoMs: Math.round(toMonoMs) };
    this.parts.logger.warn(
      { window, maxSpanMs: max },
      'raw window longer than allowed; cut to its first part',
    );
    return { ...window, fromMonoMs: Math.round(fromMonoMs), toMonoMs: Math.round(fromMonoMs) + max };
  }

  private maybeCheckpoint(): void {
    this.commitsSinceCheckpoint++;
    const { policy, uptime, logger, storage } = this.parts;
    // Storage short: the WAL is the one file that still grows (every decision is a commit), so it
    // is checkpointed after each commit and truncated to nothing, instead of to journal_size_limit.
    const short = storage.state().state !== 'ok';
    const due =
      short ||
      this.commitsSinceCheckpoint >= policy.checkpointEveryCommits ||
      uptime.now() - this.lastCheckpointMono >= policy.checkpointEveryMs;
    if (!due) return;
    try {
      this.checkpoint(short ? 'TRUNCATE' : 'PASSIVE');
    } catch (error) {
      // The commit itself succeeded; a failed checkpoint only lets the WAL grow until the next.
      this.counters.failedCheckpoints++;
      this.commitsSinceCheckpoint = 0;
      this.lastCheckpointMono = uptime.now();
      logger.warn({ err: error }, 'WAL checkpoint failed');
    }
  }

  private openReader(): SqliteDatabase {
    if (this.reader !== undefined) return this.reader;
    try {
      this.reader = new Database(this.path, {
        readonly: true,
        fileMustExist: true,
        timeout: this.parts.policy.busyTimeoutMs,
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreError('STORE_OPEN_FAILED', `cannot open a reader on ${this.path}: ${reason}`, {
        file: this.path,
        cause: error,
      });
    }
    return this.reader;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new StoreError('STORE_CLOSED', `gateway store ${this.path} is closed`, { file: this.path });
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    // No -wal file (after a TRUNCATE checkpoint and close, or before the first write) is size 0.
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 0;
    throw error;
  }
}

interface RefusedEvent {
  event: GatewayEventBody;
  issues: Issue[];
}

/**
 * The uplink contract checked at the source (docs/uplink-contract.md, "invalid events"): an
 * event the cloud's schema would refuse is a bug in the gateway, and once in the outbox it would
 * travel for ever. It is refused here, alone: the rest of the cycle (readings, alarm records, the
 * other events) commits as usual, so one bug never costs a decision. Each refusal is an error log
 * line with the reasons and counts in kerbside_store_refused_events_total.
 */
function checkEvents(events: readonly GatewayEventBody[]): {
  valid: GatewayEventBody[];
  refused: RefusedEvent[];
} {
  const valid: GatewayEventBody[] = [];
  const refused: RefusedEvent[] = [];
  for (const event of events) {
    const checked = validateEventBody(event);
    if (checked.ok) valid.push(event);
    else refused.push({ event, issues: checked.errors });
  }
  return { valid, refused };
}

function describeIssues(issues: readonly Issue[]): string[] {
  return issues.slice(0, 5).map(formatIssue);
}

/** Enough of a refused event to find its source, never a multi-kilobyte dump in one log line. */
function clipEvent(event: GatewayEventBody): string {
  let text: string;
  try {
    text = JSON.stringify(event) ?? String(event);
  } catch (error) {
    // Too deep to serialise (the contract bounds depth; this event broke it): say so instead.
    return `(${event.kind} event that cannot be serialised: ${error instanceof Error ? error.message : String(error)})`;
  }
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

function checkRange(method: string, seq: number, limit: number): void {
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(limit) || limit < 1) {
    throw new StoreError('STORE_INVALID_INPUT', `${method}(${seq}, ${limit}): integers expected, limit >= 1`);
  }
}
