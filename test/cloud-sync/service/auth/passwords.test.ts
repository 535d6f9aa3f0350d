/**
 * Operator passwords at OWASP strength (issue 12, finding 9): new hashes are scrypt N=2^17, r=8,
 * p=1, and a right password whose stored hash is weaker (the former N=2^14) is hashed again at
 * login, on the real SQLite database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOperator, verifyCredentials } from '../../../../cloud-sync/service/auth/operators.js';
import { dummyPasswordHash, PASSWORD_SCRYPT } from '../../../../cloud-sync/service/auth/passwords.js';
import { decodeScrypt, scryptHash } from '../../../../runtime/scrypt.js';
// Not ./harness.js: it lowers the cost for the route tests, and this file tests the real one.
import { openTempCloudDb, type TempCloudDb } from '../../../helpers/cloud-db.js';

const TEST_PASSWORD = 'correct horse battery';

const OLD = { n: 1 << 14, r: 8, p: 1 };

describe('operator passwords', () => {
  let temp: TempCloudDb;
  before(async () => {
    temp = await openTempCloudDb('kerbside-passwords-');
  });
  after(() => temp?.close());

  async function storedHash(username: string): Promise<string> {
    const row = await temp.db
      .selectFrom('operators')
      .select('password_hash')
      .where('username', '=', username)
      .executeTakeFirstOrThrow();
    return row.password_hash;
  }

  it('hashes new passwords with scrypt N=2^17, r=8, p=1, and the unknown-user dummy alike', async () => {
    assert.deepEqual(PASSWORD_SCRYPT, { n: 131072, r: 8, p: 1 });
    await createOperator(
      temp.db,
      { username: 'disp.new', roles: ['dispatcher'], password: TEST_PASSWORD },
      new Date(),
    );
    const decoded = decodeScrypt(await storedHash('disp.new'));
    assert.deepEqual({ n: decoded?.n, r: decoded?.r, p: decoded?.p }, PASSWORD_SCRYPT);
    const dummy = decodeScrypt(await dummyPasswordHash());
    assert.deepEqual({ n: dummy?.n, r: dummy?.r, p: dummy?.p }, PASSWORD_SCRYPT);
  });

  it('rehashes an N=2^14 hash to N=2^17 at the next successful login, not at a failed one', async () => {
    await createOperator(
      temp.db,
      { username: 'disp.old', roles: ['dispatcher'], password: TEST_PASSWORD },
      new Date(),
    );
    const old = await scryptHash(TEST_PASSWORD, OLD);
    await temp.db
      .updateTable('operators')
      .set({ password_hash: old })
      .where('username', '=', 'disp.old')
      .execute();
    assert.equal(await verifyCredentials(temp.db, 'disp.old', 'not the password'), null);
    assert.equal(await storedHash('disp.old'), old, 'a wrong password changes nothing');

    const signedIn = await verifyCredentials(temp.db, 'disp.old', TEST_PASSWORD);
    assert.equal(signedIn?.username, 'disp.old');
    const now = await storedHash('disp.old');
    assert.notEqual(now, old);
    assert.equal(decodeScrypt(now)?.n, PASSWORD_SCRYPT.n);
    assert.equal((await verifyCredentials(temp.db, 'disp.old', TEST_PASSWORD))?.username, 'disp.old');
  });
});
