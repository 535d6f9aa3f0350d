/**
 * External-broker mode against a real mosquitto (Debian `mosquitto`, /usr/sbin/mosquitto): two
 * service instances, each with its own SQLite file, consume `up/events` through one shared
 * subscription (`$share/{group}/...`), so every batch is committed and acked by exactly one of
 * them; `up/status` is a plain subscription, so both get the retained status published before
 * they started. The broker here allows anonymous clients (this test is about consumption; the
 * broker's ACL and password file are tested elsewhere). Killing the broker turns /healthz to 503.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCloudService, type CloudService } from '../../../cloud-sync/service/service.js';
import { canConnect, freePort } from '../../helpers/net.js';
import { requireCommand } from '../../helpers/peers.js';
import { spawnProcess, type Child } from '../../helpers/process.js';
import {
  EPOCH,
  FakeGateway,
  makeBatch,
  makeStatus,
  memoryLogger,
  testConfig,
  waitFor,
} from './service-helpers.js';

const MOSQUITTO = '/usr/sbin/mosquitto';

describe('cloud service with an external mosquitto broker and a shared subscription', () => {
  let dir: string;
  let port: number;
  let mosquitto: Child | null = null;
  const services: CloudService[] = [];
  const gateways: FakeGateway[] = [];
  const logs = [memoryLogger(), memoryLogger()];

  before(async () => {
    requireCommand(MOSQUITTO, 'mosquitto');
    dir = mkdtempSync(join(tmpdir(), 'kerbside-cloud-external-'));
    port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawnProcess('mosquitto', MOSQUITTO, ['-c', conf]);
    const started = mosquitto;
    await waitFor(() => canConnect(port), 5000, `mosquitto listening (log: ${started.stderr})`);
  });

  after(async () => {
    try {
      await Promise.all(gateways.map((g) => g.close()));
      await Promise.all(services.map((s) => s.close()));
    } finally {
      await mosquitto?.kill9();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('both instances store the retained status published before they started', async () => {
    const url = `mqtt://127.0.0.1:${port}`;
    const early = await FakeGateway.connect(url, 'cab-20', undefined);
    gateways.push(early);
    await early.publishStatus(makeStatus({ version: '0.9.9' }));

    for (const [index, log] of logs.entries()) {
      const sub = join(dir, `instance-${index}`);
      const config = testConfig(dir, {
        database: { sqlitePath: `${sub}/cloud.sqlite` },
        mqtt: { url, shareGroup: 'kerbside-test', instanceId: `i${index}` },
      });
      const service = await startCloudService(config, { logger: log.logger, processMetrics: false });
      services.push(service);
      assert.equal(service.mqttPort, null, 'no embedded broker in external mode');
      assert.equal(service.consumer.eventsFilter, '$share/kerbside-test/kerbside/v1/+/up/events');
      await service.consumer.whenSubscribed();
    }
    for (const service of services) {
      await waitFor(
        async () =>
          (
            await service.db
              .selectFrom('gateway_status')
              .select('version')
              .where('gateway_id', '=', 'cab-20')
              .executeTakeFirst()
          )?.version === '0.9.9',
        5000,
        'retained status stored',
      );
    }
  });

  it('each batch is committed and acked by exactly one instance', async () => {
    const url = `mqtt://127.0.0.1:${port}`;
    const ids = ['cab-31', 'cab-32', 'cab-33', 'cab-34', 'cab-35', 'cab-36'];
    const fleet = await Promise.all(ids.map((id) => FakeGateway.connect(url, id, undefined)));
    gateways.push(...fleet);
    await Promise.all(fleet.map((gw) => gw.publish(makeBatch(gw.gatewayId, 0, [1, 2, 3]))));
    for (const gw of fleet) assert.deepEqual(await gw.ack(1), { epoch: EPOCH, lane: 'priority', upTo: 3 });

    const perInstance = await Promise.all(
      services.map((s) =>
        s.db
          .selectFrom('events')
          .select(['gateway_id', (eb) => eb.fn.countAll().as('n')])
          .groupBy('gateway_id')
          .execute(),
      ),
    );
    for (const id of ids) {
      const holders = perInstance.filter((rows) =>
        rows.some((r) => r.gateway_id === id && Number(r.n) === 3),
      );
      assert.equal(holders.length, 1, `${id}'s batch must be in exactly one instance's database`);
    }
    // mosquitto hands shared-subscription messages out in turn: both instances took part.
    for (const rows of perInstance) assert.ok(rows.length > 0, 'an instance received no batch at all');
    for (const gw of fleet)
      assert.equal(gw.acks.length, 1, `${gw.gatewayId} got one ack, not one per instance`);
  });

  it('reports 503 on /healthz when the broker goes away', async () => {
    const service = services[0] as CloudService;
    const healthy = await fetch(`http://127.0.0.1:${service.httpPort}/healthz`);
    assert.equal(healthy.status, 200);
    mosquitto?.proc.kill('SIGTERM');
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${service.httpPort}/healthz`)).status === 503,
      10_000,
      '503',
    );
    const body = (await (await fetch(`http://127.0.0.1:${service.httpPort}/healthz`)).json()) as {
      status: string;
      checks: { database: { ok: boolean }; mqtt: { ok: boolean; error?: string } };
    };
    assert.equal(body.status, 'unavailable');
    assert.equal(body.checks.database.ok, true);
    assert.equal(body.checks.mqtt.ok, false);
    assert.match(body.checks.mqtt.error ?? '', /^mqtt: /);
  });
});
