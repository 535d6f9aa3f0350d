/**
 * The shared password code (runtime/passwords.ts) both services build on: the rules and the
 * generator, and a PasswordHasher's bounded queue, rehash flag, dummy hash and test-only cost knob,
 * each checked on a hasher with its own small bounds and its own error class.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkPasswordRules,
  generateReadablePassword,
  PasswordHasher,
  type PasswordHasherOptions,
} from '../../runtime/passwords.js';
import { decodeScrypt, scryptHash, slowKdfRuns, type ScryptParams } from '../../runtime/scrypt.js';

/** The caller's error: which maker made it, so a test sees the right one was used. */
class CallerError extends Error {
  constructor(
    readonly kind: 'invalid' | 'busy',
    message: string,
  ) {
    super(message);
  }
}

/** Cheap parameters: the tests are about the logic, not the cost. */
const CHEAP: ScryptParams = { n: 16, r: 8, p: 1 };

function makeHasher(bounds: { maxConcurrent: number; maxWaiting: number }, params = CHEAP): PasswordHasher {
  const options: PasswordHasherOptions = {
    params,
    ...bounds,
    errors: {
      invalid: (message) => new CallerError('invalid', message),
      busy: (message) => new CallerError('busy', message),
    },
  };
  return new PasswordHasher(options);
}

function paramsOf(hash: string): ScryptParams {
  const decoded = decodeScrypt(hash);
  assert.ok(decoded, `a scrypt hash: ${hash}`);
  return { n: decoded.n, r: decoded.r, p: decoded.p };
}

/** 'hashed', or the kind of the CallerError it was refused with. */
function outcome(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'hashed',
    (error: unknown) => (error instanceof CallerError ? error.kind : `unexpected: ${String(error)}`),
  );
}

describe('password rules and generator', () => {
  const invalid = (message: string): CallerError => new CallerError('invalid', message);

  it('refuses short, long and username passwords with the caller’s error and exact messages', () => {
    const refusal = (message: string) => (error: unknown) =>
      error instanceof CallerError && error.kind === 'invalid' && error.message === message;
    assert.throws(
      () => checkPasswordRules('elevenchars', 'tech.li', invalid),
      refusal('a password needs at least 12 characters'),
    );
    assert.throws(
      () => checkPasswordRules('x'.repeat(257), 'tech.li', invalid),
      refusal('a password has at most 256 characters'),
    );
    assert.throws(
      () => checkPasswordRules('Tech.Li.Tech', 'tech.li.tech', invalid),
      refusal('the password must not be the username'),
    );
    assert.doesNotThrow(() => checkPasswordRules('twelve-chars', 'tech.li', invalid));
    assert.doesNotThrow(() => checkPasswordRules('x'.repeat(256), 'tech.li', invalid));
  });

  it('counts the minimum in characters, not UTF-16 units', () => {
    // Each of these emoji is two UTF-16 units: 11 of them are 22 units but 11 characters.
    assert.throws(() => checkPasswordRules('😀'.repeat(11), 'tech.li', invalid), /at least 12/);
    assert.doesNotThrow(() => checkPasswordRules('😀'.repeat(12), 'tech.li', invalid));
  });

  it('generates readable passwords of the asked length, 20 by default', () => {
    assert.match(generateReadablePassword(), /^[a-km-zA-HJ-NP-Z2-9]{20}$/);
    assert.match(generateReadablePassword(32), /^[a-km-zA-HJ-NP-Z2-9]{32}$/);
    assert.notEqual(generateReadablePassword(), generateReadablePassword());
  });
});

describe('PasswordHasher', () => {
  it('runs at most maxConcurrent at once and refuses the one after maxWaiting with the busy error', async () => {
    const bounds = { maxConcurrent: 2, maxWaiting: 3 };
    const hasher = makeHasher(bounds);
    const before = slowKdfRuns();
    // All started in one tick: two run, three wait, the sixth is refused, the seventh too.
    const attempts = Array.from({ length: 7 }, (_, i) => outcome(hasher.hash(`password number ${i}`)));
    assert.equal(slowKdfRuns() - before, bounds.maxConcurrent, 'only maxConcurrent scrypt runs started');
    assert.deepEqual(await Promise.all(attempts), [
      'hashed',
      'hashed',
      'hashed',
      'hashed',
      'hashed',
      'busy',
      'busy',
    ]);
    // The queue drained, and the slots handed from waiter to waiter were counted right: of three
    // new hashes started in one tick, two run at once again, not more.
    const again = slowKdfRuns();
    const next = Array.from({ length: 3 }, () => hasher.hash('after the burst'));
    assert.equal(slowKdfRuns() - again, bounds.maxConcurrent, 'both slots free, and only those');
    await Promise.all(next);
  });

  it('bounds checks too, and a refused check is the busy error, not a wrong password', async () => {
    const hasher = makeHasher({ maxConcurrent: 1, maxWaiting: 1 });
    const hash = await hasher.hash('correct horse battery');
    const outcomes = await Promise.all(
      Array.from({ length: 3 }, () => outcome(hasher.check('correct horse battery', hash))),
    );
    assert.deepEqual(outcomes, ['hashed', 'hashed', 'busy']);
  });

  it('hashes at its parameters and flags a right password whose hash is weaker for a rehash', async () => {
    const strong: ScryptParams = { n: 64, r: 8, p: 1 };
    const hasher = makeHasher({ maxConcurrent: 1, maxWaiting: 4 }, strong);
    assert.deepEqual(hasher.currentParams(), strong);
    const current = await hasher.hash('correct horse battery');
    assert.deepEqual(paramsOf(current), strong);
    assert.deepEqual(await hasher.check('correct horse battery', current), { ok: true, rehash: false });

    for (const weaker of [
      { n: 32, r: 8, p: 1 },
      { n: 64, r: 4, p: 1 },
    ]) {
      const old = await scryptHash('correct horse battery', weaker);
      assert.deepEqual(await hasher.check('correct horse battery', old), { ok: true, rehash: true });
      assert.deepEqual(await hasher.check('not the password', old), { ok: false, rehash: false });
    }
    assert.deepEqual(await hasher.check('correct horse battery', 'scrypt$garbage'), {
      ok: false,
      rehash: false,
    });
  });

  it('makes the dummy hash once, at the current parameters, and again after the knob moves', async () => {
    const hasher = makeHasher({ maxConcurrent: 1, maxWaiting: 4 });
    const before = slowKdfRuns();
    const first = hasher.dummyHash();
    const second = hasher.dummyHash();
    assert.equal(await first, await second);
    assert.equal(await hasher.dummyHash(), await first);
    assert.equal(slowKdfRuns() - before, 1, 'one scrypt run for any number of calls');
    assert.deepEqual(paramsOf(await first), CHEAP);

    const cheaper: ScryptParams = { n: 8, r: 8, p: 1 };
    hasher.useParamsForTests(cheaper);
    assert.deepEqual(hasher.currentParams(), cheaper);
    const remade = await hasher.dummyHash();
    assert.notEqual(remade, await first);
    assert.deepEqual(paramsOf(remade), cheaper);
  });

  it('does not keep a refused dummy hash: the next call tries again', async () => {
    const hasher = makeHasher({ maxConcurrent: 1, maxWaiting: 0 });
    const occupying = hasher.hash('holds the only slot');
    assert.equal(await outcome(hasher.dummyHash()), 'busy');
    await occupying;
    const dummy = await hasher.dummyHash();
    assert.deepEqual(paramsOf(dummy), CHEAP);
    assert.equal(await hasher.dummyHash(), dummy, 'and then keeps the one it made');
  });

  it('refuses the test-only cost knob outside node:test (no NODE_TEST_CONTEXT)', () => {
    const hasher = makeHasher({ maxConcurrent: 1, maxWaiting: 1 });
    const saved = process.env['NODE_TEST_CONTEXT'];
    assert.ok(saved !== undefined, 'this file runs under node --test');
    delete process.env['NODE_TEST_CONTEXT'];
    try {
      assert.throws(
        () => hasher.useParamsForTests({ n: 2, r: 1, p: 1 }),
        (error: unknown) =>
          error instanceof CallerError &&
          error.kind === 'invalid' &&
          error.message === 'the password hash cost is lowered only under node --test',
      );
    } finally {
      process.env['NODE_TEST_CONTEXT'] = saved;
    }
    assert.deepEqual(hasher.currentParams(), CHEAP, 'the refused call changed nothing');
  });
});
