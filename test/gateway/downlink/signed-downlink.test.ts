/**
 * Signed downlink against a real gateway (issue 12, finding 8; docs/downlink-signing.md): the real
 * cloud service (SQLite, embedded aedes broker) publishes on `down/cmd` and `down/config` the way
 * anyone holding a service-account secret or the broker could, and a real in-process gateway polls
 * a simulated kerbtek-lc3200 lamp concentrator over Modbus TCP.
 *
 * Unsigned and forged messages (another key, another key under the cloud's key id, the cloud's
 * signature for another gateway or another command id) are answered `rejected` with their stable
 * code, do not switch the concentrator and are not recorded (the genuine command with the same id
 * still runs); a gateway enrolled before signed downlink refuses everything; rotation goes as
 * docs/downlink-signing.md says: announce, pin, switch, retire. The cloud's key file is 0600 and
 * its private key appears in no log line of either side.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CommandResultEvent } from '../../../cloud-sync/contract/events.js';
import { keyIdOf, signDownlink, type DownlinkSignature } from '../../../cloud-sync/contract/signing.js';
import type { CloudService } from '../../../cloud-sync/service/service.js';
import { activateKey, prepareNextKey, retireKey } from '../../../cloud-sync/service/downlink/signing-key.js';
import { CREDENTIALS_FILE } from '../../../gateway/enrollment/credentials.js';
import type { UplinkOptions } from '../../../gateway/uplink/uplink.js';
import { tcpEndpoint, tempDataDir } from '../../helpers/gateway-harness.js';
import { testDownlinkKey } from '../../helpers/downlink-signing.js';
import {
  cloudEvent,
  configMessage,
  enrollWithToken,
  GW,
  sendCommand,
  sendConfig,
  startCloud,
  startDownlinkGateway,
  waitUntil,
  type DownlinkHarness,
} from '../../helpers/system-harness.js';

const LC = 'lighting';
const KEY_FILE = 'downlink-signing-key.json';

function loopSwitch(loop: string, on: boolean, id = randomUUID()) {
  const issued = Date.now();
  return {
    id,
    issuedAt: new Date(issued).toISOString(),
    expiresAt: new Date(issued + 60_000).toISOString(),
    target: `${LC}:${loop}`,
    action: 'loop.switch',
    params: { on, durationS: 600, by: 'ops', reason: 'signed downlink test' },
  };
}

/** Every line of a pino logger at debug and above. */
function capturingLogger(lines: string[]) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return pino({ level: 'debug' }, stream);
}

describe('signed downlink: a real gateway refuses what the cloud did not sign for it', () => {
  const cloudDir = tempDataDir('signed-downlink-cloud');
  const cloudLog: string[] = [];
  let cloud: CloudService;
  let h: DownlinkHarness;
  /** The gateway's credential from a real enrollment: it pins the cloud's key from the answer. */
  let enrolled: UplinkOptions;
  const attacker = testDownlinkKey();
  /** The enrolled credential pinning `keys` instead (a gateway that saw other announcements). */
  const pinning = (keys: readonly string[]): UplinkOptions => ({ ...enrolled, downlinkKeys: [...keys] });

  const result = (id: string, what: string): Promise<CommandResultEvent> =>
    cloudEvent(cloud, 'command_result', (e) => e.commandId === id, what);

  before(async () => {
    cloud = await startCloud(cloudDir, { enrollment: 'token', logger: capturingLogger(cloudLog) });
    enrolled = await enrollWithToken(cloud);
    assert.deepEqual(enrolled.downlinkKeys, cloud.downlinkSigner.publicKeys(), 'enrollment pins the key');
    h = await startDownlinkGateway({
      name: 'signed-downlink',
      buses: [tcpEndpoint('lan')],
      devices: [
        {
          id: LC,
          bus: 'lan',
          unitId: 1,
          profile: 'kerbtek-lc3200',
          gateway: { pollIntervalMs: 200, timeoutMs: 300 },
        },
      ],
      config: {
        site: { name: 'signed cabinet', latitude: 31.2304, longitude: 121.4737 },
        lighting: { rules: [{ id: 'all-day-on', from: '00:00', to: '00:00', action: 'on' }] },
      },
      // The credential as enrollment writes it, so that announced keys have a file to go to.
      beforeStart: (dataDir) => {
        const credentials = {
          gatewayId: GW,
          mqtt: { url: enrolled.url, username: GW, password: enrolled.password, clientId: `gw-${GW}` },
          downlinkKeys: enrolled.downlinkKeys,
        };
        writeFileSync(join(dataDir, CREDENTIALS_FILE), JSON.stringify(credentials), { mode: 0o600 });
      },
      gatewayOptions: { uplink: enrolled },
    });
    const lc = h.simulation.device(LC);
    await waitUntil(
      'the schedule switched both loops on',
      () => lc.get('loop_1_command') === true && lc.get('loop_2_command') === true,
    );
    await waitUntil('the uplink connected', () => h.gateway.metricsSnapshot().uplink?.connected === true);
  });

  after(async () => {
    await h?.stop();
    await cloud?.close();
  });

  it('creates the signing key at first start with mode 0600 and never logs it', () => {
    const file = join(cloudDir, KEY_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { keys: Array<{ privateKey: string }> };
    const pem = stored.keys[0]?.privateKey ?? '';
    const body = pem
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----'))
      .join('');
    assert.ok(body.length > 40, 'a PKCS#8 PEM is stored');
    assert.ok(
      cloudLog.some((l) => l.includes('downlink signing key created')),
      'the creation is logged',
    );
    for (const line of [...cloudLog, ...h.logs]) {
      assert.ok(!line.includes(body), `the private key appears in a log line: ${line.slice(0, 200)}`);
      assert.ok(!line.includes('PRIVATE KEY'), `a PEM appears in a log line: ${line.slice(0, 200)}`);
    }
  });

  it('refuses unsigned and forged commands with their code, switches nothing and records nothing', async () => {
    const lc = h.simulation.device(LC);
    const cloudKeyId = keyIdOf(cloud.downlinkSigner.publicKeys()[0] ?? '');

    const unsigned = loopSwitch('loop_2', false);
    await sendCommand(cloud, unsigned, GW, false);
    const otherKey = loopSwitch('loop_2', false);
    await sendCommand(cloud, otherKey, GW, (m, gw) => signDownlink(attacker.privateKey, 'down/cmd', gw, m));
    const underCloudId = loopSwitch('loop_2', false);
    await sendCommand(cloud, underCloudId, GW, (m, gw) => {
      const forged = signDownlink(attacker.privateKey, 'down/cmd', gw, m);
      return { ...forged, sig: { ...forged.sig, keyId: cloudKeyId } };
    });
    // The cloud's genuine signature, made for another gateway.
    const otherGateway = loopSwitch('loop_2', false);
    await sendCommand(cloud, otherGateway, GW, (m) =>
      cloud.downlinkSigner.sign('down/cmd', 'gw-elsewhere', m),
    );
    // The cloud's genuine signature of one command, on another command id.
    const genuine = cloud.downlinkSigner.sign('down/cmd', GW, loopSwitch('loop_2', true));
    const moved = loopSwitch('loop_2', false);
    await sendCommand(cloud, moved, GW, (m) => ({ ...m, sig: genuine.sig }));

    const expected: Array<[{ id: string }, string]> = [
      [unsigned, 'DOWNLINK_UNSIGNED'],
      [otherKey, 'DOWNLINK_KEY_UNKNOWN'],
      [underCloudId, 'DOWNLINK_BAD_SIGNATURE'],
      [otherGateway, 'DOWNLINK_BAD_SIGNATURE'],
      [moved, 'DOWNLINK_BAD_SIGNATURE'],
    ];
    for (const [command, code] of expected) {
      const refused = await result(command.id, `the refusal of ${code}`);
      assert.deepEqual([refused.status, refused.code], ['rejected', code], JSON.stringify(refused));
      assert.match(refused.error ?? '', new RegExp(`^${code}: .*not acted on`));
    }
    // Every refusal is committed after its decision: had any run, the coil would be off by now.
    assert.equal(lc.get('loop_2_command'), true, 'the concentrator was not switched');
    assert.deepEqual(
      h.db.all('SELECT id FROM commands WHERE action = ?', 'loop.switch'),
      [],
      'no refused command is recorded, so none can take a genuine id',
    );
    assert.equal(h.gateway.downlinkStats().commands?.results['(unverified) rejected'], 5);

    // The genuine command with the id an unsigned copy used first still runs.
    await sendCommand(cloud, unsigned);
    const ran = await cloudEvent(
      cloud,
      'command_result',
      (e) => e.commandId === unsigned.id && e.status !== 'rejected',
      'the genuine command result',
    );
    assert.equal(ran.status, 'succeeded', JSON.stringify(ran));
    assert.equal(ran.code, undefined);
    assert.equal(lc.get('loop_2_command'), false, 'the signed command switched loop 2 off');
  });

  it('a command issued through the command service is signed and runs', async () => {
    const issued = await cloud.commands.issue({
      gatewayId: GW,
      action: 'loop.switch',
      target: `${LC}:loop_1`,
      params: { on: false, durationS: 600, reason: 'service path' },
      issuedBy: 'ops',
    });
    const done = await result(issued.id, 'the issued command result');
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(h.simulation.device(LC).get('loop_1_command'), false);
    await waitUntil(
      'the cloud settled it',
      async () => (await cloud.commands.get(issued.id))?.status === 'succeeded',
    );
  });

  it('refuses an unsigned configuration document without recording its version; the signed one applies', async () => {
    const document = { devices: { [LC]: { pollIntervalMs: 250 } } };
    const v1 = configMessage(1, document);
    await sendConfig(cloud, v1, GW, false);
    const refused = await cloudEvent(
      cloud,
      'config_result',
      (e) => e.version === 1,
      'the unsigned v1 result',
    );
    assert.deepEqual(
      [refused.status, refused.code, refused.activeVersion],
      ['rejected', 'DOWNLINK_UNSIGNED', null],
    );
    assert.equal(refused.errors[0]?.pointer, '/sig');
    assert.equal(h.gateway.configVersion(), null);
    assert.deepEqual(h.db.all('SELECT version FROM config_versions'), []);

    await sendConfig(cloud, v1);
    const applied = await cloudEvent(
      cloud,
      'config_result',
      (e) => e.version === 1 && e.status === 'applied',
      'the signed v1 result',
    );
    assert.equal(applied.code, undefined);
    assert.equal(h.gateway.configVersion(), 1);
  });

  it('a gateway enrolled before signed downlink (no pinned key) refuses every command, saying to re-enroll', async () => {
    await h.restart({ uplink: pinning([]) });
    await waitUntil('the uplink connected', () => h.gateway.metricsSnapshot().uplink?.connected === true);
    const command = loopSwitch('loop_1', true);
    await sendCommand(cloud, command);
    const refused = await result(command.id, 'the refusal without a pinned key');
    assert.deepEqual([refused.status, refused.code], ['rejected', 'DOWNLINK_KEY_NOT_PINNED']);
    assert.match(refused.error ?? '', /enroll it again/);
    assert.equal(h.simulation.device(LC).get('loop_1_command'), false, 'loop 1 stays as it was');
    await h.restart({ uplink: enrolled });
    await waitUntil('the uplink connected', () => h.gateway.metricsSnapshot().uplink?.connected === true);
  });

  it('rotates the key: announce, pin (also in the credentials file), switch, retire', async () => {
    const keyFile = join(cloudDir, KEY_FILE);
    const [oldKey] = cloud.downlinkSigner.publicKeys();
    assert.ok(oldKey !== undefined);
    const restartCloud = async (): Promise<void> => {
      const port = cloud.mqttPort ?? 0;
      await cloud.close();
      cloud = await startCloud(cloudDir, {
        enrollment: 'token',
        mqttPort: port,
        logger: capturingLogger(cloudLog),
      });
      await waitUntil('the uplink reconnected', () => h.gateway.metricsSnapshot().uplink?.connected === true);
    };
    const runs = async (on: boolean): Promise<DownlinkSignature> => {
      const command = loopSwitch('loop_1', on);
      const signed = cloud.downlinkSigner.sign('down/cmd', GW, command);
      await sendCommand(cloud, signed, GW, false);
      const done = await result(command.id, `the loop_1 ${on ? 'on' : 'off'} result`);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      return signed.sig;
    };

    // 1. prepare: the cloud still signs with the old key and announces the new one.
    const nextId = await prepareNextKey(keyFile);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    await restartCloud();
    const [active, announced] = cloud.downlinkSigner.publicKeys();
    assert.equal(active, oldKey);
    assert.ok(announced !== undefined && keyIdOf(announced) === nextId);
    const first = await runs(true);
    assert.deepEqual([first.keyId, first.announce], [keyIdOf(oldKey), [announced]]);
    const pinnedOnDisk = (): string[] =>
      (JSON.parse(readFileSync(join(h.dataDir, CREDENTIALS_FILE), 'utf8')) as { downlinkKeys: string[] })
        .downlinkKeys;
    await waitUntil('the announced key is in the credentials file', () => pinnedOnDisk().includes(announced));
    assert.equal(statSync(join(h.dataDir, CREDENTIALS_FILE)).mode & 0o777, 0o600);

    // 2. activate: the cloud signs with the new key; the gateway pinned it from the announcement.
    await activateKey(keyFile, nextId);
    await restartCloud();
    assert.deepEqual(cloud.downlinkSigner.publicKeys(), [announced, oldKey]);
    const second = await runs(false);
    assert.equal(second.keyId, nextId);

    // A gateway that never heard the announcement refuses the new key: it must enroll again.
    await h.restart({ uplink: pinning([oldKey]) });
    await waitUntil('the uplink connected', () => h.gateway.metricsSnapshot().uplink?.connected === true);
    const stale = loopSwitch('loop_1', true);
    await sendCommand(cloud, stale);
    const refused = await result(stale.id, 'the refusal by a gateway that missed the announcement');
    assert.deepEqual([refused.status, refused.code], ['rejected', 'DOWNLINK_KEY_UNKNOWN']);
    await h.restart({ uplink: pinning([oldKey, announced]) });
    await waitUntil('the uplink connected', () => h.gateway.metricsSnapshot().uplink?.connected === true);

    // 3. retire: the old private key leaves the file; enrollment pins the new key only.
    await retireKey(keyFile, keyIdOf(oldKey));
    await restartCloud();
    assert.deepEqual(cloud.downlinkSigner.publicKeys(), [announced]);
    assert.ok(!readFileSync(keyFile, 'utf8').includes(keyIdOf(oldKey)));
    const third = await runs(true);
    assert.deepEqual([third.keyId, third.announce], [nextId, undefined]);
  });
});
