/**
 * The password-hash queue is bounded (issue 12): at most MAX_CONCURRENT_PASSWORD_HASHES scrypt runs
 * at once and MAX_WAITING_PASSWORD_HASHES waiting; one more is refused at once with 429
 * AUTH_RATE_LIMITED instead of queueing behind a flood without end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError } from '../../../../cloud-sync/service/auth/errors.js';
import {
  checkPassword,
  hashPassword,
  MAX_CONCURRENT_PASSWORD_HASHES,
  MAX_WAITING_PASSWORD_HASHES,
  usePasswordScryptForTests,
} from '../../../../cloud-sync/service/auth/passwords.js';

describe('password hash queue', () => {
  it('refuses the checks beyond the running and waiting bound with AUTH_RATE_LIMITED, then serves again', async () => {
    // Cheap parameters: the bound is what is tested, not the cost.
    usePasswordScryptForTests({ n: 1 << 10, r: 8, p: 1 });
    const hash = await hashPassword('correct horse battery');
    const bound = MAX_CONCURRENT_PASSWORD_HASHES + MAX_WAITING_PASSWORD_HASHES;
    const extra = 3;
    // All started in one tick, so the queue is full when the last ones arrive.
    const results = await Promise.allSettled(
      Array.from({ length: bound + extra }, () => checkPassword('wrong guess here', hash)),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, extra);
    for (const r of refused) {
      assert.ok(r.reason instanceof AuthError, String(r.reason));
      assert.equal(r.reason.code, 'AUTH_RATE_LIMITED');
    }
    assert.ok(results.slice(0, bound).every((r) => r.status === 'fulfilled' && !r.value.ok));
    // The queue drained: a check is served again.
    assert.equal((await checkPassword('correct horse battery', hash)).ok, true);
  });
});
