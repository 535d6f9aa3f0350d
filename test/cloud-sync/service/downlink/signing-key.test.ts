/**
 * The cloud's downlink signing key file (cloud-sync/service/downlink/signing-key.ts,
 * docs/downlink-signing.md): created once with mode 0600, shared by instances that start together,
 * refused when others can read it or when it does not hold what it says, and the rotation steps.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { keyIdOf, pinnedKeyMap, verifyDownlink } from '../../../../cloud-sync/contract/signing.js';
import { resolveDocument } from '../../../../cloud-sync/service/config.js';
import {
  activateKey,
  loadDownlinkSigner,
  loadOrCreateKeyFile,
  prepareNextKey,
  retireKey,
  signerOf,
} from '../../../../cloud-sync/service/downlink/signing-key.js';

const root = mkdtempSync(join(tmpdir(), 'kerbside-signing-key-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `case-${++n}`, 'keys', 'downlink-signing-key.json');

const code = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
  return 'resolved';
};

describe('the downlink signing key file', () => {
  it('is created at the first load with mode 0600 (folder 0700) and loaded unchanged after', async () => {
    const path = fresh();
    const lines: string[] = [];
    const logger = {
      info: (fields: object, message: string) => lines.push(JSON.stringify({ ...fields, message })),
    };
    const first = await loadDownlinkSigner(path, logger);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    const second = await loadDownlinkSigner(path, logger);
    assert.deepEqual(second.publicKeys(), first.publicKeys());
    assert.match(lines[0] ?? '', /downlink signing key created/);
    assert.match(lines[1] ?? '', /downlink signing key loaded/);
    const pem = readFileSync(path, 'utf8');
    const secret = (JSON.parse(pem) as { keys: Array<{ privateKey: string }> }).keys[0]?.privateKey ?? '';
    const body = secret
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .join('');
    assert.ok(!lines.some((l) => l.includes(body) || l.includes('PRIVATE')), 'the key is never logged');
  });

  it('two instances starting together end up with one key', async () => {
    const path = fresh();
    const results = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateKeyFile(path)));
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.file.signWith)).size, 1);
  });

  it('refuses a file others can read, one whose public key is not its private key, and junk, quoting no key', async () => {
    const path = fresh();
    await loadOrCreateKeyFile(path);
    chmodSync(path, 0o644);
    assert.match(await code(loadOrCreateKeyFile(path)), /^DOWNLINK_SIGNING_KEY: .*chmod 600/);
    chmodSync(path, 0o600);
    const file = JSON.parse(readFileSync(path, 'utf8')) as { keys: Array<{ publicKey: string }> };
    const other = (await loadOrCreateKeyFile(fresh())).file.keys[0]?.publicKey ?? '';
    writeFileSync(path, JSON.stringify({ ...file, keys: [{ ...file.keys[0], publicKey: other }] }));
    assert.match(await code(loadOrCreateKeyFile(path)), /does not match its private key/);
    writeFileSync(path, '{"format": "kerbside-downlink-keys/1", "keys": [ -----BEGIN PRIVATE KEY-----');
    const junk = await code(loadOrCreateKeyFile(path));
    assert.match(junk, /is not valid JSON$/);
    assert.ok(!junk.includes('BEGIN'));
  });

  it('rotation: prepare announces, activate switches, retire removes; refusals name the problem', async () => {
    const path = fresh();
    const { file } = await loadOrCreateKeyFile(path);
    const oldId = file.signWith;
    const nextId = await prepareNextKey(path);
    let signer = signerOf((await loadOrCreateKeyFile(path)).file);
    assert.equal(signer.activeKeyId(), oldId, 'a prepared key does not sign yet');
    const [oldKey, nextKey] = signer.publicKeys();
    assert.equal(keyIdOf(nextKey ?? ''), nextId);
    const announced = signer.sign('down/cmd', 'cab-1', { id: 'x' });
    assert.deepEqual(announced.sig.announce, [nextKey]);
    // A gateway pinning only the old key verifies it and learns the next one.
    const verdict = verifyDownlink(pinnedKeyMap([oldKey ?? '']), 'down/cmd', 'cab-1', announced);
    assert.deepEqual(verdict, { ok: true, keyId: oldId, announce: [nextKey] });

    assert.match(await code(activateKey(path, '0123456789abcdef')), /has no key 0123456789abcdef/);
    await activateKey(path, nextId);
    signer = signerOf((await loadOrCreateKeyFile(path)).file);
    assert.equal(signer.activeKeyId(), nextId);
    assert.equal(signer.sign('down/cmd', 'cab-1', { id: 'x' }).sig.keyId, nextId);

    assert.match(await code(retireKey(path, nextId)), /signs: activate another one first/);
    await retireKey(path, oldId);
    signer = signerOf((await loadOrCreateKeyFile(path)).file);
    assert.deepEqual(signer.publicKeys(), [nextKey]);
    assert.equal(signer.sign('down/cmd', 'cab-1', { id: 'x' }).sig.announce, undefined);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(await code(prepareNextKey(fresh())), /does not exist: start the service once/);
  });

  it('lives beside the SQLite file by default; downlink.signingKeyFile or DOWNLINK_SIGNING_KEY_FILE names another', () => {
    const context = {
      env: {},
      cwd: '/srv/kerbside',
      fileDir: '/etc/kerbside',
      file: '/etc/kerbside/cloud.json',
    };
    const byDefault = resolveDocument(
      { database: { sqlitePath: '/var/lib/kerbside/cloud.sqlite' } },
      context,
    );
    assert.equal(byDefault.downlink.signingKeyFile, '/var/lib/kerbside/downlink-signing-key.json');
    const shared = resolveDocument({ downlink: { signingKeyFile: 'keys/downlink.json' } }, context);
    assert.equal(shared.downlink.signingKeyFile, '/etc/kerbside/keys/downlink.json');
    const fromEnv = resolveDocument({}, { ...context, env: { DOWNLINK_SIGNING_KEY_FILE: 'shared/k.json' } });
    assert.equal(
      fromEnv.downlink.signingKeyFile,
      '/srv/kerbside/shared/k.json',
      'from the environment: the working directory',
    );
  });
});
