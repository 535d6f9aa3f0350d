/**
 * `cloud-admin downlink-key` (cloud-sync/service/downlink/key-cli.ts, docs/downlink-signing.md):
 * the rotation steps on the service's key file, printing key ids and public keys, never a private
 * key; a wrong step fails with exit 1 and says why.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCloudAdmin } from '../../../../cloud-sync/service/cli.js';
import { loadOrCreateKeyFile } from '../../../../cloud-sync/service/downlink/signing-key.js';

const dir = mkdtempSync(join(tmpdir(), 'kerbside-key-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function admin(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCloudAdmin(args, {
    out: (text) => (out += text),
    err: (text) => (err += text),
    env: {},
    cwd: dir,
  });
  return { code, out, err };
}

describe('cloud-admin downlink-key', () => {
  it('lists, prepares, activates and retires, beside the SQLite file by default', async () => {
    const file = join(dir, 'data', 'downlink-signing-key.json');
    const missing = await admin('--db', 'data/cloud.sqlite', 'downlink-key', 'list');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /does not exist: start the service once to create it/);
    await loadOrCreateKeyFile(file); // the service's first start
    const listed = await admin('--db', 'data/cloud.sqlite', 'downlink-key', 'list');
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.err, /key file: .*data\/downlink-signing-key\.json/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const first = /^\* ([0-9a-f]{16}) /.exec(listed.out)?.[1];
    assert.ok(first !== undefined, listed.out);

    const prepared = await admin('downlink-key', '--file', file, 'prepare');
    assert.equal(prepared.code, 0, prepared.err);
    const next = prepared.out.trim();
    assert.match(next, /^[0-9a-f]{16}$/);
    assert.match(prepared.err, /restart every service instance/);

    const refused = await admin('downlink-key', '--file', file, 'retire', first);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /signs: activate another one first/);

    assert.equal((await admin('downlink-key', '--file', file, 'activate', next)).code, 0);
    assert.equal((await admin('downlink-key', '--file', file, 'retire', first)).code, 0);
    const after = await admin('downlink-key', '--file', file, 'list');
    assert.match(after.out, new RegExp(`^\\* ${next} `));
    assert.doesNotMatch(after.out, new RegExp(first));
    const privateKey = (JSON.parse(readFileSync(file, 'utf8')) as { keys: Array<{ privateKey: string }> })
      .keys[0]?.privateKey;
    const body = (privateKey ?? '').split('\n')[1] ?? '';
    for (const output of [listed, prepared, after])
      assert.ok(!output.out.includes(body) && !output.err.includes('PRIVATE'), 'no private key printed');
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});
