import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  decodeHash,
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
  SCRYPT_N,
  SCRYPT_P,
  SCRYPT_R,
  verifySecret,
} from '../../../../cloud-sync/service/broker/credentials.js';

describe('broker credentials', () => {
  it('generates 32-byte base64url secrets, different every time', () => {
    const a = generateSecret();
    const b = generateSecret();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a, 'base64url').length, 32);
    assert.notEqual(a, b);
  });

  it('hashes as scrypt$N$r$p$salt$hash with a fresh 16-byte salt', async () => {
    const secret = generateSecret();
    const first = await hashSecret(secret);
    const second = await hashSecret(secret);
    const parts = first.split('$');
    assert.equal(parts.length, 6);
    assert.deepEqual(parts.slice(0, 4), ['scrypt', String(SCRYPT_N), String(SCRYPT_R), String(SCRYPT_P)]);
    assert.equal(Buffer.from(parts[4] ?? '', 'base64').length, 16);
    assert.equal(Buffer.from(parts[5] ?? '', 'base64').length, 32);
    assert.notEqual(first, second, 'same secret, different salt, different encoding');
    assert.ok(!first.includes(secret), 'the secret never appears in its hash');
  });

  it('verifies the right secret and refuses a wrong one', async () => {
    const secret = generateSecret();
    const encoded = await hashSecret(secret);
    assert.equal(await verifySecret(secret, encoded), true);
    assert.equal(await verifySecret(`${secret}x`, encoded), false);
    assert.equal(await verifySecret('', encoded), false);
    assert.equal(await verifySecret(generateSecret(), encoded), false);
  });

  it('refuses tampered or malformed encodings without throwing', async () => {
    const secret = 'correct horse battery staple';
    const encoded = await hashSecret(secret);
    const parts = encoded.split('$');
    const key = Buffer.from(parts[5] ?? '', 'base64');
    key[0] = (key[0] ?? 0) ^ 0xff;
    const flippedKey = [...parts.slice(0, 5), key.toString('base64')].join('$');
    const salt = Buffer.from(parts[4] ?? '', 'base64');
    salt[3] = (salt[3] ?? 0) ^ 0x01;
    const flippedSalt = [...parts.slice(0, 4), salt.toString('base64'), parts[5]].join('$');
    const otherN = ['scrypt', '8192', ...parts.slice(2)].join('$');
    const tampered = [
      flippedKey,
      flippedSalt,
      otherN,
      '',
      'scrypt',
      encoded.replace(/^scrypt/, 'bcrypt'),
      ['scrypt', '16383', ...parts.slice(2)].join('$'), // N not a power of two
      ['scrypt', String(1 << 30), ...parts.slice(2)].join('$'), // absurd cost
      ['scrypt', '-1', ...parts.slice(2)].join('$'),
      [...parts.slice(0, 4), 'not base64!', parts[5]].join('$'),
      [...parts.slice(0, 5), 'AAAA'].join('$'), // truncated hash
      `${encoded}$extra`,
    ];
    for (const candidate of tampered) {
      assert.equal(await verifySecret(secret, candidate), false, candidate);
    }
    assert.equal(decodeHash('scrypt$16384$8$1$$'), null);
  });

  it('compares derived keys with crypto.timingSafeEqual', () => {
    const source = readFileSync(
      new URL('../../../../cloud-sync/service/broker/credentials.ts', import.meta.url),
      'utf8',
    );
    assert.match(source, /timingSafeEqual\(candidate, decoded\.key\)/);
    assert.doesNotMatch(source, /candidate\.equals\(|candidate === decoded/);
  });

  it('keeps an in-memory store that hands out copies', async () => {
    const store = new MemoryCredentialStore();
    store.set('cab-1', { hash: 'h', disabled: false });
    const got = await store.get('cab-1');
    assert.deepEqual(got, { hash: 'h', disabled: false });
    if (got) got.disabled = true;
    assert.deepEqual(await store.get('cab-1'), { hash: 'h', disabled: false });
    assert.equal(await store.get('cab-2'), null);
    store.delete('cab-1');
    assert.equal(await store.get('cab-1'), null);
  });
});
