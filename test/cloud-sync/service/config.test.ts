/**
 * The service configuration: defaults, environment overrides, every error with its JSON pointer,
 * and main.ts run as a child process (exit 2 on a bad file, a clean start and SIGTERM stop).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CloudConfigError, loadCloudConfig } from '../../../cloud-sync/service/config.js';
import { waitFor } from './service-helpers.js';
import { freePort } from '../../helpers/net.js';
import { spawnTsx } from '../../helpers/process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = join(ROOT, 'cloud-sync/service/main.ts');

function issuesOf(fn: () => unknown): { pointer: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CloudConfigError, String(error));
    return error.issues;
  }
  return assert.fail('the configuration was accepted');
}

describe('cloud service configuration', () => {
  let dir: string;
  const children = new Set<ChildProcess>();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-cloud-config-'));
  });

  after(() => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, content: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return path;
  }

  it('runs the embedded defaults with no file: SQLite under ./data, loopback ports', () => {
    const config = loadCloudConfig({ env: {}, cwd: dir });
    assert.deepEqual(config.database, { sqlitePath: join(dir, 'data/cloud.sqlite') });
    assert.equal(config.mqtt.url, null);
    assert.deepEqual(
      { host: config.mqtt.embedded.host, port: config.mqtt.embedded.port, tls: config.mqtt.embedded.tls },
      { host: '127.0.0.1', port: 1883, tls: null },
    );
    assert.deepEqual({ host: config.http.host, port: config.http.port }, { host: '127.0.0.1', port: 8080 });
    assert.match(config.mqtt.instanceId, /^[0-9a-f]{8}$/);
    assert.notEqual(loadCloudConfig({ env: {}, cwd: dir }).mqtt.instanceId, config.mqtt.instanceId);
  });

  it('resolves paths in the file against its folder and lets the environment override', () => {
    const sub = join(dir, 'etc');
    const file = write('cloud.json', { database: { sqlitePath: 'db/cloud.sqlite' }, log: { level: 'warn' } });
    assert.equal(
      loadCloudConfig({ file, env: {}, cwd: sub }).database.sqlitePath,
      join(dir, 'db/cloud.sqlite'),
    );
    const config = loadCloudConfig({
      file,
      env: { MQTT_URL: 'mqtt://broker.example:1883', MQTT_SERVICE_SECRET: 's3cret', LOG_LEVEL: 'DEBUG' },
      cwd: sub,
    });
    assert.equal(config.mqtt.url, 'mqtt://broker.example:1883');
    assert.equal(config.mqtt.secret, 's3cret');
    assert.equal(config.log.level, 'debug');
    const pg = loadCloudConfig({ file, env: { DATABASE_URL: 'postgres://u@db/kerbside' }, cwd: sub });
    assert.deepEqual(pg.database, { url: 'postgres://u@db/kerbside' });
  });

  it('reports every problem with its JSON pointer', () => {
    const file = write('bad.json', {
      database: { sqlitePath: '' },
      mqtt: { url: 'ftp://x', embedded: { port: 70000 }, shareGroup: 'a/b' },
      http: { prot: 8080 },
      ingest: { concurrency: 0 },
      log: { level: 'loud' },
    });
    const issues = issuesOf(() => loadCloudConfig({ file, env: {}, cwd: dir }));
    const pointers = issues.map((i) => i.pointer).sort();
    assert.deepEqual(pointers, [
      '/database/sqlitePath',
      '/http/prot',
      '/ingest/concurrency',
      '/log/level',
      '/mqtt/embedded/port',
      '/mqtt/shareGroup',
      '/mqtt/url',
    ]);
    assert.match(issues.find((i) => i.pointer === '/http/prot')?.message ?? '', /not a configuration field/);
  });

  it('names the environment variable a bad value came from, and refuses unreadable files', () => {
    const issues = issuesOf(() => loadCloudConfig({ env: { MQTT_URL: 'http://nope' }, cwd: dir }));
    assert.equal(issues[0]?.pointer, '/mqtt/url');
    assert.match(issues[0]?.message ?? '', /from MQTT_URL/);
    const file = write('tls.json', { http: { tls: { keyFile: 'missing.key', certFile: 'missing.crt' } } });
    const tls = issuesOf(() => loadCloudConfig({ file, env: {}, cwd: dir }));
    assert.deepEqual(
      tls.map((i) => i.pointer),
      ['/http/tls/keyFile', '/http/tls/certFile'],
    );
    assert.deepEqual(
      issuesOf(() => loadCloudConfig({ file: write('x.json', '{"a":'), env: {} }))[0]?.pointer,
      '',
    );
    const secretInUrl = issuesOf(() =>
      loadCloudConfig({ env: { MQTT_URL: 'mqtt://svc:pw@host:1883' }, cwd: dir }),
    );
    assert.match(secretInUrl[0]?.message ?? '', /must not carry a password/);
  });

  function runMain(
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
    // The overrides of the parent's environment must not leak into the child's configuration.
    const child = spawnTsx('cloud main', MAIN, args, {
      cwd: ROOT,
      env,
      unset: ['DATABASE_URL', 'MQTT_URL', 'MQTT_SERVICE_SECRET', 'LOG_LEVEL'],
    });
    children.add(child.proc);
    return {
      child: child.proc,
      out: () => child.stdout,
      err: () => child.stderr,
      exited: child.exited.then((exit) => exit.code),
    };
  }

  it('main.ts exits 2 on a bad configuration file and prints each pointer', async () => {
    const file = write('main-bad.json', { http: { port: 'eighty' }, mqtt: { embeded: {} } });
    const run = runMain(['--config', file]);
    assert.equal(await run.exited, 2);
    assert.match(run.err(), /invalid cloud service configuration/);
    assert.match(run.err(), /\/http\/port: must be an integer/);
    assert.match(run.err(), /\/mqtt\/embeded: is not a configuration field/);
  });

  it('main.ts exits 3 (unavailable, not a configuration error) when PostgreSQL cannot be reached', async () => {
    const file = write('main-pg.json', { mqtt: { embedded: { port: 0 } }, http: { port: 0 } });
    const port = await freePort();
    const run = runMain(['--config', file], { DATABASE_URL: `postgres://u@127.0.0.1:${port}/kerbside` });
    assert.equal(await run.exited, 3);
    assert.match(
      run.err(),
      new RegExp(
        `cannot connect to PostgreSQL at postgres://u@127\\.0\\.0\\.1:${port}/kerbside: .*ECONNREFUSED`,
      ),
    );
    assert.doesNotMatch(run.err(), /invalid cloud service configuration/);
  });

  it('main.ts starts with a valid file, serves /healthz, and exits 0 on SIGTERM', async () => {
    const file = write('main-ok.json', {
      database: { sqlitePath: 'main-data/cloud.sqlite' },
      mqtt: { embedded: { port: 0 } },
      http: { port: 0 },
    });
    const run = runMain(['--config', file]);
    let httpPort = 0;
    await waitFor(
      () => {
        const line = run
          .out()
          .split('\n')
          .find((l) => l.includes('"cloud service running"'));
        if (line !== undefined) httpPort = (JSON.parse(line) as { httpPort: number }).httpPort;
        return line !== undefined || run.child.exitCode !== null;
      },
      20_000,
      'main.ts running',
    );
    assert.ok(httpPort > 0, `no running line; stderr: ${run.err()}`);
    const response = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    assert.equal(response.status, 200);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0);
    assert.match(run.out(), /"stopped"/);
  });
});
