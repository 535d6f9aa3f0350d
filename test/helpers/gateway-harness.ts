/**
 * The gateway side of the end-to-end tests (test/scenarios, and test/integration through
 * system-harness.ts): REAL simulators (Modbus RTU on a socat pseudo-terminal pair at 115200 baud,
 * Modbus TCP on a loopback port) polled by a REAL gateway, either in this process
 * (`new Gateway(config, profiles, logger)`, so a test can also listen to `gateway.events`, send it
 * configuration documents, stop and restart it) or as the real program
 * (`node --import tsx gateway/main.ts`, started through process.ts, so a test can kill -9 it),
 * plus read-only access to what the gateway COMMITTED in kerbside.db.
 *
 * Waiting is always on a condition with a deadline (waitUntil), never a bare sleep: a scenario
 * that is slow on a loaded machine takes longer, it does not fail.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import type { AlarmTransitionEvent, GatewayEventBody } from '../../cloud-sync/contract/events.js';
import type { DevicePollResult } from '../../gateway/bus/types.js';
import { formatConfigIssue } from '../../gateway/config/errors.js';
import type { GatewayConfig } from '../../gateway/config/types.js';
import { validateGatewayConfig } from '../../gateway/config/validate.js';
import type { GatewayEventMap } from '../../gateway/events/event-bus.js';
import { Gateway, type GatewayOptions } from '../../gateway/gateway.js';
import { loadProfileDirectory } from '../../gateway/profiles/loader.js';
import type { LoadedProfile } from '../../gateway/profiles/types.js';
import { GATEWAY_DB_FILE } from '../../gateway/store/event-store.js';
import {
  startSimulation,
  type BusConfig as SimBusConfig,
  type Clock,
  type DeviceHandle,
  type Simulation,
} from '../../simulators/index.js';
import { busConfigFor, FAST_SERIAL } from './bus-harness.js';
import { requireCommand } from './peers.js';
import { Child, spawnTsx } from './process.js';
import { waitFor, type WaitOptions as SharedWaitOptions } from './wait.js';

let profileCache: Map<string, LoadedProfile> | undefined;

/** The shipped device profiles, keyed by id ('anqi-gd300' ...), as the gateway loads them. */
export function shippedProfiles(): Map<string, LoadedProfile> {
  if (profileCache === undefined) {
    const { profiles, issues } = loadProfileDirectory();
    assert.deepEqual(issues, [], 'the shipped device profiles load without issues');
    profileCache = profiles;
  }
  return profileCache;
}

// --- simulators ---------------------------------------------------------------------------------

/** An RS-485 line on a socat pty pair at 115200 8E1; no silent fallback to TCP. */
export function rtuLine(id: string): SimBusConfig {
  return { id, kind: 'rtu', pty: true, ptyFallback: false, serial: FAST_SERIAL };
}

/** A Modbus TCP endpoint on a free loopback port. */
export function tcpEndpoint(id: string): SimBusConfig {
  return { id, kind: 'tcp', port: 0, host: '127.0.0.1' };
}

/** One field device: simulated on bus `bus` at `unitId`, configured in the gateway as `id`. */
export interface ScenarioDevice {
  /** Gateway device id. */
  id: string;
  /** Simulator bus id, which is also the gateway bus id. */
  bus: string;
  unitId: number;
  /** Profile id, e.g. 'anqi-gd300'. */
  profile: string;
  scenario?: string;
  seed?: number;
  /** The rest of the device's gateway configuration: pollIntervalMs, timeoutMs, retries, alarms ... */
  gateway?: Record<string, unknown>;
}

export interface ScenarioSimulation {
  sim: Simulation;
  /** Simulator handle of a device, by its gateway id. */
  device(id: string): DeviceHandle;
  /** The gateway configuration document's buses and devices for this simulation. */
  buses: unknown[];
  devices: unknown[];
}

/** Starts the simulators. Fails with the package to install when socat is missing. */
export async function startScenarioSimulation(
  buses: SimBusConfig[],
  devices: ScenarioDevice[],
  clock?: Clock,
): Promise<ScenarioSimulation> {
  if (buses.some((b) => b.kind === 'rtu')) requireCommand('socat', 'socat');
  const sim = await startSimulation({
    buses,
    devices: devices.map((d) => ({
      bus: d.bus,
      unitId: d.unitId,
      profile: d.profile,
      ...(d.scenario === undefined ? {} : { scenario: d.scenario }),
      ...(d.seed === undefined ? {} : { seed: d.seed }),
    })),
    ...(clock === undefined ? {} : { clock }),
  });
  return {
    sim,
    device(id) {
      const d = devices.find((x) => x.id === id);
      if (!d) throw new Error(`no scenario device ${id}`);
      return sim.device(d.bus, d.unitId);
    },
    buses: sim.buses.map((b) => busConfigFor(b)),
    devices: devices.map((d) => ({
      id: d.id,
      bus: d.bus,
      unitId: d.unitId,
      profile: d.profile,
      ...d.gateway,
    })),
  };
}

/** A gateway configuration document for the simulation (extra: site, strain, lighting, log ...). */
export function configDocument(
  simulation: ScenarioSimulation,
  dataDir: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    gatewayId: 'gw-scenario',
    site: { name: 'scenario cabinet' },
    dataDir,
    log: { level: 'warn' },
    // A gateway process started on this document serves its web UI on a free loopback port:
    // the default 0.0.0.0:8443 would be fought over by the tests running side by side.
    web: { host: '127.0.0.1', port: 0 },
    buses: simulation.buses,
    devices: simulation.devices,
    ...extra,
  };
}

/** validateGatewayConfig, failing with every issue listed. */
export function validConfig(document: unknown): GatewayConfig {
  const result = validateGatewayConfig(document, shippedProfiles());
  if (!result.ok)
    assert.fail(
      `invalid scenario configuration:\n  ${result.issues.map((i) => formatConfigIssue(i)).join('\n  ')}`,
    );
  return result.config;
}

/** A fresh data folder in the system temp folder. */
export function tempDataDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kerbside-${prefix}-`));
}

/**
 * The simulators' time: stands at 0 until start(), then runs in real time; skip() moves it ahead
 * at once (a scenario's timeline fast-forwarded). Holding it lets the gateway connect and see a
 * device's quiet state before a scenario's timeline begins, however slow the machine is.
 */
export class ScenarioClock implements Clock {
  private startedAt: number | null = null;
  private offsetMs = 0;

  now(): number {
    return (this.startedAt === null ? 0 : performance.now() - this.startedAt) + this.offsetMs;
  }

  start(): void {
    this.startedAt ??= performance.now();
  }

  skip(ms: number): void {
    this.offsetMs += ms;
  }
}

// --- waiting ------------------------------------------------------------------------------------

export type WaitOptions = Pick<SharedWaitOptions, 'timeoutMs' | 'intervalMs' | 'detail'>;

/**
 * Polls `probe` until it returns something other than undefined, null or false: test/helpers/wait.ts
 * with this harness's defaults (10 s, every 40 ms).
 */
export function waitUntil<T>(
  what: string,
  probe: () => T | undefined | null | false,
  options: WaitOptions = {},
): Promise<T> {
  return waitFor(what, probe, {
    ...options,
    timeoutMs: options.timeoutMs ?? 10_000,
    intervalMs: options.intervalMs ?? 40,
  });
}

// --- what the gateway committed -----------------------------------------------------------------

/** An alarm_history row with its transition body, checked against its outbox event. */
export interface CommittedTransition extends AlarmTransitionEvent {
  historyId: number;
  seq: number;
  eventId: string;
  /** When the cycle committed it, on the store's uptime clock. */
  monoMs: number;
}

export interface CommittedReading {
  seq: number;
  monoMs: number;
  value: number | null;
}

export interface OutboxRow<B = GatewayEventBody> {
  seq: number;
  id: string;
  class: string;
  kind: string;
  monoMs: number;
  body: B;
}

export interface AlarmRow {
  alarmKey: string;
  deviceId: string;
  state: string;
  active: boolean;
  level: number;
  acknowledged: boolean;
}

interface HistoryJoinRow {
  historyId: number;
  seq: number;
  eventId: string;
  alarmKey: string;
  fromState: string;
  toState: string;
  monoMs: number;
  body: string;
  oSeq: number | null;
  oId: string | null;
  oKind: string | null;
  oBody: string | null;
}

/**
 * A connection to kerbside.db that only reads (WAL: it never blocks the gateway's writer).
 * `readonly: false` opens it read-write, still only to read: after a kill -9, SQLite may have to
 * recover the WAL index, which a read-only connection cannot do.
 */
export class CommittedDb {
  private connection: Database.Database | undefined;

  constructor(
    readonly path: string,
    private readonly options: { readonly?: boolean } = {},
  ) {}

  private get db(): Database.Database {
    this.connection ??= new Database(this.path, {
      readonly: this.options.readonly ?? true,
      fileMustExist: true,
      timeout: 5_000,
    });
    return this.connection;
  }

  /** Runs `fn` in one read transaction: one consistent snapshot across several queries. */
  snapshot<T>(fn: (db: Database.Database) => T): T {
    return this.db.transaction(() => fn(this.db)).deferred();
  }

  all<T>(sql: string, ...params: unknown[]): T[] {
    return this.db.prepare(sql).all(...params) as T[];
  }

  /**
   * Alarm transitions as committed (alarm_history, oldest first), each checked to have its one
   * outbox event with the same seq, id and body (docs/alarms.md).
   */
  transitions(
    filter: { alarmKey?: string; deviceId?: string; afterId?: number } = {},
  ): CommittedTransition[] {
    const rows = this.all<HistoryJoinRow>(
      `SELECT h.id AS historyId, h.outbox_seq AS seq, h.event_id AS eventId, h.alarm_key AS alarmKey,
              h.from_state AS fromState, h.to_state AS toState, h.mono_ms AS monoMs, h.body AS body,
              o.seq AS oSeq, o.id AS oId, o.kind AS oKind, o.body AS oBody
       FROM alarm_history h LEFT JOIN outbox o ON o.seq = h.outbox_seq
       WHERE h.id > ? AND (? IS NULL OR h.alarm_key = ?) AND (? IS NULL OR h.device_id = ?)
       ORDER BY h.id`,
      filter.afterId ?? 0,
      filter.alarmKey ?? null,
      filter.alarmKey ?? null,
      filter.deviceId ?? null,
      filter.deviceId ?? null,
    );
    // The cloud's acks delete a prefix of the priority lane (commit order): an event below the
    // oldest priority row left is acknowledged, anything else must still be there.
    const oldestPriority =
      this.all<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM outbox WHERE lane = 'priority'")[0]
        ?.seq ?? Number.POSITIVE_INFINITY;
    return rows.map((row) => {
      const body = JSON.parse(row.body) as AlarmTransitionEvent;
      if (row.oSeq === null) {
        assert.ok(
          row.seq < oldestPriority,
          `alarm_history ${row.historyId} (${row.alarmKey}) has no outbox event`,
        );
      } else {
        assert.equal(row.oId, row.eventId, `alarm_history ${row.historyId}: outbox event id`);
        assert.equal(row.oKind, 'alarm_transition', `alarm_history ${row.historyId}: outbox event kind`);
        assert.deepEqual(
          JSON.parse(row.oBody ?? 'null'),
          body,
          `alarm_history ${row.historyId}: outbox body`,
        );
      }
      assert.equal(body.from, row.fromState);
      assert.equal(body.to, row.toState);
      return { ...body, historyId: row.historyId, seq: row.seq, eventId: row.eventId, monoMs: row.monoMs };
    });
  }

  lastHistoryId(): number {
    return this.all<{ id: number | null }>('SELECT MAX(id) AS id FROM alarm_history')[0]?.id ?? 0;
  }

  /** The persisted state of one alarm (the `alarms` table), or undefined. */
  alarm(alarmKey: string): AlarmRow | undefined {
    return this.alarms().find((a) => a.alarmKey === alarmKey);
  }

  alarms(deviceId?: string): AlarmRow[] {
    return this.all<{
      alarmKey: string;
      deviceId: string;
      state: string;
      active: number;
      level: number;
      acknowledged: number;
    }>(
      `SELECT alarm_key AS alarmKey, device_id AS deviceId, state, active, level, acknowledged
       FROM alarms WHERE (? IS NULL OR device_id = ?) ORDER BY alarm_key`,
      deviceId ?? null,
      deviceId ?? null,
    ).map((r) => ({ ...r, active: r.active === 1, acknowledged: r.acknowledged === 1 }));
  }

  outbox<B = GatewayEventBody>(kind?: string): OutboxRow<B>[] {
    return this.all<{ seq: number; id: string; class: string; kind: string; monoMs: number; body: string }>(
      `SELECT seq, id, class, kind, mono_ms AS monoMs, body FROM outbox
       WHERE (? IS NULL OR kind = ?) ORDER BY seq`,
      kind ?? null,
      kind ?? null,
    ).map((r) => ({ ...r, body: JSON.parse(r.body) as B }));
  }

  readings(deviceId: string, pointKey: string, afterSeq = 0): CommittedReading[] {
    return this.all<CommittedReading>(
      `SELECT r.seq, r.mono_ms AS monoMs, r.value FROM readings r JOIN series s ON s.id = r.series_id
       WHERE s.device_id = ? AND s.point_key = ? AND r.seq > ? ORDER BY r.seq`,
      deviceId,
      pointKey,
      afterSeq,
    );
  }

  close(): void {
    this.connection?.close();
    this.connection = undefined;
  }
}

/** One line per transition, for failure messages. */
export function describeTransitions(transitions: readonly AlarmTransitionEvent[]): string {
  if (transitions.length === 0) return '  (no transitions)';
  return transitions
    .map(
      (t) => `  ${t.alarmKey}: ${t.from} -> ${t.to} level ${t.level} value ${String(t.value)} (${t.cause})`,
    )
    .join('\n');
}

/**
 * What a committed kerbside.db must always satisfy, whatever happened to the process
 * (docs/storage.md, docs/uplink-contract.md, docs/alarms.md), checked in one snapshot; returns the
 * problems found (empty: consistent).
 * - PRAGMA integrity_check is ok;
 * - every alarm_history row has exactly one outbox alarm_transition event with its seq and id,
 *   and every such event exactly one history row;
 * - outbox seqs are contiguous (nothing here acknowledges or evicts) and their uptime stamps
 *   never go back;
 * - each alarm's transitions chain (each `from` is the previous `to`), and its record in the
 *   `alarms` table agrees with its last transition (state, level, active).
 */
export function storeProblems(db: CommittedDb): string[] {
  return db.snapshot((conn) => {
    const problems: string[] = [];
    const integrity = conn.pragma('integrity_check') as Array<{ integrity_check: string }>;
    if (integrity.length !== 1 || integrity[0]?.integrity_check !== 'ok')
      problems.push(`integrity_check: ${JSON.stringify(integrity)}`);

    const orphans = conn
      .prepare(
        `SELECT h.id, h.alarm_key AS alarmKey FROM alarm_history h LEFT JOIN outbox o ON o.seq = h.outbox_seq
         WHERE o.seq IS NULL OR o.id != h.event_id OR o.kind != 'alarm_transition'`,
      )
      .all();
    if (orphans.length > 0)
      problems.push(`history rows without their outbox event: ${JSON.stringify(orphans)}`);
    const unrecorded = conn
      .prepare(
        `SELECT o.seq FROM outbox o LEFT JOIN alarm_history h ON h.outbox_seq = o.seq AND h.event_id = o.id
         WHERE o.kind = 'alarm_transition' AND h.id IS NULL`,
      )
      .pluck()
      .all();
    if (unrecorded.length > 0)
      problems.push(`transition events without history rows: seqs ${unrecorded.join(', ')}`);
    const doubled = conn
      .prepare('SELECT outbox_seq FROM alarm_history GROUP BY outbox_seq HAVING COUNT(*) > 1')
      .pluck()
      .all();
    if (doubled.length > 0) problems.push(`outbox seqs with several history rows: ${doubled.join(', ')}`);

    const seqs = conn.prepare('SELECT seq, mono_ms AS monoMs FROM outbox ORDER BY seq').all() as Array<{
      seq: number;
      monoMs: number;
    }>;
    const lastAssigned =
      (conn.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").pluck().get() as
        number | undefined) ?? 0;
    seqs.forEach((row, i) => {
      if (row.seq !== i + 1) problems.push(`outbox seq ${row.seq} at position ${i + 1}: seqs are not 1..n`);
      const before = seqs[i - 1];
      if (before !== undefined && row.monoMs < before.monoMs)
        problems.push(
          `outbox seq ${row.seq} is older (${row.monoMs}) than seq ${before.seq} (${before.monoMs})`,
        );
    });
    if (lastAssigned !== seqs.length)
      problems.push(`sqlite_sequence says ${lastAssigned} seqs were assigned, ${seqs.length} are stored`);

    const history = conn
      .prepare(
        'SELECT alarm_key AS alarmKey, from_state AS fromState, to_state AS toState, body FROM alarm_history ORDER BY id',
      )
      .all() as Array<{ alarmKey: string; fromState: string; toState: string; body: string }>;
    const last = new Map<string, AlarmTransitionEvent>();
    for (const row of history) {
      const body = JSON.parse(row.body) as AlarmTransitionEvent;
      const previous = last.get(row.alarmKey);
      if (previous === undefined && row.fromState !== 'normal' && row.fromState !== 'suppressed')
        problems.push(`${row.alarmKey}: first transition starts from ${row.fromState}`);
      if (previous !== undefined && previous.to !== row.fromState)
        problems.push(
          `${row.alarmKey}: ${previous.from}->${previous.to} is followed by ${row.fromState}->${row.toState}`,
        );
      last.set(row.alarmKey, body);
    }
    const records = conn
      .prepare('SELECT alarm_key AS alarmKey, state, active, level FROM alarms')
      .all() as Array<{ alarmKey: string; state: string; active: number; level: number }>;
    for (const record of records) {
      const t = last.get(record.alarmKey);
      if (t === undefined) {
        if (record.active !== 0 || record.level !== 0)
          problems.push(`${record.alarmKey}: active record (${record.state}) without any transition`);
        continue;
      }
      if (record.state !== t.to || record.level !== t.level || (record.active === 1) !== t.active)
        problems.push(
          `${record.alarmKey}: record ${record.state}/level ${record.level}/active ${record.active} ` +
            `but last transition ${t.from}->${t.to}/level ${t.level}/active ${String(t.active)}`,
        );
    }
    for (const key of last.keys())
      if (!records.some((r) => r.alarmKey === key)) problems.push(`${key}: transitions but no record`);
    return problems.length <= 25
      ? problems
      : [...problems.slice(0, 25), `... and ${problems.length - 25} more`];
  });
}

// --- the gateway in this process ----------------------------------------------------------------

export interface ScenarioOptions {
  name: string;
  buses: SimBusConfig[];
  devices: ScenarioDevice[];
  /** The simulators' clock (default real time). */
  clock?: Clock;
  /** Extra top-level configuration: site, strain, lighting ... */
  config?: Record<string, unknown>;
  /** Runs once the simulators run, before the gateway opens its data folder (seed it, set devices up). */
  beforeStart?: (dataDir: string, simulation: ScenarioSimulation) => void;
  /** More gateway options: an uplink, small outbox quotas. */
  gatewayOptions?: GatewayOptions;
}

export type AlarmChange = GatewayEventMap['alarm:changed'];

/**
 * Simulators and an in-process gateway polling them. The gateway is started with its
 * configuration document as `configSource`, so that the cloud's configuration documents and
 * technician overrides can be laid over it (docs/downlink.md); it can be stopped and started again
 * on the same data folder and simulators.
 */
export interface ScenarioHarness {
  simulation: ScenarioSimulation;
  /** The running gateway; throws while it is stopped (stopGateway). */
  readonly gateway: Gateway;
  config: GatewayConfig;
  /** The configuration document the gateway was started with. */
  document: Record<string, unknown>;
  dataDir: string;
  db: CommittedDb;
  /** Every `alarm:changed` the gateway published, in order (across restarts). */
  changes: AlarmChange[];
  /** Every `strain:overweight` the gateway published. */
  overweight: Array<GatewayEventMap['strain:overweight']>;
  /** Warnings and errors the gateway logged (for failure messages). */
  logs: string[];
  device(id: string): DeviceHandle;
  /**
   * Resolves with the first poll of `deviceId` that STARTED after this call and was committed
   * (poll:result is published after its cycle's commit), optionally matching `predicate`.
   */
  committedPoll(
    deviceId: string,
    predicate?: (poll: DevicePollResult) => boolean,
    timeoutMs?: number,
  ): Promise<DevicePollResult>;
  /** Waits for a committed transition after history id `afterId` matching `predicate`. */
  transition(
    what: string,
    predicate: (t: CommittedTransition) => boolean,
    options?: { afterId?: number; timeoutMs?: number },
  ): Promise<CommittedTransition>;
  /** Stops the gateway only (the simulators and the data folder stay, for a restart). */
  stopGateway(): Promise<void>;
  /** Starts a new gateway on the same data folder and simulators (default: the same options). */
  restart(options?: GatewayOptions): Promise<void>;
  stop(): Promise<void>;
}

/** A pino logger keeping warn and worse (SCENARIO_LOG_LEVEL) in memory. */
function memoryLogger(lines: string[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(line);
      done();
    },
  });
  return pino({ level: process.env['SCENARIO_LOG_LEVEL'] ?? 'warn' }, stream);
}

/** A value of a poll, by point key. */
export function valueOf(poll: DevicePollResult, key: string): number | boolean | undefined {
  return poll.readings.find((r) => r.key === key)?.value;
}

/**
 * Starts the simulators and an in-process gateway polling them, and waits until every device has
 * a committed good poll.
 */
export async function startScenario(options: ScenarioOptions): Promise<ScenarioHarness> {
  const simulation = await startScenarioSimulation(options.buses, options.devices, options.clock);
  const dataDir = tempDataDir(options.name);
  let gateway: Gateway | undefined;
  const db = new CommittedDb(join(dataDir, GATEWAY_DB_FILE));
  const cleanup = async (): Promise<void> => {
    db.close();
    await gateway?.stop();
    gateway = undefined;
    await simulation.sim.stop();
    if (process.env['KERBSIDE_KEEP_SCENARIO_DATA'] === undefined)
      rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const document = configDocument(simulation, dataDir, options.config);
    const config = validConfig(document);
    options.beforeStart?.(dataDir, simulation);
    const logs: string[] = [];
    const changes: AlarmChange[] = [];
    const overweight: Array<GatewayEventMap['strain:overweight']> = [];
    const pollWaiters = new Set<(poll: DevicePollResult) => void>();

    const launch = async (extra: GatewayOptions): Promise<Gateway> => {
      const started = new Gateway(validConfig(document), shippedProfiles(), memoryLogger(logs), {
        summaryIntervalMs: 0,
        configSource: { document: structuredClone(document), baseDir: dataDir },
        ...extra,
      });
      started.events.on('alarm:changed', (e) => changes.push(e));
      started.events.on('strain:overweight', (e) => overweight.push(e));
      started.events.on('poll:result', (poll) => {
        for (const waiter of [...pollWaiters]) waiter(poll);
      });
      await started.start();
      return started;
    };

    gateway = await launch(options.gatewayOptions ?? {});
    const harness: ScenarioHarness = {
      simulation,
      get gateway(): Gateway {
        if (gateway === undefined) throw new Error('the gateway is stopped');
        return gateway;
      },
      config,
      document,
      dataDir,
      db,
      changes,
      overweight,
      logs,
      device: (id) => simulation.device(id),
      committedPoll(deviceId, predicate = () => true, timeoutMs = 15_000) {
        const after = performance.now();
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            pollWaiters.delete(waiter);
            reject(
              new Error(
                `no committed poll of ${deviceId} within ${timeoutMs} ms\n${logs.slice(-5).join('\n')}`,
              ),
            );
          }, timeoutMs);
          const waiter = (poll: DevicePollResult): void => {
            if (poll.deviceId !== deviceId || poll.monotonicMs < after || !predicate(poll)) return;
            clearTimeout(timer);
            pollWaiters.delete(waiter);
            resolve(poll);
          };
          pollWaiters.add(waiter);
        });
      },
      transition(what, predicate, { afterId = 0, timeoutMs = 10_000 } = {}) {
        return waitUntil(what, () => db.transitions({ afterId }).find(predicate), {
          timeoutMs,
          detail: () =>
            `committed since history id ${afterId}:\n${describeTransitions(db.transitions({ afterId }))}`,
        });
      },
      async stopGateway() {
        await gateway?.stop();
        gateway = undefined;
      },
      async restart(extra = options.gatewayOptions ?? {}) {
        await gateway?.stop();
        gateway = undefined;
        gateway = await launch(extra);
      },
      stop: cleanup,
    };
    for (const device of options.devices)
      await harness.committedPoll(device.id, (p) => p.quality === 'good', 15_000);
    return harness;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

// --- the gateway as a process -------------------------------------------------------------------

export interface GatewayProcess {
  child: ChildProcess;
  /** The process (test/helpers/process.ts): wait on its output, signal it. */
  process: Child;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Writes the configuration document to a file next to the data folder. */
export function writeConfigFile(dir: string, document: unknown): string {
  const path = join(dir, 'gateway.json');
  writeFileSync(path, JSON.stringify(document, null, 2));
  return path;
}

/** Runs `node --import tsx gateway/main.ts --config <configPath>` from the repository root. */
export function spawnGateway(configPath: string): GatewayProcess {
  const child = spawnTsx('gateway', 'gateway/main.ts', ['--config', configPath], {
    env: { LOG_LEVEL: 'warn' },
  });
  return { child: child.proc, process: child, output: () => child.output, exited: child.exited };
}

/**
 * The site and lighting of a cabinet in Shanghai whose concentrator `deviceId` (kerbtek-lc3200)
 * has 16 lamps on 4 loops, every loop on all day: the lamp controllers have power whatever the
 * time of the test. Spread into a scenario's `config`.
 */
export function allDayLightingConfig(deviceId: string): Record<string, unknown> {
  const lamps = (from: number): string[] =>
    [0, 1, 2, 3].map((i) => `lamp_${String(from + i).padStart(2, '0')}`);
  return {
    site: { name: 'Harbour Road cabinet 7', latitude: 31.2304, longitude: 121.4737 },
    lighting: {
      timezone: 'Asia/Shanghai',
      rules: [{ id: 'test-all-day-on', from: '00:00', to: '00:00', action: 'on' }],
      verification: { settleS: 1 },
      devices: [
        {
          device: deviceId,
          loops: [
            { loop: 1, phase: 'a', lamps: lamps(1) },
            { loop: 2, phase: 'b', lamps: lamps(5) },
            { loop: 3, phase: 'c', lamps: lamps(9) },
            { loop: 4, phase: 'a', lamps: lamps(13) },
          ],
        },
      ],
    },
  };
}
