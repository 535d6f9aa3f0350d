/**
 * The downlink over a real broker: the cloud service with its embedded aedes broker, the ingest
 * consumer's service-account session as the publisher, and an mqtt.js client holding a gateway
 * credential in the gateway's place (docs/uplink-contract.md: `down/cmd` QoS 1, `down/config`
 * retained).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { configDocumentHash, type RemoteConfig } from '../../../../cloud-sync/contract/config-document.js';
import { commandTopic, configTopic, gatewayClientId } from '../../../../cloud-sync/contract/topics.js';
import { parseCommand, parseConfigDocument } from '../../../../cloud-sync/contract/validate.js';
import { hashSecret, MemoryCredentialStore } from '../../../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { CommandService } from '../../../../cloud-sync/service/downlink/commands.js';
import { ConfigDocumentService } from '../../../../cloud-sync/service/downlink/config-documents.js';
import { startCloudService, type CloudService } from '../../../../cloud-sync/service/service.js';
import { testConfig, waitFor } from '../service-helpers.js';
import { enrollGateway, GW, silentLogger, verifiedMessage } from './helpers.js';

const SECRET = 'gateway-secret-for-the-downlink-test';

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A gateway's MQTT session: its own client id and credential, subscribed to its `down/#`. */
async function connectGateway(url: string, received: Received[]): Promise<MqttClient> {
  const client = await connectAsync(url, {
    clientId: gatewayClientId(GW),
    username: GW,
    password: SECRET,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 3000,
  });
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
  });
  await client.subscribeAsync([commandTopic(GW), configTopic(GW)], { qos: 1 });
  return client;
}

describe('downlink over the embedded broker', () => {
  let dir: string;
  let service: CloudService;
  let commands: CommandService;
  let configs: ConfigDocumentService;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-downlink-broker-'));
    const credentialKey = CredentialKey.generate();
    const credentials = new MemoryCredentialStore();
    credentials.set(GW, { hash: hashSecret(SECRET, credentialKey), disabled: false });
    service = await startCloudService(testConfig(dir), {
      logger: silentLogger,
      credentials,
      credentialKey,
      processMetrics: false,
    });
    await enrollGateway(service.db, GW);
    url = `mqtt://127.0.0.1:${service.mqttPort}`;
    commands = new CommandService({
      db: service.db,
      publisher: service.consumer,
      signer: service.downlinkSigner,
      logger: silentLogger,
    });
    configs = new ConfigDocumentService({
      db: service.db,
      publisher: service.consumer,
      signer: service.downlinkSigner,
      logger: silentLogger,
    });
  });

  after(async () => {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the gateway gets the retained document on connecting, commands live, and only the newest document on reconnecting', async () => {
    const first: RemoteConfig = { alarms: { 'gas-1': { h2s: { levels: [{ setpoint: 10 }] } } } };
    const v1 = await configs.propose({ gatewayId: GW, document: first, createdBy: 'admin.li' });
    assert.equal(v1.status, 'pending');

    // Connecting after the publish: the broker hands over the retained document.
    const received: Received[] = [];
    const gateway = await connectGateway(url, received);
    try {
      await waitFor(() => received.length >= 1, 5000, 'retained config on subscribe');
      const config = received[0];
      assert.equal(config?.topic, configTopic(GW));
      assert.equal(config?.retain, true);
      const parsed = parseConfigDocument(config?.payload ?? '');
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.deepEqual(
        verifiedMessage('down/config', GW, parsed.value, service.downlinkSigner.publicKeys()),
        { version: 1, hash: configDocumentHash(first), document: first },
        'the retained document, signed for this gateway',
      );

      const command = await commands.issue({
        gatewayId: GW,
        action: 'lamp.switch',
        target: 'loop-1/lamp-4',
        params: { on: true, durationS: 300, reason: 'night works' },
        issuedBy: 'disp.chen',
      });
      assert.equal(command.status, 'sent');
      await waitFor(() => received.some((m) => m.topic === commandTopic(GW)), 5000, 'command on down/cmd');
      const delivered = received.find((m) => m.topic === commandTopic(GW));
      assert.equal(delivered?.retain, false);
      const parsedCommand = parseCommand(delivered?.payload ?? '');
      assert.ok(parsedCommand.ok, JSON.stringify(parsedCommand));
      assert.equal(parsedCommand.value.id, command.id);
      assert.equal(parsedCommand.value.params.by, 'disp.chen');
    } finally {
      await gateway.endAsync(true);
    }

    // While the gateway is away two more versions are published; on reconnecting it finds only
    // the newest (retained replaces retained), and no old command is replayed (not retained).
    const second: RemoteConfig = { devices: { 'gas-1': { pollIntervalMs: 2000 } } };
    await configs.propose({ gatewayId: GW, document: { lighting: {} }, createdBy: 'admin.li' });
    await configs.propose({ gatewayId: GW, document: second, createdBy: 'admin.li' });
    const again: Received[] = [];
    const returned = await connectGateway(url, again);
    try {
      await waitFor(() => again.length >= 1, 5000, 'retained config on reconnect');
      // A new command as a marker: once it is here, anything the broker had queued is here too.
      const marker = await commands.issue({
        gatewayId: GW,
        action: 'lamp.dim',
        target: 'loop-1',
        params: { level: 30, durationS: 60, reason: 'test' },
        issuedBy: 'mon.wang',
      });
      await waitFor(() => again.length >= 2, 5000, 'marker command');
      assert.deepEqual(
        again.map((m) => m.topic),
        [configTopic(GW), commandTopic(GW)],
      );
      const parsed = parseConfigDocument(again[0]?.payload ?? '');
      assert.ok(parsed.ok);
      assert.equal(parsed.value.version, 3);
      assert.deepEqual(parsed.value.document, second);
      assert.equal(JSON.parse(again[1]?.payload ?? '{}').id, marker.id);
    } finally {
      await returned.endAsync(true);
    }
  });
});
