/**
 * Which database `npm run cloud-admin` opens: --db, DATABASE_URL, or else the very file the cloud
 * service uses by default; and a SQLite file that does not exist is refused (a typo must not
 * start an empty second database) unless --create asks for one.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCloudAdmin } from '../../../cloud-sync/service/cli.js';
import { openCloudDatabase } from '../../../cloud-sync/service/db/open.js';
import { spawnTsx } from '../../helpers/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-admin-db-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(tmp, 'case-'));

async function admin(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCloudAdmin(args, { out: (text) => (out += text), err: (text) => (err += text), env });
  return { code, out, err };
}

/** Runs a program of the repository with `cwd` as its working directory (test/helpers/process.ts). */
function program(
  file: string,
  args: string[],
  cwd: string,
): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  // The parent's database overrides must not choose the child's database.
  const child = spawnTsx(file, file, args, { cwd, unset: ['DATABASE_URL', 'MQTT_URL'] });
  return {
    child: child.proc,
    stdout: () => child.stdout,
    stderr: () => child.stderr,
    exited: child.exited.then((exit) => exit.code),
  };
}

describe('cloud-admin: which database', () => {
  it('refuses a mistyped SQLite path with exit 2 and a hint, and creates no file or folder', async () => {
    const dir = freshDir();
    for (const args of [
      ['--db', join(dir, 'clould.sqlite'), 'token', 'create', '--gateway', 'cab-1', '--by', 'li'],
      ['--db', join(dir, 'clould.sqlite'), 'gateway', 'list'],
      ['--db', join(dir, 'no-such-folder', 'cloud.sqlite'), 'operator', 'list'],
    ]) {
      const result = await admin(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.err}`);
      assert.match(result.err, /no database at .*(clould\.sqlite|no-such-folder)/);
      assert.match(result.err, /hint: .*--create/);
      assert.equal(result.out, '', 'no token or list was printed');
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing was created');
  });

  it('creates a new database only when --create asks for one', async () => {
    const dir = freshDir();
    const file = join(dir, 'new', 'cloud.sqlite');
    const created = await admin(['--db', file, '--create', 'gateway', 'list']);
    assert.equal(created.code, 0, created.err);
    assert.match(created.err, /creating a new, empty database at .*new\/cloud\.sqlite/);
    assert.ok(existsSync(file));
    // From then on it exists: no flag needed, and nothing said about creating.
    const again = await admin(['--db', file, 'gateway', 'list']);
    assert.equal(again.code, 0, again.err);
    assert.doesNotMatch(again.err, /creating/);
    const postgres = await admin(['--create', 'gateway', 'list'], {
      DATABASE_URL: 'postgres://u@127.0.0.1:1/kerbside',
    });
    assert.equal(postgres.code, 2, postgres.err);
    assert.match(postgres.err, /--create makes a SQLite file/);
  });

  it('without --db or DATABASE_URL opens the database `npm run cloud` made by default, and says which', async (t) => {
    const dir = freshDir();
    // Before the service ever ran there is nothing to open: refused, and no data/ folder appears.
    const early = program('cloud-sync/service/cli.ts', ['gateway', 'list'], dir);
    assert.equal(await early.exited, 2, early.stderr());
    assert.match(early.stderr(), /no database at /);
    assert.deepEqual(readdirSync(dir), []);

    // The service with its default database (only the ports changed, so tests can run side by side).
    const config = `${dir}-ports.json`;
    writeFileSync(config, JSON.stringify({ mqtt: { embedded: { port: 0 } }, http: { port: 0 } }));
    const cloud = program('cloud-sync/service/main.ts', ['--config', config], dir);
    t.after(() => {
      if (cloud.child.exitCode === null) cloud.child.kill('SIGKILL');
    });
    const running = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const look = (): void => {
        const line = cloud
          .stdout()
          .split('\n')
          .find((l) => l.includes('"msg":"cloud service running"'));
        if (line !== undefined) resolve(JSON.parse(line) as Record<string, unknown>);
      };
      cloud.child.stdout?.on('data', look);
      void cloud.exited.then(() => reject(new Error(`cloud exited:\n${cloud.stdout()}\n${cloud.stderr()}`)));
    });
    const serviceDb = String(running['database']);
    assert.equal(running['pid'], cloud.child.pid, 'the start line names the pid to signal');
    cloud.child.kill('SIGTERM');
    assert.equal(await cloud.exited, 0, cloud.stderr());

    const issued = program(
      'cloud-sync/service/cli.ts',
      ['token', 'create', '--gateway', 'cab-7', '--by', 'li'],
      dir,
    );
    assert.equal(await issued.exited, 0, issued.stderr());
    assert.ok(
      issued.stderr().includes(`database: ${serviceDb} (the default of npm run cloud`),
      `cloud-admin did not say it used ${serviceDb}:\n${issued.stderr()}`,
    );
    const db = await openCloudDatabase({ sqlitePath: serviceDb });
    try {
      const tokens = await db.selectFrom('enrollment_tokens').select('gateway_id').execute();
      assert.deepEqual(
        tokens.map((row) => row.gateway_id),
        ['cab-7'],
        'the token is in the service database',
      );
    } finally {
      await db.destroy();
    }
  });
});

describe('cloud-admin components import', () => {
  it('refuses a file with bad records: exit 2, nothing written, one line per issue by pointer into the file', async () => {
    const dir = freshDir();
    const db = join(dir, 'cloud.sqlite');
    const file = join(dir, 'components.json');
    writeFileSync(
      file,
      JSON.stringify([
        { componentId: '1101050110000009', gatewayId: 'x', deviceId: 'd', colour: 'red' },
        'not a record',
      ]),
    );
    const refused = await admin(['--db', db, '--create', 'components', 'import', file, '--by', 'admin.test']);
    assert.equal(refused.code, 2, refused.err);
    const lines = refused.err.slice(refused.err.indexOf('error: ')).trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^error: nothing written, \d+ issues:$/);
    assert.ok(lines.includes('  /0/colour: is not a component field'), refused.err);
    assert.ok(lines.includes('  /1: a component must be an object'), refused.err);
    assert.equal(lines.length, 1 + Number(/(\d+) issues/.exec(lines[0] ?? '')?.[1]), 'one line per issue');
    const opened = await openCloudDatabase({ sqlitePath: db });
    try {
      assert.deepEqual(await opened.selectFrom('components').selectAll().execute(), [], 'nothing written');
    } finally {
      await opened.destroy();
    }
  });
});
