/** Where the credential key file is (mqtt.credentialKeyFile, CREDENTIAL_KEY_FILE, the defaults). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadCloudConfig } from '../../../cloud-sync/service/config.js';

describe('credential key file setting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-config-key-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, doc: unknown): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(doc));
    return file;
  };

  it('defaults to credential.key beside the SQLite file', () => {
    const file = write('a.json', { database: { sqlitePath: 'db/cloud.sqlite' } });
    assert.equal(
      loadCloudConfig({ file, env: {}, cwd: '/' }).mqtt.credentialKeyFile,
      join(dir, 'db', 'credential.key'),
    );
    assert.equal(
      loadCloudConfig({ env: {}, cwd: dir }).mqtt.credentialKeyFile,
      join(dir, 'data', 'credential.key'),
    );
  });

  it('with PostgreSQL, defaults beside the configuration file', () => {
    const file = write('pg.json', { database: { url: 'postgres://u@db/kerbside' } });
    assert.equal(
      loadCloudConfig({ file, env: {}, cwd: '/' }).mqtt.credentialKeyFile,
      join(dir, 'credential.key'),
    );
    const env = { DATABASE_URL: 'postgres://u@db/kerbside' };
    assert.equal(
      loadCloudConfig({ env, cwd: dir }).mqtt.credentialKeyFile,
      join(dir, 'data', 'credential.key'),
    );
  });

  it('takes the file setting relative to the file, and CREDENTIAL_KEY_FILE relative to the working directory', () => {
    const file = write('set.json', { mqtt: { credentialKeyFile: 'keys/shared.key' } });
    assert.equal(
      loadCloudConfig({ file, env: {}, cwd: '/' }).mqtt.credentialKeyFile,
      join(dir, 'keys', 'shared.key'),
    );
    assert.equal(
      loadCloudConfig({ file, env: { CREDENTIAL_KEY_FILE: 'other.key' }, cwd: '/srv' }).mqtt
        .credentialKeyFile,
      '/srv/other.key',
    );
  });
});
