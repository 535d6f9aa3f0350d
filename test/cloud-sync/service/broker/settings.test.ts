/**
 * The two broker settings an operator may need when many cabinets share one NAT address
 * (`mqtt.embedded.maxConnectionsPerAddress`, `mqtt.embedded.refusalsBeforeThrottle`): validated,
 * and applied by the real service's broker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudConfigError } from '../../../../cloud-sync/service/config.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { startCloudService, type CloudService } from '../../../../cloud-sync/service/service.js';
import { waitForCallback } from '../../../helpers/wait.js';
import { memoryLogger, testConfig } from '../service-helpers.js';

describe('embedded broker settings', () => {
  let dir: string;
  let service: CloudService;
  const sockets: Socket[] = [];

  function raw(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: '127.0.0.1', port: service.mqttPort as number }, () =>
        resolve(socket),
      );
      socket.on('error', () => undefined);
      socket.once('error', reject);
      sockets.push(socket);
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-broker-settings-'));
    const config = testConfig(dir, {
      mqtt: { embedded: { port: 0, maxConnectionsPerAddress: 2, refusalsBeforeThrottle: 50 } },
    });
    assert.equal(config.mqtt.embedded.maxConnectionsPerAddress, 2);
    assert.equal(config.mqtt.embedded.refusalsBeforeThrottle, 50);
    service = await startCloudService(config, {
      logger: memoryLogger().logger,
      credentialKey: CredentialKey.generate(),
      processMetrics: false,
    });
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a value below 1', () => {
    assert.throws(
      () => testConfig(dir, { mqtt: { embedded: { maxConnectionsPerAddress: 0 } } }),
      (error: unknown) =>
        error instanceof CloudConfigError &&
        error.issues.some((issue) => issue.pointer === '/mqtt/embedded/maxConnectionsPerAddress'),
    );
  });

  it('applies maxConnectionsPerAddress: the consumer and one more, then the next is closed', async () => {
    // The service's own consumer holds one connection from 127.0.0.1 already.
    const second = await raw();
    const third = await raw();
    await waitForCallback(
      (resolve) => third.once('close', () => resolve(undefined)),
      'the third to be closed',
      5000,
    );
    assert.ok(!second.destroyed);
  });
});
