/**
 * Rows of the downlink (docs/uplink-contract.md, delivery rule 7; docs/commands.md,
 * docs/config-downlink.md): received commands, configuration versions, the active version and the
 * technician's local overrides. Writes run inside commitCycle's transaction (event-store.ts), so a
 * command's result row and its command_result outbox event, or a config version and its
 * config_result event, commit together or not at all. Reads are small lookups on the write
 * connection.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

export type CommandStatus = 'received' | 'running' | 'succeeded' | 'failed' | 'expired' | 'rejected';

/** One received command (table `commands`). */
export interface CommandRow {
  id: string;
  issuedAt: string;
  expiresAt: string;
  target: string;
  action: string;
  /** JSON text of the params as received ('{}' when unreadable). */
  params: string;
  status: CommandStatus;
  error: string | null;
  receivedMonoMs: number;
  receivedWallMs: number;
  finishedMonoMs: number | null;
  finishedWallMs: number | null;
}

export type ConfigVersionStatus = 'applied' | 'rejected' | 'rolled_back';

/** One configuration document received (table `config_versions`). */
export interface ConfigVersionRow {
  version: number;
  hash: string;
  /** JSON text of the document. */
  document: string;
  status: ConfigVersionStatus;
  /** JSON text of the errors (rejected / rolled back), null when applied. */
  detail: string | null;
  receivedMonoMs: number;
  receivedWallMs: number;
  appliedMonoMs: number | null;
  appliedWallMs: number | null;
  previousVersion: number | null;
}

/** One technician override (table `local_overrides`); value and previous are parsed JSON. */
export interface LocalOverrideRow {
  pointer: string;
  value: unknown;
  previous: unknown;
  by: string;
  reason: string | null;
  setMonoMs: number;
  setWallMs: number;
}

/** What a commit may write besides events (StoreCycle.downlink). */
export type DownlinkWrite =
  | { kind: 'command'; row: CommandRow }
  | { kind: 'config_version'; row: ConfigVersionRow }
  | { kind: 'config_version_status'; version: number; status: ConfigVersionStatus; detail: string | null }
  /** The version running now; null: the configuration file alone. */
  | { kind: 'active_config'; version: number | null }
  | { kind: 'override_set'; row: LocalOverrideRow }
  | { kind: 'override_clear'; pointer: string };

const ACTIVE_KEY = 'config_active_version';

interface CommandSqlRow {
  id: string;
  issued_at: string;
  expires_at: string;
  target: string;
  action: string;
  params: string;
  status: CommandStatus;
  error: string | null;
  received_mono_ms: number;
  received_wall_ms: number;
  finished_mono_ms: number | null;
  finished_wall_ms: number | null;
}

interface ConfigSqlRow {
  version: number;
  hash: string;
  document: string;
  status: ConfigVersionStatus;
  detail: string | null;
  received_mono_ms: number;
  received_wall_ms: number;
  applied_mono_ms: number | null;
  applied_wall_ms: number | null;
  previous_version: number | null;
}

interface OverrideSqlRow {
  pointer: string;
  value: string;
  previous: string;
  set_by: string;
  reason: string | null;
  set_mono_ms: number;
  set_wall_ms: number;
}

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export class DownlinkRows {
  private readonly s: {
    upsertCommand: Stmt<unknown[]>;
    command: Stmt<[string], CommandSqlRow>;
    commandsByStatus: Stmt<[string], CommandSqlRow>;
    upsertConfig: Stmt<unknown[]>;
    configStatus: Stmt<[string, string | null, number]>;
    config: Stmt<[number], ConfigSqlRow>;
    configs: Stmt<[], ConfigSqlRow>;
    readActive: Stmt<[string], unknown>;
    writeActive: Stmt<[string, number]>;
    deleteActive: Stmt<[string]>;
    upsertOverride: Stmt<unknown[]>;
    deleteOverride: Stmt<[string]>;
    overrides: Stmt<[], OverrideSqlRow>;
  };

  constructor(db: SqliteDatabase) {
    this.s = {
      upsertCommand: db.prepare(
        `INSERT INTO commands (id, issued_at, expires_at, received_mono_ms, received_wall_ms, target,
                               action, params, status, error, finished_mono_ms, finished_wall_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error,
           finished_mono_ms = excluded.finished_mono_ms, finished_wall_ms = excluded.finished_wall_ms`,
      ),
      command: db.prepare<[string], CommandSqlRow>('SELECT * FROM commands WHERE id = ?'),
      commandsByStatus: db.prepare<[string], CommandSqlRow>(
        'SELECT * FROM commands WHERE status = ? ORDER BY received_mono_ms',
      ),
      upsertConfig: db.prepare(
        `INSERT INTO config_versions (version, hash, document, status, detail, received_mono_ms,
                                      received_wall_ms, applied_mono_ms, applied_wall_ms, previous_version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (version) DO UPDATE SET hash = excluded.hash, document = excluded.document,
           status = excluded.status, detail = excluded.detail, applied_mono_ms = excluded.applied_mono_ms,
           applied_wall_ms = excluded.applied_wall_ms, previous_version = excluded.previous_version`,
      ),
      configStatus: db.prepare<[string, string | null, number]>(
        'UPDATE config_versions SET status = ?, detail = ? WHERE version = ?',
      ),
      config: db.prepare<[number], ConfigSqlRow>('SELECT * FROM config_versions WHERE version = ?'),
      configs: db.prepare<[], ConfigSqlRow>('SELECT * FROM config_versions ORDER BY version'),
      readActive: db.prepare<[string], unknown>('SELECT value FROM store_meta WHERE key = ?').pluck(),
      writeActive: db.prepare<[string, number]>(
        'INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      deleteActive: db.prepare<[string]>('DELETE FROM store_meta WHERE key = ?'),
      upsertOverride: db.prepare(
        `INSERT INTO local_overrides (pointer, value, previous, set_by, reason, set_mono_ms, set_wall_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (pointer) DO UPDATE SET value = excluded.value, previous = excluded.previous,
           set_by = excluded.set_by, reason = excluded.reason, set_mono_ms = excluded.set_mono_ms,
           set_wall_ms = excluded.set_wall_ms`,
      ),
      deleteOverride: db.prepare<[string]>('DELETE FROM local_overrides WHERE pointer = ?'),
      overrides: db.prepare<[], OverrideSqlRow>('SELECT * FROM local_overrides ORDER BY pointer'),
    };
  }

  /** Runs inside the caller's transaction. */
  write(change: DownlinkWrite): void {
    switch (change.kind) {
      case 'command': {
        const r = change.row;
        this.s.upsertCommand.run(
          r.id,
          r.issuedAt,
          r.expiresAt,
          r.receivedMonoMs,
          r.receivedWallMs,
          r.target,
          r.action,
          r.params,
          r.status,
          r.error,
          r.finishedMonoMs,
          r.finishedWallMs,
        );
        return;
      }
      case 'config_version': {
        const r = change.row;
        this.s.upsertConfig.run(
          r.version,
          r.hash,
          r.document,
          r.status,
          r.detail,
          r.receivedMonoMs,
          r.receivedWallMs,
          r.appliedMonoMs,
          r.appliedWallMs,
          r.previousVersion,
        );
        return;
      }
      case 'config_version_status':
        this.s.configStatus.run(change.status, change.detail, change.version);
        return;
      case 'active_config':
        if (change.version === null) this.s.deleteActive.run(ACTIVE_KEY);
        else this.s.writeActive.run(ACTIVE_KEY, change.version);
        return;
      case 'override_set': {
        const r = change.row;
        this.s.upsertOverride.run(
          r.pointer,
          JSON.stringify(r.value),
          JSON.stringify(r.previous ?? null),
          r.by,
          r.reason,
          r.setMonoMs,
          r.setWallMs,
        );
        return;
      }
      case 'override_clear':
        this.s.deleteOverride.run(change.pointer);
        return;
    }
  }

  command(id: string): CommandRow | undefined {
    const row = this.s.command.get(id);
    return row === undefined ? undefined : toCommand(row);
  }

  commandsWithStatus(status: CommandStatus): CommandRow[] {
    return this.s.commandsByStatus.all(status).map(toCommand);
  }

  configVersion(version: number): ConfigVersionRow | undefined {
    const row = this.s.config.get(version);
    return row === undefined ? undefined : toConfig(row);
  }

  configVersions(): ConfigVersionRow[] {
    return this.s.configs.all().map(toConfig);
  }

  activeConfigVersion(): number | null {
    const value = this.s.readActive.get(ACTIVE_KEY);
    return typeof value === 'number' ? value : null;
  }

  localOverrides(): LocalOverrideRow[] {
    return this.s.overrides.all().map((r) => ({
      pointer: r.pointer,
      value: JSON.parse(r.value) as unknown,
      previous: JSON.parse(r.previous) as unknown,
      by: r.set_by,
      reason: r.reason,
      setMonoMs: r.set_mono_ms,
      setWallMs: r.set_wall_ms,
    }));
  }
}

function toCommand(r: CommandSqlRow): CommandRow {
  return {
    id: r.id,
    issuedAt: r.issued_at,
    expiresAt: r.expires_at,
    target: r.target,
    action: r.action,
    params: r.params,
    status: r.status,
    error: r.error,
    receivedMonoMs: r.received_mono_ms,
    receivedWallMs: r.received_wall_ms,
    finishedMonoMs: r.finished_mono_ms,
    finishedWallMs: r.finished_wall_ms,
  };
}

function toConfig(r: ConfigSqlRow): ConfigVersionRow {
  return {
    version: r.version,
    hash: r.hash,
    document: r.document,
    status: r.status,
    detail: r.detail,
    receivedMonoMs: r.received_mono_ms,
    receivedWallMs: r.received_wall_ms,
    appliedMonoMs: r.applied_mono_ms,
    appliedWallMs: r.applied_wall_ms,
    previousVersion: r.previous_version,
  };
}
