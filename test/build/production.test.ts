/**
 * Production runs the built JavaScript with the dev dependencies omitted (docs/deployment.md).
 * This test builds into a temp dir (tsc -p tsconfig.build.json), lays the result out as a
 * deployment does (package.json, package-lock.json, dist/, device-profiles/), installs the
 * production dependencies only, and runs the entry points with plain node: no tsx, nothing from
 * the repository's node_modules or source tree.
 *
 * The production install is, by default, a copy of this checkout's node_modules pruned with
 * `npm prune --omit=dev`: offline and a few seconds, and it proves that no module of the build
 * needs a dev dependency. KERBSIDE_PROD_INSTALL=ci runs `npm ci --omit=dev` instead, the real
 * thing (registry and native builds, about a minute and a half): for a release job in CI.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The child's environment: none of the variables that would load tsx or change the config. */
const DROPPED_ENV = new Set([
  'NODE_OPTIONS',
  'NODE_PATH',
  'DATABASE_URL',
  'MQTT_URL',
  'MQTT_SERVICE_SECRET',
  'LOG_LEVEL',
]);

function productionEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !DROPPED_ENV.has(name)));
}

function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env: productionEnv(), encoding: 'utf8', timeout: timeoutMs });
}

function assertExit0(result: SpawnSyncReturns<string>, what: string): void {
  assert.equal(
    result.status,
    0,
    `${what} exited ${String(result.status)} (${String(result.signal)}):\n${result.stdout}\n${result.stderr}`,
  );
}

describe('the build runs with production dependencies only', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-production-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(() => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    assertExit0(
      run(
        process.execPath,
        [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
        ROOT,
        120_000,
      ),
      'tsc -p tsconfig.build.json',
    );
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(dir, file));
    cpSync(join(ROOT, 'device-profiles'), join(dir, 'device-profiles'), { recursive: true });
    copyFileSync(join(ROOT, 'gateway', 'config', 'example.json'), join(dir, 'gateway.json'));
    if (process.env.KERBSIDE_PROD_INSTALL === 'ci') {
      assertExit0(
        run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], dir, 600_000),
        'npm ci --omit=dev',
      );
    } else {
      cpSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), {
        recursive: true,
        verbatimSymlinks: true,
      });
      assertExit0(
        run('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], dir),
        'npm prune --omit=dev',
      );
    }
  });

  it('installs no dev dependency', () => {
    for (const dev of ['tsx', 'typescript']) {
      assert.equal(existsSync(join(dir, 'node_modules', dev)), false, `${dev} is in the production install`);
    }
  });

  it('checks the example gateway configuration with the default device profiles', () => {
    const result = run(
      process.execPath,
      ['dist/gateway/main.js', '--config', 'gateway.json', '--check'],
      dir,
    );
    assertExit0(result, 'gateway --check');
    assert.match(result.stdout + result.stderr, /gateway\.json is valid/);
    assert.equal(existsSync(join(dir, '.kerbside-data')), false, '--check created the data folder');
  });

  it('shows the help of every entry point', () => {
    for (const entry of [
      'dist/gateway/main.js',
      'dist/gateway/enrollment/cli.js',
      'dist/cloud-sync/service/main.js',
      'dist/cloud-sync/service/cli.js',
    ]) {
      const result = run(process.execPath, [entry, '--help'], dir);
      assertExit0(result, `${entry} --help`);
      assert.match(result.stdout, /^Usage: /, `${entry} --help`);
    }
  });

  it('checks the cloud service defaults', () => {
    const result = run(process.execPath, ['dist/cloud-sync/service/main.js', '--check'], dir);
    assertExit0(result, 'cloud-sync --check');
  });

  it('reports the version from package.json', () => {
    const result = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const { GATEWAY_VERSION } = await import('./dist/gateway/version.js'); console.log(GATEWAY_VERSION);",
      ],
      dir,
    );
    assertExit0(result, 'reading GATEWAY_VERSION');
    assert.equal(result.stdout.trim(), VERSION);
  });
});
