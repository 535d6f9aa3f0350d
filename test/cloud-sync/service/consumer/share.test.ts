/**
 * One gateway cannot stall the others through the consumer's shared queue (issue 12, finding 1):
 * a flooding gateway whose batches are held in ingest takes only its share of the queue, and
 * another gateway's batch is committed and acked meanwhile. Real embedded broker, real PostgreSQL,
 * the real consumer; the flood is held by an ingest hook, so the test waits on events, not times.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
} from '../../../../cloud-sync/service/broker/credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../../cloud-sync/service/broker/embedded.js';
import { IngestConsumer } from '../../../../cloud-sync/service/consumer/consumer.js';
import type { IngestHook } from '../../../../cloud-sync/service/ingest/ingest.js';
import {
  createCloudMetrics,
  METRIC_PREFIX,
  type CloudMetrics,
} from '../../../../cloud-sync/service/metrics.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { openPostgresCloudDb, type OpenedDatabase } from '../../../helpers/cloud-db.js';
import { FakeGateway, makeBatch, sampleValue, parsePrometheus } from '../service-helpers.js';
import { waitFor } from '../../../helpers/wait.js';

const key = CredentialKey.generate();
const SECRET_FLOOD = generateSecret();
const SECRET_CALM = generateSecret();
const SECRET_SVC = generateSecret();
/** The flood: far more batches than the whole queue holds. */
const FLOOD_BATCHES = 60;
const MAX_PENDING = 16;
const SHARE = 4;

describe('consumer: per-gateway share of the ingest queue', () => {
  let temp: OpenedDatabase;
  let broker: EmbeddedBroker;
  let consumer: IngestConsumer;
  let metrics: CloudMetrics;
  const gateways: FakeGateway[] = [];
  /** Holds every batch of gw-flood inside its ingest transaction until released. */
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let floodEntered = 0;
  const holdFlood: IngestHook = async (_trx, context) => {
    if (context.gatewayId !== 'gw-flood') return;
    floodEntered += 1;
    await held;
  };

  before(async () => {
    // PostgreSQL: a held ingest transaction locks only its stream's row there, whereas SQLite's
    // one writer would hold every other gateway's transaction too.
    temp = await openPostgresCloudDb();
    const credentials = new MemoryCredentialStore();
    credentials.set('gw-flood', { hash: hashSecret(SECRET_FLOOD, key), disabled: false });
    credentials.set('gw-calm', { hash: hashSecret(SECRET_CALM, key), disabled: false });
    const serviceAccounts = new MemoryCredentialStore();
    serviceAccounts.set('ingest', { hash: hashSecret(SECRET_SVC, key), disabled: false });
    const logger = pino({ level: 'silent' });
    broker = await startEmbeddedBroker({ port: 0, credentials, serviceAccounts, credentialKey: key, logger });
    metrics = createCloudMetrics({ processMetrics: false });
    consumer = new IngestConsumer({
      url: `mqtt://127.0.0.1:${broker.port}`,
      serviceAccount: 'ingest',
      secret: SECRET_SVC,
      instanceId: 'share',
      shareGroup: null,
      db: temp.db,
      metrics,
      logger,
      concurrency: 2,
      maxPending: MAX_PENDING,
      maxPendingPerGateway: SHARE,
      ingestHooks: [holdFlood],
    });
    consumer.start();
    await consumer.whenSubscribed();
  });

  after(async () => {
    release();
    await Promise.all(gateways.map((gateway) => gateway.close()));
    await consumer.close();
    await broker.close();
    await temp.close();
  });

  it("commits and acks another gateway's batch while the flooding one's are held", async () => {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const flood = await FakeGateway.connect(url, 'gw-flood', SECRET_FLOOD);
    const calm = await FakeGateway.connect(url, 'gw-calm', SECRET_CALM);
    gateways.push(flood, calm);
    // Each flood batch starts where the previous ended, as a gateway's window would send them.
    await Promise.all(
      Array.from({ length: FLOOD_BATCHES }, (_, i) => flood.publish(makeBatch('gw-flood', i, [i + 1]))),
    );
    await waitFor('the first flood batch to be held in ingest', () => floodEntered === 1);
    await calm.publish(makeBatch('gw-calm', 0, [1, 2]));
    // The calm gateway's batch is committed and acked while the flood is still held.
    const ack = await calm.ack(1, 10_000);
    assert.equal(ack.upTo, 2);
    assert.equal(floodEntered, 1);
    assert.deepEqual(flood.acks, []);
    const committed = await temp.db
      .selectFrom('events')
      .select('seq')
      .where('gateway_id', '=', 'gw-calm')
      .execute();
    assert.equal(committed.length, 2);
    // The flood beyond its share was dropped unacked (the gateway resends it), and counted.
    const samples = parsePrometheus(await metrics.registry.metrics());
    const overShare = sampleValue(samples, `${METRIC_PREFIX}batches_total`, { outcome: 'over_share' });
    assert.ok(overShare >= FLOOD_BATCHES - SHARE - 1, `over_share ${overShare}`);
    release();
    await flood.ack(1, 10_000);
  });
});
