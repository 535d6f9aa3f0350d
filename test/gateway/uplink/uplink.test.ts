/**
 * The uplink against the real cloud service (embedded aedes broker, SQLite, ingest, acks) over
 * real TCP: exactly once in effect, priority lane first, deletes only on ack, reconnect after the
 * cloud was down, retained status, TLS with CA verification.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { ackTopic } from '../../../cloud-sync/contract/topics.js';
import { hashSecret, MemoryCredentialStore } from '../../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../../cloud-sync/service/secrets/credential-key.js';
import { startEmbeddedBroker } from '../../../cloud-sync/service/broker/embedded.js';
import { startCloudService, type CloudService } from '../../../cloud-sync/service/service.js';
import { openGatewayStore, type GatewayStore } from '../../../gateway/store/event-store.js';
import { Uplink, type UplinkOptions } from '../../../gateway/uplink/uplink.js';
import { DEFAULT_RECONNECT_POLICY, reconnectCeilingMs } from '../../../gateway/uplink/reconnect.js';
import { seededRandom } from './fleet.js';
import { freePort } from '../../helpers/net.js';
import { makeTestCa } from '../../cloud-sync/service/enrollment/harness.js';
import { testConfig, waitFor } from '../../cloud-sync/service/service-helpers.js';
import { tempDirs, telemetry, transition } from '../store/helpers.js';

const dirs = tempDirs('kerbside-uplink-');
after(dirs.cleanup);
const silent = pino({ level: process.env['DEBUG_UPLINK'] === undefined ? 'silent' : 'debug' });
const GW = 'cab-12';
const SECRET = 'uplink-test-secret-0123456789abcdef0123456789';

const running: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.close();
});

const credentialKey = CredentialKey.generate();

function credentials(): Promise<MemoryCredentialStore> {
  const store = new MemoryCredentialStore();
  store.set(GW, { hash: hashSecret(SECRET, credentialKey), disabled: false });
  return Promise.resolve(store);
}

async function startCloud(dir: string, document: Record<string, unknown> = {}): Promise<CloudService> {
  const service = await startCloudService(testConfig(dir, document), {
    logger: silent,
    credentials: await credentials(),
    credentialKey,
    processMetrics: false,
  });
  running.push(service);
  return service;
}

function openStore(dir: string): GatewayStore {
  const store = openGatewayStore(dir, { logger: silent });
  running.push({ close: () => store.close() });
  return store;
}

function startUplink(store: GatewayStore, port: number, extra: Partial<UplinkOptions> = {}): Uplink {
  const uplink = new Uplink(
    store,
    {
      gatewayId: GW,
      url: `mqtt://127.0.0.1:${port}`,
      username: GW,
      password: SECRET,
      version: '0.1.0-test',
      pollIntervalMs: 50,
      reconnect: { initialMs: 50, maxMs: 400 },
      ...extra,
    },
    silent,
  );
  running.push({ close: () => uplink.stop() });
  uplink.start();
  return uplink;
}

async function cloudEvents(
  cloud: CloudService,
): Promise<Array<{ lane: string; seq: number; event_id: string; kind: string }>> {
  const rows = await cloud.db
    .selectFrom('events')
    .select(['lane', 'seq', 'event_id', 'kind'])
    .orderBy('lane')
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

describe('Uplink', () => {
  it('delivers every committed event once per lane and deletes only what the cloud acknowledged', async () => {
    const cloud = await startCloud(dirs.fresh());
    const store = openStore(dirs.fresh());
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) {
      store.commitCycle({
        events: [telemetry('d', i), telemetry('e', i), ...(i % 5 === 0 ? [transition(`d:${i}`)] : [])],
      });
    }
    for (const event of store.outboxAfter(0, 1000)) ids.add(event.id);
    assert.equal(ids.size, 66);
    const cloudPort = cloud.mqttPort ?? assert.fail('embedded broker expected');
    const uplink = startUplink(store, cloudPort, { batchSize: 7, maxInFlightBatches: 3 });
    await waitFor(() => store.outboxStats().count === 0, 10_000, 'outbox drained');
    const events = await cloudEvents(cloud);
    assert.equal(events.length, 66, 'each event stored once');
    assert.deepEqual(new Set(events.map((e) => e.event_id)), ids);
    assert.deepEqual(
      events.filter((e) => e.lane === 'priority').map((e) => e.seq),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(
      events.filter((e) => e.lane === 'telemetry').map((e) => e.seq),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    assert.deepEqual(store.outboxStats().lanes, {
      priority: { lastSeq: 6, ackedSeq: 6 },
      telemetry: { lastSeq: 60, ackedSeq: 60 },
    });
    const stats = uplink.stats();
    assert.equal(stats.connected, true);
    assert.ok(stats.batchesSent >= Math.ceil(60 / 7) + 1);

    // New events while connected go out at once.
    store.commitCycle({ events: [transition('d:late')] });
    uplink.notify();
    await waitFor(async () => (await cloudEvents(cloud)).length === 67, 5000, 'the late event');
  });

  it('sends a new alarm ahead of an old telemetry backlog (rule 6), paced telemetry behind it', async () => {
    const cloud = await startCloud(dirs.fresh());
    const store = openStore(dirs.fresh());
    for (let i = 0; i < 40; i++) {
      store.commitCycle({ events: Array.from({ length: 100 }, (_, j) => telemetry('d', i * 100 + j)) });
    }
    const uplink = startUplink(store, cloud.mqttPort ?? 0, { batchSize: 100, telemetryEventsPerS: 1000 });
    await waitFor(() => uplink.stats().lanes.telemetry.ackedSeq > 0, 5000, 'replay started');
    const alarm = store.commitCycle({ events: [transition('d:fire')] });
    uplink.notify();
    const alarmId = store.outboxAfter((alarm.firstSeq ?? 1) - 1, 1)[0]?.id;
    await waitFor(
      async () => (await cloudEvents(cloud)).some((e) => e.event_id === alarmId),
      3000,
      'the alarm in the cloud',
    );
    const telemetryCommitted = (await cloudEvents(cloud)).filter((e) => e.lane === 'telemetry').length;
    assert.ok(
      telemetryCommitted < 4000,
      `the alarm overtook the backlog (${telemetryCommitted} of 4000 telemetry sent)`,
    );
    // Paced at 1000/s: well under the 4000 a second or two of unpaced replay would have sent.
    assert.ok(store.outboxStats().byClass.telemetry.count > 0, 'telemetry still queued behind');
  });

  it('keeps everything while the cloud is down and delivers it once after the cloud returns', async () => {
    const cloudDir = dirs.fresh();
    let cloud = await startCloud(cloudDir);
    const port = cloud.mqttPort ?? 0;
    const store = openStore(dirs.fresh());
    // A batch sent between the restarted broker listening and its consumer subscribing is lost
    // and resent after the ack timeout (docs/uplink.md, "A restarted embedded broker").
    const uplink = startUplink(store, port, { ackTimeoutMs: 2000 });
    store.commitCycle({ events: [transition('d:1'), telemetry('d', 1)] });
    uplink.notify();
    await waitFor(() => store.outboxStats().count === 0, 5000, 'first events acknowledged');

    await cloud.close();
    await waitFor(() => !uplink.stats().connected, 5000, 'the uplink noticed');
    for (let i = 0; i < 20; i++) store.commitCycle({ events: [transition(`d:${i + 2}`), telemetry('d', i)] });
    assert.equal(store.outboxStats().count, 40, 'nothing deleted without an ack');

    cloud = await startCloud(cloudDir, { mqtt: { embedded: { port } } });
    await waitFor(() => store.outboxStats().count === 0, 10_000, 'backlog acknowledged after the outage');
    const events = await cloudEvents(cloud);
    assert.equal(events.length, 42);
    assert.equal(new Set(events.map((e) => e.event_id)).size, 42, 'no duplicates');
    assert.ok(uplink.stats().connects >= 2);
  });

  it('publishes a retained status with the backlog, and online:false when stopped', async () => {
    const cloud = await startCloud(dirs.fresh());
    const port = cloud.mqttPort ?? 0;
    const store = openStore(dirs.fresh());
    const uplink = startUplink(store, port, { telemetryEventsPerS: 0 });
    await waitFor(
      async () => {
        const row = await cloud.db
          .selectFrom('gateway_status')
          .selectAll()
          .where('gateway_id', '=', GW)
          .executeTakeFirst();
        return row !== undefined && Number(row.online) === 1;
      },
      5000,
      'online status stored',
    );
    await uplink.stop();
    await waitFor(
      async () => {
        const row = await cloud.db
          .selectFrom('gateway_status')
          .selectAll()
          .where('gateway_id', '=', GW)
          .executeTakeFirst();
        return row !== undefined && Number(row.online) === 0;
      },
      5000,
      'offline status stored',
    );
  });

  it('deletes on a valid ack only up to upTo; foreign-epoch, invalid and too-high acks delete nothing', async () => {
    // A bare broker of the same code and no consumer: the test plays the cloud as a service
    // account and publishes acks itself, over the real broker, to the uplink's down/ack.
    const serviceAccounts = new MemoryCredentialStore();
    serviceAccounts.set('forger', { hash: hashSecret(SECRET, credentialKey), disabled: false });
    const broker = await startEmbeddedBroker({
      port: 0,
      credentials: await credentials(),
      serviceAccounts,
      credentialKey,
      logger: { info: () => undefined, warn: () => undefined },
    });
    running.push(broker);
    const store = openStore(dirs.fresh());
    for (let i = 0; i < 5; i++) store.commitCycle({ events: [telemetry('d', i)] });
    const uplink = startUplink(store, broker.port, { telemetryEventsPerS: 0 });
    await waitFor(() => uplink.stats().eventsSent >= 5, 5000, 'the events were sent');
    const cloud = await connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      clientId: 'svc-forger',
      username: 'service.forger',
      password: SECRET,
    });
    running.push({ close: () => cloud.endAsync() });
    const ack = (payload: unknown): Promise<unknown> =>
      cloud.publishAsync(ackTopic(GW), typeof payload === 'string' ? payload : JSON.stringify(payload), {
        qos: 1,
      });

    await ack({ epoch: '00000000-0000-4000-8000-000000000000', lane: 'telemetry', upTo: 5 });
    await ack('{"epoch": 7}');
    await ack({ epoch: store.epoch, lane: 'telemetry', upTo: 9999 });
    await waitFor(() => uplink.stats().rejectedAcks === 3, 3000, 'three acks refused');
    assert.equal(store.outboxStats().count, 5, 'nothing deleted on their word');

    await ack({ epoch: store.epoch, lane: 'telemetry', upTo: 3 });
    await waitFor(() => store.outboxStats().count === 2, 3000, 'deleted up to 3');
    assert.deepEqual(store.outboxStats().lanes.telemetry, { lastSeq: 5, ackedSeq: 3 });
  });
});

describe('Uplink reconnect schedule (issue 10: back within 15 s of the broker returning)', () => {
  it('by default waits 1 s doubling to a cap of 10 s, drawn from its random source', async () => {
    const store = openStore(dirs.fresh());
    // Every draw 0: the real uplink retries a refusing port as fast as it can, and its attempt
    // log shows the ceilings the default schedule would have drawn under (no waiting on them).
    const uplink = startUplink(store, await freePort(), { reconnect: undefined, random: () => 0 });
    await waitFor(() => uplink.reconnectWaits().length >= 8, 10_000, 'eight refused attempts');
    await uplink.stop();
    const waits = uplink.reconnectWaits();
    assert.deepEqual(
      waits.slice(0, 8).map((w) => w.ceilingMs),
      [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000],
    );
    assert.ok(waits.every((w) => w.delayMs === 0 && w.ceilingMs <= DEFAULT_RECONNECT_POLICY.maxMs));
    assert.equal(uplink.stats().connects, 0);
  });

  it('after several broker restarts in a row, no wait was longer than the cap and each came from the schedule', async () => {
    const cloudDir = dirs.fresh();
    let cloud = await startCloud(cloudDir);
    const port = cloud.mqttPort ?? 0;
    const store = openStore(dirs.fresh());
    const policy = { initialMs: 20, maxMs: 160 };
    const seeded = seededRandom(10);
    const draws: number[] = [];
    const uplink = startUplink(store, port, {
      reconnect: policy,
      // The embedded broker listens a few ms before the restarted service's consumer has
      // subscribed; a batch sent in between is dropped and waits for the ack timeout. Short here:
      // this test is about the waits (docs/uplink.md, "Connection").
      ackTimeoutMs: 1000,
      random: () => {
        const r = seeded();
        draws.push(r);
        return r;
      },
    });
    await waitFor(() => uplink.stats().connected, 5000, 'first connect');

    const RESTARTS = 3;
    let committed = 0;
    for (let round = 0; round < RESTARTS; round++) {
      const waitsBefore = uplink.reconnectWaits().length;
      await cloud.close();
      for (let i = 0; i < 5; i++) {
        store.commitCycle({ events: [transition(`d:${round}:${i}`), telemetry('d', round * 10 + i)] });
        committed += 2;
      }
      // Down long enough for the schedule to reach its cap (20, 40, 80, 160, 160, ...).
      await waitFor(
        () => uplink.reconnectWaits().length >= waitsBefore + 6,
        10_000,
        `round ${round}: the uplink kept retrying`,
      );
      cloud = await startCloud(cloudDir, { mqtt: { embedded: { port } } });
      await waitFor(() => uplink.stats().connected, 10_000, `round ${round}: reconnected`);
      await waitFor(() => store.outboxStats().count === 0, 10_000, `round ${round}: backlog acknowledged`);
    }

    const waits = uplink.reconnectWaits();
    assert.equal(waits.length, draws.length, 'one draw of the injected random source per wait');
    for (const [i, wait] of waits.entries()) {
      assert.ok(
        wait.delayMs <= policy.maxMs,
        `wait ${i} (attempt ${wait.attempt}) lasted ${wait.delayMs} ms`,
      );
      assert.equal(wait.ceilingMs, reconnectCeilingMs(wait.attempt, policy));
      assert.equal(
        wait.delayMs,
        (draws[i] ?? Number.NaN) * wait.ceilingMs,
        `wait ${i} is the schedule's draw`,
      );
    }
    // Each outage starts the schedule again at attempt 0 and grows it up to the cap.
    const starts = waits.flatMap((w, i) => (w.attempt === 0 ? [i] : []));
    assert.equal(starts.length, RESTARTS, 'one run of attempts per outage');
    assert.ok(
      starts.every((start, k) => waits.slice(start, starts[k + 1]).some((w) => w.ceilingMs === policy.maxMs)),
    );
    // No other way back: every connect after the first followed one of these waits (mqtt.js's
    // own reconnect is off).
    const stats = uplink.stats();
    assert.equal(stats.connectAttempts, waits.length + 1);
    assert.equal(stats.connects, RESTARTS + 1);
    assert.equal(stats.reconnectAttempt, 0, 'connected: the next outage starts at attempt 0 again');

    const events = await cloudEvents(cloud);
    assert.equal(events.length, committed);
    assert.equal(new Set(events.map((e) => e.event_id)).size, committed, 'each event once');
  });
});

describe('Uplink over TLS (mqtts)', () => {
  it('connects when the broker certificate is signed by the enrolled CA, and never without it', async () => {
    const tls = await makeTestCa();
    const other = await makeTestCa();
    const dir = dirs.fresh();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'key.pem'), tls.serverKey);
    writeFileSync(join(dir, 'cert.pem'), tls.serverCert);
    const cloud = await startCloud(dir, {
      mqtt: { embedded: { port: 0, tls: { port: 0, keyFile: 'key.pem', certFile: 'cert.pem' } } },
    });
    const tlsPort = cloud.mqttTlsPort ?? assert.fail('TLS listener expected');

    const wrongStore = openStore(dirs.fresh());
    wrongStore.commitCycle({ events: [transition('d:wrong-ca')] });
    const wrong = startUplink(wrongStore, 0, { url: `mqtts://localhost:${tlsPort}`, ca: other.caCert });
    const store = openStore(dirs.fresh());
    store.commitCycle({ events: [transition('d:tls')] });
    const uplink = startUplink(store, 0, { url: `mqtts://localhost:${tlsPort}`, ca: tls.caCert });
    await waitFor(() => store.outboxStats().count === 0, 10_000, 'delivered over TLS');
    assert.equal(uplink.stats().connected, true);
    await waitFor(() => wrong.stats().connectFailures >= 2, 5000, 'the wrong CA keeps failing');
    assert.equal(wrong.stats().connects, 0, 'never connected to a broker it cannot verify');
    assert.equal(wrongStore.outboxStats().count, 1);
  });
});
