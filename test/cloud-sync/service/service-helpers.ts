/**
 * Shared pieces of the cloud service tests: contract-valid batches, a raw mqtt.js client acting as
 * a gateway (publishes `up/events`, collects `down/ack`), a pino logger that keeps its lines, a
 * Prometheus text reader and a polling wait.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import type { GatewayEventBody, Lane, OutboxEvent } from '../../../cloud-sync/contract/events.js';
import { ackTopic, eventsTopic, statusTopic } from '../../../cloud-sync/contract/topics.js';
import type { Ack, EventsBatch, Status } from '../../../cloud-sync/contract/types.js';
import { parseAck, validateEventsBatch, validateStatus } from '../../../cloud-sync/contract/validate.js';
import { gatewayClientId } from '../../../cloud-sync/service/broker/acl.js';
import { resolveDocument, type CloudServiceConfig } from '../../../cloud-sync/service/config.js';
import { waitFor as waitUntil } from '../../helpers/wait.js';
import { SCRAPE_HEADERS, TEST_SCRAPE_TOKEN } from './api/harness.js';

export const EPOCH = '7d0c2a6e-1f3b-4c5d-9e8f-0a1b2c3d4e5f';
export const TS = '2026-11-21T07:42:16.123Z';

/** Resolves when `predicate` holds, or fails after `ms` (test/helpers/wait.ts). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  await waitUntil(what, predicate, { timeoutMs: ms, message: () => `${what} not met within ${ms} ms` });
}

let idCounter = 0;
/** A fresh lower-case UUID per event (stable ids are the gateway's job; here they must only be unique). */
function eventId(): string {
  idCounter += 1;
  return `00000000-0000-4000-8000-${idCounter.toString(16).padStart(12, '0')}`;
}

const audit: GatewayEventBody = { kind: 'audit', actor: 'ops', action: 'login', target: 'web', detail: {} };

/** A contract-valid batch: audit records in the priority lane, telemetry in the telemetry lane. */
export function makeBatch(
  gw: string,
  after: number,
  seqs: number[],
  options: { epoch?: string; lane?: Lane; omitLane?: boolean } = {},
): EventsBatch {
  const lane = options.lane ?? 'priority';
  const events = seqs.map((seq): OutboxEvent => ({
    ...(lane === 'priority'
      ? audit
      : { kind: 'telemetry', deviceId: `${gw}-meter`, values: { voltage: seq } }),
    seq,
    id: eventId(),
    ts: TS,
  }));
  const batch: EventsBatch = { gw, epoch: options.epoch ?? EPOCH, after, events };
  if (options.omitLane !== true) batch.lane = lane;
  const checked = validateEventsBatch(batch);
  assert.ok(checked.ok, `test batch must satisfy the contract: ${JSON.stringify(checked)}`);
  return batch;
}

export function makeStatus(overrides: Partial<Status> = {}): Status {
  const status: Status = {
    online: true,
    version: '0.1.0',
    uptimeS: 3600.5,
    backlog: { count: 12, oldestAgeS: 4.5, byClass: { telemetry: 10, alarm: 2 } },
    epoch: EPOCH,
    lanes: { priority: { lastSeq: 45, ackedSeq: 33 }, telemetry: { lastSeq: 900, ackedSeq: 880 } },
    configVersion: 3,
    ...overrides,
  };
  assert.ok(validateStatus(status).ok, 'test status must satisfy the contract');
  return status;
}

/** A raw mqtt.js client acting as gateway `gatewayId`: fixed client id, QoS 1, its own ack topic. */
export class FakeGateway {
  readonly acks: Ack[] = [];

  private constructor(
    readonly gatewayId: string,
    readonly client: MqttClient,
  ) {}

  static async connect(
    url: string,
    gatewayId: string,
    secret: string | undefined,
    extra: Partial<IClientOptions> = {},
  ): Promise<FakeGateway> {
    const client = await connectAsync(url, {
      clientId: gatewayClientId(gatewayId),
      username: gatewayId,
      ...(secret === undefined ? {} : { password: secret }),
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 3000,
      ...extra,
    });
    const gateway = new FakeGateway(gatewayId, client);
    client.on('message', (topic, payload) => {
      if (topic !== ackTopic(gatewayId)) return;
      const parsed = parseAck(payload);
      assert.ok(parsed.ok, `the service sent an ack that breaks the contract: ${payload.toString()}`);
      gateway.acks.push(parsed.value);
    });
    await client.subscribeAsync(ackTopic(gatewayId), { qos: 1 });
    return gateway;
  }

  async publish(batch: EventsBatch | string | Buffer): Promise<void> {
    const payload = typeof batch === 'string' || Buffer.isBuffer(batch) ? batch : JSON.stringify(batch);
    await this.client.publishAsync(eventsTopic(this.gatewayId), payload, { qos: 1 });
  }

  async publishStatus(status: Status): Promise<void> {
    await this.client.publishAsync(statusTopic(this.gatewayId), JSON.stringify(status), {
      qos: 1,
      retain: true,
    });
  }

  /** Waits for the `n`-th ack (1-based) and returns it. */
  async ack(n: number, ms = 5000): Promise<Ack> {
    await waitFor(() => this.acks.length >= n, ms, `ack #${n} for ${this.gatewayId}`);
    return this.acks[n - 1] as Ack;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

/** A pino logger whose JSON lines are kept in `lines` (for "never logs a secret" checks). */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), lines };
}

/** A configuration for tests: SQLite in `dir`, every port picked by the system. */
export function testConfig(dir: string, document: Record<string, unknown> = {}): CloudServiceConfig {
  const base: Record<string, unknown> = {
    database: { sqlitePath: 'cloud.sqlite' },
    mqtt: { embedded: { port: 0 } },
    http: { port: 0 },
    ...document,
  };
  // The scrape token of /metrics (api/scrape-token.ts), as an operator would set it.
  const env = { KERBSIDE_SCRAPE_TOKEN: TEST_SCRAPE_TOKEN };
  return resolveDocument(base, { env, cwd: dir, fileDir: dir, file: null });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (format 0.0.4). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample `name` whose labels include `labels`; 0 when absent (counters start at 0). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found?.value ?? 0;
}

export async function scrape(httpPort: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: SCRAPE_HEADERS });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
  return parsePrometheus(await response.text());
}
