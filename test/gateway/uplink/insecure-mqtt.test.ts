/**
 * No plain MQTT beyond loopback (issue 12, finding 9; gateway/enrollment/transport-policy.ts): the
 * uplink refuses an `mqtt://` URL to a host that is not loopback unless the gateway setting
 * `uplink.allowInsecureMqtt` says so, in the library (the Uplink constructor) and in the gateway
 * program, which then runs without an uplink and says why. Loopback stays allowed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { CREDENTIALS_FILE } from '../../../gateway/enrollment/credentials.js';
import { isLoopbackHost, requireSecureMqttUrl } from '../../../gateway/enrollment/transport-policy.js';
import { openGatewayStore } from '../../../gateway/store/event-store.js';
import { Uplink, type UplinkOptions } from '../../../gateway/uplink/uplink.js';
import { testDownlinkKey } from '../../helpers/downlink-signing.js';
import { spawnTsx } from '../../helpers/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-insecure-mqtt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const silent = pino({ level: 'silent' });

const refusal = (url: string, allow = false): string => {
  try {
    requireSecureMqttUrl(url, allow);
    return 'allowed';
  } catch (error) {
    return (error as { code: string }).code;
  }
};

describe('plain mqtt:// only to loopback unless allowed', () => {
  it('tells loopback hosts from the rest (127.0.0.0/8, ::1, localhost)', () => {
    for (const host of [
      '127.0.0.1',
      '127.8.9.10',
      'localhost',
      'LOCALHOST.',
      'gw.localhost',
      '[::1]',
      '::1',
      '[::ffff:127.0.0.1]',
    ])
      assert.equal(isLoopbackHost(host), true, host);
    for (const host of [
      '10.0.0.1',
      '128.0.0.1',
      '[::2]',
      'broker.city.example',
      'localhost.example',
      '0.0.0.0',
      '[::ffff:10.0.0.1]',
    ])
      assert.equal(isLoopbackHost(host), false, host);
    assert.equal(refusal('mqtt://192.0.2.1:1883'), 'UPLINK_INSECURE');
    assert.equal(refusal('mqtt://broker.city.example'), 'UPLINK_INSECURE');
    assert.equal(refusal('mqtt://192.0.2.1:1883', true), 'allowed');
    assert.equal(refusal('mqtts://broker.city.example:8883'), 'allowed');
    assert.equal(refusal('mqtt://127.0.0.1:1883'), 'allowed');
    assert.equal(refusal('mqtt://localhost:1883'), 'allowed');
    assert.equal(refusal('mqtt://[::1]:1883'), 'allowed');
    assert.equal(refusal('mqtt://[::ffff:127.0.0.1]:1883'), 'allowed');
    assert.equal(refusal('mqtt://[::ffff:10.0.0.1]:1883'), 'UPLINK_INSECURE');
    // mqtt.js speaks plain text on tcp:// and ws:// too; only the TLS schemes pass beyond loopback.
    assert.equal(refusal('tcp://broker.city.example:1883'), 'UPLINK_INSECURE');
    assert.equal(refusal('ws://broker.city.example/mqtt'), 'UPLINK_INSECURE');
    assert.equal(refusal('wss://broker.city.example/mqtt'), 'allowed');
  });

  it('the Uplink refuses to be built for mqtt:// beyond loopback, naming the setting', () => {
    const store = openGatewayStore(join(tmp, 'lib'), { logger: silent });
    try {
      const options = (url: string, allowInsecureMqtt?: boolean): UplinkOptions => ({
        gatewayId: 'cab-1',
        url,
        username: 'cab-1',
        password: 'p'.repeat(43),
        version: 'test',
        ...(allowInsecureMqtt === undefined ? {} : { allowInsecureMqtt }),
      });
      assert.throws(
        () => new Uplink(store, options('mqtt://192.0.2.1:1883'), silent),
        (error: unknown) =>
          (error as { code?: string }).code === 'UPLINK_INSECURE' &&
          /allowInsecureMqtt/.test((error as Error).message),
      );
      assert.ok(new Uplink(store, options('mqtt://192.0.2.1:1883', true), silent));
      assert.ok(new Uplink(store, options('mqtt://127.0.0.1:1883'), silent));
      assert.ok(new Uplink(store, options('mqtts://broker.city.example:8883'), silent));
    } finally {
      store.close();
    }
  });

  it('the gateway program runs without the uplink and says why, unless uplink.allowInsecureMqtt', async () => {
    const start = async (name: string, allowInsecureMqtt: boolean): Promise<string> => {
      const dataDir = join(tmp, `${name}-data`);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const credentials = {
        gatewayId: 'gw-insecure',
        web: { host: '127.0.0.1', port: 0 },
        mqtt: {
          url: 'mqtt://192.0.2.1:1883',
          username: 'gw-insecure',
          password: 'p'.repeat(43),
          clientId: 'gw-gw-insecure',
        },
        downlinkKeys: [testDownlinkKey().publicKey],
      };
      writeFileSync(join(dataDir, CREDENTIALS_FILE), JSON.stringify(credentials), { mode: 0o600 });
      const configPath = join(tmp, `${name}.json`);
      writeFileSync(
        configPath,
        JSON.stringify({
          gatewayId: 'gw-insecure',
          web: { host: '127.0.0.1', port: 0 },
          site: { name: 'insecure bench' },
          dataDir,
          metrics: { enabled: false },
          buses: [{ id: 'lan', kind: 'tcp', host: '127.0.0.1', port: 1 }],
          devices: [{ id: 'gas', bus: 'lan', unitId: 1, profile: 'anqi-gd300', pollIntervalMs: 1000 }],
          uplink: { enabled: true, allowInsecureMqtt },
        }),
      );
      const gw = spawnTsx(name, 'gateway/main.ts', ['--config', configPath]);
      try {
        await gw.waitForOutput(/gateway gw-insecure running/);
        await gw.signal('SIGTERM');
        return gw.output;
      } finally {
        if (gw.alive) gw.proc.kill('SIGKILL');
      }
    };
    const refused = await start('refused', false);
    assert.match(refused, /uplink disabled: no usable credential/, refused);
    assert.match(refused, /mqtt:\/\/192\.0\.2\.1:1883 has no TLS.*allowInsecureMqtt/, refused);
    const allowed = await start('allowed', true);
    assert.doesNotMatch(allowed, /uplink disabled/, allowed);
    assert.doesNotMatch(allowed, /has no TLS/, allowed);
  });
});
