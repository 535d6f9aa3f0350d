/**
 * Password hashing of the cabinet's web users (gateway/web/accounts/passwords.ts): OWASP's 16 MiB
 * scrypt setting, the rules a password meets, and the bounded queue of hashes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeScrypt, scryptMemory } from '../../../../runtime/scrypt.js';
import {
  checkPassword,
  checkPasswordRules,
  generatePassword,
  hashPassword,
  MAX_WAITING_PASSWORD_HASHES,
  usePasswordScryptForTests,
  WEB_PASSWORD_SCRYPT,
} from '../../../../gateway/web/accounts/passwords.js';

describe('gateway/web passwords', () => {
  it('hashes at N=2^14, r=8, p=5: OWASP’s 16 MiB row', async () => {
    assert.deepEqual(WEB_PASSWORD_SCRYPT, { n: 1 << 14, r: 8, p: 5 });
    assert.equal(scryptMemory(WEB_PASSWORD_SCRYPT), 16 * 1024 * 1024);
    const hash = await hashPassword('a-real-password-1');
    assert.deepEqual(
      { n: decodeScrypt(hash)?.n, r: decodeScrypt(hash)?.r, p: decodeScrypt(hash)?.p },
      { n: 1 << 14, r: 8, p: 5 },
    );
    assert.deepEqual(await checkPassword('a-real-password-1', hash), { ok: true, rehash: false });
    assert.deepEqual(await checkPassword('a-real-password-2', hash), { ok: false, rehash: false });
  });

  it('refuses short passwords and the username, and generates readable ones', () => {
    assert.throws(() => checkPasswordRules('elevenchars', 'tech.li'), /at least 12/);
    assert.throws(() => checkPasswordRules('Tech.Li.Tech', 'tech.li.tech'), /not be the username/);
    assert.throws(() => checkPasswordRules('x'.repeat(257), 'tech.li'), /at most 256/);
    assert.doesNotThrow(() => checkPasswordRules('twelve-chars', 'tech.li'));
    assert.match(generatePassword(), /^[a-km-zA-HJ-NP-Z2-9]{20}$/);
  });

  it('runs one hash at a time with at most 8 waiting; one more is refused 429 at once', async () => {
    usePasswordScryptForTests({ n: 16, r: 8, p: 1 });
    const attempts = Array.from({ length: MAX_WAITING_PASSWORD_HASHES + 2 }, () =>
      hashPassword('queued-password-1').then(
        () => 'hashed',
        (error: Error & { code?: string }) => error.code,
      ),
    );
    const outcomes = await Promise.all(attempts);
    assert.deepEqual(outcomes, [
      ...Array<string>(MAX_WAITING_PASSWORD_HASHES + 1).fill('hashed'),
      'WEB_RATE_LIMITED',
    ]);
    assert.equal(await hashPassword('after-the-burst').then(() => 'hashed'), 'hashed', 'the queue drains');
  });
});
