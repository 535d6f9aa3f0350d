/**
 * A private, throw-away PostgreSQL cluster for tests: its own data directory in a temp dir, trust
 * authentication, listening on 127.0.0.1 only on a free port, its unix socket inside the temp dir.
 * Nothing is shared with a system PostgreSQL or with other test files, and nothing is left behind.
 *
 * Starting a cluster takes a few seconds: start one per test file (in a `before` hook), and give
 * each test or suite its own database with `createDatabase`.
 *
 * A test process killed hard (SIGKILL, a test-runner timeout) cannot run `stop()`. So each cluster
 * has a watchdog: a detached shell that blocks reading a pipe from this process and, when the pipe
 * reaches end-of-file (this process closed it in `stop()`, or died and the kernel closed it),
 * stops the postmaster and removes the temp dir. A postmaster therefore never outlives its test
 * process for more than the few seconds `pg_ctl stop` takes.
 *
 * The server binaries come from the Debian `postgresql` package (test/install-peers.sh); when they
 * are missing, `startPostgres` throws MissingPeerError naming it, so the test fails, never skips.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';
import { MissingPeerError } from './peers.js';

export interface PostgresCluster {
  /** Superuser URL of the cluster's `postgres` database (trust auth: no password). */
  url: string;
  port: number;
  /** The temp dir holding data, socket and server log. */
  dir: string;
  /** Creates a new empty database (a fresh name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';
const OS_USER = 'postgres';
const START_ATTEMPTS = 3;

/** The bin dir of the newest PostgreSQL under /usr/lib/postgresql that has initdb. */
function findBinDir(): string {
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((entry) => existsSync(join(PG_ROOT, entry, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new MissingPeerError(
      `test peer missing: PostgreSQL server (initdb) not found under ${PG_ROOT}/*/bin; ` +
        'install it with: apt-get install postgresql (or run bash test/install-peers.sh)',
    );
  }
  return join(PG_ROOT, newest, 'bin');
}

/** initdb and postgres refuse to run as root, so as root every server command runs as `postgres`. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['runuser', ['-u', OS_USER, '--', command, ...args]];
}

function ownerIds(): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', OS_USER], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', OS_USER], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new MissingPeerError(
      `test peer missing: OS user "${OS_USER}" (needed to run PostgreSQL as root) does not exist; ` +
        'install it with: apt-get install postgresql',
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a command to completion; rejects with its output when it fails. */
function run(command: string, args: string[]): Promise<void> {
  const [file, argv] = asServerUser(command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.trim()}`));
    });
  });
}

/**
 * The watchdog (see the header): `read` returns at end-of-file of its stdin, whichever way this
 * process closed it. Detached into its own session, so a Ctrl-C to the test's process group does
 * not kill it before it cleans up (pg_ctl also puts the postmaster in its own session).
 */
function startWatchdog(pgCtl: string, dataDir: string, dir: string): ChildProcess {
  const [file, argv] = asServerUser(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
  const script = 'read -r _; "$@" >/dev/null 2>&1; rm -rf "$WATCHDOG_DIR"';
  const watchdog = spawn('sh', ['-c', script, 'kerbside-pg-watchdog', file, ...argv], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { ...process.env, WATCHDOG_DIR: dir },
  });
  // Neither the child nor its pipe keeps this process alive; its exit closes the pipe.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  return watchdog;
}

/** Runs one statement as the cluster's superuser. */
async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Starts a private cluster (a few seconds). Call `stop()` in an `after` hook. */
export async function startPostgres(): Promise<PostgresCluster> {
  const bin = findBinDir();
  const owner = process.getuid?.() === 0 ? ownerIds() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-pg-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  mkdirSync(socketDir);
  if (owner !== undefined) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(socketDir, owner.uid, owner.gid);
  }
  const pgCtl = join(bin, 'pg_ctl');
  const watchdog = startWatchdog(pgCtl, dataDir, dir);
  const watchdogExited = new Promise<void>((resolve) => watchdog.once('exit', () => resolve()));
  let stopped = false;

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    // Closing the pipe is what makes the watchdog stop the server and remove the dir; ref() so
    // that this process stays alive until it has.
    watchdog.ref();
    watchdog.stdin?.end();
    await watchdogExited;
    // Fallback in case the watchdog itself was killed before cleaning up.
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      await run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    // --no-sync: a throw-away cluster need not survive a power cut during initdb; the server
    // itself keeps fsync on, like production.
    await run(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
      '--no-instructions',
    ]);
    // Trust is safe only because nothing but this machine can connect: TCP on 127.0.0.1 only,
    // and the socket in a directory of the server user.
    writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      `\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${socketDir}'\n`,
    );

    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      try {
        await run(pgCtl, [
          'start',
          '-D',
          dataDir,
          '-w',
          '-t',
          '60',
          '-l',
          join(dir, 'server.log'),
          '-o',
          `-p ${port}`,
        ]);
        break;
      } catch (error) {
        // Another process may have taken the port between freePort() and the server's bind.
        if (attempt >= START_ATTEMPTS) throw error;
      }
    }

    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let databases = 0;
    return {
      url,
      port,
      dir,
      async createDatabase(name?: string): Promise<string> {
        databases += 1;
        const database = name ?? `test_${process.pid}_${databases}`;
        await adminQuery(url, `CREATE DATABASE ${pg.escapeIdentifier(database)}`);
        return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Creates a fresh database on a running cluster (e.g. one per test file) and returns its URL. */
export async function createDatabase(cluster: PostgresCluster, name?: string): Promise<string> {
  return cluster.createDatabase(name);
}
