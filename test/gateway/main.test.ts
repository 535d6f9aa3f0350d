import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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

  it('logs a periodic summary of polls and errors at info level', async () => {
    const dataDir = join(tmp, `fake-${++counter}`);
    const buses: FakeBus[] = [];
    const createBus: BusFactory = ({ config }) => {
      const bus = new FakeBus(config.id);
      buses.push(bus);
      return bus;
    };
    const { lines, stream } = captureLogs();
    const logger = createLogger({ level: 'info', destination: stream, env: {} });
    const gateway = new Gateway(testConfig(dataDir), PROFILES, logger, { createBus, summaryIntervalMs: 30 });
    await gateway.start();
    buses[0]?.emit('dev-a', 'good', [1]);
    buses[1]?.emit('dev-b', 'failed', []);
    let summary: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && summary === undefined; i++) {
      await sleep(10);
      summary = lines.find((l) => /^summary: /.test(String(l['msg'])));
    }
    await gateway.stop();
    assert.ok(summary, 'no summary line');
    assert.equal(summary['level'], 30);
    assert.match(String(summary['msg']), /^summary: 2 polls, 1 failed, 1 request errors; /);
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
    for (let i = 0; i < 150 && good.length < 3; i++) {
      await sleep(100);
      if (child.exitCode !== null)
        assert.fail(`gateway exited early (${child.exitCode}):\n${stderr}\n${stdout}`);
      if (!existsSync(dbPath)) continue;
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
    }
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
