import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import {
  authenticateSecret,
  checkSecret,
  generateSecret,
  hashSecret,
  keyIdOf,
  MemoryCredentialStore,
  verifySecret,
} from '../../../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { scryptHash, slowKdfRuns } from '../../../../runtime/scrypt.js';

const key = CredentialKey.generate();
/** The parameters of the rows written before keyed hashes. */
const LEGACY = { n: 16384, r: 8, p: 1 };

describe('broker credentials', () => {
  it('generates 32-byte base64url secrets, different every time', () => {
    const a = generateSecret();
    const b = generateSecret();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a, 'base64url').length, 32);
    assert.notEqual(a, b);
  });

  it('hashes as hmac-sha256$<keyId>$<base64>, depending on the key, without the secret', () => {
    const secret = generateSecret();
    const encoded = hashSecret(secret, key);
    const parts = encoded.split('$');
    assert.equal(parts.length, 3);
    assert.equal(parts[0], 'hmac-sha256');
    assert.equal(parts[1], key.id);
    assert.match(key.id, /^[0-9a-f]{12}$/);
    assert.equal(Buffer.from(parts[2] ?? '', 'base64').length, 32);
    assert.equal(keyIdOf(encoded), key.id);
    const other = CredentialKey.generate();
    assert.notEqual(other.id, key.id);
    assert.notEqual(hashSecret(secret, other).split('$')[2], parts[2], 'another key, another hash');
    assert.ok(!encoded.includes(secret), 'the secret never appears in its hash');
  });

  it('verifies the right secret and refuses a wrong one, without the slow KDF', async () => {
    const secret = generateSecret();
    const encoded = hashSecret(secret, key);
    const runs = slowKdfRuns();
    assert.equal(await verifySecret(secret, encoded, key), true);
    assert.equal(await verifySecret(`${secret}x`, encoded, key), false);
    assert.equal(await verifySecret('', encoded, key), false);
    assert.equal(await verifySecret(generateSecret(), encoded, key), false);
    assert.equal(slowKdfRuns(), runs, 'keyed hashes never run scrypt');
  });

  it('names the key a hash was made with when it is not the one given', async () => {
    const secret = generateSecret();
    const other = CredentialKey.generate();
    const check = await checkSecret(secret, hashSecret(secret, other), key);
    assert.equal(check.ok, false);
    assert.ok(!check.ok && check.reason.includes(other.id) && check.reason.includes(key.id));
  });

  it('refuses tampered or malformed encodings without throwing', async () => {
    const secret = 'correct horse battery staple';
    const encoded = hashSecret(secret, key);
    const parts = encoded.split('$');
    const mac = Buffer.from(parts[2] ?? '', 'base64');
    mac[0] = (mac[0] ?? 0) ^ 0xff;
    const tampered = [
      [...parts.slice(0, 2), mac.toString('base64')].join('$'),
      '',
      'hmac-sha256',
      encoded.replace(/^hmac-sha256/, 'hmac-sha512'),
      [parts[0], 'ABCDEF012345', parts[2]].join('$'),
      [...parts.slice(0, 2), 'AAAA'].join('$'),
      `${encoded}$extra`,
      'scrypt$16384$8$1$$',
      ['scrypt', String(1 << 30), '8', '1', 'c2FsdHNhbHRzYWx0c2FsdA==', parts[2]].join('$'),
    ];
    for (const candidate of tampered) {
      assert.equal(await verifySecret(secret, candidate, key), false, candidate);
    }
  });

  it('still verifies a legacy scrypt hash, with scrypt, and offers the keyed form to store', async () => {
    const secret = generateSecret();
    const legacy = await scryptHash(secret, LEGACY);
    const runs = slowKdfRuns();
    const check = await checkSecret(secret, legacy, key);
    assert.deepEqual(check, { ok: true, upgrade: hashSecret(secret, key) });
    assert.equal(slowKdfRuns(), runs + 1);
    assert.equal((await checkSecret(generateSecret(), legacy, key)).ok, false);
  });

  it('authenticates against a store: unknown ids cost an HMAC, legacy rows are upgraded in place', async () => {
    const store = new MemoryCredentialStore();
    const secret = generateSecret();
    const legacy = await scryptHash(secret, LEGACY);
    store.set('cab-1', { hash: legacy, disabled: false });
    let runs = slowKdfRuns();
    assert.deepEqual(await authenticateSecret(store, 'cab-9', secret, key), { result: 'unknown' });
    assert.equal(slowKdfRuns(), runs, 'an unknown id never reaches scrypt');
    const first = await authenticateSecret(store, 'cab-1', secret, key);
    assert.deepEqual(first, { result: 'ok', disabled: false, hash: hashSecret(secret, key) });
    assert.equal((await store.get('cab-1'))?.hash, hashSecret(secret, key));
    runs = slowKdfRuns();
    assert.equal((await authenticateSecret(store, 'cab-1', secret, key)).result, 'ok');
    assert.equal((await authenticateSecret(store, 'cab-1', generateSecret(), key)).result, 'refused');
    assert.equal(slowKdfRuns(), runs, 'once upgraded, the row never costs scrypt again');
  });

  it('compares MACs with crypto.timingSafeEqual', () => {
    const source = readFileSync(
      new URL('../../../../cloud-sync/service/broker/credentials.ts', import.meta.url),
      'utf8',
    );
    assert.match(source, /timingSafeEqual\(candidate, stored\)/);
    assert.doesNotMatch(source, /candidate\.equals\(|candidate === stored/);
  });

  it('never shows the key when logged or serialised', () => {
    assert.equal(inspect(key), `CredentialKey(${key.id})`);
    assert.equal(JSON.stringify({ key }), JSON.stringify({ key: { keyId: key.id } }));
  });

  it('keeps an in-memory store that hands out copies and upgrades only the hash it was shown', async () => {
    const store = new MemoryCredentialStore();
    store.set('cab-1', { hash: 'h', disabled: false });
    const got = await store.get('cab-1');
    assert.deepEqual(got, { hash: 'h', disabled: false });
    if (got) got.disabled = true;
    assert.deepEqual(await store.get('cab-1'), { hash: 'h', disabled: false });
    await store.upgrade('cab-1', 'not-h', 'x');
    assert.equal((await store.get('cab-1'))?.hash, 'h', 'a rotation meanwhile wins');
    await store.upgrade('cab-1', 'h', 'h2');
    assert.equal((await store.get('cab-1'))?.hash, 'h2');
    assert.equal(await store.get('cab-2'), null);
    store.delete('cab-1');
    assert.equal(await store.get('cab-1'), null);
  });
});
