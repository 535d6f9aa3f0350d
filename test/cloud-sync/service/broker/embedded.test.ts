/**
 * The embedded broker's hooks against real clients on a loopback port: mqtt.js 5 and the
 * third-party mosquitto_pub / mosquitto_sub (Debian mosquitto-clients).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import { commandTopic, eventsTopic, statusTopic } from '../../../../cloud-sync/contract/topics.js';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
} from '../../../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../../cloud-sync/service/broker/embedded.js';
import { requireCommand } from '../../../helpers/peers.js';
import { MemoryLogger } from './helpers.js';
import { run } from '../../../helpers/process.js';
import { waitFor as waitUntil } from '../../../helpers/wait.js';

const SECRET_A = generateSecret();
const SECRET_B = generateSecret();
const SECRET_OFF = generateSecret();
const SECRET_SVC = generateSecret();

/** Resolves when `predicate` holds, or fails after `ms`. */
async function waitFor(predicate: () => boolean, ms = 2000): Promise<void> {
  await waitUntil('condition', predicate, {
    timeoutMs: ms,
    intervalMs: 10,
    message: () => 'condition not met in time',
  });
}

/** Published after a message that must not arrive; once it has arrived, that one never will. */
const SENTINEL = 'sentinel';

/** The key every stored hash of these tests is made with (broker/credentials.ts). */
const credentialKey = CredentialKey.generate();

describe('embedded broker', () => {
  let broker: EmbeddedBroker;
  let url: string;
  const logger = new MemoryLogger();
  const clients: MqttClient[] = [];

  async function connect(clientId: string, username: string, password: string): Promise<MqttClient> {
    const client = await connectAsync(url, {
      clientId,
      username,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    clients.push(client);
    return client;
  }

  /** The CONNACK return code of a refused connection (MQTT 3.1.1 section 3.2.2.3). */
  async function refusedWith(clientId: string, username: string, password: string): Promise<number> {
    try {
      const client = await connect(clientId, username, password);
      await client.endAsync();
    } catch (error) {
      assert.ok(error instanceof Error);
      const code = (error as Error & { code?: unknown }).code;
      assert.equal(typeof code, 'number', `expected a CONNACK code, got ${error.message}`);
      return code as number;
    }
    return assert.fail(`${clientId} was accepted`);
  }

  /**
   * SUBACK return codes for `filters`. mqtt.js 5 rejects the promise when any code is a failure
   * (0x80) and attaches the SUBACK packet to the error, so both outcomes are unwrapped here.
   */
  async function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
    try {
      return (await client.subscribeAsync(filters, { qos: 1 })).map((grant) => grant.qos);
    } catch (error) {
      assert.ok(error instanceof Error && 'packet' in error, String(error));
      const packet = error.packet as { cmd: string; granted: number[] };
      assert.equal(packet.cmd, 'suback');
      return packet.granted;
    }
  }

  /** The service account's subscriber: every message it receives, by topic. */
  /**
   * Publishes SENTINEL to gw-b's up/events as gw-b and waits until `received` (a service
   * subscriber's) has it: whatever was refused before it would have been delivered by then.
   */
  async function publishSentinel(received: { topic: string; payload: string }[]): Promise<void> {
    const gwB = await connect('gw-gw-b', 'gw-b', SECRET_B);
    await gwB.publishAsync(eventsTopic('gw-b'), SENTINEL, { qos: 1 });
    await gwB.endAsync();
    await waitFor(() => received.some((message) => message.payload === SENTINEL));
  }

  async function serviceSubscriber(): Promise<{
    client: MqttClient;
    received: { topic: string; payload: string }[];
  }> {
    const client = await connect(`svc-ingest-${clients.length}`, 'service.ingest', SECRET_SVC);
    const received: { topic: string; payload: string }[] = [];
    client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString('utf8') }));
    const granted = await client.subscribeAsync('kerbside/v1/+/up/#', { qos: 1 });
    assert.equal(granted[0]?.qos, 1);
    return { client, received };
  }

  before(async () => {
    const credentials = new MemoryCredentialStore();
    credentials.set('gw-a', { hash: hashSecret(SECRET_A, credentialKey), disabled: false });
    credentials.set('gw-b', { hash: hashSecret(SECRET_B, credentialKey), disabled: false });
    credentials.set('gw-off', { hash: hashSecret(SECRET_OFF, credentialKey), disabled: true });
    const serviceAccounts = new MemoryCredentialStore();
    serviceAccounts.set('ingest', { hash: hashSecret(SECRET_SVC, credentialKey), disabled: false });
    broker = await startEmbeddedBroker({
      port: 0,
      credentials,
      serviceAccounts,
      credentialKey,
      logger,
      // Every refusal gets its own line here, so the test can read each reason (edges.test.ts
      // tests the summary lines of the default).
      limits: { refusalLogIntervalMs: 0 },
    });
    url = `mqtt://127.0.0.1:${broker.port}`;
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    await broker.close();
  });

  describe('with mqtt.js', () => {
    it('accepts gw-a with its secret and fixed client id', async () => {
      const client = await connect('gw-gw-a', 'gw-a', SECRET_A);
      assert.equal(client.connected, true);
      await client.endAsync();
    });

    it('refuses a wrong secret, an unknown gateway, a disabled one and a wrong client id', async () => {
      assert.equal(
        await refusedWith('gw-gw-a', 'gw-a', SECRET_B),
        4,
        'wrong secret: bad username or password',
      );
      assert.equal(
        await refusedWith('gw-gw-zz', 'gw-zz', SECRET_A),
        4,
        'unknown gateway: bad username or password',
      );
      assert.equal(await refusedWith('gw-gw-a', 'GW/A#', SECRET_A), 4, 'not a gateway id');
      assert.equal(await refusedWith('gw-gw-off', 'gw-off', SECRET_OFF), 5, 'disabled: not authorized');
      assert.equal(await refusedWith('gw-gw-b', 'gw-a', SECRET_A), 2, 'wrong client id: identifier rejected');
      assert.equal(
        await refusedWith('svc-ingest', 'gw-a', SECRET_A),
        2,
        'gateway posing as a service client id',
      );
      assert.equal(
        await refusedWith('gw-gw-a', 'service.ingest', SECRET_SVC),
        2,
        'service with a gateway id',
      );
      assert.equal(await refusedWith('svc-ingest', 'service.ingest', SECRET_A), 4, 'service, wrong secret');
    });

    it('never logs a secret, but logs who was refused and why', () => {
      const text = JSON.stringify(logger.lines);
      for (const secret of [SECRET_A, SECRET_B, SECRET_OFF, SECRET_SVC]) assert.ok(!text.includes(secret));
      const refusals = logger.lines.filter((line) => line.message === 'mqtt connection refused');
      assert.ok(
        refusals.some((line) => line.fields.username === 'gw-a' && line.fields.reason === 'wrong secret'),
      );
      assert.ok(
        refusals.some(
          (line) => line.fields.username === 'gw-off' && line.fields.reason === 'account disabled',
        ),
      );
    });

    it("delivers gw-a's own up/events to the service and drops a publish to gw-b's", async () => {
      const { received } = await serviceSubscriber();
      const gwA = await connect('gw-gw-a', 'gw-a', SECRET_A);
      await gwA.publishAsync(eventsTopic('gw-a'), 'from-a', { qos: 1 });
      await gwA.publishAsync(statusTopic('gw-a'), 'status-a', { qos: 1 });
      await waitFor(() => received.length === 2);
      assert.deepEqual(received, [
        { topic: 'kerbside/v1/gw-a/up/events', payload: 'from-a' },
        { topic: 'kerbside/v1/gw-a/up/status', payload: 'status-a' },
      ]);

      // MQTT 3.1.1 has no negative PUBACK; aedes answers an unauthorized PUBLISH by closing the
      // connection (section 3.3.5 allows it) and the message is never routed.
      const closed = new Promise<void>((resolve) => gwA.once('close', () => resolve()));
      gwA.publish(eventsTopic('gw-b'), 'forged-by-a', { qos: 0 });
      await closed;
      // The broker decided on the forged publish before it closed the connection; a sentinel
      // published after that reaches the subscriber after anything the forged one could have.
      await publishSentinel(received);
      assert.equal(
        received.some((message) => message.payload === 'forged-by-a'),
        false,
      );
      assert.ok(
        logger.lines.some(
          (line) => line.message === 'mqtt publish refused' && line.fields.gatewayId === 'gw-a',
        ),
      );
    });

    it('refuses gw-a publishing to its own down/, to $SYS and with a service client', async () => {
      const { received } = await serviceSubscriber();
      for (const topic of [commandTopic('gw-a'), '$SYS/x', 'kerbside/v1/gw-a/up//x']) {
        const gwA = await connect('gw-gw-a', 'gw-a', SECRET_A);
        const closed = new Promise<void>((resolve) => gwA.once('close', () => resolve()));
        gwA.publish(topic, 'nope', { qos: 0 });
        await closed;
      }
      // The service itself may not publish upstream on a gateway's behalf.
      const svc = await connect('svc-ingest-pub', 'service.ingest', SECRET_SVC);
      const closed = new Promise<void>((resolve) => svc.once('close', () => resolve()));
      svc.publish(eventsTopic('gw-b'), 'svc-forged', { qos: 0 });
      await closed;
      await publishSentinel(received);
      assert.deepEqual(received, [{ topic: eventsTopic('gw-b'), payload: SENTINEL }]);
    });

    it('answers SUBACK 0x80 to gw-a subscribing beyond its own down/ and delivers nothing of gw-b', async () => {
      const gwA = await connect('gw-gw-a', 'gw-a', SECRET_A);
      const gwB = await connect('gw-gw-b', 'gw-b', SECRET_B);
      const receivedByA: string[] = [];
      const receivedByB: string[] = [];
      gwA.on('message', (topic) => receivedByA.push(topic));
      gwB.on('message', (topic) => receivedByB.push(topic));

      const refused = [
        'kerbside/v1/gw-b/down/#',
        'kerbside/v1/+/down/#',
        '#',
        'kerbside/v1/#',
        '$share/g/kerbside/v1/+/up/#',
      ];
      const granted = await subackCodes(gwA, [...refused, 'kerbside/v1/gw-a/down/#']);
      // SUBACK return code 0x80 = Failure (MQTT 3.1.1 section 3.9.3); the other filter is kept.
      assert.deepEqual(granted, [...refused.map(() => 0x80), 1]);
      assert.equal(gwA.connected, true, 'a refused subscription does not cost the connection');
      assert.deepEqual(
        (await gwB.subscribeAsync('kerbside/v1/gw-b/down/#', { qos: 1 })).map((grant) => grant.qos),
        [1],
      );

      const svc = await connect('svc-ingest-cmd', 'service.ingest', SECRET_SVC);
      await svc.publishAsync(commandTopic('gw-b'), 'cmd-for-b', { qos: 1 });
      await svc.publishAsync(commandTopic('gw-a'), 'cmd-for-a', { qos: 1 });
      // Sentinels: gw-a's own command comes after the one for gw-b, and a second one for gw-b
      // after the one for gw-a, so each has seen whatever it could wrongly have been sent.
      await svc.publishAsync(commandTopic('gw-b'), 'sentinel-for-b', { qos: 1 });
      await waitFor(() => receivedByB.length === 2 && receivedByA.length === 1);
      assert.deepEqual(receivedByA, ['kerbside/v1/gw-a/down/cmd']);
      assert.deepEqual(receivedByB, ['kerbside/v1/gw-b/down/cmd', 'kerbside/v1/gw-b/down/cmd']);
      assert.ok(
        logger.lines.some(
          (line) => line.message === 'mqtt subscription refused' && line.fields.topic === '#',
        ),
      );
    });

    it('lets the service subscribe to up/ of all gateways (also per channel) but not to down/', async () => {
      const svc = await connect('svc-ingest-sub', 'service.ingest', SECRET_SVC);
      const granted = await subackCodes(svc, [
        'kerbside/v1/+/up/events',
        'kerbside/v1/gw-a/up/#',
        'kerbside/v1/+/down/#',
        '#',
        '$SYS/#',
      ]);
      assert.deepEqual(granted, [1, 1, 0x80, 0x80, 0x80]);
    });
  });

  describe('with mosquitto-clients', () => {
    before(() => {
      requireCommand('mosquitto_pub', 'mosquitto-clients');
      requireCommand('mosquitto_sub', 'mosquitto-clients');
    });

    const base = (): string[] => ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311'];

    it('mosquitto_pub with a wrong password fails with a non-zero exit', async () => {
      const result = await run('mosquitto_pub', [
        ...base(),
        ...['-i', 'gw-gw-a', '-u', 'gw-a', '-P', SECRET_B, '-t', eventsTopic('gw-a'), '-m', 'x'],
      ]);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /bad user name or password/i);
    });

    it("mosquitto_pub delivers to gw-a's own up/events, not to gw-b's", async () => {
      const { received } = await serviceSubscriber();
      const own = await run('mosquitto_pub', [
        ...base(),
        ...[
          '-i',
          'gw-gw-a',
          '-u',
          'gw-a',
          '-P',
          SECRET_A,
          '-q',
          '1',
          '-t',
          eventsTopic('gw-a'),
          '-m',
          'mosq-own',
        ],
      ]);
      assert.equal(own.code, 0, own.stderr);
      await run('mosquitto_pub', [
        ...base(),
        ...[
          '-i',
          'gw-gw-a',
          '-u',
          'gw-a',
          '-P',
          SECRET_A,
          '-q',
          '0',
          '-t',
          eventsTopic('gw-b'),
          '-m',
          'mosq-forged',
        ],
      ]);
      await publishSentinel(received);
      assert.deepEqual(received, [
        { topic: 'kerbside/v1/gw-a/up/events', payload: 'mosq-own' },
        { topic: eventsTopic('gw-b'), payload: SENTINEL },
      ]);
    });

    it("mosquitto_sub as gw-a is denied gw-b's down/ and receives nothing the service sends there", async () => {
      const svc = await connect('svc-ingest-mosq', 'service.ingest', SECRET_SVC);
      const sub = run('mosquitto_sub', [
        ...base(),
        ...[
          '-i',
          'gw-gw-a',
          '-u',
          'gw-a',
          '-P',
          SECRET_A,
          '-t',
          'kerbside/v1/gw-b/down/#',
          '-C',
          '1',
          '-W',
          '2',
          '-v',
        ],
      ]);
      // Keep publishing to gw-b while mosquitto_sub is connected.
      for (let i = 0; i < 10; i += 1) {
        await svc.publishAsync(commandTopic('gw-b'), `secret-cmd-${i}`, { qos: 1 });
        await sleep(100);
      }
      const result = await sub;
      assert.equal(result.stdout, '', 'nothing of gw-b reached gw-a');
      // mosquitto_sub 2.x reads the SUBACK 0x80, prints "All subscription requests were denied."
      // and exits (with status 0 in 2.0.11); without the refusal it would wait and time out (-W 2).
      assert.match(result.stderr, /denied|timed out/i);
    });

    it('mosquitto_sub as gw-a receives its own down/cmd', async () => {
      const svc = await connect('svc-ingest-mosq-own', 'service.ingest', SECRET_SVC);
      const sub = run('mosquitto_sub', [
        ...base(),
        ...[
          '-i',
          'gw-gw-a',
          '-u',
          'gw-a',
          '-P',
          SECRET_A,
          '-t',
          'kerbside/v1/gw-a/down/#',
          '-C',
          '1',
          '-W',
          '3',
          '-v',
        ],
      ]);
      let done = false;
      void sub.then(() => {
        done = true;
      });
      for (let i = 0; i < 20 && !done; i += 1) {
        await sleep(100);
        await svc.publishAsync(commandTopic('gw-a'), 'cmd-own', { qos: 1 });
      }
      const result = await sub;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'kerbside/v1/gw-a/down/cmd cmd-own');
    });
  });
});

describe('embedded broker holding gateways until the service listens', () => {
  it('refuses a gateway with CONNACK 3 (server unavailable) until acceptGateways(), letting service accounts in', async () => {
    const credentials = new MemoryCredentialStore();
    credentials.set('gw-a', { hash: hashSecret(SECRET_A, credentialKey), disabled: false });
    const services = new MemoryCredentialStore();
    services.set('ingest', { hash: hashSecret(SECRET_SVC, credentialKey), disabled: false });
    const held = await startEmbeddedBroker({
      port: 0,
      credentials,
      serviceAccounts: services,
      credentialKey,
      logger: new MemoryLogger(),
      holdGatewaysUntilReady: true,
    });
    const url = `mqtt://127.0.0.1:${held.port}`;
    const options = (clientId: string, username: string, password: string) => ({
      clientId,
      username,
      password,
      protocolVersion: 4 as const,
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    try {
      const refused = await connectAsync(url, options('gw-gw-a', 'gw-a', SECRET_A)).then(
        async (client) => {
          await client.endAsync();
          return null;
        },
        (error: unknown) => (error as { code?: unknown }).code,
      );
      assert.equal(refused, 3, 'a gateway is asked to come back while the service is not listening');
      const service = await connectAsync(url, options('svc-ingest', 'service.ingest', SECRET_SVC));
      await service.endAsync();
      held.acceptGateways();
      const gateway = await connectAsync(url, options('gw-gw-a', 'gw-a', SECRET_A));
      assert.equal(gateway.connected, true);
      await gateway.endAsync();
    } finally {
      await held.close();
    }
  });
});
