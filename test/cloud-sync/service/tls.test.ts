/**
 * The service with TLS configured from key/cert files: HTTPS for /healthz and the embedded
 * broker's MQTT-over-TLS listener, where a gateway trusting only that certificate gets its ack.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'selfsigned';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
} from '../../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../../cloud-sync/service/secrets/credential-key.js';
import { startCloudService, type CloudService } from '../../../cloud-sync/service/service.js';
import { EPOCH, FakeGateway, makeBatch, memoryLogger, testConfig } from './service-helpers.js';

const GW = 'cab-40';
const SECRET = generateSecret();

function httpsGet(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, ca }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('cloud service with TLS', () => {
  let dir: string;
  let service: CloudService;
  let cert: string;
  const gateways: FakeGateway[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-cloud-tls-'));
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      algorithm: 'sha256',
      keyType: 'ec',
      notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
    });
    cert = pems.cert;
    writeFileSync(join(dir, 'server.key'), pems.private);
    writeFileSync(join(dir, 'server.crt'), pems.cert);
    const credentialKey = CredentialKey.generate();
    const credentials = new MemoryCredentialStore();
    credentials.set(GW, { hash: hashSecret(SECRET, credentialKey), disabled: false });
    const config = testConfig(dir, {
      mqtt: { embedded: { port: 0, tls: { port: 0, keyFile: 'server.key', certFile: 'server.crt' } } },
      http: { port: 0, tls: { keyFile: 'server.key', certFile: 'server.crt' } },
    });
    service = await startCloudService(config, {
      logger: memoryLogger().logger,
      credentials,
      credentialKey,
      processMetrics: false,
    });
  });

  after(async () => {
    try {
      await Promise.all(gateways.map((g) => g.close()));
      await service?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves /healthz over HTTPS', async () => {
    const response = await httpsGet(service.httpPort, '/healthz', cert);
    assert.equal(response.status, 200);
    assert.equal((JSON.parse(response.body) as { status: string }).status, 'ok');
  });

  it('acks a batch published over the MQTT TLS listener', async () => {
    assert.ok(service.mqttTlsPort !== null && service.mqttTlsPort > 0);
    const gw = await FakeGateway.connect(`mqtts://localhost:${service.mqttTlsPort}`, GW, SECRET, {
      ca: cert,
    });
    gateways.push(gw);
    await gw.publish(makeBatch(GW, 0, [1, 2]));
    assert.deepEqual(await gw.ack(1), { epoch: EPOCH, lane: 'priority', upTo: 2 });
  });
});
