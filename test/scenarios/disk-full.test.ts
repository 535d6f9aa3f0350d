/**
 * A full disk (issue 10, docs/storage.md "A full disk"), on a real size-limited mount the test
 * makes (tmpfs; the test runs as root, as CI does): a simulated gas detector on Modbus TCP, a real
 * gateway whose data folder is the mount, the real cloud service for its up/status and acks.
 *
 *  1. Filled up: the storage alarm is committed and in up/status, alarm transitions are still
 *     committed, and acknowledgements still recorded (the reserve pays for them).
 *  2. A little freed: no refill loop (readings stay dropped, the reserve is not written back).
 *  3. Freed: recovery without a restart (storage ok, reserve back, readings stored again).
 *  4. No reserve left: decisions are held, and committed later with the times they were made.
 *  5. The gateway process: a stop while full exits 4 and names what was lost; a crash while full
 *     is reported at the next start by a priority-lane gap event.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { CloudService } from '../../cloud-sync/service/service.js';
import { Gateway } from '../../gateway/gateway.js';
import { GATEWAY_DB_FILE } from '../../gateway/store/event-store.js';
import { HELD_MARKER_FILE } from '../../gateway/store/held-marker.js';
import { RESERVE_FILE } from '../../gateway/store/storage-guard.js';
import type { UplinkOptions } from '../../gateway/uplink/uplink.js';
import { GW, startCloud, uplinkTo } from '../helpers/system-harness.js';
import {
  configDocument,
  shippedProfiles,
  spawnGateway,
  startScenarioSimulation,
  tcpEndpoint,
  validConfig,
  waitUntil,
  writeConfigFile,
  type ScenarioSimulation,
} from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/wait.js';

const GAS = 'gas-vault';
const MIB = 1024 * 1024;
const silent = pino({ level: 'silent' });

/** A tmpfs of `mib` MiB at a fresh folder; fails clearly where mounting is not allowed. */
function mountSmallDisk(mib: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-disk-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `the disk-full tests mount a ${mib} MiB tmpfs and need root (as CI runs): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return dir;
}

function unmount(dir: string): void {
  execFileSync('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
}

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

/** Appends to `file` until the disk has no byte left (ENOSPC), then returns. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'a');
  try {
    for (let size = CHUNK.length; size >= 512; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          writeSync(fd, CHUNK, 0, size);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads the gateway database read-only (reads need no space). */
function query<T>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(join(dataDir, GATEWAY_DB_FILE), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

interface HistoryRow {
  alarm_key: string;
  to_state: string;
  wall_ms: number;
}

function history(dataDir: string, alarmKey: string): HistoryRow[] {
  return query<HistoryRow>(
    dataDir,
    'SELECT alarm_key, to_state, wall_ms FROM alarm_history WHERE alarm_key = ? ORDER BY id',
    alarmKey,
  );
}

const gasDevices = [
  {
    id: GAS,
    bus: 'lan',
    unitId: 1,
    profile: 'anqi-gd300',
    gateway: { pollIntervalMs: 100, timeoutMs: 300, alarms: { h2s_high: { onDelayS: 0, offDelayS: 0 } } },
  },
];

describe('disk full: the cabinet stays visible and keeps every decision', () => {
  let disk: string;
  let cloudDir: string;
  let cloud: CloudService;
  let simulation: ScenarioSimulation;
  let gateway: Gateway;
  const ballast = (): string => join(disk, 'ballast');

  before(async () => {
    disk = mountSmallDisk(32);
    cloudDir = mkdtempSync(join(tmpdir(), 'kerbside-disk-full-cloud-'));
    cloud = await startCloud(cloudDir);
    simulation = await startScenarioSimulation([tcpEndpoint('lan')], gasDevices);
    simulation.device(GAS).hold('h2s', 0.5);
    // A long status interval: the storage status must reach the cloud when it changes.
    const uplink: UplinkOptions = { ...uplinkTo(cloud), statusIntervalMs: 60_000 };
    gateway = new Gateway(validConfig(configDocument(simulation, disk)), shippedProfiles(), silent, {
      uplink,
      summaryIntervalMs: 0,
      // Sized for a 32 MiB disk: a 1 MiB reserve, "low" below 2 MiB, back to normal from 6 MiB.
      storageGuard: { reserveBytes: MIB, lowBytes: 2 * MIB, resumeBytes: 6 * MIB },
    });
    await gateway.start();
  });

  after(async () => {
    await gateway?.stop();
    await simulation?.sim.stop();
    await cloud?.close();
    if (disk !== undefined) unmount(disk);
    if (cloudDir !== undefined) rmSync(cloudDir, { recursive: true, force: true });
  });

  const storageOf = () => gateway.metricsSnapshot().store?.storage;
  /** Gap events the cloud holds (the gateway's outbox forgets them once acknowledged). */
  async function gapEvents(): Promise<Array<{ count: number; reason: string }>> {
    const rows = await cloud.db
      .selectFrom('events')
      .select('body')
      .where('gateway_id', '=', GW)
      .where('kind', '=', 'gap')
      .execute();
    return rows.map((row) => JSON.parse(row.body) as { count: number; reason: string });
  }
  const readingsWritten = () => gateway.metricsSnapshot().store?.readingsWritten ?? 0;

  async function cloudStorageState(): Promise<string | null> {
    const row = await cloud.db
      .selectFrom('gateway_status')
      .select('storage')
      .where('gateway_id', '=', GW)
      .executeTakeFirst();
    return row?.storage === null || row?.storage === undefined
      ? null
      : (JSON.parse(row.storage) as { state: string }).state;
  }

  async function cloudSees(state: string): Promise<void> {
    await waitFor(`the cloud seeing storage ${state}`, async () => (await cloudStorageState()) === state, {
      timeoutMs: 15_000,
    });
  }

  it('filled up: the storage alarm is committed and in up/status, alarms and acknowledgements still recorded', async () => {
    await waitUntil('readings stored', () => readingsWritten() > 10);
    await cloudSees('ok');
    assert.ok(existsSync(join(disk, RESERVE_FILE)), 'the reserve is written at start');

    fillDisk(ballast());
    await waitUntil('the storage alarm committed', () =>
      history(disk, `${GW}:derived.storage`).some((row) => row.to_state === 'unacknowledged'),
    );
    assert.equal(storageOf()?.state, 'full');
    assert.equal(existsSync(join(disk, RESERVE_FILE)), false, 'the reserve was released for the decisions');
    await cloudSees('full');

    // A gas alarm while the disk is full: its transition is committed.
    simulation.device(GAS).hold('h2s', 24);
    await waitUntil('the gas alarm committed', () =>
      history(disk, `${GAS}:h2s_high`).some((row) => row.to_state === 'unacknowledged'),
    );
    // The cloud acknowledges what it got, and the gateway records it: the priority lane drains.
    await waitUntil('acknowledgements recorded', () => {
      const lanes = gateway.metricsSnapshot().store?.outbox.lanes.priority;
      return lanes !== undefined && lanes.lastSeq > 0 && lanes.ackedSeq === lanes.lastSeq;
    });
  });

  it('a little space freed: no refill loop, readings stay dropped and the reserve stays away', async () => {
    // Free 1.5 MiB (below resumeBytes): not enough to go back to normal.
    execFileSync('truncate', ['-s', `-${Math.round(1.5 * MIB)}`, ballast()]);
    const freed = statSync(ballast()).size;
    const before = readingsWritten();
    const dropped = () => gateway.metricsSnapshot().pipeline?.droppedReadingPolls ?? 0;
    const droppedBefore = dropped();
    await waitUntil('twenty more polls handled', () => dropped() > droppedBefore + 20);
    const storage = storageOf();
    assert.notEqual(storage?.state, 'ok');
    assert.equal(readingsWritten(), before, 'readings are not stored while space is short');
    assert.equal(existsSync(join(disk, RESERVE_FILE)), false, 'the reserve is not written back yet');
    assert.ok(
      (storage?.freeBytes ?? 0) >= MIB,
      `the freed space is not eaten again (${storage?.freeBytes} free)`,
    );
    assert.equal(statSync(ballast()).size, freed);
    assert.equal(
      (await gapEvents()).length,
      0,
      'dropped telemetry is counted, not written as a gap per cycle',
    );
  });

  it('space freed: recovery without a restart', async () => {
    rmSync(ballast());
    await waitUntil('storage ok again', () => storageOf()?.state === 'ok');
    assert.ok(existsSync(join(disk, RESERVE_FILE)), 'the reserve is written back');
    const before = readingsWritten();
    await waitUntil('readings stored again', () => readingsWritten() > before);
    await waitUntil('the storage alarm back to normal', () =>
      history(disk, `${GW}:derived.storage`).some(
        (row) => row.to_state.startsWith('rtn') || row.to_state === 'normal',
      ),
    );
    await cloudSees('ok');
    // One gap event reports all the telemetry dropped while storage was short.
    const dropped = gateway.metricsSnapshot().pipeline?.droppedTelemetryEvents ?? 0;
    assert.ok(dropped > 0, 'telemetry was dropped while short');
    const gaps = await waitFor(
      'the gap event of the dropped telemetry in the cloud',
      async () => {
        const found = (await gapEvents()).filter((gap) =>
          /not stored while storage was short/.test(gap.reason),
        );
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0]?.count, dropped);
    simulation.device(GAS).hold('h2s', 0.5);
  });
});

describe('disk full without a reserve: decisions keep their times, a stop says what it lost', () => {
  let disk: string;
  let simulation: ScenarioSimulation;
  let gateway: Gateway;

  before(async () => {
    disk = mountSmallDisk(32);
    simulation = await startScenarioSimulation([tcpEndpoint('lan')], gasDevices);
    simulation.device(GAS).hold('h2s', 0.5);
    gateway = new Gateway(validConfig(configDocument(simulation, disk)), shippedProfiles(), silent, {
      summaryIntervalMs: 0,
      // No reserve: nothing can be committed while the disk is full, so decisions are held.
      storageGuard: { reserveBytes: 0, lowBytes: 0, resumeBytes: MIB },
      stopCommitTimeoutMs: 600,
    });
    await gateway.start();
  });

  after(async () => {
    await gateway?.stop();
    await simulation?.sim.stop();
    if (disk !== undefined) unmount(disk);
  });

  const held = () => gateway.metricsSnapshot().pipeline?.pendingEvents ?? 0;

  it('decisions made while nothing could be written are committed later with the times they were made', async () => {
    await waitUntil('readings stored', () => (gateway.metricsSnapshot().store?.readingsWritten ?? 0) > 10);
    fillDisk(join(disk, 'ballast'));
    simulation.device(GAS).hold('h2s', 24);
    await waitUntil('the gas alarm decided and held', () => held() > 0);
    assert.equal(history(disk, `${GAS}:h2s_high`).length, 0, 'nothing could be committed yet');
    const freedAt = Date.now();
    rmSync(join(disk, 'ballast'));
    await waitUntil('the held decisions committed', () => history(disk, `${GAS}:h2s_high`).length > 0);
    for (const row of history(disk, `${GAS}:h2s_high`)) {
      assert.ok(
        row.wall_ms < freedAt,
        `${row.to_state} stamped ${row.wall_ms}, before the space returned at ${freedAt}`,
      );
    }
  });

  it('a stop while full commits nothing silently: the outcome names what was lost', async () => {
    fillDisk(join(disk, 'ballast'));
    simulation.device(GAS).hold('h2s', 0.5);
    await waitUntil('the return to normal decided and held', () => held() > 0);
    const outcome = await gateway.stop();
    assert.equal(outcome.stored, false);
    assert.ok((outcome.lostByKind['alarm_transition'] ?? 0) > 0, JSON.stringify(outcome));
    assert.ok(outcome.lostAlarms.includes(`${GAS}:h2s_high`));
    rmSync(join(disk, 'ballast'));
  });
});

describe('the gateway process on a full disk', () => {
  let disk: string;
  let simulation: ScenarioSimulation;
  let configPath: string;

  before(async () => {
    disk = mountSmallDisk(32);
    simulation = await startScenarioSimulation([tcpEndpoint('lan')], gasDevices);
    simulation.device(GAS).hold('h2s', 0.5);
    const dataDir = join(disk, 'data');
    configPath = writeConfigFile(
      mkdtempSync(join(tmpdir(), 'kerbside-disk-full-config-')),
      configDocument(simulation, dataDir, { metrics: { enabled: false } }),
    );
  });

  after(async () => {
    await simulation?.sim.stop();
    if (disk !== undefined) unmount(disk);
  });

  const dataDir = (): string => join(disk, 'data');
  const marker = (): string => readFileSync(join(dataDir(), HELD_MARKER_FILE), 'utf8');

  /** Fills the disk, waits for the reserve to be spent, fills it again, and gets a decision held. */
  async function holdADecision(h2s: number): Promise<void> {
    fillDisk(join(disk, 'ballast-1'));
    await waitUntil('the reserve released', () => !existsSync(join(dataDir(), RESERVE_FILE)), {
      timeoutMs: 15_000,
    });
    fillDisk(join(disk, 'ballast-2'));
    simulation.device(GAS).hold('h2s', h2s);
    await waitUntil('a decision held (marker)', () => /"events":[1-9]/.test(marker()), { timeoutMs: 15_000 });
  }

  /**
   * Running, with its signal handlers: main.ts logs the uplink-off warning (shown at LOG_LEVEL
   * warn) in the same synchronous step that installs them.
   */
  async function started(run: ReturnType<typeof spawnGateway>): Promise<void> {
    await waitUntil('the gateway running', () => run.output().includes('uplink.enabled is false'), {
      timeoutMs: 15_000,
      detail: run.output,
    });
  }

  function freeDisk(): void {
    rmSync(join(disk, 'ballast-1'), { force: true });
    rmSync(join(disk, 'ballast-2'), { force: true });
  }

  it('a clean stop while full exits 4 and names the decisions it could not store', async () => {
    const run = spawnGateway(configPath);
    await waitUntil('the gateway writing', () => existsSync(join(dataDir(), RESERVE_FILE)), {
      timeoutMs: 15_000,
    });
    await holdADecision(24);
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    freeDisk();
    assert.equal(code, 4, run.output());
    assert.match(run.output(), /decided events not stored \(\d+ alarm_transition/);
  });

  it('a crash while full is reported at the next start by a priority-lane gap event', async () => {
    const first = spawnGateway(configPath);
    await waitUntil('the gateway writing', () => existsSync(join(dataDir(), RESERVE_FILE)), {
      timeoutMs: 15_000,
    });
    await holdADecision(0.5);
    first.child.kill('SIGKILL');
    await first.exited;
    freeDisk();

    const second = spawnGateway(configPath);
    try {
      await started(second);
      const gap = await waitUntil(
        'a priority-lane gap event',
        () =>
          query<{ body: string }>(dataDir(), "SELECT body FROM outbox WHERE kind = 'gap'")
            .map((row) => JSON.parse(row.body) as { lane?: string; count: number; reason: string })
            .find((body) => body.lane === 'priority'),
        { timeoutMs: 15_000 },
      );
      assert.ok(gap.count >= 1);
      assert.match(gap.reason, /decisions of this interval may be missing/);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal((await second.exited).code, 0, second.output());
    }
  });
});
