/**
 * `npm run bench -- uplink`: a backlog drained from the gateway outbox into the cloud. The outbox
 * (kerbside.db, synchronous=FULL) is filled with 100 000 events before the uplink starts, mostly
 * telemetry plus alarm transitions and audit records so both lanes are used; then an Uplink drains
 * it through the cloud service (embedded aedes broker, ingest consumer, SQLite with
 * synchronous=FULL, ack after commit, delete on ack) until the outbox is empty. Afterwards the
 * event ids the gateway committed are compared with the cloud's `events` table.
 *
 * Reference, in the same run: raw mqtt.js QoS 1 publishing of the same events, one event's JSON
 * per message, at most `--raw-window` unacknowledged (PUBACK) at a time, to a second embedded
 * broker started from the same code (startEmbeddedBroker, same authentication and ACL hooks),
 * with a service-account subscriber at QoS 1 counting arrivals. A second broker, because on the
 * service's own broker every `up/` topic a gateway may publish to is either consumed (up/events,
 * up/status: the raw messages would be ingested or refused, measuring that instead) or has no
 * subscriber we hold a credential for (the consumer's secret never leaves the service).
 *
 * Replay pacing (telemetryEventsPerS) is off: pacing is a policy limit, not protocol cost.
 *
 * Options: --events 100000 --batch 1000 --window 4 --cycle 500 --raw-window 100
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import pino from 'pino';
import type { GatewayEventBody, Lane, OutboxEvent } from '../../cloud-sync/contract/events.js';
import { eventsTopic, gatewayClientId } from '../../cloud-sync/contract/topics.js';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
} from '../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../cloud-sync/service/secrets/credential-key.js';
import { startEmbeddedBroker } from '../../cloud-sync/service/broker/embedded.js';
import { startCloudService, type CloudService } from '../../cloud-sync/service/service.js';
import { openGatewayStore, type GatewayStore } from '../../gateway/store/event-store.js';
import { Uplink } from '../../gateway/uplink/uplink.js';
import { testConfig } from '../cloud-sync/service/service-helpers.js';
import { seededRandom } from '../helpers/random.js';
import { parseIntegerOptions } from './options.js';

interface Options {
  events: number;
  batch: number;
  window: number;
  cycle: number;
  rawWindow: number;
}

function parseOptions(args: string[]): Options {
  return parseIntegerOptions<Options>(
    args,
    { events: 100_000, batch: 1000, window: 4, cycle: 500, rawWindow: 100 },
    {
      '--events': 'events',
      '--batch': 'batch',
      '--window': 'window',
      '--cycle': 'cycle',
      '--raw-window': 'rawWindow',
    },
  );
}

const GATEWAY = 'bench-gw';
const RAW_GATEWAY = 'bench-raw';
const RAW_SERVICE = 'bench';
/** Give up on a run after this long: the RESULT line then reports what was lost. */
const DRAIN_TIMEOUT_MS = 600_000;

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/**
 * The n-th event of the backlog: a busy cabinet's report-by-exception telemetry of its four
 * device families, with an alarm transition every 80 events and an audit record every 400
 * (about 1.5 % priority lane).
 */
function eventAt(n: number, random: () => number): GatewayEventBody {
  if (n % 400 === 399) {
    return {
      kind: 'audit',
      actor: 'ops-7',
      action: 'shelve',
      target: `gas-${n % 3}:methane_high`,
      detail: { minutes: 30, via: 'web' },
    };
  }
  if (n % 80 === 79) {
    const raised = n % 160 === 79;
    return {
      kind: 'alarm_transition',
      alarmKey: `gas-${n % 3}:methane_high`,
      deviceId: `gas-${n % 3}`,
      ruleKey: 'methane_high',
      condition: 'high',
      from: raised ? 'normal' : 'unacknowledged',
      to: raised ? 'unacknowledged' : 'rtn_unacknowledged',
      level: raised ? 1 : 0,
      priority: 'high',
      active: raised,
      value: round(raised ? 22 + random() * 10 : 5 + random() * 5, 1),
      setpoint: 20,
      cause: 'reading',
      by: null,
      reason: null,
      message: { 'zh-CN': '甲烷浓度高', en: 'methane high' },
    };
  }
  switch (n % 4) {
    case 0:
      return {
        kind: 'telemetry',
        deviceId: `lighting-${n % 8}`,
        values: {
          voltage_l1: round(228 + random() * 6, 1),
          current_l1: round(1 + random() * 2, 2),
          power_kw: round(0.2 + random(), 3),
          lamp_on: random() > 0.3,
        },
      };
    case 1:
      return {
        kind: 'telemetry',
        deviceId: `gas-${n % 3}`,
        values: { methane_lel: round(random() * 12, 1), h2s_ppm: round(random() * 4, 1) },
      };
    case 2:
      return {
        kind: 'telemetry',
        deviceId: `cover-${n % 16}`,
        values: { tilt_deg: round(random() * 3, 2), open: false, battery_v: round(3.4 + random() * 0.3, 2) },
      };
    default:
      return {
        kind: 'telemetry',
        deviceId: `strain-${n % 2}`,
        values: {
          ch1_ue: round(random() * 300 - 50, 1),
          ch2_ue: round(random() * 300 - 50, 1),
          temp_c: round(12 + random() * 8, 1),
        },
      };
  }
}

/** Commits the backlog in cycles of `cycle` events; returns the events as they travel upstream. */
function fillOutbox(store: GatewayStore, options: Options): Map<Lane, OutboxEvent[]> {
  const random = seededRandom(20261121);
  for (let n = 0; n < options.events; n += options.cycle) {
    const count = Math.min(options.cycle, options.events - n);
    store.commitCycle({ events: Array.from({ length: count }, (_, i) => eventAt(n + i, random)) });
  }
  const byLane = new Map<Lane, OutboxEvent[]>();
  for (const lane of ['priority', 'telemetry'] as const) {
    const events: OutboxEvent[] = [];
    for (;;) {
      const page = store.outboxLaneAfter(lane, events.at(-1)?.seq ?? 0, 1000);
      if (page.length === 0) break;
      events.push(...page);
    }
    byLane.set(lane, events);
  }
  return byLane;
}

interface Check {
  lost: number;
  duplicates: number;
  cloudRows: number;
}

/** Committed ids against the cloud's events table. */
async function compare(cloud: CloudService, committed: ReadonlySet<string>): Promise<Check> {
  const rows = await cloud.db.selectFrom('events').select(['lane', 'seq', 'event_id']).execute();
  const ids = new Set<string>();
  const positions = new Set<string>();
  let foreign = 0;
  for (const row of rows) {
    if (!ids.has(row.event_id) && !committed.has(row.event_id)) foreign++;
    ids.add(row.event_id);
    positions.add(`${row.lane}/${Number(row.seq)}`);
  }
  let lost = 0;
  for (const id of committed) if (!ids.has(id)) lost++;
  const extra = Math.max(rows.length - ids.size, rows.length - positions.size);
  return { lost, duplicates: extra + foreign, cloudRows: rows.length };
}

async function waitUntil(predicate: () => boolean, timeoutMs: number, stepMs = 5): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}

/** Ours: from Uplink.start() (connect included) until the outbox is empty (every event acked). */
async function runOurs(
  store: GatewayStore,
  cloud: CloudService,
  password: string,
  options: Options,
  total: number,
): Promise<{ seconds: number; drained: boolean; batches: number; goBacks: number }> {
  const logger = pino({ level: 'silent' });
  const uplink = new Uplink(
    store,
    {
      gatewayId: GATEWAY,
      url: `mqtt://127.0.0.1:${cloud.mqttPort ?? 0}`,
      username: GATEWAY,
      password,
      version: '0.1.0-bench',
      batchSize: options.batch,
      maxInFlightBatches: options.window,
      telemetryEventsPerS: 0,
    },
    logger,
  );
  const t0 = performance.now();
  let lastReport = t0;
  uplink.start();
  try {
    const drained = await waitUntil(() => {
      const left = store.outboxStats().count;
      const now = performance.now();
      if (now - lastReport >= 2000) {
        lastReport = now;
        console.log(
          `  uplink: ${total - left} of ${total} acknowledged after ${((now - t0) / 1000).toFixed(1)} s`,
        );
      }
      return left === 0;
    }, DRAIN_TIMEOUT_MS);
    const seconds = (performance.now() - t0) / 1000;
    const stats = uplink.stats();
    return { seconds, drained, batches: stats.batchesSent, goBacks: stats.goBacks };
  } finally {
    await uplink.stop();
  }
}

/**
 * Reference: a service-account subscriber (QoS 1, clean session, like the consumer) is subscribed;
 * then, from connect, a gateway client publishes every event's JSON at QoS 1 with at most
 * `rawWindow` awaiting their PUBACK, until the subscriber has them all.
 */
async function runRaw(
  payloads: string[],
  options: Options,
): Promise<{ seconds: number; received: number; drained: boolean }> {
  const secret = generateSecret();
  const credentialKey = CredentialKey.generate();
  const hash = hashSecret(secret, credentialKey);
  const gateways = new MemoryCredentialStore();
  gateways.set(RAW_GATEWAY, { hash, disabled: false });
  const services = new MemoryCredentialStore();
  services.set(RAW_SERVICE, { hash, disabled: false });
  const broker = await startEmbeddedBroker({
    port: 0,
    host: '127.0.0.1',
    credentials: gateways,
    serviceAccounts: services,
    credentialKey,
    logger: pino({ level: 'silent' }),
  });
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const clients: MqttClient[] = [];
  try {
    const subscriber = await connectAsync(url, {
      clientId: `svc-${RAW_SERVICE}-raw`,
      username: `service.${RAW_SERVICE}`,
      password: secret,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(subscriber);
    let received = 0;
    subscriber.on('message', () => {
      received++;
    });
    const granted = await subscriber.subscribeAsync('kerbside/v1/+/up/events', { qos: 1 });
    if (granted[0]?.qos !== 1) throw new Error('raw subscriber was not granted QoS 1');

    const t0 = performance.now();
    const publisher = await connectAsync(url, {
      clientId: gatewayClientId(RAW_GATEWAY),
      username: RAW_GATEWAY,
      password: secret,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(publisher);
    const topic = eventsTopic(RAW_GATEWAY);
    let next = 0;
    let failed: Error | null = null;
    const publishNext = (): void => {
      if (next >= payloads.length || failed !== null) return;
      const payload = payloads[next++] as string;
      publisher.publish(topic, payload, { qos: 1 }, (error) => {
        if (error) failed = error;
        else publishNext();
      });
    };
    for (let i = 0; i < options.rawWindow; i++) publishNext();
    let lastReport = t0;
    const drained = await waitUntil(() => {
      if (failed !== null) throw failed;
      const now = performance.now();
      if (now - lastReport >= 2000) {
        lastReport = now;
        console.log(
          `  raw: ${received} of ${payloads.length} received after ${((now - t0) / 1000).toFixed(1)} s`,
        );
      }
      return received >= payloads.length;
    }, DRAIN_TIMEOUT_MS);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, received, drained };
  } finally {
    for (const client of clients) await client.endAsync(true).catch(() => undefined);
    await broker.close();
  }
}

export async function main(args: string[]): Promise<void> {
  const options = parseOptions(args);
  if (options.batch > 1000) throw new RangeError('--batch is at most 1000 (MAX_EVENTS_PER_BATCH)');
  const dir = mkdtempSync(join(tmpdir(), 'kerbside-bench-uplink-'));
  const logger = pino({ level: 'silent' });
  const password = generateSecret();
  const credentialKey = CredentialKey.generate();
  const credentials = new MemoryCredentialStore();
  credentials.set(GATEWAY, { hash: hashSecret(password, credentialKey), disabled: false });
  let store: GatewayStore | undefined;
  let cloud: CloudService | undefined;
  try {
    store = openGatewayStore(join(dir, 'gateway'), {
      logger,
      outboxQuota: { telemetry: options.events * 2 },
    });
    const filled0 = performance.now();
    const byLane = fillOutbox(store, options);
    const fillSeconds = (performance.now() - filled0) / 1000;
    const all = [...(byLane.get('priority') ?? []), ...(byLane.get('telemetry') ?? [])];
    const committed = new Set(all.map((e) => e.id));
    const stats = store.outboxStats();
    if (stats.count !== options.events || committed.size !== options.events)
      throw new Error(
        `outbox holds ${stats.count} events (${committed.size} ids), expected ${options.events}`,
      );
    // The raw messages: the same events in the order the uplink sends them (priority lane first).
    const payloads = all.map((e) => JSON.stringify(e));
    const bytes = payloads.reduce((n, p) => n + Buffer.byteLength(p), 0);
    const sync = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][store.settings().synchronous] ?? '?';
    console.log(
      `backlog: ${options.events} events committed in ${Math.ceil(options.events / options.cycle)} cycles of ` +
        `${options.cycle} (${fillSeconds.toFixed(1)} s, not timed): ${byLane.get('priority')?.length ?? 0} priority lane ` +
        `(alarm transitions, audit), ${byLane.get('telemetry')?.length ?? 0} telemetry lane; ` +
        `mean event JSON ${(bytes / payloads.length).toFixed(0)} bytes`,
    );
    console.log(
      `ours: Uplink batch ${options.batch} events, ${options.window} batches in flight per lane, replay pacing off ` +
        `(telemetryEventsPerS 0: pacing is a policy limit, not protocol cost); gateway SQLite synchronous=${sync}, ` +
        `cloud SQLite synchronous=FULL; ack after commit, delete on ack`,
    );
    console.log(
      `raw: mqtt.js QoS 1, one event JSON per message, window ${options.rawWindow} PUBACKs, to a second embedded ` +
        `broker of the same code (same auth and ACL hooks), QoS 1 subscriber counting`,
    );

    cloud = await startCloudService(testConfig(join(dir, 'cloud')), {
      logger,
      credentials,
      credentialKey,
      processMetrics: false,
    });

    const raw = await runRaw(payloads, options);
    console.log(
      `raw: ${raw.received} of ${payloads.length} received in ${raw.seconds.toFixed(2)} s` +
        (raw.drained ? '' : ' (TIMED OUT)'),
    );

    const ours = await runOurs(store, cloud, password, options, options.events);
    const check = await compare(cloud, committed);
    console.log(
      `ours: outbox ${ours.drained ? 'empty' : 'NOT EMPTY (timed out)'} after ${ours.seconds.toFixed(2)} s, ` +
        `${ours.batches} batches sent, ${ours.goBacks} resends from the acked mark; cloud holds ${check.cloudRows} events`,
    );

    const oursRate = options.events / ours.seconds;
    const rawRate = payloads.length / raw.seconds;
    console.log(
      `RESULT uplink events_per_s=${oursRate.toFixed(0)} raw_per_s=${rawRate.toFixed(0)} ` +
        `ratio=${(oursRate / rawRate).toFixed(3)} lost=${check.lost} duplicates=${check.duplicates}`,
    );
  } finally {
    await cloud?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
