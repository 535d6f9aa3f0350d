import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { BusCounters, DevicePollResult } from '../../gateway/bus/types.js';
import type { GatewayConfig } from '../../gateway/config/types.js';
import { validateGatewayConfig } from '../../gateway/config/validate.js';
import { Gateway, type BusFactory, type PollingBus } from '../../gateway/gateway.js';
import { createLogger, REDACTED } from '../../gateway/logger.js';
import { startSimulation } from '../../simulators/index.js';
import { PROFILES } from './config/fixtures.js';
import { waitFor } from '../helpers/wait.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kerbside-main-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

/** Collects log lines as parsed JSON. */
function captureLogs(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { lines, stream };
}

describe('logger', () => {
  it('never writes secrets, at any of the usual depths', () => {
    const { lines, stream } = captureLogs();
    const logger = createLogger({ level: 'info', destination: stream, env: {} });
    logger.info(
      {
        password: 'p1',
        token: 't1',
        mqtt: { password: 'p2', username: 'gw' },
        req: { headers: { authorization: 'Bearer abc' } },
        enrollment: { credential: 'c1', broker: { secret: 's1' } },
      },
      'connecting',
    );
    const text = JSON.stringify(lines);
    for (const secret of ['p1', 't1', 'p2', 'Bearer abc', 'c1', 's1'])
      assert.ok(!text.includes(`"${secret}"`), secret);
    const [line] = lines;
    assert.equal((line?.['mqtt'] as Record<string, unknown>)['username'], 'gw', 'other fields stay');
    assert.equal(line?.['password'], REDACTED);
  });

  it('takes LOG_LEVEL over the configured level', () => {
    assert.equal(createLogger({ level: 'info', env: { LOG_LEVEL: 'debug' } }).level, 'debug');
    assert.equal(createLogger({ level: 'warn', env: {} }).level, 'warn');
    const { lines, stream } = captureLogs();
    assert.equal(
      createLogger({ level: 'warn', env: { LOG_LEVEL: 'chatty' }, destination: stream }).level,
      'warn',
    );
    assert.match(String(lines[0]?.['msg']), /invalid LOG_LEVEL/);
  });
});

/** A bus that polls on demand, for testing the gateway without a wire. */
class FakeBus implements PollingBus {
  started = false;
  stopped = false;
  private listener: ((result: DevicePollResult) => void) | undefined;
  constructor(
    readonly id: string,
    private readonly failStart = false,
  ) {}
  async start(): Promise<void> {
    if (this.failStart) throw new Error(`port of ${this.id} is gone`);
    this.started = true;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  onPoll(listener: (result: DevicePollResult) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  readonly writes: Array<{ deviceId: string; pointKey: string; value: number | boolean }> = [];
  async write(deviceId: string, pointKey: string, value: number | boolean): Promise<void> {
    this.writes.push({ deviceId, pointKey, value });
  }
  counters(): BusCounters {
    return {
      busId: this.id,
      transactions: 0,
      timeouts: 2,
      crcErrors: 1,
      exceptions: 0,
      otherErrors: 0,
      retries: 0,
      lastRttMs: null,
      meanRttMs: null,
      maxRttMs: null,
      utilisation: 0.25,
      devices: [],
    };
  }
  emit(deviceId: string, quality: DevicePollResult['quality'], values: number[]): void {
    this.listener?.({
      busId: this.id,
      deviceId,
      wallTimeMs: Date.now(),
      monotonicMs: performance.now(),
      quality,
      readings: values.map((value, i) => ({ key: `p${i}`, value })),
      errors: quality === 'good' ? [] : [{ code: 'MODBUS_TIMEOUT', message: 'no reply' }],
    });
  }
}

function testConfig(dataDir: string): GatewayConfig {
  const result = validateGatewayConfig(
    {
      gatewayId: 'gw-fake',
      web: { host: '127.0.0.1', port: 0 },
      site: { name: 'bench' },
      dataDir,
      buses: [
        { id: 'a', kind: 'tcp', host: 'a.local' },
        { id: 'b', kind: 'tcp', host: 'b.local' },
      ],
      devices: [
        { id: 'dev-a', bus: 'a', unitId: 1, profile: 'test-gd1' },
        { id: 'dev-b', bus: 'b', unitId: 1, profile: 'test-gd1' },
      ],
    },
    PROFILES,
  );
  assert.ok(result.ok);
  return result.config;
}

describe('Gateway (with fake buses)', () => {
  it('stores every poll of every bus, and a bus that fails to start does not stop the others', async () => {
    const dataDir = join(tmp, `fake-${++counter}`);
    const buses = new Map<string, FakeBus>();
    const createBus: BusFactory = ({ config, devices }) => {
      assert.equal(devices.length, 1);
      const bus = new FakeBus(config.id, config.id === 'b');
      buses.set(config.id, bus);
      return bus;
    };
    const { lines, stream } = captureLogs();
    const logger = createLogger({ level: 'info', destination: stream, env: {} });
    const gateway = new Gateway(testConfig(dataDir), PROFILES, logger, { createBus, summaryIntervalMs: 0 });
    await gateway.start();
    const a = buses.get('a');
    assert.ok(a?.started);
    assert.ok(lines.some((l) => l['level'] === 50 && /bus failed to start/.test(String(l['msg']))));
    assert.ok(lines.some((l) => /bus a started with 1 device/.test(String(l['msg']))));

    a.emit('dev-a', 'good', [1, 2, 3]);
    a.emit('dev-a', 'partial', [4]);
    a.emit('dev-a', 'failed', []);
    const summary = gateway.summary();
    assert.deepEqual(
      summary.buses.map((b) => [b.busId, b.polls, b.good, b.partial, b.failed, b.errors, b.timeouts]),
      [['a', 3, 1, 1, 1, 2, 2]],
    );
    assert.equal(gateway.summary().buses[0]?.polls, 0, 'tallies restart after each summary');

    await gateway.stop();
    assert.ok(a.stopped);
    const db = new Database(join(dataDir, 'kerbside.db'), { readonly: true });
    assert.equal(db.prepare('SELECT COUNT(*) FROM readings').pluck().get(), 4, 'flushed at stop');
    assert.equal(db.prepare('SELECT COUNT(*) FROM polls').pluck().get(), 3);
    db.close();
  });

  it('logs a periodic summary of polls and errors at info level, short, with the detail at debug', async () => {
    const dataDir = join(tmp, `fake-${++counter}`);
    const buses: FakeBus[] = [];
    const createBus: BusFactory = ({ config }) => {
      const bus = new FakeBus(config.id);
      buses.push(bus);
      return bus;
    };
    const { lines, stream } = captureLogs();
    const logger = createLogger({ level: 'debug', destination: stream, env: {} });
    const gateway = new Gateway(testConfig(dataDir), PROFILES, logger, { createBus, summaryIntervalMs: 30 });
    await gateway.start();
    buses[0]?.emit('dev-a', 'good', [1]);
    buses[1]?.emit('dev-b', 'failed', []);
    let summary: Record<string, unknown>;
    try {
      summary = await waitFor(
        'a summary line',
        () => lines.find((l) => /^summary: /.test(String(l['msg']))),
        {
          message: () => 'no summary line',
          detail: () => JSON.stringify(lines, null, 1),
        },
      );
    } finally {
      await gateway.stop();
    }
    assert.equal(summary['level'], 30);
    assert.match(
      String(summary['msg']),
      /^summary: 2 polls, 1 failed, 1 request errors; 0 devices degraded, 0 dead; \d+ readings stored, \d+ buffered, \d+ events in the outbox$/,
    );
    assert.equal(summary['polls'], 2);
    assert.equal(summary['failed'], 1);
    // A few numbers, not the per-bus and store detail (1.8 KB in the demo).
    assert.equal(summary['buses'], undefined);
    assert.equal(summary['store'], undefined);
    assert.ok(JSON.stringify(summary).length < 400, JSON.stringify(summary));
    const detail = lines.find((l) => l['msg'] === 'summary detail');
    assert.equal(detail?.['level'], 20);
    const detailBuses = detail?.['buses'] as Array<Record<string, unknown>>;
    assert.deepEqual(
      detailBuses.map((b) => b['busId']),
      ['a', 'b'],
    );
    assert.equal((detail?.['store'] as Record<string, unknown>)['file'], join(dataDir, 'kerbside.db'));

    // Stopping: the figures that tell a clean stop from a troubled one at info, the rest at debug.
    const stopped = lines.find((l) => l['msg'] === 'gateway stopped');
    assert.equal(stopped?.['level'], 30);
    assert.equal(stopped?.['file'], join(dataDir, 'kerbside.db'));
    for (const key of ['commits', 'failedCommits', 'eventsWritten', 'refusedEvents'])
      assert.equal(typeof stopped?.[key], 'number', key);
    assert.equal(stopped?.['store'], undefined);
    assert.ok(JSON.stringify(stopped).length < 400, JSON.stringify(stopped));
    const stopDetail = lines.find((l) => l['msg'] === 'gateway stopped: store statistics');
    assert.equal(stopDetail?.['level'], 20);
    assert.equal(typeof (stopDetail?.['store'] as Record<string, unknown>)['readingsWritten'], 'number');
  });

  it('refuses to start on a database written by newer code, and leaves nothing running', async () => {
    const dataDir = join(tmp, `fake-${++counter}`);
    const logger = pino({ level: 'silent' });
    const created: FakeBus[] = [];
    const createBus: BusFactory = ({ config }) => {
      const bus = new FakeBus(config.id);
      created.push(bus);
      return bus;
    };
    const first = new Gateway(testConfig(dataDir), PROFILES, logger, { createBus, summaryIntervalMs: 0 });
    await first.start();
    await first.stop();
    const raw = new Database(join(dataDir, 'kerbside.db'));
    raw.pragma('user_version = 42');
    raw.close();
    created.length = 0;
    const second = new Gateway(testConfig(dataDir), PROFILES, logger, { createBus, summaryIntervalMs: 0 });
    await assert.rejects(
      second.start(),
      (error: unknown) => error instanceof Error && 'code' in error && error.code === 'STORE_TOO_NEW',
    );
    assert.equal(created.length, 0, 'no bus was started');
  });

  it('quarantines a damaged database, starts fresh, and raises a latched alarm with its outbox event', async () => {
    const dataDir = join(tmp, `fake-${++counter}`);
    const logger = pino({ level: 'silent' });
    const createBus: BusFactory = ({ config }) => new FakeBus(config.id);
    const first = new Gateway(testConfig(dataDir), PROFILES, logger, { createBus, summaryIntervalMs: 0 });
    await first.start();
    await first.stop();
    // Power loss on a cheap SD card: the file is garbage now.
    writeFileSync(join(dataDir, 'kerbside.db'), Buffer.alloc(64 * 1024, 0x5a));

    const second = new Gateway(testConfig(dataDir), PROFILES, logger, { createBus, summaryIntervalMs: 0 });
    await second.start();
    const alarm = second.alarms().find((a) => a.alarmKey === 'gw-fake:derived.store_quarantined');
    assert.equal(alarm?.state, 'unacknowledged');
    await second.stop();

    const db = new Database(join(dataDir, 'kerbside.db'), { readonly: true });
    const kinds = db.prepare<[], string>('SELECT kind FROM outbox ORDER BY seq').pluck().all();
    const history = db
      .prepare<[], number>(
        "SELECT COUNT(*) FROM alarm_history WHERE alarm_key = 'gw-fake:derived.store_quarantined'",
      )
      .pluck()
      .get();
    db.close();
    assert.equal(kinds[0], 'store_quarantined', 'seq 1 of the new epoch says what was lost');
    assert.ok(kinds.includes('alarm_transition'));
    assert.equal(history, 1);
    assert.ok(
      readdirSync(dataDir).some((f) => f.startsWith('kerbside.db.corrupt-')),
      'the damaged file is kept aside',
    );
  });
});

describe('gateway/main.ts against simulators (real process)', () => {
  it('polls every bus into kerbside.db and stops cleanly on SIGTERM', async (t) => {
    const sim = await startSimulation({
      buses: [
        { id: 'line', kind: 'rtu', pty: true },
        { id: 'lan', kind: 'tcp', port: 0, host: '127.0.0.1' },
      ],
      devices: [
        { bus: 'line', unitId: 1, profile: 'kerbtek-lc3200' },
        { bus: 'line', unitId: 2, profile: 'anjing-mc200' },
        { bus: 'lan', unitId: 1, profile: 'anqi-gd300' },
      ],
    });
    t.after(() => sim.stop());
    const line = sim.bus('line');
    const lan = sim.bus('lan');
    // Without a pseudo-terminal the simulator serves the RTU line over TCP instead.
    const lineBus =
      line.endpoint === 'serial'
        ? { id: 'line', kind: 'rtu', path: line.gatewayPath }
        : { id: 'line', kind: 'rtu-over-tcp', host: '127.0.0.1', port: line.port };
    const dataDir = join(tmp, `sim-${++counter}`);
    const configPath = join(tmp, `sim-${counter}.json`);
    writeFileSync(
      configPath,
      JSON.stringify({
        gatewayId: 'gw-sim',
        web: { host: '127.0.0.1', port: 0 },
        site: { name: 'simulated cabinet' },
        dataDir,
        buses: [lineBus, { id: 'lan', kind: 'tcp', host: '127.0.0.1', port: lan.port }],
        devices: [
          { id: 'lighting', bus: 'line', unitId: 1, profile: 'kerbtek-lc3200', pollIntervalMs: 300 },
          { id: 'manhole', bus: 'line', unitId: 2, profile: 'anjing-mc200', pollIntervalMs: 300 },
          { id: 'gas', bus: 'lan', unitId: 1, profile: 'anqi-gd300', pollIntervalMs: 300 },
        ],
      }),
    );

    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', configPath], {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    // Wait until every device has a good poll in the database (read through a separate
    // connection, as the web UI would).
    const dbPath = join(dataDir, 'kerbside.db');
    let good: string[] = [];
    await waitFor(
      'a good poll of every device in the database',
      () => {
        if (child.exitCode !== null)
          assert.fail(`gateway exited early (${child.exitCode}):\n${stderr}\n${stdout}`);
        if (!existsSync(dbPath)) return false;
        const db = new Database(dbPath, { readonly: true, timeout: 1000 });
        try {
          good = db
            .prepare<[], string>('SELECT DISTINCT device_id FROM polls WHERE quality = 0 ORDER BY device_id')
            .pluck()
            .all();
        } catch {
          // The schema may not be there yet on the very first look.
        } finally {
          db.close();
        }
        return good.length >= 3;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 100,
        detail: () => `polled well: ${good.join(', ')}\n${stdout}\n${stderr}`,
      },
    );
    assert.deepEqual(
      good,
      ['gas', 'lighting', 'manhole'],
      `not every device was polled:\n${stdout}\n${stderr}`,
    );
    for (const busId of ['line', 'lan']) assert.match(stdout, new RegExp(`"msg":"bus ${busId} started with`));

    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, `exit code; stderr:\n${stderr}`);
    assert.match(stdout, /"msg":"gateway stopped"/);
    // The last connection closed cleanly: SQLite checkpointed and removed the WAL.
    assert.equal(existsSync(`${dbPath}-wal`), false, 'WAL left behind: the database was not closed');
    const db = new Database(dbPath, { readonly: true });
    const readings = db.prepare<[], number>('SELECT COUNT(*) FROM readings').pluck().get() ?? 0;
    const gasPoints = db
      .prepare<[], string>("SELECT point_key FROM series WHERE device_id = 'gas' ORDER BY point_key")
      .pluck()
      .all();
    db.close();
    assert.ok(readings > 0);
    assert.ok(gasPoints.length > 0, 'the gas detector points were stored');
  });
});

/** A started process whose stdout is pino JSON lines (other lines, like npm's banner, are kept apart). */
interface LoggedProcess {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  text: () => string;
  /** Resolves with the first log line (past or future) that matches; rejects if the process exits first. */
  waitForLog: (
    match: (line: Record<string, unknown>) => boolean,
    what: string,
  ) => Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startLogged(command: string, args: string[], options: { detached?: boolean } = {}): LoggedProcess {
  const child = spawn(command, args, {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'info', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const lines: Array<Record<string, unknown>> = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const line of complete) {
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    for (const waiter of waiters) waiter();
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const text = (): string => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  const waitForLog = (
    match: (line: Record<string, unknown>) => boolean,
    what: string,
  ): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find(match);
        if (found === undefined) return;
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
      void exited.then(() => {
        // Lines still in the pipe arrive before 'exit' is handled by then; one last look.
        check();
        if (waiters.delete(check)) reject(new Error(`exited before ${what}:\n${text()}`));
      });
    });
  return { child, lines, text, waitForLog, exited };
}

const msg =
  (pattern: RegExp) =>
  (line: Record<string, unknown>): boolean =>
    pattern.test(String(line['msg']));

/** The parent pid and command line of a live process, from /proc. */
function processInfo(pid: number): { ppid: number; cmdline: string[] } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 4 of stat is the parent pid; the command name in field 2 may hold spaces, so count from ')'.
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((part) => part !== '');
  return { ppid, cmdline };
}

describe('gateway/main.ts process: signals, pid, uplink warning', () => {
  function writeConfig(name: string, document: Record<string, unknown>): string {
    const configPath = join(tmp, `${name}-${++counter}.json`);
    writeFileSync(
      configPath,
      JSON.stringify({
        gatewayId: 'gw-signals',
        web: { host: '127.0.0.1', port: 0 },
        site: { name: 'signal bench' },
        dataDir: join(tmp, `${name}-${counter}-data`),
        // Tests run side by side: no fixed metrics port.
        metrics: { enabled: false },
        ...document,
      }),
    );
    return configPath;
  }

  it('stops cleanly on a doubled SIGINT (one Ctrl-C delivered twice) while the stop is still running', async (t) => {
    // A device that takes requests and never answers: the stop has to wait for the transaction
    // in flight to time out, so the second SIGINT certainly arrives while it is stopping.
    const sockets = new Set<Socket>();
    let requestSeen: () => void = () => undefined;
    const requested = new Promise<void>((resolve) => (requestSeen = resolve));
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => requestSeen());
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const port = (silent.address() as AddressInfo).port;
    const configPath = writeConfig('double-sigint', {
      buses: [{ id: 'lan', kind: 'tcp', host: '127.0.0.1', port }],
      devices: [{ id: 'gas', bus: 'lan', unitId: 1, profile: 'anqi-gd300', timeoutMs: 2000, retries: 0 }],
    });
    const gw = startLogged(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', configPath]);
    t.after(() => {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    });
    await gw.waitForLog(msg(/^gateway gw-signals running/), 'the running line');
    await requested;

    gw.child.kill('SIGINT');
    // The second copy after the first was seen, as npm's forwarded copy arrives (two signals
    // sent at once could merge into one pending signal in the kernel and prove nothing).
    await gw.waitForLog(msg(/^stopping$/), 'the stopping line');
    gw.child.kill('SIGINT');

    const { code } = await gw.exited;
    assert.equal(code, 0, `exit code\n${gw.text()}`);
    assert.ok(gw.lines.some(msg(/^gateway stopped$/)), `no clean stop\n${gw.text()}`);
    assert.ok(
      gw.lines.some(msg(/SIGINT again within 2000 ms .*the same stop request/)),
      `the repeat was not recognised as the same request\n${gw.text()}`,
    );
    assert.ok(!gw.lines.some(msg(/forcing exit/)), gw.text());
    const dbPath = join(tmp, `double-sigint-${counter}-data`, 'kerbside.db');
    assert.ok(existsSync(dbPath));
    // The last connection closed cleanly: SQLite checkpointed and removed the WAL.
    assert.equal(existsSync(`${dbPath}-wal`), false, 'WAL left behind: the database was not closed');
  });

  it('warns once at start when devices are configured but the uplink is off, and not when it is on', async (t) => {
    const bus = { id: 'lan', kind: 'tcp', host: '127.0.0.1', port: 1 };
    const device = { id: 'gas', bus: 'lan', unitId: 1, profile: 'anqi-gd300' };
    const run = async (uplink: Record<string, unknown>): Promise<LoggedProcess> => {
      const configPath = writeConfig('uplink-warn', { buses: [bus], devices: [device], uplink });
      const gw = startLogged(process.execPath, [
        '--import',
        'tsx',
        'gateway/main.ts',
        '--config',
        configPath,
      ]);
      t.after(() => {
        if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
      });
      await gw.waitForLog(msg(/^gateway gw-signals running/), 'the running line');
      gw.child.kill('SIGTERM');
      assert.equal((await gw.exited).code, 0, gw.text());
      return gw;
    };
    const off = await run({});
    const warnings = off.lines.filter(msg(/uplink\.enabled is false/));
    assert.equal(warnings.length, 1, off.text());
    assert.equal(warnings[0]?.['level'], 40, 'a warning');
    assert.match(String(warnings[0]?.['msg']), /nothing is sent to the cloud/);
    assert.match(String(warnings[0]?.['msg']), /"uplink": \{ "enabled": true \}/);

    // Enabled but never enrolled: the credential error says why, the uplink-off warning does not.
    const on = await run({ enabled: true });
    assert.ok(!on.lines.some(msg(/uplink\.enabled is false/)), on.text());
    assert.ok(on.lines.some(msg(/uplink disabled: no usable credential/)), on.text());
  });

  it('under npm run, the pid in the start line is the gateway itself: HUP there re-reads the configuration, TERM to npm stops it cleanly', async (t) => {
    const device = { id: 'gas', bus: 'lan', unitId: 1, profile: 'anqi-gd300', pollIntervalMs: 1000 };
    const configDoc = { buses: [{ id: 'lan', kind: 'tcp', host: '127.0.0.1', port: 1 }], devices: [device] };
    const configPath = writeConfig('npm-hup', configDoc);
    // Its own process group, like a terminal's job: whatever is left of it can be killed at the end.
    const npm = startLogged('npm', ['run', 'gateway', '--', '--config', configPath], { detached: true });
    t.after(() => {
      try {
        if (npm.child.pid !== undefined) process.kill(-npm.child.pid, 'SIGKILL');
      } catch {
        // The group is gone: nothing was left behind.
      }
    });
    const running = await npm.waitForLog(msg(/^gateway gw-signals running/), 'the running line');
    // README: the pid to signal is the one in the start line.
    const pid = Number(/\(pid (\d+),/.exec(String(running['msg']))?.[1]);
    assert.equal(running['pid'], pid, 'the pid field and the text agree');
    // README's other way to find it (narrowed to this test's configuration file).
    const pgrep = await new Promise<string>((resolve) =>
      execFile(
        'pgrep',
        ['-f', `^node --disable-proto=delete --import tsx gateway/main.ts --config ${configPath}$`],
        (_error, out) => resolve(out.trim()),
      ),
    );
    assert.equal(pgrep, String(pid));

    // Nothing between npm and the service (no tsx wrapper, and npm's shell exec'd node), so what
    // npm forwards (INT, TERM) reaches the gateway and nothing in between can die and orphan it.
    const service = processInfo(pid);
    assert.match(service.cmdline[0] ?? '', /(^|\/)node$/);
    assert.ok(service.cmdline.includes('gateway/main.ts'), service.cmdline.join(' '));
    assert.equal(service.ppid, npm.child.pid, `the parent of the gateway is not npm but ${service.ppid}`);

    writeFileSync(
      configPath,
      JSON.stringify({
        ...JSON.parse(readFileSync(configPath, 'utf8')),
        devices: [{ ...device, pollIntervalMs: 2000 }],
      }),
    );
    process.kill(pid, 'SIGHUP');
    const reread = await npm.waitForLog(msg(/^configuration file re-read \(SIGHUP\)$/), 'the reload line');
    assert.deepEqual(reread['overrides'], ['/devices/gas/pollIntervalMs']);

    // TERM to npm itself (a service manager stopping "npm run gateway") reaches the gateway,
    // which stops cleanly before npm exits, instead of npm dying and leaving it behind.
    assert.ok(npm.child.pid !== undefined);
    process.kill(npm.child.pid, 'SIGTERM');
    const { code } = await npm.exited;
    assert.ok(npm.lines.some(msg(/^gateway stopped$/)), `no clean stop\n${npm.text()}`);
    assert.equal(code, 0, npm.text());
    assert.equal(existsSync(`/proc/${pid}`), false, 'the gateway outlived npm');
  });
});
