/**
 * Shared pieces of the downlink tests: a real cloud service (embedded aedes broker, SQLite,
 * consumer) whose consumer publishes `down/cmd` / `down/config` as the cloud does, a gateway
 * started over real simulators WITH its configuration document (configSource, so documents and
 * overrides can be laid over it), and readers of what reached the cloud.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { configDocumentHash, type RemoteConfig } from '../../../cloud-sync/contract/config-document.js';
import type { GatewayEventBody } from '../../../cloud-sync/contract/events.js';
import { commandTopic, configTopic } from '../../../cloud-sync/contract/topics.js';
import type { ConfigDocument } from '../../../cloud-sync/contract/types.js';
import { hashSecret, MemoryCredentialStore } from '../../../cloud-sync/service/broker/credentials.js';
import { startCloudService, type CloudService } from '../../../cloud-sync/service/service.js';
import type { DevicePollResult } from '../../../gateway/bus/types.js';
import { Gateway, type GatewayOptions } from '../../../gateway/gateway.js';
import { GATEWAY_DB_FILE } from '../../../gateway/store/event-store.js';
import type { UplinkOptions } from '../../../gateway/uplink/uplink.js';
import type { BusConfig as SimBusConfig } from '../../../simulators/index.js';
import { testConfig } from '../../cloud-sync/service/service-helpers.js';
import { waitForCallback } from '../../helpers/wait.js';
import {
  CommittedDb,
  configDocument,
  shippedProfiles,
  startScenarioSimulation,
  tempDataDir,
  validConfig,
  waitUntil,
  type ScenarioDevice,
  type ScenarioSimulation,
} from '../../helpers/gateway-harness.js';

export const GW = 'gw-scenario';
const SECRET = 'downlink-test-secret-0123456789abcdef0123456';

export async function startCloud(dir: string): Promise<CloudService> {
  const credentials = new MemoryCredentialStore();
  credentials.set(GW, { hash: await hashSecret(SECRET), disabled: false });
  return startCloudService(testConfig(dir, { mqtt: { embedded: { port: 0 } } }), {
    logger: pino({ level: 'silent' }),
    credentials,
    processMetrics: false,
  });
}

export function uplinkTo(cloud: CloudService): UplinkOptions {
  return {
    gatewayId: GW,
    url: `mqtt://127.0.0.1:${cloud.mqttPort ?? 0}`,
    username: GW,
    password: SECRET,
    version: '0.1.0-test',
    pollIntervalMs: 50,
    reconnect: { initialMs: 50, maxMs: 300 },
  };
}

/** The cloud publishes a command, as its command service does. */
export async function sendCommand(cloud: CloudService, command: unknown): Promise<void> {
  const payload = typeof command === 'string' ? command : JSON.stringify(command);
  await cloud.consumer.publish(commandTopic(GW), payload, { retain: false });
}

/** A configuration document with its hash, published retained. */
export function configMessage(version: number, document: RemoteConfig): ConfigDocument {
  return { version, hash: configDocumentHash(document), document };
}

export async function sendConfig(cloud: CloudService, message: ConfigDocument | string): Promise<void> {
  const payload = typeof message === 'string' ? message : JSON.stringify(message);
  await cloud.consumer.publish(configTopic(GW), payload, { retain: true });
}

/** Event bodies of one kind that reached the cloud's events table. */
export async function cloudEvents<K extends GatewayEventBody['kind']>(
  cloud: CloudService,
  kind: K,
): Promise<Array<Extract<GatewayEventBody, { kind: K }>>> {
  const rows = await cloud.db
    .selectFrom('events')
    .select(['body', 'seq'])
    .where('gateway_id', '=', GW)
    .where('kind', '=', kind)
    .orderBy('seq')
    .execute();
  return rows.map((r) => JSON.parse(r.body) as Extract<GatewayEventBody, { kind: K }>);
}

/** Waits (with a deadline) until the cloud holds an event of `kind` matching `predicate`. */
export async function cloudEvent<K extends GatewayEventBody['kind']>(
  cloud: CloudService,
  kind: K,
  predicate: (e: Extract<GatewayEventBody, { kind: K }>) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<Extract<GatewayEventBody, { kind: K }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const latest = await cloudEvents(cloud, kind);
    const found = latest.find(predicate);
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; the cloud has:\n${JSON.stringify(latest, null, 1)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface DownlinkHarness {
  simulation: ScenarioSimulation;
  gateway: Gateway;
  dataDir: string;
  document: Record<string, unknown>;
  db: CommittedDb;
  logs: string[];
  committedPoll(deviceId: string, predicate?: (p: DevicePollResult) => boolean): Promise<DevicePollResult>;
  /** Stops the gateway only (the simulators and the data folder stay, for a restart). */
  stopGateway(): Promise<void>;
  /** Starts a new gateway on the same data folder and simulators. */
  restart(options?: GatewayOptions): Promise<void>;
  stop(): Promise<void>;
}

function memoryLogger(lines: string[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(line);
      done();
    },
  });
  return pino({ level: process.env['DOWNLINK_LOG_LEVEL'] ?? 'warn' }, stream);
}

/** Simulators + an in-process gateway started with its configuration document as configSource. */
export async function startDownlinkGateway(options: {
  name: string;
  buses: SimBusConfig[];
  devices: ScenarioDevice[];
  config?: Record<string, unknown>;
  gatewayOptions?: GatewayOptions;
  beforeStart?: (dataDir: string) => void;
}): Promise<DownlinkHarness> {
  const simulation = await startScenarioSimulation(options.buses, options.devices);
  const dataDir = tempDataDir(options.name);
  const document = configDocument(simulation, dataDir, options.config);
  const logs: string[] = [];
  const waiters = new Set<(poll: DevicePollResult) => void>();
  let gateway: Gateway | undefined;
  const db = new CommittedDb(join(dataDir, GATEWAY_DB_FILE));

  const launch = async (extra: GatewayOptions): Promise<Gateway> => {
    const g = new Gateway(validConfig(document), shippedProfiles(), memoryLogger(logs), {
      summaryIntervalMs: 0,
      configSource: { document: structuredClone(document), baseDir: dataDir },
      ...extra,
    });
    g.events.on('poll:result', (poll) => {
      for (const waiter of [...waiters]) waiter(poll);
    });
    await g.start();
    return g;
  };

  const committedPoll = (deviceId: string, predicate: (p: DevicePollResult) => boolean = () => true) => {
    const after = performance.now();
    return waitForCallback<DevicePollResult>((resolve) => {
      const waiter = (poll: DevicePollResult): void => {
        if (poll.deviceId !== deviceId || poll.monotonicMs < after || !predicate(poll)) return;
        waiters.delete(waiter);
        resolve(poll);
      };
      waiters.add(waiter);
    }, `a committed poll of ${deviceId}`);
  };

  options.beforeStart?.(dataDir);
  gateway = await launch(options.gatewayOptions ?? {});
  const harness: DownlinkHarness = {
    simulation,
    get gateway(): Gateway {
      if (gateway === undefined) throw new Error('the gateway is stopped');
      return gateway;
    },
    dataDir,
    document,
    db,
    logs,
    committedPoll,
    async stopGateway() {
      await gateway?.stop();
      gateway = undefined;
    },
    async restart(extra = options.gatewayOptions ?? {}) {
      await gateway?.stop();
      gateway = await launch(extra);
    },
    async stop() {
      db.close();
      await gateway?.stop();
      await simulation.sim.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    for (const device of options.devices) await committedPoll(device.id, (p) => p.quality === 'good');
  } catch (error) {
    await harness.stop();
    throw error;
  }
  return harness;
}

export { waitUntil };
