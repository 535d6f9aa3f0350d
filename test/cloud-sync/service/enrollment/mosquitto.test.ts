/**
 * The generated mosquitto files against a REAL mosquitto 2.0 (/usr/sbin/mosquitto, Debian
 * `mosquitto`), started on free loopback ports in a temp dir and killed afterwards. Gateways are
 * played by mosquitto_pub / mosquitto_sub over MQTT v5, so refusals show as reason codes; the
 * cloud's service account is an mqtt.js client on the service listener.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { commandTopic, eventsTopic } from '../../../../cloud-sync/contract/topics.js';
import {
  createServiceAccount,
  setGatewayDisabled,
} from '../../../../cloud-sync/service/enrollment/accounts.js';
import {
  isMosquittoHash,
  mosquittoHash,
  verifyMosquittoHash,
} from '../../../../cloud-sync/service/enrollment/mosquitto-hash.js';
import {
  mosquittoServiceUsername,
  writeMosquittoFiles,
} from '../../../../cloud-sync/service/enrollment/mosquitto-files.js';
import { redeemEnrollmentToken } from '../../../../cloud-sync/service/enrollment/redeem.js';
import { issueEnrollmentToken } from '../../../../cloud-sync/service/enrollment/tokens.js';
import { freePort } from '../../../helpers/net.js';
import { MissingPeerError, requireCommand } from '../../../helpers/peers.js';
import { run, spawnProcess, type Child } from '../../../helpers/process.js';
import { waitFor as waitUntil } from '../../../helpers/wait.js';
import { MemoryLogger, openTempDb, type TempDb } from './harness.js';

const MOSQUITTO = '/usr/sbin/mosquitto';

describe('generated files on a real mosquitto 2.0', () => {
  let temp: TempDb;
  let broker: Child | undefined;
  /** What mosquitto logged so far (-v: every connection, subscription and refusal). */
  const brokerLog = (): string => broker?.output ?? '';
  let gatewayPort: number;
  let servicePort: number;
  const secrets = new Map<string, string>();
  let serviceSecret: string;
  const clients: MqttClient[] = [];

  async function enrollGateway(gatewayId: string): Promise<void> {
    const { token } = await issueEnrollmentToken(temp.db, { gatewayId, createdBy: 'test' });
    const result = await redeemEnrollmentToken(temp.db, {
      token,
      remoteAddress: '127.0.0.1',
      logger: new MemoryLogger(),
    });
    assert.ok(result.ok);
    secrets.set(gatewayId, result.secret);
  }

  function secretOf(gatewayId: string): string {
    const secret = secrets.get(gatewayId);
    assert.ok(secret !== undefined);
    return secret;
  }

  async function writeFiles(): Promise<void> {
    await writeMosquittoFiles(temp.db, join(temp.dir, 'mosquitto'), {
      gatewayListener: { port: gatewayPort, bindAddress: '127.0.0.1' },
      serviceListener: { port: servicePort, bindAddress: '127.0.0.1' },
      persistenceDir: join(temp.dir, 'mosquitto-data'),
      // Started as root, mosquitto would drop to the `mosquitto` user, who cannot read our 0600 files.
      ...(process.getuid?.() === 0 ? { runAsUser: userInfo().username } : {}),
    });
  }

  /** mosquitto_pub / mosquitto_sub arguments of a gateway on the gateway listener, MQTT v5. */
  function gatewayArgs(
    gatewayId: string,
    secret = secretOf(gatewayId),
    clientId = `gw-${gatewayId}`,
  ): string[] {
    return [
      '-h',
      '127.0.0.1',
      '-p',
      String(gatewayPort),
      '-V',
      'mqttv5',
      '-i',
      clientId,
      '-u',
      gatewayId,
      '-P',
      secret,
    ];
  }

  async function service(instance: string): Promise<MqttClient> {
    const client = await connectAsync(`mqtt://127.0.0.1:${servicePort}`, {
      clientId: `svc-ingest-${instance}`,
      username: mosquittoServiceUsername('ingest'),
      password: serviceSecret,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });
    clients.push(client);
    return client;
  }

  async function waitFor(predicate: () => boolean, what: string, ms = 4000): Promise<void> {
    await waitUntil(what, predicate, {
      timeoutMs: ms,
      message: () => `${what} did not happen within ${ms} ms; broker log:\n${brokerLog()}`,
    });
  }

  before(async () => {
    if (!existsSync(MOSQUITTO)) {
      throw new MissingPeerError(
        `test peer missing: ${MOSQUITTO} not found; install it with: apt-get install mosquitto`,
      );
    }
    requireCommand('mosquitto_pub', 'mosquitto-clients');
    requireCommand('mosquitto_sub', 'mosquitto-clients');
    requireCommand('mosquitto_passwd', 'mosquitto');
    temp = await openTempDb('kerbside-mosquitto-');
    for (const id of ['gw-a', 'gw-b', 'gw-off']) await enrollGateway(id);
    await setGatewayDisabled(temp.db, { gatewayId: 'gw-off', disabled: true, by: 'test' });
    serviceSecret = (await createServiceAccount(temp.db, { name: 'ingest', by: 'test' })).secret;
    gatewayPort = await freePort();
    servicePort = await freePort();
    await writeFiles();

    broker = spawnProcess('mosquitto', MOSQUITTO, [
      '-c',
      join(temp.dir, 'mosquitto', 'mosquitto.conf'),
      '-v',
    ]);
    await broker.waitForOutput(/mosquitto version [0-9.]+ running/, { timeoutMs: 5000 });
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    if (broker?.alive === true) {
      const running = broker;
      const timer = setTimeout(() => running.proc.kill('SIGKILL'), 3000);
      await running.signal('SIGTERM');
      clearTimeout(timer);
    }
    await temp?.close();
  });

  it("writes a password file in mosquitto's format that mosquitto loads without removing an entry", () => {
    const dir = join(temp.dir, 'mosquitto');
    const passwd = readFileSync(join(dir, 'passwd'), 'utf8');
    const entries = passwd.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    assert.deepEqual(
      entries.map((line) => line.slice(0, line.indexOf(':'))),
      ['gw-a', 'gw-b', 'service.ingest'],
      'disabled gw-off is left out',
    );
    for (const line of entries)
      assert.ok(isMosquittoHash(line.slice(line.indexOf(':') + 1)), line.split(':')[0]);
    assert.equal(statSync(join(dir, 'passwd')).mode & 0o777, 0o600);
    // mosquitto logs "removing entry" for every hash it cannot decode (wrong salt or hash length).
    assert.doesNotMatch(brokerLog(), /removing entry|Invalid password hash/i);
    const conf = readFileSync(join(dir, 'mosquitto.conf'), 'utf8');
    assert.match(conf, /^allow_anonymous false$/m);
    assert.match(conf, /^use_username_as_clientid true$/m);
  });

  it('computes the same PBKDF2-SHA512 as mosquitto_passwd (each verifies the other)', async () => {
    const file = join(temp.dir, 'passwd-check');
    writeFileSync(file, '');
    const made = await run('mosquitto_passwd', ['-b', file, 'someone', 'their-secret-123']);
    assert.equal(made.code, 0, made.stderr);
    const theirs = readFileSync(file, 'utf8').trim().split(':')[1] ?? '';
    assert.match(theirs, /^\$7\$101\$/);
    assert.equal(await verifyMosquittoHash('their-secret-123', theirs), true, 'we verify mosquitto_passwd');
    assert.equal(await verifyMosquittoHash('their-secret-124', theirs), false);
    assert.ok(isMosquittoHash(await mosquittoHash('x'.repeat(43))));
  });

  it("accepts gateway A's enrolled credential and refuses a wrong or disabled one", async () => {
    const ok = await run('mosquitto_pub', [
      ...gatewayArgs('gw-a'),
      '-q',
      '1',
      '-t',
      eventsTopic('gw-a'),
      '-m',
      'hello',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await run('mosquitto_pub', [
      ...gatewayArgs('gw-a', secretOf('gw-b')),
      ...['-q', '1', '-t', eventsTopic('gw-a'), '-m', 'x'],
    ]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /not authorized/i);
    const disabled = await run('mosquitto_pub', [
      ...gatewayArgs('gw-off'),
      '-q',
      '1',
      '-t',
      eventsTopic('gw-off'),
      '-m',
      'x',
    ]);
    assert.notEqual(disabled.code, 0);
    assert.match(disabled.stderr, /not authorized/i);
  });

  it("gateway A cannot publish under B's up/: refused (v5 reason code) and never delivered", async () => {
    const svc = await service('pub');
    const received: { topic: string; payload: string }[] = [];
    svc.on('message', (topic, payload) => received.push({ topic, payload: payload.toString('utf8') }));
    // A shared subscription, as several cloud instances use: the ACL must serve it too.
    const granted = await svc.subscribeAsync('$share/ingest/kerbside/v1/+/up/#', { qos: 1 });
    assert.equal(granted[0]?.qos, 1);

    const forged = await run('mosquitto_pub', [
      ...gatewayArgs('gw-a'),
      '-q',
      '1',
      '-t',
      eventsTopic('gw-b'),
      '-m',
      'forged-by-a',
    ]);
    // mosquitto answers the QoS 1 PUBLISH with PUBACK reason 0x87 "Not authorized".
    assert.match(forged.stderr, /not authorized/i, forged.stderr);
    const own = await run('mosquitto_pub', [
      ...gatewayArgs('gw-a'),
      '-q',
      '1',
      '-t',
      eventsTopic('gw-a'),
      '-m',
      'own-of-a',
    ]);
    assert.equal(own.code, 0, own.stderr);
    assert.doesNotMatch(own.stderr, /not authorized/i);

    // own-of-a is the sentinel: mosquitto had refused forged-by-a (PUBACK 0x87) before own-of-a
    // was sent, so had it routed it, the service would have had it first.
    await waitFor(() => received.length >= 1, "A's own publish reaching the service");
    assert.deepEqual(received, [{ topic: eventsTopic('gw-a'), payload: 'own-of-a' }]);
    assert.match(brokerLog(), /Denied PUBLISH from gw-a .*kerbside\/v1\/gw-b\/up\/events/);
  });

  it("gateway A subscribed to B's down/ receives none of B's commands, but its own", async () => {
    const svc = await service('cmd');
    const logStart = brokerLog().length;
    const sub = spawnProcess('mosquitto_sub', 'mosquitto_sub', [
      ...gatewayArgs('gw-a'),
      ...[
        '-q',
        '1',
        '-t',
        'kerbside/v1/gw-b/down/#',
        '-t',
        'kerbside/v1/+/down/#',
        '-t',
        'kerbside/v1/gw-a/down/#',
      ],
      ...['-C', '1', '-W', '6', '-v'],
    ]);
    try {
      // mosquitto_sub's own output is block-buffered on a pipe; the broker's log says when it is subscribed.
      await waitFor(
        () => brokerLog().slice(logStart).includes('Sending SUBACK to gw-a'),
        'the SUBACK to mosquitto_sub',
      );
      // B's command first: if A could read it, it would be the one message mosquitto_sub prints.
      await svc.publishAsync(commandTopic('gw-b'), 'secret-cmd-for-b', { qos: 1 });
      await svc.publishAsync(commandTopic('gw-a'), 'cmd-for-a', { qos: 1 });
      const { code } = await sub.exited;
      assert.equal(code, 0, sub.output);
    } finally {
      await sub.kill9();
    }
    assert.doesNotMatch(sub.output, /secret-cmd-for-b/);
    assert.match(sub.output, /^kerbside\/v1\/gw-a\/down\/cmd cmd-for-a$/m);
  });

  it("gateway A connecting with B's client id does not take over B's session", async () => {
    const gwB = await connectAsync(`mqtt://127.0.0.1:${gatewayPort}`, {
      clientId: 'gw-gw-b',
      username: 'gw-b',
      password: secretOf('gw-b'),
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    clients.push(gwB);
    let bClosed = false;
    gwB.on('close', () => (bClosed = true));
    const hijack = await run('mosquitto_pub', [
      ...gatewayArgs('gw-a', secretOf('gw-a'), 'gw-gw-b'),
      ...['-q', '1', '-t', eventsTopic('gw-a'), '-m', 'x'],
    ]);
    assert.equal(hijack.code, 0, hijack.stderr);
    // A round trip on B's connection after the hijack: had mosquitto handed B's session to A, it
    // would have closed B's connection before this PUBACK.
    await Promise.race([
      gwB.publishAsync(eventsTopic('gw-b'), 'still-connected', { qos: 1 }),
      new Promise<void>((resolve) => gwB.once('close', () => resolve())),
    ]);
    assert.equal(bClosed, false, 'use_username_as_clientid keeps sessions apart');
  });

  it('a gateway disabled later is refused after the files are regenerated and mosquitto reloaded', async () => {
    await setGatewayDisabled(temp.db, { gatewayId: 'gw-b', disabled: true, by: 'test' });
    await writeFiles();
    const before = brokerLog().length;
    broker?.proc.kill('SIGHUP');
    await waitFor(() => /Reloading config/i.test(brokerLog().slice(before)), 'the reload');
    // The sentinel: a connection mosquitto accepts after it logged the reload. Its one thread
    // reads the files right after that line, so once gw-a's publish is through, the reloaded
    // files decide every later connection.
    const stillOk = await run('mosquitto_pub', [
      ...gatewayArgs('gw-a'),
      '-q',
      '1',
      '-t',
      eventsTopic('gw-a'),
      '-m',
      'x',
    ]);
    assert.equal(stillOk.code, 0, stillOk.stderr);
    const refused = await run('mosquitto_pub', [
      ...gatewayArgs('gw-b'),
      '-q',
      '1',
      '-t',
      eventsTopic('gw-b'),
      '-m',
      'x',
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not authorized/i);
  });
});
