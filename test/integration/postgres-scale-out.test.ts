/**
 * Scale-out (docs/uplink-contract.md, "Scale"; docs/cloud-service.md): two cloud-sync instances as
 * separate processes against ONE PostgreSQL database (DATABASE_URL) and a real mosquitto
 * (MQTT_URL), consuming `up/events` through one shared subscription, so batches of one stream land
 * on either instance in any order; three gateway processes (store + Uplink) stream alarm
 * transitions and telemetry into it. Once both instances have committed events, one is SIGKILLed
 * mid-stream: the batches it held die with it unacknowledged and the gateways must resend them to
 * the survivor. At the end everything drains and the invariant checker must find nothing lost and
 * nothing duplicated in PostgreSQL.
 *
 * mosquitto allows anonymous clients here: this test is about consumption and the accept rule on
 * PostgreSQL; the generated password file and ACL are tested in test/cloud-sync/service/enrollment.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireCommand } from '../helpers/peers.js';
import { startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import {
  MOSQUITTO,
  startCloud,
  startGateway,
  startMosquitto,
  tempRoot,
  waitUntil,
  type Child,
  type CloudStarted,
} from './crash-harness.js';
import { checkDeployment, describeReport, gatewayDrained, type LedgerEntry } from './invariants.js';
import { SCRAPE_HEADERS, TEST_SCRAPE_TOKEN } from '../cloud-sync/service/api/harness.js';

const dirs = tempRoot('kerbside-scale-out-');
const GATEWAYS = ['cab-s1', 'cab-s2', 'cab-s3'];

/** Sum of kerbside_cloud_events_committed_total over its labels, from an instance's /metrics. */
async function committed(httpPort: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: SCRAPE_HEADERS });
  const text = await response.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('kerbside_cloud_events_committed_total')) sum += Number(line.split(' ').pop());
  }
  return sum;
}

async function healthy(httpPort: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status === 200;
  } catch {
    return false;
  }
}

describe('two cloud instances on PostgreSQL behind mosquitto, one killed mid-stream', () => {
  let cluster: PostgresCluster | undefined;
  let mosquitto: Child | undefined;
  let mqttPort = 0;
  const children: Child[] = [];

  before(async () => {
    requireCommand(MOSQUITTO, 'mosquitto');
    cluster = await startPostgres();
    const broker = await startMosquitto(dirs.root);
    mosquitto = broker.child;
    mqttPort = broker.port;
  });

  after(async () => {
    try {
      await Promise.all(children.map((c) => c.kill9()));
      await mosquitto?.stop(2000);
      await mosquitto?.kill9();
      await cluster?.stop();
    } finally {
      dirs.cleanup();
    }
  });

  it('loses nothing and duplicates nothing; both instances ingested before the kill', async (t) => {
    const databaseUrl = await (cluster ?? assert.fail('no cluster')).createDatabase();
    const env = {
      DATABASE_URL: databaseUrl,
      MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
      KERBSIDE_SCRAPE_TOKEN: TEST_SCRAPE_TOKEN,
    };
    const secrets = Object.fromEntries(GATEWAYS.map((id) => [id, `secret-of-${id}`]));
    const startInstance = async (name: string): Promise<CloudStarted> => {
      const file = join(dirs.root, `${name}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          mqtt: { instanceId: name, shareGroup: 'kerbside-e2e' },
          http: { host: '127.0.0.1', port: 0 },
          log: { level: 'warn' },
        }),
      );
      const started = await startCloud(`cloud ${name}`, file, secrets, env);
      children.push(started.child);
      return started;
    };
    // Started together: they also migrate the empty database at the same time.
    const [a, b] = await Promise.all([startInstance('a'), startInstance('b')]);
    await waitUntil(
      async () => (await healthy(a.httpPort)) && (await healthy(b.httpPort)),
      20_000,
      'both instances subscribed',
    );

    const ledger: LedgerEntry[] = [];
    const dataDirs = Object.fromEntries(GATEWAYS.map((id) => [id, join(dirs.root, id)]));
    const gateways = await Promise.all(
      GATEWAYS.map((gatewayId) =>
        startGateway(
          {
            gatewayId,
            dataDir: dataDirs[gatewayId] ?? '',
            url: env.MQTT_URL,
            password: secrets[gatewayId] ?? '',
            periodMs: 20,
            telemetryPerCycle: 2,
            ackTimeoutMs: 1500,
          },
          ledger,
        ),
      ),
    );
    children.push(...gateways);

    await waitUntil(
      async () => (await committed(a.httpPort)) > 0 && (await committed(b.httpPort)) > 0,
      20_000,
      'both instances committed events',
    );
    const beforeKill = { a: await committed(a.httpPort), b: await committed(b.httpPort) };
    await sleep(300 + Math.random() * 700);
    await a.child.kill9();
    const ledgerAtKill = ledger.length;
    const bAtKill = await committed(b.httpPort);
    // Keep streaming into the survivor until it has taken over: more than 100 new events in the
    // ledger and committed by b (asserted below), whatever the speed of the machine.
    await waitUntil(
      async () => ledger.length > ledgerAtKill + 100 && (await committed(b.httpPort)) > bAtKill + 100,
      30_000,
      'the survivor took over the stream',
    );
    for (const gw of gateways) gw.send('stop');
    await Promise.all(gateways.map((gw) => gw.waitLine('STOPPED', 5000)));
    await waitUntil(
      () => GATEWAYS.every((id) => gatewayDrained(dataDirs[id] ?? '')),
      30_000,
      'every gateway outbox drained',
    );
    const bAtEnd = await committed(b.httpPort);
    // For the record (not asserted: it depends on what A held when it died): batches the survivor
    // refused (after_ahead: their predecessor died with A) and events it got again.
    const bMetrics = await (
      await fetch(`http://127.0.0.1:${b.httpPort}/metrics`, { headers: SCRAPE_HEADERS })
    ).text();
    const recovery = bMetrics
      .split('\n')
      .filter((l) => /^kerbside_cloud_(batches_total\{outcome="refused"|event_duplicates_total)/.test(l))
      .join(', ');
    await Promise.all(gateways.map((gw) => gw.stop()));
    await b.child.stop();

    const report = await checkDeployment({ ledger, gateways: dataDirs, cloud: { databaseUrl } });
    const summary = `${describeReport(report)}; committed before the kill ${JSON.stringify(beforeKill)}, by b at the kill ${bAtKill}, by b at the end ${bAtEnd}; b: ${recovery}`;
    t.diagnostic(summary);
    assert.equal(report.lost.length, 0, `nothing lost:\n${summary}`);
    assert.equal(report.duplicates.length, 0, `nothing duplicated:\n${summary}`);
    assert.equal(report.pending.length, 0, summary);
    assert.deepEqual(report.streamViolations, [], summary);
    assert.equal(report.counts.alarmTransitionsInCloudOnce, report.counts.alarmTransitions, summary);
    assert.equal(report.counts.unreported, 0, 'no gateway was killed: the ledger is complete');
    // Every event is in PostgreSQL (no evictions at the default quota), and it all got there
    // through both instances before the kill and the survivor after it.
    assert.equal(report.counts.delivered, report.counts.ledger, summary);
    assert.ok(beforeKill.a > 0 && beforeKill.b > 0, summary);
    assert.ok(ledger.length > ledgerAtKill + 100, `gateways kept committing after the kill: ${summary}`);
    assert.ok(bAtEnd > bAtKill + 100, `the survivor took over the whole stream: ${summary}`);
    const perGateway = new Set(ledger.map((e) => e.gatewayId));
    assert.deepEqual([...perGateway].sort(), GATEWAYS);
  });
});
