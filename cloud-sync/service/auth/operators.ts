/**
 * Operator accounts of the cloud console and API (docs/auth.md): create, list, change roles and
 * unit, disable and enable, set a password, and check credentials at login. Every write that takes
 * access away (disable, new password) revokes the operator's sessions in the same transaction, so a
 * stolen token stops working the moment the account is secured. Audit rows are written by the
 * caller (the HTTP plugin, or the CLI), which knows who acted and from where.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { OperatorsTable } from '../db/case-tables.js';
import type { CloudSchema } from '../db/schema.js';
import { AuthError } from './errors.js';
import { checkPassword, dummyPasswordHash, hashPassword, validatePassword } from './passwords.js';
import { isRole, ROLES, type AuthenticatedOperator, type Role } from './roles.js';
import { revokeSessionsOf } from './sessions.js';

/** Lower-case, starts with a letter, 3 to 64 characters: safe in URLs, logs and the audit trail. */
export const USERNAME_RE = /^[a-z][a-z0-9._-]{2,63}$/;
const MAX_DISPLAY_NAME = 128;
const MAX_UNIT = 128;

export interface OperatorRecord extends AuthenticatedOperator {
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewOperator {
  username: string;
  /** Defaults to the username. */
  displayName?: string;
  roles: readonly string[];
  /** Required iff roles include owner_unit (the unit whose cases the operator works). */
  unit?: string | null;
  password: string;
}

export interface OperatorChanges {
  displayName?: string;
  roles?: readonly string[];
  /** null clears it; left out, it is kept while owner_unit stays and cleared otherwise. */
  unit?: string | null;
  disabled?: boolean;
}

type Db = Kysely<CloudSchema> | Transaction<CloudSchema>;

export function isUsername(value: string): boolean {
  return USERNAME_RE.test(value);
}

function requireUsername(username: string): void {
  if (!isUsername(username)) {
    throw new AuthError(
      'AUTH_INVALID_ARGUMENT',
      'a username is 3 to 64 characters: a lower-case letter, then lower-case letters, digits, . _ or -',
    );
  }
}

function checkRoles(roles: readonly string[]): Role[] {
  if (roles.length === 0) throw new AuthError('AUTH_INVALID_ARGUMENT', 'an operator needs at least one role');
  const unknown = roles.filter((role) => !isRole(role));
  if (unknown.length > 0) {
    throw new AuthError(
      'AUTH_INVALID_ARGUMENT',
      `unknown role ${unknown.map((r) => JSON.stringify(r)).join(', ')}; roles are ${ROLES.join(', ')}`,
    );
  }
  // Stored in ROLES order, once each, so equal role sets compare equal.
  return ROLES.filter((role) => roles.includes(role));
}

/** An owner_unit operator sees only its unit's cases (roles.ts), so it must have one; others none. */
function checkUnit(roles: readonly Role[], unit: string | null): string | null {
  const trimmed = unit?.trim() ?? '';
  if (roles.includes('owner_unit')) {
    if (trimmed === '') throw new AuthError('AUTH_INVALID_ARGUMENT', 'an owner_unit operator needs a unit');
    if (trimmed.length > MAX_UNIT) {
      throw new AuthError('AUTH_INVALID_ARGUMENT', `a unit has at most ${MAX_UNIT} characters`);
    }
    return trimmed;
  }
  if (trimmed !== '') {
    throw new AuthError('AUTH_INVALID_ARGUMENT', 'only an owner_unit operator belongs to a unit');
  }
  return null;
}

function checkDisplayName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '' || trimmed.length > MAX_DISPLAY_NAME || /\p{Cc}/u.test(trimmed)) {
    throw new AuthError(
      'AUTH_INVALID_ARGUMENT',
      `a display name is 1 to ${MAX_DISPLAY_NAME} printable characters`,
    );
  }
  return trimmed;
}

function toRecord(row: Selectable<OperatorsTable>): OperatorRecord {
  const parsed = JSON.parse(row.roles) as unknown;
  const roles = Array.isArray(parsed) ? parsed.filter(isRole) : [];
  return {
    username: row.username,
    displayName: row.display_name,
    roles,
    unit: row.unit,
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The AuthenticatedOperator part of a record (what request.operator carries). */
export function toAuthenticated(record: OperatorRecord): AuthenticatedOperator {
  return {
    username: record.username,
    displayName: record.displayName,
    roles: record.roles,
    unit: record.unit,
  };
}

async function getRow(db: Db, username: string): Promise<Selectable<OperatorsTable> | undefined> {
  return db.selectFrom('operators').selectAll().where('username', '=', username).executeTakeFirst();
}

export async function createOperator(
  db: Kysely<CloudSchema>,
  input: NewOperator,
  now: Date,
): Promise<OperatorRecord> {
  requireUsername(input.username);
  const roles = checkRoles(input.roles);
  const unit = checkUnit(roles, input.unit ?? null);
  const displayName = checkDisplayName(input.displayName ?? input.username);
  validatePassword(input.password, input.username);
  const passwordHash = await hashPassword(input.password);
  const at = now.toISOString();
  return db.transaction().execute(async (trx) => {
    if ((await getRow(trx, input.username)) !== undefined) {
      throw new AuthError('AUTH_CONFLICT', `operator ${input.username} exists already`);
    }
    await trx
      .insertInto('operators')
      .values({
        username: input.username,
        display_name: displayName,
        password_hash: passwordHash,
        roles: JSON.stringify(roles),
        unit,
        disabled: 0,
        created_at: at,
        updated_at: at,
      })
      .execute();
    return {
      username: input.username,
      displayName,
      roles,
      unit,
      disabled: false,
      createdAt: at,
      updatedAt: at,
    };
  });
}

export async function listOperators(db: Kysely<CloudSchema>): Promise<OperatorRecord[]> {
  const rows = await db.selectFrom('operators').selectAll().orderBy('username').execute();
  return rows.map(toRecord);
}

/** The operator, or null when there is none by that name. */
export async function getOperator(db: Db, username: string): Promise<OperatorRecord | null> {
  const row = await getRow(db, username);
  return row === undefined ? null : toRecord(row);
}

async function requireOperator(db: Db, username: string): Promise<OperatorRecord> {
  const found = await getOperator(db, username);
  if (found === null) throw new AuthError('AUTH_NOT_FOUND', `no operator ${username}`);
  return found;
}

/**
 * Changes display name, roles, unit and/or the disabled flag. Disabling revokes every session of
 * the operator in the same transaction.
 */
export async function updateOperator(
  db: Kysely<CloudSchema>,
  username: string,
  changes: OperatorChanges,
  now: Date,
): Promise<OperatorRecord> {
  return db.transaction().execute(async (trx) => {
    const current = await requireOperator(trx, username);
    const roles = changes.roles === undefined ? current.roles : checkRoles(changes.roles);
    const unitAsked =
      changes.unit !== undefined ? changes.unit : roles.includes('owner_unit') ? current.unit : null;
    const unit = checkUnit(roles, unitAsked);
    const displayName =
      changes.displayName === undefined ? current.displayName : checkDisplayName(changes.displayName);
    const disabled = changes.disabled ?? current.disabled;
    const at = now.toISOString();
    await trx
      .updateTable('operators')
      .set({
        display_name: displayName,
        roles: JSON.stringify(roles),
        unit,
        disabled: disabled ? 1 : 0,
        updated_at: at,
      })
      .where('username', '=', username)
      .execute();
    // Taking roles away must bite at once too, not only at the next login: sessions carry no
    // roles (lookupSession reads them fresh), so only disabling needs the revocation.
    if (disabled && !current.disabled) await revokeSessionsOf(trx, username);
    return { ...current, displayName, roles, unit, disabled, updatedAt: at };
  });
}

/** Sets a new password and revokes every session of the operator (same transaction). */
export async function setOperatorPassword(
  db: Kysely<CloudSchema>,
  username: string,
  password: string,
  now: Date,
): Promise<void> {
  validatePassword(password, username);
  const passwordHash = await hashPassword(password);
  await db.transaction().execute(async (trx) => {
    await requireOperator(trx, username);
    await trx
      .updateTable('operators')
      .set({ password_hash: passwordHash, updated_at: now.toISOString() })
      .where('username', '=', username)
      .execute();
    await revokeSessionsOf(trx, username);
  });
}

/**
 * The operator if `password` is right and the account enabled, else null, without saying why.
 * An unknown username is checked against a dummy hash and a disabled account's hash is still
 * verified, so every refusal costs one scrypt and timing does not reveal which usernames exist.
 * A right password whose hash has weaker parameters than today's (auth/passwords.ts) is hashed
 * again and stored, so old accounts reach the current strength at their next login.
 */
export async function verifyCredentials(
  db: Kysely<CloudSchema>,
  username: string,
  password: string,
): Promise<AuthenticatedOperator | null> {
  const row = isUsername(username) ? await getRow(db, username) : undefined;
  const hash = row?.password_hash ?? (await dummyPasswordHash());
  const check = await checkPassword(password, hash);
  if (row === undefined || !check.ok || row.disabled === 1) return null;
  if (check.rehash) await rehashPassword(db, row.username, hash, password);
  return toAuthenticated(toRecord(row));
}

/**
 * Stores a fresh hash of a password that just verified. Compare-and-set on the old hash: a new
 * password set meanwhile (setOperatorPassword) wins. `updated_at` is left alone: the account did
 * not change, only how its password is kept.
 */
async function rehashPassword(
  db: Kysely<CloudSchema>,
  username: string,
  oldHash: string,
  password: string,
): Promise<void> {
  const newHash = await hashPassword(password);
  await db
    .updateTable('operators')
    .set({ password_hash: newHash })
    .where('username', '=', username)
    .where('password_hash', '=', oldHash)
    .execute();
}
