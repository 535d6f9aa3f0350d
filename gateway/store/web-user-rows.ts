/**
 * Rows of the cabinet web UI's accounts (table `web_users`, migration 6; gateway/web/accounts).
 * Writes run inside commitCycle's transaction (event-store.ts, StoreCycle.webUsers), so an account
 * change and the audit event that reports it upstream commit together or not at all. Reads are
 * the web server's own, on the read connection (gateway/web/accounts/users.ts).
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { StoreError } from './errors.js';

/** The roles of the cabinet web UI (gateway/web/api-types.ts WebRole). */
export type WebUserRole = 'technician' | 'admin';

/** What a commit may write to `web_users` (StoreCycle.webUsers). Times are wall-clock ms. */
export type WebUserWrite =
  | {
      kind: 'create';
      username: string;
      role: WebUserRole;
      passwordHash: string;
      wallMs: number;
    }
  | {
      /** Only the fields given change; an unknown username fails the whole commit. */
      kind: 'update';
      username: string;
      role?: WebUserRole;
      passwordHash?: string;
      disabled?: boolean;
      lastLoginWallMs?: number;
      wallMs: number;
    };

type UpdateParams = [WebUserRole | null, string | null, number | null, number | null, number, string];

export class WebUserRows {
  private readonly insert: Database.Statement<[string, WebUserRole, string, number, number]>;
  private readonly update: Database.Statement<UpdateParams>;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare(
      `INSERT INTO web_users (username, role, password_hash, disabled, created_wall_ms, updated_wall_ms)
       VALUES (?, ?, ?, 0, ?, ?)`,
    );
    this.update = db.prepare(
      `UPDATE web_users
          SET role = COALESCE(?, role),
              password_hash = COALESCE(?, password_hash),
              disabled = COALESCE(?, disabled),
              last_login_wall_ms = COALESCE(?, last_login_wall_ms),
              updated_wall_ms = ?
        WHERE username = ?`,
    );
  }

  /** Inside the commit's transaction: a duplicate or unknown username throws, rolling it all back. */
  write(change: WebUserWrite): void {
    if (change.kind === 'create') {
      this.insert.run(change.username, change.role, change.passwordHash, change.wallMs, change.wallMs);
      return;
    }
    const disabled = change.disabled === undefined ? null : change.disabled ? 1 : 0;
    const result = this.update.run(
      change.role ?? null,
      change.passwordHash ?? null,
      disabled,
      change.lastLoginWallMs ?? null,
      change.wallMs,
      change.username,
    );
    if (result.changes === 0) {
      throw new StoreError('STORE_INVALID_INPUT', `no web user '${change.username}' to update`);
    }
  }
}
