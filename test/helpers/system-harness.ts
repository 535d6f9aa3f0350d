/**
 * The system harness (issue 11): the whole deployment in one test process, every part real. The
 * cloud service (SQLite, the embedded aedes broker, the consumer with its ingest hooks, the HTTP
 * API), a gateway enrolled with it, and the gateway itself polling real simulators
 * (gateway-harness.ts) with its uplink to that broker; plus what the cloud does to the gateway
 * (commands, configuration documents) and reads of what reached the cloud.
 *
 * The gateway is enrolled either with a credential set in the cloud's credential store (the
 * default: fast, any secret) or, with `enrollment: 'token'`, the way an installer does it
 * (docs/enrollment.md): a one-time token redeemed over the cloud's HTTP API.
 *
 * `startSystem` starts it all; its parts (`startCloud`, `uplinkTo`, `enrollWithToken`,
 * `startScenario`) serve tests that stop, restart or replace one side. The crash tests, which
 * kill the programs with SIGKILL, start them as processes instead (test/integration/crash-harness.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { configDocumentHash, type RemoteConfig } from '../../cloud-sync/contract/config-document.js';
import type { GatewayEventBody } from '../../cloud-sync/contract/events.js';
import { commandTopic, configTopic } from '../../cloud-sync/contract/topics.js';
import type { ConfigDocument } from '../../cloud-sync/contract/types.js';
import { hashSecret, MemoryCredentialStore } from '../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../cloud-sync/service/secrets/credential-key.js';
import { issueEnrollmentToken } from '../../cloud-sync/service/enrollment/tokens.js';
import {
  startCloudService,
  type CloudService,
  type CloudServiceDeps,
} from '../../cloud-sync/service/service.js';
import { productionDeps } from '../../cloud-sync/service/wiring.js';
import { loadUplinkCredentials, uplinkConnection } from '../../gateway/enrollment/credentials.js';
import { enroll } from '../../gateway/enrollment/enroll.js';
import type { UplinkOptions } from '../../gateway/uplink/uplink.js';
import { testConfig } from '../cloud-sync/service/service-helpers.js';
import {
  startScenario,
  tempDataDir,
  waitUntil,
  type ScenarioHarness,
  type ScenarioOptions,
} from './gateway-harness.js';
import { waitFor } from './wait.js';

/** The gateway id of the system (and of the scenario configuration, configDocument). */
export const GW = 'gw-scenario';
/** Its MQTT secret when enrolled through the credential store. */
export const SECRET = 'system-harness-secret-0123456789abcdef01234567';

// --- the cloud ----------------------------------------------------------------------------------

export interface CloudOptions {
  /**
   * How gateways get their credential: 'store' (default) sets `gateways` in a MemoryCredentialStore;
   * 'token' runs the production wiring (productionDeps: the enrollment database and route), and a
   * gateway enrolls with a one-time token (enrollWithToken).
   */
  enrollment?: 'store' | 'token';
  /** Gateway id to secret, for enrollment 'store' (default: GW with SECRET). */
  gateways?: Record<string, string>;
  /** The embedded broker's port (default: any free one); a restarted cloud takes its old port. */
  mqttPort?: number;
  /** More of the configuration document: cases ... */
  config?: Record<string, unknown>;
  /** The service's clock (startCloudService's `now`). */
  now?: () => Date;
  /** Default: silent. */
  logger?: Logger;
}

/** The cloud service on SQLite in `dir`, with the embedded broker. */
export async function startCloud(dir: string, options: CloudOptions = {}): Promise<CloudService> {
  const logger = options.logger ?? pino({ level: 'silent' });
  let deps: CloudServiceDeps;
  if (options.enrollment === 'token') {
    deps = productionDeps(logger);
  } else {
    const credentialKey = CredentialKey.generate();
    const credentials = new MemoryCredentialStore();
    for (const [id, secret] of Object.entries(options.gateways ?? { [GW]: SECRET }))
      credentials.set(id, { hash: hashSecret(secret, credentialKey), disabled: false });
    deps = { logger, credentials, credentialKey };
  }
  return startCloudService(
    testConfig(dir, { mqtt: { embedded: { port: options.mqttPort ?? 0 } }, ...options.config }),
    { ...deps, processMetrics: false, ...(options.now === undefined ? {} : { now: options.now }) },
  );
}

/** The uplink's timing in tests: fast polls and reconnects. */
const UPLINK_TIMING = {
  version: '0.1.0-test',
  pollIntervalMs: 50,
  reconnect: { initialMs: 50, maxMs: 300 },
} satisfies Partial<UplinkOptions>;

/**
 * Uplink options of a gateway enrolled through the credential store, to a cloud or a broker port.
 * With a cloud, the gateway pins the cloud's downlink keys as enrollment would
 * (docs/downlink-signing.md); with a bare port it pins `downlinkKeys` (default: none, so every
 * command would be refused).
 */
export function uplinkTo(
  cloud: CloudService | number,
  gatewayId = GW,
  secret = SECRET,
  downlinkKeys?: readonly string[],
): UplinkOptions {
  const port = typeof cloud === 'number' ? cloud : (cloud.mqttPort ?? 0);
  const keys = downlinkKeys ?? (typeof cloud === 'number' ? [] : cloud.downlinkSigner.publicKeys());
  return {
    gatewayId,
    url: `mqtt://127.0.0.1:${port}`,
    username: gatewayId,
    password: secret,
    downlinkKeys: keys,
    ...UPLINK_TIMING,
  };
}

/**
 * Enrolls `gatewayId` the way an installer does (docs/enrollment.md): a one-time token issued by
 * the cloud, redeemed over its HTTP API; resolves with the uplink options of the credential it got.
 * Needs a cloud started with `enrollment: 'token'`.
 */
export async function enrollWithToken(cloud: CloudService, gatewayId = GW): Promise<UplinkOptions> {
  const credentialDir = mkdtempSync(join(tmpdir(), 'kerbside-system-cred-'));
  try {
    const { token } = await issueEnrollmentToken(cloud.db, { gatewayId, createdBy: 'test' });
    await enroll({ url: `http://127.0.0.1:${cloud.httpPort}/`, token, dataDir: credentialDir });
    return { ...uplinkConnection(await loadUplinkCredentials(credentialDir)), ...UPLINK_TIMING };
  } finally {
    rmSync(credentialDir, { recursive: true, force: true });
  }
}

// --- the cloud to the gateway -------------------------------------------------------------------

/**
 * How a test message is signed: by the cloud's key for the gateway (default, as the command
 * service does), `false` for none (an attacker's), or any function of the message (a forgery).
 */
export type Signing = boolean | ((message: object, gatewayId: string) => object);

function signedText(
  cloud: CloudService,
  channel: 'down/cmd' | 'down/config',
  message: unknown,
  gatewayId: string,
  sign: Signing,
): string {
  // A string is sent as it is: the raw bytes of a malformed-payload test.
  if (typeof message === 'string') return message;
  if (sign === false) return JSON.stringify(message);
  if (sign === true) return JSON.stringify(cloud.downlinkSigner.sign(channel, gatewayId, message as object));
  return JSON.stringify(sign(message as object, gatewayId));
}

/** The cloud publishes a command, as its command service does (signed; see Signing). */
export async function sendCommand(
  cloud: CloudService,
  command: unknown,
  gatewayId = GW,
  sign: Signing = true,
): Promise<void> {
  const payload = signedText(cloud, 'down/cmd', command, gatewayId, sign);
  await cloud.consumer.publish(commandTopic(gatewayId), payload, { retain: false });
}

/** A configuration document with its hash, published retained. */
export function configMessage(version: number, document: RemoteConfig): ConfigDocument {
  return { version, hash: configDocumentHash(document), document };
}

export async function sendConfig(
  cloud: CloudService,
  message: ConfigDocument | string,
  gatewayId = GW,
  sign: Signing = true,
): Promise<void> {
  const payload = signedText(cloud, 'down/config', message, gatewayId, sign);
  await cloud.consumer.publish(configTopic(gatewayId), payload, { retain: true });
}

// --- what reached the cloud ---------------------------------------------------------------------

/** Event bodies of one kind that reached the cloud's events table, in seq order. */
export async function cloudEvents<K extends GatewayEventBody['kind']>(
  cloud: CloudService,
  kind: K,
  gatewayId = GW,
): Promise<Array<Extract<GatewayEventBody, { kind: K }>>> {
  const rows = await cloud.db
    .selectFrom('events')
    .select(['body', 'seq'])
    .where('gateway_id', '=', gatewayId)
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
  let latest: Array<Extract<GatewayEventBody, { kind: K }>> = [];
  return waitFor(
    what,
    async () => {
      latest = await cloudEvents(cloud, kind);
      return latest.find(predicate);
    },
    {
      timeoutMs,
      intervalMs: 50,
      message: () => `timed out waiting for ${what}; the cloud has:\n${JSON.stringify(latest, null, 1)}`,
    },
  );
}

/** Every event of the gateway in the cloud: id, kind, lane, seq and body (JSON text). */
export async function cloudRows(
  cloud: CloudService,
  gatewayId = GW,
): Promise<Array<{ event_id: string; kind: string; lane: string; seq: number; body: string }>> {
  const rows = await cloud.db
    .selectFrom('events')
    .select(['event_id', 'kind', 'lane', 'seq', 'body'])
    .where('gateway_id', '=', gatewayId)
    .execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

// --- the whole system ---------------------------------------------------------------------------

/**
 * The gateway side of the system: simulators and an in-process gateway (gateway-harness.ts). The
 * downlink tests know it by this name.
 */
export type DownlinkHarness = ScenarioHarness;

/** Simulators and an in-process gateway started with its configuration document (gateway-harness.ts). */
export const startDownlinkGateway = startScenario;

export interface SystemOptions extends Omit<ScenarioOptions, 'gatewayOptions'> {
  cloud?: CloudOptions;
  /** Gateway options besides the uplink, which the harness sets. */
  gatewayOptions?: Omit<NonNullable<ScenarioOptions['gatewayOptions']>, 'uplink'>;
  /** Runs once the cloud is up, before the gateway starts (register components ...). */
  beforeGateway?: (cloud: CloudService) => Promise<void> | void;
}

export interface SystemHarness {
  cloud: CloudService;
  /** The gateway side (simulators and gateway). */
  site: ScenarioHarness;
  /** The gateway's uplink options (its credential). */
  uplink: UplinkOptions;
  /** The cloud's data folder. */
  cloudDir: string;
  /** Stops the gateway side, then the cloud, and removes the cloud's data folder. */
  stop(): Promise<void>;
}

/**
 * The cloud, the gateway enrolled with it, and the gateway over its simulators with its uplink
 * to the cloud's broker; resolves once every device has a committed good poll and the uplink is
 * connected.
 */
export async function startSystem(options: SystemOptions): Promise<SystemHarness> {
  const cloudDir = tempDataDir(`${options.name}-cloud`);
  let cloud: CloudService | undefined;
  let site: ScenarioHarness | undefined;
  const stop = async (): Promise<void> => {
    try {
      await site?.stop();
      await cloud?.close();
    } finally {
      rmSync(cloudDir, { recursive: true, force: true });
    }
  };
  try {
    const cloudOptions = options.cloud ?? {};
    cloud = await startCloud(cloudDir, cloudOptions);
    const uplink = cloudOptions.enrollment === 'token' ? await enrollWithToken(cloud) : uplinkTo(cloud);
    await options.beforeGateway?.(cloud);
    const { cloud: _cloud, beforeGateway: _before, gatewayOptions, ...scenario } = options;
    site = await startScenario({ ...scenario, gatewayOptions: { ...gatewayOptions, uplink } });
    const running = site;
    await waitUntil(
      'the uplink connected',
      () => running.gateway.metricsSnapshot().uplink?.connected === true,
      {
        timeoutMs: 15_000,
      },
    );
    return { cloud, site, uplink, cloudDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export { waitUntil };
