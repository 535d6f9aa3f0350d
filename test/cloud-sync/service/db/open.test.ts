/**
 * The cloud database folder and files are owner-only when the service or cloud-admin creates them
 * (issue 12, finding 9): the folder 0700, the SQLite file and its -wal and -shm files 0600, on a
 * real SQLite database written in WAL mode, under the usual umask 022.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openCloudDatabase } from '../../../../cloud-sync/service/db/open.js';
import { runCloudAdmin } from '../../../../cloud-sync/service/cli.js';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('cloud database permissions', () => {
  const root = mkdtempSync(join(tmpdir(), 'kerbside-db-modes-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const previous = process.umask(0o022);
  after(() => process.umask(previous));

  it('creates the folder 0700 and the database, -wal and -shm files 0600', async () => {
    const path = join(root, 'data', 'nested', 'cloud.sqlite');
    const db = await openCloudDatabase({ sqlitePath: path });
    try {
      // The migrations wrote in WAL mode, so all three files exist while it is open.
      assert.ok(existsSync(`${path}-wal`) && existsSync(`${path}-shm`));
      assert.equal(mode(join(root, 'data')), '700');
      assert.equal(mode(join(root, 'data', 'nested')), '700');
      assert.equal(mode(path), '600');
      assert.equal(mode(`${path}-wal`), '600');
      assert.equal(mode(`${path}-shm`), '600');
    } finally {
      await db.destroy();
    }
  });

  it('cloud-admin --create makes them owner-only too', async () => {
    const path = join(root, 'admin', 'cloud.sqlite');
    const err: string[] = [];
    const code = await runCloudAdmin(['--db', path, '--create', 'gateway', 'list'], {
      out: () => undefined,
      err: (text) => err.push(text),
      env: {},
    });
    assert.equal(code, 0, err.join(''));
    assert.equal(mode(join(root, 'admin')), '700');
    assert.equal(mode(path), '600');
  });
});
