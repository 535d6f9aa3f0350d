/**
 * Revocation on the embedded broker (issue 12, finding 3): a live gateway session is cut within
 * seconds after `cloud-admin gateway disable`, run as the real CLI in another process against the
 * service's SQLite file, and after a re-enrollment rotated its credential. Real service, real
 * sockets, real SQLite.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { connectAsync, type MqttClient } from 'mqtt';
import { eventsTopic } from '../../../../cloud-sync/contract/topics.js';
import { DbGatewayCredentialStore } from '../../../../cloud-sync/service/enrollment/store.js';
import { issueEnrollmentToken } from '../../../../cloud-sync/service/enrollment/tokens.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { startCloudService, type CloudService } from '../../../../cloud-sync/service/service.js';
import { testPostgres } from '../../../helpers/cloud-db.js';
import { runTsx } from '../../../helpers/process.js';
import { waitForCallback } from '../../../helpers/wait.js';
import { makeBatch, memoryLogger, testConfig } from '../service-helpers.js';

/** How long a revocation may take here: the sweep interval (2 s) plus a generous margin. */
const REVOKED_WITHIN_MS = 15_000;

describe('revocation of live sessions on the embedded broker', () => {
  let dir: string;
  let service: CloudService;
  const { logger, lines } = memoryLogger();
  const clients: MqttClient[] = [];

  /** Issues a token for `gatewayId` and redeems it over the service's HTTP API. */
  async function enroll(gatewayId: string): Promise<string> {
    const issued = await issueEnrollmentToken(service.db, { gatewayId, createdBy: 'test' });
    const response = await fetch(`http://127.0.0.1:${service.httpPort}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: issued.token }),
    });
    const body = (await response.json()) as { mqtt?: { password?: string } };
    assert.equal(response.status, 200, JSON.stringify(body));
    const password = body.mqtt?.password;
    assert.ok(typeof password === 'string');
    return password;
  }

  async function connectGateway(gatewayId: string, password: string): Promise<MqttClient> {
    const client = await connectAsync(`mqtt://127.0.0.1:${service.mqttPort}`, {
      clientId: `gw-${gatewayId}`,
      username: gatewayId,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    clients.push(client);
    return client;
  }

  function closedBy(client: MqttClient): Promise<void> {
    return waitForCallback(
      (resolve) => client.once('close', () => resolve(undefined)),
      'the session to be cut',
      REVOKED_WITHIN_MS,
    );
  }

  /** Whether a CONNECT with these credentials is refused now (CONNACK code, or null for a close). */
  function refusedNow(gatewayId: string, password: string): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${service.mqttPort}`, {
        clientId: `gw-${gatewayId}`,
        username: gatewayId,
        password,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      client.once('connect', () => {
        client.end(true);
        reject(new Error('connected'));
      });
      client.once('error', (error) => {
        client.end(true);
        resolve((error as { code?: number }).code ?? null);
      });
      client.once('close', () => resolve(null));
    });
  }

  function revokedLine(gatewayId: string): Record<string, unknown> | undefined {
    return lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === 'mqtt session revoked: connection closed' && line.gatewayId === gatewayId);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-revocation-'));
    service = await startCloudService(testConfig(dir), {
      logger,
      credentials: ({ db }) => new DbGatewayCredentialStore(db),
      enrollment: true,
      credentialKey: CredentialKey.generate(),
      processMetrics: false,
    });
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts the session of a gateway disabled by the CLI in another process', async () => {
    const password = await enroll('cab-dis');
    const gateway = await connectGateway('cab-dis', password);
    const cut = closedBy(gateway);
    const result = await runTsx(
      'cloud-sync/service/cli.ts',
      ['--db', join(dir, 'cloud.sqlite'), 'gateway', 'disable', 'cab-dis', '--by', 'li.operator'],
      { timeoutMs: 30_000, env: { DATABASE_URL: '' } },
    );
    assert.equal(result.code, 0, result.stderr);
    await cut;
    assert.equal(revokedLine('cab-dis')?.reason, 'account disabled');
    // And it cannot come back: CONNACK 5, not authorized (MQTT 3.1.1 section 3.2.2.3).
    assert.equal(await refusedNow('cab-dis', password), 5);
  });

  it('cuts the session authenticated with a credential that re-enrollment rotated', async () => {
    const oldPassword = await enroll('cab-rot');
    const gateway = await connectGateway('cab-rot', oldPassword);
    const cut = closedBy(gateway);
    const newPassword = await enroll('cab-rot');
    assert.notEqual(newPassword, oldPassword);
    await cut;
    assert.equal(revokedLine('cab-rot')?.reason, 'credential rotated');
    // The new credential works; the old one is refused (CONNACK 4, bad user name or password).
    assert.equal(await refusedNow('cab-rot', oldPassword), 4);
    const renewed = await connectGateway('cab-rot', newPassword);
    await renewed.publishAsync(eventsTopic('cab-rot'), JSON.stringify(makeBatch('cab-rot', 0, [1])), {
      qos: 1,
    });
  });
});

describe('revocation with two instances on one PostgreSQL database', () => {
  let dir: string;
  let databaseUrl: string;
  const instances: CloudService[] = [];
  const clients: MqttClient[] = [];
  const { logger, lines } = memoryLogger();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-revocation-pg-'));
    databaseUrl = await (await testPostgres()).createDatabase();
    // Instances sharing a database share the credential key (config-schema.ts credentialKeyFile).
    const credentialKey = CredentialKey.generate();
    for (const instanceId of ['one', 'two']) {
      instances.push(
        await startCloudService(
          testConfig(dir, { database: { url: databaseUrl }, mqtt: { instanceId, embedded: { port: 0 } } }),
          {
            logger,
            credentials: ({ db }) => new DbGatewayCredentialStore(db),
            enrollment: true,
            credentialKey,
            processMetrics: false,
          },
        ),
      );
    }
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    for (const instance of instances) await instance.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cuts the session on the instance that holds it after the CLI disabled the gateway', async () => {
    const [one, two] = instances as [CloudService, CloudService];
    // Enrolled through instance one, connected to instance two.
    const issued = await issueEnrollmentToken(one.db, { gatewayId: 'cab-pg', createdBy: 'test' });
    const response = await fetch(`http://127.0.0.1:${one.httpPort}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: issued.token }),
    });
    assert.equal(response.status, 200);
    const password = ((await response.json()) as { mqtt: { password: string } }).mqtt.password;
    const gateway = await connectAsync(`mqtt://127.0.0.1:${two.mqttPort}`, {
      clientId: 'gw-cab-pg',
      username: 'cab-pg',
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    clients.push(gateway);
    const cut = waitForCallback(
      (resolve) => gateway.once('close', () => resolve(undefined)),
      'the session on instance two to be cut',
      REVOKED_WITHIN_MS,
    );
    const result = await runTsx(
      'cloud-sync/service/cli.ts',
      ['gateway', 'disable', 'cab-pg', '--by', 'li.operator'],
      {
        timeoutMs: 30_000,
        env: { DATABASE_URL: databaseUrl },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    await cut;
    const revoked = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'mqtt session revoked: connection closed');
    assert.deepEqual(
      revoked.map((line) => [line.gatewayId, line.reason]),
      [['cab-pg', 'account disabled']],
    );
  });
});
