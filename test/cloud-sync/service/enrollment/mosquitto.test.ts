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
  MOSQUITTO_LIMITS,
  mosquittoServiceUsername,
  writeMosquittoFiles,
} from '../../../../cloud-sync/service/enrollment/mosquitto-files.js';
import { redeemEnrollmentToken } from '../../../../cloud-sync/service/enrollment/redeem.js';
import { runCloudAdmin } from '../../../../cloud-sync/service/cli.js';
import { issueEnrollmentToken } from '../../../../cloud-sync/service/enrollment/tokens.js';
import { freePort } from '../../../helpers/net.js';
import { MissingPeerError, requireCommand } from '../../../helpers/peers.js';
import { run, spawnProcess, type Child } from '../../../helpers/process.js';
import { waitFor as waitUntil } from '../../../helpers/wait.js';
import { MemoryLogger, openTempDb, TEST_CREDENTIAL_KEY, type TempDb } from './harness.js';

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
      credentialKey: TEST_CREDENTIAL_KEY,
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

  /** One QoS 1 mosquitto_pub of `message` to `topic` as a gateway (gatewayArgs), MQTT v5. */
  function publishAs(
    gatewayId: string,
    topic: string,
    message: string,
    secret = secretOf(gatewayId),
    clientId = `gw-${gatewayId}`,
  ): ReturnType<typeof run> {
    return run('mosquitto_pub', [
      ...gatewayArgs(gatewayId, secret, clientId),
      '-q',
      '1',
      '-t',
      topic,
      '-m',
      message,
    ]);
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

  /** Runs cloud-admin on the test's database file; it must succeed. */
  async function admin(args: string[]): Promise<void> {
    let err = '';
    const code = await runCloudAdmin(['--db', join(temp.dir, 'cloud.sqlite'), ...args], {
      out: () => undefined,
      err: (text) => (err += text),
      env: {},
    });
    assert.equal(code, 0, err);
  }

  /**
   * `cloud-admin mosquitto-files ... --reload-pid-file`: the files regenerated from the database,
   * then SIGHUP to the pid in the broker's pid file; resolves once mosquitto logged the reload.
   */
  async function regenerateAndReload(): Promise<void> {
    const pidFile = join(temp.dir, 'mosquitto.pid');
    writeFileSync(pidFile, `${broker?.proc.pid ?? ''}\n`);
    const before = brokerLog().length;
    await admin([
      ...['mosquitto-files', '--out', join(temp.dir, 'mosquitto')],
      ...['--gateway-port', String(gatewayPort), '--gateway-bind', '127.0.0.1'],
      ...['--service-port', String(servicePort), '--service-bind', '127.0.0.1'],
      ...['--persistence-dir', join(temp.dir, 'mosquitto-data')],
      ...(process.getuid?.() === 0 ? ['--run-as', userInfo().username] : []),
      ...['--reload-pid-file', pidFile],
    ]);
    await waitFor(() => /Reloading config/i.test(brokerLog().slice(before)), 'the reload');
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
    serviceSecret = (
      await createServiceAccount(temp.db, { name: 'ingest', by: 'test', credentialKey: TEST_CREDENTIAL_KEY })
    ).secret;
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

  it("writes per-listener password files in mosquitto's format that mosquitto loads without removing an entry", () => {
    const dir = join(temp.dir, 'mosquitto');
    const usersOf = (name: string): string[] => {
      const entries = readFileSync(join(dir, name), 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'));
      for (const line of entries)
        assert.ok(isMosquittoHash(line.slice(line.indexOf(':') + 1)), line.split(':')[0]);
      assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600);
      return entries.map((line) => line.slice(0, line.indexOf(':')));
    };
    assert.deepEqual(usersOf('gateways.passwd'), ['gw-a', 'gw-b'], 'disabled gw-off is left out');
    assert.deepEqual(usersOf('services.passwd'), ['service.ingest']);
    // mosquitto logs "removing entry" for every hash it cannot decode (wrong salt or hash length).
    assert.doesNotMatch(brokerLog(), /removing entry|Invalid password hash/i);
    const conf = readFileSync(join(dir, 'mosquitto.conf'), 'utf8');
    assert.match(conf, /^per_listener_settings true$/m);
    assert.equal(conf.match(/^allow_anonymous false$/gm)?.length, 2, 'on both listeners');
    assert.match(conf, /^use_username_as_clientid true$/m);
    assert.match(conf, /^max_packet_size \d+$/m);
    assert.match(conf, /^message_size_limit \d+$/m);
    assert.match(conf, /^max_queued_messages \d+$/m);
    assert.equal(conf.match(/^max_connections \d+$/gm)?.length, 2, 'on both listeners');
  });

  it('refuses a service account on the gateway listener and a gateway on the service listener', async () => {
    // The service account's real secret, on the listener gateways reach: not in that listener's file.
    const serviceOnGateway = await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(gatewayPort), '-V', 'mqttv5'],
      ...['-i', 'svc-ingest-x', '-u', mosquittoServiceUsername('ingest'), '-P', serviceSecret],
      ...['-q', '1', '-t', commandTopic('gw-a'), '-m', 'forged'],
    ]);
    assert.notEqual(serviceOnGateway.code, 0);
    assert.match(serviceOnGateway.stderr, /not authorized/i);
    // A gateway's real secret on the service listener, taking a consumer's client id.
    const gatewayOnService = await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(servicePort), '-V', 'mqttv5'],
      ...['-i', 'svc-ingest-a', '-u', 'gw-a', '-P', secretOf('gw-a')],
      ...['-q', '1', '-t', eventsTopic('gw-a'), '-m', 'x'],
    ]);
    assert.notEqual(gatewayOnService.code, 0);
    assert.match(gatewayOnService.stderr, /not authorized/i);
    // Each still works where it belongs.
    await service('belongs');
    const gatewayOk = await publishAs('gw-a', eventsTopic('gw-a'), 'x');
    assert.equal(gatewayOk.code, 0, gatewayOk.stderr);
  });

  it('disconnects a gateway that sends a packet over max_packet_size, and delivers nothing of it', async () => {
    const consumer = await service('oversize');
    const received: string[] = [];
    consumer.on('message', (topic) => received.push(topic));
    await consumer.subscribeAsync(eventsTopic('gw-a'), { qos: 1 });
    const gw = await connectAsync(`mqtt://127.0.0.1:${gatewayPort}`, {
      clientId: 'gw-gw-a',
      username: 'gw-a',
      password: secretOf('gw-a'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(gw);
    const closed = new Promise<string>((resolve) => gw.once('close', () => resolve('closed')));
    const outcome = await Promise.race([
      closed,
      gw
        .publishAsync(eventsTopic('gw-a'), Buffer.alloc(MOSQUITTO_LIMITS.maxPacketSize + 1, 0x61), { qos: 1 })
        .then(
          () => 'acknowledged',
          () => 'closed',
        ),
    ]);
    assert.equal(outcome, 'closed', 'mosquitto cut the connection instead of acknowledging');
    // A small publish after it goes through, so the big one would have arrived before it.
    const after = await publishAs('gw-a', eventsTopic('gw-a'), 'small');
    assert.equal(after.code, 0, after.stderr);
    await waitFor(() => received.length === 1, 'the small message');
    assert.equal(received.length, 1, 'the oversized message was never delivered');
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
    const ok = await publishAs('gw-a', eventsTopic('gw-a'), 'hello');
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await publishAs('gw-a', eventsTopic('gw-a'), 'x', secretOf('gw-b'));
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /not authorized/i);
    const disabled = await publishAs('gw-off', eventsTopic('gw-off'), 'x');
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

    const forged = await publishAs('gw-a', eventsTopic('gw-b'), 'forged-by-a');
    // mosquitto answers the QoS 1 PUBLISH with PUBACK reason 0x87 "Not authorized".
    assert.match(forged.stderr, /not authorized/i, forged.stderr);
    const own = await publishAs('gw-a', eventsTopic('gw-a'), 'own-of-a');
    assert.equal(own.code, 0, own.stderr);
    assert.doesNotMatch(own.stderr, /not authorized/i);

    // own-of-a is the sentinel: mosquitto had refused forged-by-a (PUBACK 0x87) before own-of-a
    // was sent, so had it routed it, the service would have had it first.
    await waitFor(() => received.length >= 1, "A's own publish reaching the service");
    assert.deepEqual(received, [{ topic: eventsTopic('gw-a'), payload: 'own-of-a' }]);
    assert.match(brokerLog(), /Denied PUBLISH from gw-a .*kerbside\/v1\/gw-b\/up\/events/);
  });

  it('a gateway publishing outside up/events and up/status is refused and nothing is delivered', async () => {
    const svc = await service('other');
    const received: { topic: string; payload: string }[] = [];
    svc.on('message', (topic, payload) => received.push({ topic, payload: payload.toString('utf8') }));
    const granted = await svc.subscribeAsync('kerbside/v1/+/up/#', { qos: 1 });
    assert.equal(granted[0]?.qos, 1);

    const other = await publishAs('gw-a', 'kerbside/v1/gw-a/up/other', 'outside-the-contract');
    // The gateway ACL grants up/events and up/status only: PUBACK reason 0x87 "Not authorized".
    assert.match(other.stderr, /not authorized/i, other.stderr);
    const own = await publishAs('gw-a', eventsTopic('gw-a'), 'own-of-a');
    assert.equal(own.code, 0, own.stderr);

    // own-of-a is the sentinel: sent after mosquitto had refused up/other.
    await waitFor(() => received.length >= 1, "A's own publish reaching the service");
    assert.deepEqual(received, [{ topic: eventsTopic('gw-a'), payload: 'own-of-a' }]);
    assert.match(brokerLog(), /Denied PUBLISH from gw-a .*kerbside\/v1\/gw-a\/up\/other/);
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
    const hijack = await publishAs('gw-a', eventsTopic('gw-a'), 'x', secretOf('gw-a'), 'gw-gw-b');
    assert.equal(hijack.code, 0, hijack.stderr);
    // A round trip on B's connection after the hijack: had mosquitto handed B's session to A, it
    // would have closed B's connection before this PUBACK.
    await Promise.race([
      gwB.publishAsync(eventsTopic('gw-b'), 'still-connected', { qos: 1 }),
      new Promise<void>((resolve) => gwB.once('close', () => resolve())),
    ]);
    assert.equal(bClosed, false, 'use_username_as_clientid keeps sessions apart');
  });

  it('a gateway disabled later is cut off and refused after the files are regenerated and mosquitto reloaded', async () => {
    // A live session of the gateway about to be disabled.
    const live = await connectAsync(`mqtt://127.0.0.1:${gatewayPort}`, {
      clientId: 'gw-gw-b',
      username: 'gw-b',
      password: secretOf('gw-b'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(live);
    let liveClosed = false;
    live.on('close', () => (liveClosed = true));
    // The operator's path (docs/enrollment.md): disable, then regenerate the files and reload
    // mosquitto with cloud-admin.
    await admin(['gateway', 'disable', 'gw-b', '--by', 'test']);
    await regenerateAndReload();
    // The sentinel: a connection mosquitto accepts after it logged the reload. Its one thread
    // reads the files right after that line, so once gw-a's publish is through, the reloaded
    // files decide every later connection.
    const stillOk = await publishAs('gw-a', eventsTopic('gw-a'), 'x');
    assert.equal(stillOk.code, 0, stillOk.stderr);
    const refused = await publishAs('gw-b', eventsTopic('gw-b'), 'x');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not authorized/i);
    // mosquitto 2.0 re-checks connected clients against the reloaded password file
    // (security_default.c, mosquitto_security_apply_default) and disconnects those it no longer knows.
    await waitFor(() => liveClosed, "the disabled gateway's live session to be cut");
  });

  it("a re-enrolled gateway's old session is cut and its old secret refused after the reload", async () => {
    const oldSecret = secretOf('gw-a');
    const live = await connectAsync(`mqtt://127.0.0.1:${gatewayPort}`, {
      clientId: 'gw-gw-a',
      username: 'gw-a',
      password: oldSecret,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(live);
    let liveClosed = false;
    live.on('close', () => (liveClosed = true));
    await enrollGateway('gw-a'); // rotation: a new secret replaces the old one
    await regenerateAndReload();
    await waitFor(() => liveClosed, "the rotated gateway's old session to be cut");
    const old = await publishAs('gw-a', eventsTopic('gw-a'), 'x', oldSecret);
    assert.notEqual(old.code, 0);
    assert.match(old.stderr, /not authorized/i);
    const fresh = await publishAs('gw-a', eventsTopic('gw-a'), 'x');
    assert.equal(fresh.code, 0, fresh.stderr);
  });
});
