/**
 * The cabinet's web users in kerbside.db (table `web_users`, migration 6; docs/auth.md "The
 * cabinet's accounts"): reads through the store's read connection (WebStorePort.read, a short read
 * transaction), every change through the gateway's one commit path (WebStorePort.commit) together
 * with the `audit` event that records it, so an account never changes without its record, and the
 * record goes upstream through the outbox like every audit event.
 *
 * These functions are what the web routes (routes/accounts.ts), a composition root and the future
 * CLI (`kerbside user add`) call. Sessions are the web server's (sessions.ts): a caller that
 * changes a password or disables a user ends that user's sessions there too, and the guard checks
 * the user row at every request in any case (disabled, password hash), so a change made by the CLI
 * in another process ends them as well.
 */
import type { Statement } from 'better-sqlite3';
import type { AuditEvent } from '../../../cloud-sync/contract/events.js';
import type { SqliteDatabase } from '../../store/database.js';
import type { WebUserWrite } from '../../store/web-user-rows.js';
import type { WebRole, WebUserView } from '../api-types.js';
import { WebError } from '../errors.js';
import type { WebStorePort } from '../ports.js';
import { checkPassword, checkPasswordRules, dummyPasswordHash, hashPassword } from './passwords.js';

/** Lower-case letter first, then 2..63 of letters, digits, `.`, `_` and `-` (the cloud's rule). */
export const USERNAME_RE = /^[a-z][a-z0-9._-]{2,63}$/;
export const WEB_ROLES: readonly WebRole[] = ['technician', 'admin'];

/** Who makes a change: a signed-in user with the address it came from, or the CLI (no address). */
export interface AccountActor {
  username: string;
  address?: string | null;
}

/** A row of `web_users`, as the web server reads it (the hash never leaves the server). */
export interface WebUserRecord {
  username: string;
  role: WebRole;
  passwordHash: string;
  disabled: boolean;
  createdWallMs: number;
  lastLoginWallMs: number | null;
}

interface UserSqlRow {
  username: string;
  role: WebRole;
  password_hash: string;
  disabled: number;
  created_wall_ms: number;
  last_login_wall_ms: number | null;
}

const USER_COLUMNS = 'username, role, password_hash, disabled, created_wall_ms, last_login_wall_ms';

function recordOf(row: UserSqlRow): WebUserRecord {
  return {
    username: row.username,
    role: row.role,
    passwordHash: row.password_hash,
    disabled: row.disabled === 1,
    createdWallMs: row.created_wall_ms,
    lastLoginWallMs: row.last_login_wall_ms,
  };
}

export function viewOf(user: WebUserRecord): WebUserView {
  return {
    username: user.username,
    role: user.role,
    disabled: user.disabled,
    createdWallMs: user.createdWallMs,
    lastLoginWallMs: user.lastLoginWallMs,
  };
}

/** The user lookup is prepared once per connection: the guard runs it at every request. */
const userStatements = new WeakMap<SqliteDatabase, Statement<[string], UserSqlRow>>();

function selectUser(db: SqliteDatabase, username: string): WebUserRecord | null {
  let statement = userStatements.get(db);
  if (statement === undefined) {
    statement = db.prepare<[string], UserSqlRow>(`SELECT ${USER_COLUMNS} FROM web_users WHERE username = ?`);
    userStatements.set(db, statement);
  }
  const row = statement.get(username);
  return row === undefined ? null : recordOf(row);
}

function countEnabledAdmins(db: SqliteDatabase): number {
  const row = db
    .prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM web_users WHERE role = 'admin' AND disabled = 0")
    .get();
  return row?.n ?? 0;
}

export function findWebUser(store: Pick<WebStorePort, 'read'>, username: string): WebUserRecord | null {
  return store.read((db) => selectUser(db, username));
}

export function listWebUsers(store: Pick<WebStorePort, 'read'>): WebUserView[] {
  return store.read((db) =>
    db
      .prepare<[], UserSqlRow>(`SELECT ${USER_COLUMNS} FROM web_users ORDER BY username`)
      .all()
      .map((row) => viewOf(recordOf(row))),
  );
}

/** Whether an enabled admin exists (until one does, the setup link is offered). */
export function hasAdmin(store: Pick<WebStorePort, 'read'>): boolean {
  return store.read(countEnabledAdmins) > 0;
}

/** An audit event of an account action; the actor's address joins the detail (AuditEntry.address). */
export function accountAudit(
  actor: AccountActor,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
): AuditEvent {
  const address = actor.address ?? null;
  return {
    kind: 'audit',
    actor: actor.username,
    action,
    target,
    detail: address === null ? detail : { ...detail, address },
  };
}

function checkUsername(username: string): void {
  if (!USERNAME_RE.test(username)) {
    throw new WebError(
      'WEB_INVALID_ARGUMENT',
      `a username is 3 to 64 characters: a lower-case letter, then lower-case letters, digits, '.', '_' or '-'`,
    );
  }
}

function checkRole(role: string): asserts role is WebRole {
  if (!(WEB_ROLES as readonly string[]).includes(role)) {
    throw new WebError('WEB_INVALID_ARGUMENT', `a role is one of ${WEB_ROLES.join(', ')}, not '${role}'`);
  }
}

export interface NewWebUser {
  username: string;
  role: WebRole;
  password: string;
}

/**
 * Makes a user, audited as `action` (`web.user_add`; `web.setup` for the first admin) by `actor`.
 * Throws WEB_INVALID_ARGUMENT (username, role, password rules) or WEB_CONFLICT (the name exists).
 */
export async function createWebUser(
  store: WebStorePort,
  user: NewWebUser,
  actor: AccountActor,
  action = 'web.user_add',
): Promise<WebUserView> {
  checkUsername(user.username);
  checkRole(user.role);
  checkPasswordRules(user.password, user.username);
  const exists = (): void => {
    if (findWebUser(store, user.username) !== null) {
      throw new WebError('WEB_CONFLICT', `a user '${user.username}' exists already`);
    }
  };
  exists();
  const passwordHash = await hashPassword(user.password);
  // Again after the hash: another request may have made the name meanwhile. The read and the
  // commit below run without an await between them, so nothing else of this process comes between.
  exists();
  const wallMs = store.now().wallMs;
  store.commit({
    webUsers: [{ kind: 'create', username: user.username, role: user.role, passwordHash, wallMs }],
    events: [accountAudit(actor, action, user.username, { role: user.role })],
  });
  return {
    username: user.username,
    role: user.role,
    disabled: false,
    createdWallMs: wallMs,
    lastLoginWallMs: null,
  };
}

export interface WebUserChanges {
  role?: WebRole;
  disabled?: boolean;
  password?: string;
}

export interface WebUserUpdate {
  user: WebUserView;
  /** The password changed or the user was disabled: its sessions must end. */
  endSessions: boolean;
}

/**
 * Changes a user as an admin (`web.user_update`). Throws WEB_NOT_FOUND, WEB_INVALID_ARGUMENT, or
 * WEB_CONFLICT when the change would leave no enabled admin (an admin disabling or demoting
 * itself is refused the same way: it would lock itself out of user management).
 */
export async function updateWebUser(
  store: WebStorePort,
  username: string,
  changes: WebUserChanges,
  actor: AccountActor,
): Promise<WebUserUpdate> {
  if (changes.role !== undefined) checkRole(changes.role);
  const before = findWebUser(store, username);
  if (before === null) throw new WebError('WEB_NOT_FOUND', `no user '${username}'`);
  if (actor.username === username && (changes.disabled === true || changes.role === 'technician')) {
    throw new WebError('WEB_CONFLICT', 'an admin cannot disable itself or take away its own admin role');
  }
  if (changes.password !== undefined) checkPasswordRules(changes.password, username);
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
  const current = findWebUser(store, username);
  if (current === null) throw new WebError('WEB_NOT_FOUND', `no user '${username}'`);
  const after: WebUserRecord = {
    ...current,
    ...(changes.role === undefined ? {} : { role: changes.role }),
    ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
  };
  const losesAdmin =
    current.role === 'admin' && !current.disabled && (after.role !== 'admin' || after.disabled);
  if (losesAdmin && store.read(countEnabledAdmins) <= 1) {
    throw new WebError('WEB_CONFLICT', `'${username}' is the last enabled admin; make another admin first`);
  }
  const write: WebUserWrite = {
    kind: 'update',
    username,
    wallMs: store.now().wallMs,
    ...(changes.role === undefined ? {} : { role: changes.role }),
    ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
    ...(passwordHash === undefined ? {} : { passwordHash }),
  };
  const detail: Record<string, unknown> = {
    ...(changes.role === undefined ? {} : { role: changes.role }),
    ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
    ...(passwordHash === undefined ? {} : { passwordChanged: true }),
  };
  store.commit({ webUsers: [write], events: [accountAudit(actor, 'web.user_update', username, detail)] });
  return { user: viewOf(after), endSessions: passwordHash !== undefined || after.disabled };
}

/**
 * The user `username` and `password` sign in, or null: unknown, disabled or wrong password, told
 * apart by nobody (an unknown or disabled user is checked against a dummy hash at today's
 * parameters, so the time taken does not tell either). `rehash`: the stored hash is weaker than
 * today's parameters and should be replaced (recordLogin does).
 */
export async function verifyCredentials(
  store: Pick<WebStorePort, 'read'>,
  username: string,
  password: string,
): Promise<{ user: WebUserRecord; rehash: boolean } | null> {
  const user = USERNAME_RE.test(username) ? findWebUser(store, username) : null;
  if (user === null || user.disabled) {
    await checkPassword(password, await dummyPasswordHash());
    return null;
  }
  const check = await checkPassword(password, user.passwordHash);
  return check.ok ? { user, rehash: check.rehash } : null;
}

/**
 * Records a successful sign-in (`web.login`, last-login time), with a stronger hash of the password
 * when the stored one is weaker than today's parameters. Returns the user's password hash as stored
 * after it (the session remembers it).
 */
export async function recordLogin(
  store: WebStorePort,
  user: WebUserRecord,
  password: string,
  rehash: boolean,
  actor: AccountActor,
): Promise<string> {
  const passwordHash = rehash ? await hashPassword(password) : undefined;
  const wallMs = store.now().wallMs;
  store.commit({
    webUsers: [
      {
        kind: 'update',
        username: user.username,
        lastLoginWallMs: wallMs,
        wallMs,
        ...(passwordHash === undefined ? {} : { passwordHash }),
      },
    ],
    events: [
      accountAudit(actor, 'web.login', user.username, passwordHash === undefined ? {} : { rehashed: true }),
    ],
  });
  return passwordHash ?? user.passwordHash;
}

/**
 * Changes one's own password (`web.password_change`) after checking the current one. Throws
 * WEB_LOGIN_FAILED for a wrong current password, WEB_INVALID_ARGUMENT for a refused new one.
 * Returns the new hash.
 */
export async function changeOwnPassword(
  store: WebStorePort,
  username: string,
  currentPassword: string,
  newPassword: string,
  actor: AccountActor,
): Promise<string> {
  checkPasswordRules(newPassword, username);
  const verified = await verifyCredentials(store, username, currentPassword);
  if (verified === null) {
    // A wrong current password is a guess at the account from a signed-in session: audited.
    store.commit({ events: [accountAudit(actor, 'web.password_change_failed', username)] });
    throw new WebError('WEB_LOGIN_FAILED', 'the current password is wrong');
  }
  const passwordHash = await hashPassword(newPassword);
  store.commit({
    webUsers: [{ kind: 'update', username, passwordHash, wallMs: store.now().wallMs }],
    events: [accountAudit(actor, 'web.password_change', username)],
  });
  return passwordHash;
}
