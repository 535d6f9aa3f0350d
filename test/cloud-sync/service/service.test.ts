/**
 * The cloud service process wired end to end on real components: SQLite in a temp folder, the
 * embedded aedes broker on a loopback port, the ingest consumer, and the HTTP endpoint. A raw
 * mqtt.js client plays the gateway (credential via MemoryCredentialStore + hashSecret), publishes
 * `up/events` and reads its `down/ack` (docs/uplink-contract.md, delivery rule 3: ack only after
 * commit).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { statusTopic } from '../../../cloud-sync/contract/topics.js';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
} from '../../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../../cloud-sync/service/secrets/credential-key.js';
import { startCloudService, type CloudService } from '../../../cloud-sync/service/service.js';
import {
  EPOCH,
  FakeGateway,
  makeBatch,
  makeStatus,
  memoryLogger,
  sampleValue,
  scrape,
  testConfig,
  waitFor,
} from './service-helpers.js';
import { SCRAPE_HEADERS } from './api/harness.js';

const GW = 'cab-12';
const OTHER = 'cab-13';
const SECRET = generateSecret();
const SECRET_OTHER = generateSecret();
const M = 'kerbside_cloud_';

describe('cloud service (embedded broker, SQLite)', () => {
  let dir: string;
  let service: CloudService;
  let url: string;
  const gateways: FakeGateway[] = [];
  const { logger, lines } = memoryLogger();

  async function gateway(id = GW, secret = SECRET): Promise<FakeGateway> {
    const gw = await FakeGateway.connect(url, id, secret);
    gateways.push(gw);
    return gw;
  }

  function countEvents(gatewayId: string, lane: string): Promise<number> {
    return service.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('gateway_id', '=', gatewayId)
      .where('lane', '=', lane)
      .executeTakeFirstOrThrow()
      .then((row) => Number(row.n));
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-cloud-service-'));
    const credentialKey = CredentialKey.generate();
    const credentials = new MemoryCredentialStore();
    credentials.set(GW, { hash: hashSecret(SECRET, credentialKey), disabled: false });
    credentials.set(OTHER, { hash: hashSecret(SECRET_OTHER, credentialKey), disabled: false });
    service = await startCloudService(testConfig(dir), { logger, credentials, credentialKey });
    assert.notEqual(service.mqttPort, null);
    url = `mqtt://127.0.0.1:${service.mqttPort}`;
  });

  after(async () => {
    try {
      await Promise.all(gateways.map((g) => g.close()));
      await service?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('acks the first batch with upTo = its last seq, after committing it', async () => {
    const gw = await gateway();
    const before = await scrape(service.httpPort);
    await gw.publish(makeBatch(GW, 0, [1, 2, 3]));
    const ack = await gw.ack(1);
    assert.deepEqual(ack, { epoch: EPOCH, lane: 'priority', upTo: 3 });
    // The ack arrived, so the events must already be in the database (commit, then ack).
    assert.equal(await countEvents(GW, 'priority'), 3);
    const afterScrape = await scrape(service.httpPort);
    const delta = (name: string, labels: Record<string, string> = {}): number =>
      sampleValue(afterScrape, name, labels) - sampleValue(before, name, labels);
    assert.equal(delta(`${M}batches_total`, { outcome: 'accepted' }), 1);
    assert.equal(delta(`${M}events_committed_total`, { lane: 'priority', class: 'audit' }), 3);
    await waitFor(
      async () =>
        sampleValue(await scrape(service.httpPort), `${M}acks_published_total`, { lane: 'priority' }) >= 1,
    );
  });

  it('answers the same batch again with the same ack and stores nothing twice', async () => {
    const gw = await gateway();
    const batch = makeBatch(GW, 3, [4, 5]);
    await gw.publish(batch);
    assert.deepEqual(await gw.ack(1), { epoch: EPOCH, lane: 'priority', upTo: 5 });
    const before = await scrape(service.httpPort);
    await gw.publish(batch);
    assert.deepEqual(await gw.ack(2), { epoch: EPOCH, lane: 'priority', upTo: 5 });
    assert.equal(await countEvents(GW, 'priority'), 5);
    const afterScrape = await scrape(service.httpPort);
    assert.equal(
      sampleValue(afterScrape, `${M}event_duplicates_total`, { lane: 'priority' }) -
        sampleValue(before, `${M}event_duplicates_total`, { lane: 'priority' }),
      2,
    );
  });

  it("acks lastCommitted when a batch's after is ahead of it, and stores nothing", async () => {
    const gw = await gateway();
    await gw.publish(makeBatch(GW, 9, [10, 11]));
    assert.deepEqual(await gw.ack(1), { epoch: EPOCH, lane: 'priority', upTo: 5 });
    assert.equal(await countEvents(GW, 'priority'), 5);
  });

  it('keeps the two lanes independent, and echoes a batch without lane as priority', async () => {
    const gw = await gateway();
    await gw.publish(makeBatch(GW, 0, [1, 2, 3, 4, 5, 6, 7], { lane: 'telemetry' }));
    assert.deepEqual(await gw.ack(1), { epoch: EPOCH, lane: 'telemetry', upTo: 7 });
    // The priority lane is still at 5: its next batch after 5 is accepted.
    await gw.publish(makeBatch(GW, 5, [6], { omitLane: true }));
    assert.deepEqual(await gw.ack(2), { epoch: EPOCH, upTo: 6 });
    assert.equal(await countEvents(GW, 'telemetry'), 7);
    assert.equal(await countEvents(GW, 'priority'), 6);
    const streams = await service.db
      .selectFrom('gateway_streams')
      .select(['lane', 'last_committed'])
      .where('gateway_id', '=', GW)
      .orderBy('lane')
      .execute();
    assert.deepEqual(
      streams.map((s) => [s.lane, Number(s.last_committed)]),
      [
        ['priority', 6],
        ['telemetry', 7],
      ],
    );
  });

  it('refuses invalid JSON, a schema-invalid batch and a foreign gw without an ack, and keeps serving', async () => {
    const gw = await gateway();
    const before = await scrape(service.httpPort);
    await gw.publish('{"gw": "cab-12", "epoch": ');
    const broken = { ...makeBatch(GW, 6, [7]), after: -1, extra: 'x' };
    await gw.publish(JSON.stringify(broken));
    await gw.publish(makeBatch(OTHER, 0, [1])); // names another gateway than the topic's
    await gw.publish(makeBatch(GW, 6, [7]));
    assert.deepEqual(await gw.ack(1), { epoch: EPOCH, lane: 'priority', upTo: 7 });
    // The sentinel: a telemetry batch published after the bad ones. Their batches were handled
    // before the good one (invalid ones on arrival, the rest in the same per-lane queue), so any ack
    // of theirs went out before ack #1 and arrives before the sentinel's (MQTT 3.1.1 section 4.6).
    const sentinel = { epoch: EPOCH, lane: 'telemetry', upTo: 8 };
    await gw.publish(makeBatch(GW, 7, [8], { lane: 'telemetry' }));
    await waitFor(
      () => gw.acks.some((a) => JSON.stringify(a) === JSON.stringify(sentinel)),
      5000,
      "the sentinel's ack",
    );
    assert.deepEqual(
      gw.acks,
      [{ epoch: EPOCH, lane: 'priority', upTo: 7 }, sentinel],
      `only the good batch (and the sentinel) is acked, got ${JSON.stringify(gw.acks)}`,
    );
    assert.equal(await countEvents(OTHER, 'priority'), 0, 'nothing stored under the foreign gateway');
    const afterScrape = await scrape(service.httpPort);
    const delta = (outcome: string): number =>
      sampleValue(afterScrape, `${M}batches_total`, { outcome }) -
      sampleValue(before, `${M}batches_total`, { outcome });
    assert.equal(delta('invalid'), 2);
    assert.equal(delta('refused'), 1);
    assert.equal(delta('accepted'), 2, 'the good batch and the sentinel');
    // One line per bad message, with the reason as JSON pointers; never the payload itself.
    const invalid = lines
      .filter((l) => l.includes('invalid up/events batch'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(invalid.length >= 1);
    assert.ok(invalid.some((l) => JSON.stringify(l['issues']).includes('malformed JSON')));
    assert.ok(lines.some((l) => l.includes('names another gateway')));
  });

  it('does not ack a batch the database failed to commit; the resend is acked and stored once', async () => {
    const gw = await gateway();
    // A second connection renames the events table, so the consumer's insert fails (a real
    // SQLite error, rolled back) while the rest of the database stays up.
    const side = new Database(join(dir, 'cloud.sqlite'));
    try {
      side.exec('ALTER TABLE events RENAME TO events_hidden');
      const before = await scrape(service.httpPort);
      const batch = makeBatch(GW, 7, [8, 9]);
      await gw.publish(batch);
      await waitFor(
        async () =>
          sampleValue(await scrape(service.httpPort), `${M}batches_total`, { outcome: 'db_error' }) >
          sampleValue(before, `${M}batches_total`, { outcome: 'db_error' }),
        5000,
        'db_error counted',
      );
      // The sentinel: a batch without lane (priority: the same queue) ahead of lastCommitted (7),
      // answered from gateway_streams alone (the events table is still hidden) with an ack that
      // echoes no lane. An ack of the failed batch would have gone out before it, and arrived first.
      const sentinel = { epoch: EPOCH, upTo: 7 };
      await gw.publish(makeBatch(GW, 100, [101], { omitLane: true }));
      await waitFor(() => gw.acks.some((a) => a.lane === undefined), 5000, "the sentinel's ack");
      assert.deepEqual(
        gw.acks,
        [sentinel],
        `no ack for an uncommitted batch, only the sentinel's: got ${JSON.stringify(gw.acks)}`,
      );
      side.exec('ALTER TABLE events_hidden RENAME TO events');
      await gw.publish(batch); // the gateway resends what was never acked
      assert.deepEqual(await gw.ack(2), { epoch: EPOCH, lane: 'priority', upTo: 9 });
      assert.equal(await countEvents(GW, 'priority'), 9);
    } finally {
      side.close();
    }
  });

  it('stores the retained status and then the last will (online false)', async () => {
    const will = { online: false, version: '0.1.0', uptimeS: 0, backlog: { count: 0, oldestAgeS: null } };
    const gw = await FakeGateway.connect(url, OTHER, SECRET_OTHER, {
      will: { topic: statusTopic(OTHER), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    });
    gateways.push(gw);
    await gw.publishStatus(makeStatus());
    const row = (): Promise<Record<string, unknown> | undefined> =>
      service.db.selectFrom('gateway_status').selectAll().where('gateway_id', '=', OTHER).executeTakeFirst();
    await waitFor(async () => (await row()) !== undefined, 5000, 'status stored');
    const stored = await row();
    assert.equal(Number(stored?.['online']), 1);
    assert.equal(stored?.['version'], '0.1.0');
    assert.equal(Number(stored?.['uptime_s']), 3600.5);
    assert.equal(Number(stored?.['backlog_count']), 12);
    assert.equal(Number(stored?.['backlog_oldest_age_s']), 4.5);
    assert.equal(Number(stored?.['config_version']), 3);
    assert.deepEqual(JSON.parse(String(stored?.['lanes'])), {
      priority: { lastSeq: 45, ackedSeq: 33 },
      telemetry: { lastSeq: 900, ackedSeq: 880 },
    });
    let samples = await scrape(service.httpPort);
    assert.equal(sampleValue(samples, `${M}gateways_online`), 1);
    assert.equal(sampleValue(samples, `${M}gateway_backlog_events`, { gateway: OTHER }), 12);
    assert.equal(sampleValue(samples, `${M}gateway_backlog_oldest_age_seconds`, { gateway: OTHER }), 4.5);

    // The connection dies without DISCONNECT: the broker publishes the will (MQTT 3.1.1 section 3.1.2.5).
    gw.client.stream.destroy();
    await waitFor(async () => Number((await row())?.['online']) === 0, 5000, 'will recorded');
    const offline = await row();
    assert.equal(offline?.['lanes'], null, 'a will carries no lanes: the stale ones are not kept');
    assert.equal(Number(offline?.['backlog_count']), 0);
    samples = await scrape(service.httpPort);
    assert.equal(sampleValue(samples, `${M}gateways_online`), 0);
  });

  it('exposes the metric series and the last-commit age per gateway and lane', async () => {
    const response = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`, { headers: SCRAPE_HEADERS });
    const text = await response.text();
    for (const name of [
      'events_committed_total',
      'event_duplicates_total',
      'batches_total',
      'ingest_duration_seconds_bucket',
      'acks_published_total',
      'status_messages_total',
      'gateway_backlog_events',
      'gateway_backlog_oldest_age_seconds',
      'gateway_last_commit_age_seconds',
      'gateways_online',
      'mqtt_connected',
      'process_cpu_seconds_total',
    ]) {
      assert.ok(text.includes(`${M}${name}`), `missing ${M}${name}`);
    }
    const samples = await scrape(service.httpPort);
    const age = sampleValue(samples, `${M}gateway_last_commit_age_seconds`, {
      gateway: GW,
      lane: 'telemetry',
    });
    assert.ok(age >= 0 && age < 60, `last commit age ${age}`);
    assert.ok(
      samples.some(
        (s) => s.name === `${M}gateway_last_commit_age_seconds` && s.labels['lane'] === 'priority',
      ),
    );
    assert.equal(sampleValue(samples, `${M}mqtt_connected`), 1);
    assert.ok(sampleValue(samples, `${M}ingest_duration_seconds_count`, { lane: 'priority' }) >= 5);
  });

  it('answers /healthz 200 with both checks ok', async () => {
    const response = await fetch(`http://127.0.0.1:${service.httpPort}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      status: 'ok',
      checks: { database: { ok: true }, mqtt: { ok: true } },
    });
  });

  it('never logs a gateway secret', () => {
    const text = lines.join('');
    assert.ok(!text.includes(SECRET) && !text.includes(SECRET_OTHER));
    assert.ok(text.includes('consumer subscribed'), 'the log is being captured');
  });
});

describe('cloud service close', () => {
  it('does not warn that the consumer lost the broker when the service closes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kerbside-cloud-close-'));
    const { logger, lines } = memoryLogger();
    try {
      const service = await startCloudService(testConfig(dir), {
        logger,
        credentials: new MemoryCredentialStore(),
      });
      try {
        await waitFor(
          () => lines.some((line) => line.includes('consumer subscribed')),
          5000,
          'consumer subscribed',
        );
      } finally {
        await service.close();
      }
      // The consumer's connection closes inside close(); a planned stop is not a lost connection.
      const warned = lines.filter((line) => line.includes('consumer lost the broker connection'));
      assert.deepEqual(warned, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
