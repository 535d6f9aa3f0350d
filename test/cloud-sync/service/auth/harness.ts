/**
 * Shared pieces of the auth tests, usable by any route test: a migrated SQLite database in a temp
 * dir and an operator with a live session (`signIn`). The app a route test injects against is the
 * real API assembly (../api/harness.ts buildTestApi). Usage in a route test:
 *
 *   const app = await buildTestApi(db);
 *   const { headers } = await signIn(db, { username: 'disp.wang', roles: ['dispatcher'] });
 *   await app.inject({ method: 'POST', url: '/api/v1/...', headers, payload: {...} });
 */
import { openTempCloudDb, type TempCloudDb } from '../../../helpers/cloud-db.js';
import type { Kysely } from 'kysely';
import { createOperator } from '../../../../cloud-sync/service/auth/operators.js';
import { usePasswordScryptForTests } from '../../../../cloud-sync/service/auth/passwords.js';
import type { Role } from '../../../../cloud-sync/service/auth/roles.js';
import { createSession } from '../../../../cloud-sync/service/auth/sessions.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';

export type { TempCloudDb as TempDb } from '../../../helpers/cloud-db.js';

/** A fresh migrated database in its own temp dir (test/helpers/cloud-db.ts). */
export const openTempDb = (prefix = 'kerbside-auth-'): Promise<TempCloudDb> => openTempCloudDb(prefix);

/** Logger that keeps error lines, for asserting "logged, not crashed". */
export class MemoryLogger {
  readonly errors: { fields: object; message: string }[] = [];
  error(fields: object, message: string): void {
    this.errors.push({ fields, message });
  }
}

/**
 * Route tests sign in hundreds of times: a cheap scrypt (N=2^12) keeps them fast. The production
 * cost (auth/passwords.ts PASSWORD_SCRYPT) and its rehash are tested in passwords.test.ts, which
 * does not import this file.
 */
usePasswordScryptForTests({ n: 1 << 12, r: 8, p: 1 });

export const TEST_PASSWORD = 'correct horse battery';

export interface SignedIn {
  username: string;
  token: string;
  /** `{ authorization: 'Bearer <token>' }` for app.inject. */
  headers: { authorization: string };
}

/**
 * Creates an operator (password TEST_PASSWORD unless given) and a session for it, directly in the
 * database (no HTTP login, no rate limit).
 */
export async function signIn(
  db: Kysely<CloudSchema>,
  operator: { username: string; roles: Role[]; unit?: string; displayName?: string; password?: string },
  now: Date = new Date(),
): Promise<SignedIn> {
  await createOperator(
    db,
    {
      username: operator.username,
      roles: operator.roles,
      unit: operator.unit ?? null,
      password: operator.password ?? TEST_PASSWORD,
      ...(operator.displayName === undefined ? {} : { displayName: operator.displayName }),
    },
    now,
  );
  const session = await createSession(db, operator.username, now);
  return {
    username: operator.username,
    token: session.token,
    headers: { authorization: `Bearer ${session.token}` },
  };
}
