/**
 * The credential key file (secrets/credential-key.ts, enrollment/credential-key.ts): made 0600 at
 * the first start, read back unchanged, refused when too open or damaged, and checked against the
 * database so that a wrong or lost key file stops the real service at start with both key ids named.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { hashSecret, generateSecret } from '../../../../cloud-sync/service/broker/credentials.js';
import {
  createCredentialKey,
  loadOrCreateCredentialKey,
  type CredentialKey,
  readCredentialKey,
} from '../../../../cloud-sync/service/secrets/credential-key.js';
import { SecretsError } from '../../../../cloud-sync/service/secrets/errors.js';
import { startCloudService } from '../../../../cloud-sync/service/service.js';
import { productionDeps } from '../../../../cloud-sync/service/wiring.js';
import { testConfig } from '../service-helpers.js';

const silent = pino({ level: 'silent' });

/** Starts the service in `home`, expecting a refusal; a service that starts anyway is closed. */
async function startRefused(home: string): Promise<void> {
  const started = await startCloudService(testConfig(home), {
    ...productionDeps(silent),
    processMetrics: false,
  });
  await started.close();
  assert.fail('the service started with a credential key file that does not fit its database');
}

describe('credential key file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-credential-key-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is created 0600 in a 0700 folder and read back as the same key', async () => {
    const path = join(dir, 'new', 'credential.key');
    const created = await loadOrCreateCredentialKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'new')).mode & 0o777, 0o700);
    assert.equal(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64').length, 32);
    assert.equal((await loadOrCreateCredentialKey(path)).id, created.id);
    // A second creator (another instance starting at once) gets the existing key, not a new one.
    assert.equal((await createCredentialKey(path)).id, created.id);
  });

  it('refuses a key file that group or others may read, and a damaged one, without showing it', async () => {
    const open = join(dir, 'open.key');
    writeFileSync(open, `${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o644 });
    chmodSync(open, 0o644);
    await assert.rejects(readCredentialKey(open), (error: unknown) => {
      assert.ok(error instanceof SecretsError);
      assert.equal(error.code, 'CREDENTIAL_KEY_INVALID');
      assert.match(error.message, /mode 644.*chmod 600/);
      return true;
    });
    const damaged = join(dir, 'damaged.key');
    writeFileSync(damaged, 'c2VjcmV0LWJ1dC10b28tc2hvcnQ=\n', { mode: 0o600 });
    await assert.rejects(readCredentialKey(damaged), (error: unknown) => {
      assert.ok(error instanceof SecretsError);
      assert.doesNotMatch(error.message, /c2VjcmV0/);
      return true;
    });
  });

  it('stops the service at start when the key file is not the database’s, or is lost', async () => {
    const home = mkdtempSync(join(dir, 'service-'));
    const config = testConfig(home);
    const keyFile = config.mqtt.credentialKeyFile;
    assert.equal(keyFile, join(home, 'credential.key'), 'default: beside the SQLite file');
    const first = await startCloudService(config, { ...productionDeps(silent), processMetrics: false });
    let key: CredentialKey | null;
    try {
      key = await readCredentialKey(keyFile);
      assert.ok(key !== null);
      await first.db
        .insertInto('gateways')
        .values({
          gateway_id: 'cab-1',
          credential_hash: hashSecret(generateSecret(), key),
          mosquitto_hash: '$7$1000$AAAAAAAAAAAAAAAA$' + 'A'.repeat(86) + '==',
          disabled: 0,
          enrolled_at: new Date().toISOString(),
          rotated_at: null,
          disabled_changed_at: null,
        })
        .execute();
    } finally {
      await first.close();
    }

    // Another key in the file (another instance's, a wrong restore).
    rmSync(keyFile);
    const other = await createCredentialKey(keyFile);
    assert.notEqual(other.id, key.id);
    await assert.rejects(startRefused(home), (error: unknown) => {
      assert.ok(error instanceof SecretsError);
      assert.equal(error.code, 'CREDENTIAL_KEY_MISMATCH');
      assert.ok(error.message.includes(keyFile));
      assert.ok(error.message.includes(other.id) && error.message.includes(key.id), error.message);
      return true;
    });

    // No key file at all: refused too, and no fresh key is made that would lock gateways out.
    rmSync(keyFile);
    await assert.rejects(
      startRefused(home),
      (error: unknown) => error instanceof SecretsError && error.message.includes(`${key.id} (1 row)`),
    );
    assert.equal(existsSync(keyFile), false);
  });
});
