/**
 * `npm run cloud-admin -- operator ...` (cli.ts): create prints a password once that signs in over
 * HTTP; list, disable, enable, reset-password; bad arguments exit 2; every command is audited with
 * source 'cli' and no password.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCloudAdmin } from '../../../../cloud-sync/service/cli.js';
import { openCloudDatabase } from '../../../../cloud-sync/service/db/open.js';
import { listAudit } from '../../../../cloud-sync/service/enrollment/audit.js';
import { buildTestApi } from '../api/harness.js';
import { MemoryLogger } from './harness.js';

interface Captured {
  code: number;
  out: string;
  err: string;
}

describe('cloud-admin operator', () => {
  let work: string;
  let dbFile: string;

  async function admin(args: string[], stdin = ''): Promise<Captured> {
    let out = '';
    let err = '';
    const code = await runCloudAdmin(['--db', dbFile, ...args], {
      out: (t) => (out += t),
      err: (t) => (err += t),
      env: {},
      readStdin: () => Promise.resolve(stdin),
    });
    return { code, out, err };
  }

  /** Signs in over the real HTTP routes against the same database file; returns the status. */
  async function httpLogin(username: string, password: string): Promise<number> {
    const db = await openCloudDatabase({ sqlitePath: dbFile });
    const app = await buildTestApi(db, { authLogger: new MemoryLogger() });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username, password },
      });
      return response.statusCode;
    } finally {
      await app.close();
      await db.destroy();
    }
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kerbside-operator-cli-'));
    dbFile = join(work, 'cloud.sqlite');
    // cloud-admin opens only an existing database (no --create here): make it as the service would.
    await (await openCloudDatabase({ sqlitePath: dbFile })).destroy();
  });

  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('creates an operator as a program and prints a password that signs in', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          ...['--import', 'tsx', 'cloud-sync/service/cli.ts', '--db', dbFile],
          ...[
            'operator',
            'create',
            'unit.gas',
            '--role',
            'owner_unit',
            '--unit',
            'Gas Co.',
            '--name',
            'Gas desk',
          ],
          ...['--actor', 'li'],
        ],
        { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DATABASE_URL: '' } },
        (error, stdout, stderr) =>
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
            stdout,
            stderr,
          }),
      );
    });
    assert.equal(result.code, 0, result.stderr);
    const password = result.stdout.trim();
    assert.match(password, /^[A-Za-z0-9]{20}$/, 'stdout holds the password and nothing else');
    assert.match(result.stderr, /unit\.gas created \(owner_unit of Gas Co\.\)/);
    assert.equal(await httpLogin('unit.gas', password), 200);
    assert.equal(await httpLogin('unit.gas', 'not the password'), 401);
  });

  it('reads a password from stdin, lists, disables, enables and resets, all audited without secrets', async () => {
    const chosen = 'a chosen password 42';
    const created = await admin(
      [
        'operator',
        'create',
        'disp.wang',
        '--role',
        'dispatcher',
        'inspector',
        '--password-stdin',
        '--actor',
        'li',
      ],
      `${chosen}\n`,
    );
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /disp\.wang created \(dispatcher, inspector\)/);
    assert.ok(!created.out.includes(chosen));
    assert.equal(await httpLogin('disp.wang', chosen), 200);

    const listed = await admin(['operator', 'list', '--json', '--actor', 'li']);
    assert.equal(listed.code, 0, listed.err);
    assert.deepEqual(
      (JSON.parse(listed.out) as { username: string; roles: string[] }[]).map((o) => [o.username, o.roles]),
      [
        ['disp.wang', ['dispatcher', 'inspector']],
        ['unit.gas', ['owner_unit']],
      ],
    );

    assert.equal((await admin(['operator', 'disable', 'disp.wang', '--actor', 'li'])).code, 0);
    assert.match((await admin(['operator', 'list', '--actor', 'li'])).out, /disp\.wang\s+disabled/);
    assert.equal(await httpLogin('disp.wang', chosen), 401);
    assert.equal((await admin(['operator', 'enable', 'disp.wang', '--actor', 'li'])).code, 0);
    assert.equal(await httpLogin('disp.wang', chosen), 200);

    const reset = await admin(['operator', 'reset-password', 'disp.wang', '--actor', 'li']);
    assert.equal(reset.code, 0, reset.err);
    const fresh = reset.out.trim();
    assert.equal(await httpLogin('disp.wang', chosen), 401);
    assert.equal(await httpLogin('disp.wang', fresh), 200);

    const missing = await admin(['operator', 'disable', 'nobody.here', '--actor', 'li']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no operator nobody\.here/);

    const db = await openCloudDatabase({ sqlitePath: dbFile });
    try {
      const rows = (await listAudit(db)).filter((row) => row.source === 'cli');
      assert.deepEqual(
        rows.map((row) => [row.actor, row.action, row.target, row.outcome]),
        [
          ['li', 'operator.create', 'unit.gas', 'ok'],
          ['li', 'operator.create', 'disp.wang', 'ok'],
          ['li', 'operator.list', '', 'ok'],
          ['li', 'operator.disable', 'disp.wang', 'ok'],
          ['li', 'operator.list', '', 'ok'],
          ['li', 'operator.enable', 'disp.wang', 'ok'],
          ['li', 'operator.reset-password', 'disp.wang', 'ok'],
          ['li', 'operator.disable', 'nobody.here', 'failed'],
        ],
      );
      const trail = JSON.stringify(await listAudit(db));
      assert.ok(!trail.includes(chosen) && !trail.includes(fresh), 'no password in the audit trail');
    } finally {
      await db.destroy();
    }
  });

  it('exits 2 on bad arguments and names the OS user when --actor is left out', async () => {
    const cases: [string[], RegExp][] = [
      [['operator', 'create', 'disp.x', '--role', 'superuser'], /roles are/],
      [['operator', 'create', 'disp.x'], /--role/],
      [['operator', 'create', 'Disp X', '--role', 'dispatcher'], /username/],
      [['operator', 'create', 'unit.x', '--role', 'owner_unit'], /needs a unit/],
      [['operator', 'create', 'disp.x', '--role', 'dispatcher', '--unit', 'Gas Co.'], /only an owner_unit/],
      [['operator', 'disable', 'disp.wang', '--actor', 'bad actor!'], /audit trail/],
    ];
    for (const [args, message] of cases) {
      const result = await admin(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.err}`);
      assert.match(result.err, message, args.join(' '));
    }
    const weak = await admin(
      ['operator', 'create', 'disp.y', '--role', 'dispatcher', '--password-stdin'],
      'short\n',
    );
    assert.equal(weak.code, 2);
    assert.match(weak.err, /at least 12/);

    assert.equal((await admin(['operator', 'list'])).code, 0);
    const db = await openCloudDatabase({ sqlitePath: dbFile });
    try {
      const last = (await listAudit(db, { newestFirst: true, limit: 1 }))[0];
      assert.equal(last?.action, 'operator.list');
      assert.match(last?.actor ?? '', /^[\p{L}\p{N}._@:+-]{1,128}$/u);
      assert.notEqual(last?.actor, 'li');
    } finally {
      await db.destroy();
    }
  });
});
