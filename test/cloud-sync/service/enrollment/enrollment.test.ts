/**
 * Enrollment on the cloud side over a real loopback HTTP socket: one-time tokens, the generic
 * refusal, malformed bodies, rotation, disabling, the audit trail, and the database-backed
 * credential store behind the embedded broker (mqtt.js and mosquitto_pub as clients).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { commandTopic, eventsTopic } from '../../../../cloud-sync/contract/topics.js';
import { verifySecret } from '../../../../cloud-sync/service/broker/credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../../cloud-sync/service/broker/embedded.js';
import {
  createServiceAccount,
  setGatewayDisabled,
} from '../../../../cloud-sync/service/enrollment/accounts.js';
import { listAudit } from '../../../../cloud-sync/service/enrollment/audit.js';
import { EnrollmentError } from '../../../../cloud-sync/service/enrollment/errors.js';
import { ENROLL_RATE_LIMIT } from '../../../../cloud-sync/service/enrollment/routes.js';
import { verifyMosquittoHash } from '../../../../cloud-sync/service/enrollment/mosquitto-hash.js';
import {
  DbGatewayCredentialStore,
  DbServiceAccountStore,
} from '../../../../cloud-sync/service/enrollment/store.js';
import {
  hashEnrollmentToken,
  issueEnrollmentToken,
} from '../../../../cloud-sync/service/enrollment/tokens.js';
import { requireCommand } from '../../../helpers/peers.js';
import { run } from '../../../helpers/process.js';
import { waitFor as waitUntil } from '../../../helpers/wait.js';
import {
  MemoryLogger,
  openTempDb,
  postEnroll,
  startEnrollmentServer,
  type EnrollmentServer,
  type TempDb,
  TEST_CREDENTIAL_KEY,
} from './harness.js';

const T0 = new Date('2026-11-21T07:00:00.000Z');
const MQTT_URL = 'mqtts://mqtt.city.test:8883';

interface EnrollAnswer {
  gatewayId: string;
  mqtt: { url: string; username: string; password: string; clientId: string };
  caBundle: string | null;
}

const GENERIC_REFUSAL = {
  error: 'ENROLL_REFUSED',
  message: 'enrollment refused: the token is not valid',
};

/** Every row of every enrollment table, to show that a refusal changed nothing. */
async function snapshot(db: TempDb['db']): Promise<unknown> {
  return {
    gateways: await db.selectFrom('gateways').selectAll().orderBy('gateway_id').execute(),
    tokens: await db.selectFrom('enrollment_tokens').selectAll().orderBy('token_hash').execute(),
    services: await db.selectFrom('service_accounts').selectAll().orderBy('name').execute(),
    audit: await db.selectFrom('admin_audit').selectAll().orderBy('id').execute(),
  };
}

describe('enrollment over HTTP', () => {
  let temp: TempDb;
  let server: EnrollmentServer;
  let clock = T0;
  const logger = new MemoryLogger();
  /** Every secret and token handed out, to prove none of them reaches a log or the audit trail. */
  const secrets: string[] = [];

  async function issue(gatewayId: string, ttlMs?: number): Promise<string> {
    const issued = await issueEnrollmentToken(temp.db, {
      gatewayId,
      createdBy: 'li.operator',
      now: clock,
      ...(ttlMs === undefined ? {} : { ttlMs }),
    });
    secrets.push(issued.token);
    return issued.token;
  }

  async function redeem(token: string): Promise<{ status: number; json: unknown; headers: Headers }> {
    const result = await postEnroll(server.url, JSON.stringify({ token }));
    if (result.status === 200) secrets.push((result.json as EnrollAnswer).mqtt.password);
    return result;
  }

  before(async () => {
    temp = await openTempDb();
    server = await startEnrollmentServer({
      db: temp.db,
      logger,
      mqttUrl: MQTT_URL,
      caBundle: null,
      now: () => clock,
    });
  });

  after(async () => {
    await server?.close();
    await temp?.close();
  });

  beforeEach(() => {
    clock = T0;
  });

  it('enrolls once with a token: id, credential and client id; only hashes are stored', async () => {
    const token = await issue('cab-12');
    const stored = await temp.db.selectFrom('enrollment_tokens').selectAll().execute();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.token_hash, hashEnrollmentToken(token));
    assert.ok(!JSON.stringify(stored).includes(token), 'the plaintext token is not stored');

    const { status, json, headers } = await redeem(token);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(headers.get('cache-control'), 'no-store');
    const answer = json as EnrollAnswer;
    assert.equal(answer.gatewayId, 'cab-12');
    assert.deepEqual(
      { ...answer.mqtt, password: undefined },
      { url: MQTT_URL, username: 'cab-12', password: undefined, clientId: 'gw-cab-12' },
    );
    assert.equal(answer.caBundle, null);
    assert.match(answer.mqtt.password, /^[A-Za-z0-9_-]{43}$/);

    const gateway = await temp.db
      .selectFrom('gateways')
      .selectAll()
      .where('gateway_id', '=', 'cab-12')
      .executeTakeFirstOrThrow();
    assert.equal(gateway.disabled, 0);
    assert.equal(gateway.enrolled_at, T0.toISOString());
    assert.ok(!JSON.stringify(gateway).includes(answer.mqtt.password), 'the secret is not stored');
    assert.equal(
      await verifySecret(answer.mqtt.password, gateway.credential_hash, TEST_CREDENTIAL_KEY),
      true,
    );
    assert.equal(await verifyMosquittoHash(answer.mqtt.password, gateway.mosquitto_hash), true);
    assert.equal(await verifyMosquittoHash('not-the-secret-at-all', gateway.mosquitto_hash), false);

    const used = await temp.db.selectFrom('enrollment_tokens').selectAll().executeTakeFirstOrThrow();
    assert.equal(used.used_at, T0.toISOString());
    assert.equal(used.used_from, '127.0.0.1');
  });

  it('refuses a second use of the same token with 401 and leaves the credential alone', async () => {
    const token = await issue('cab-13');
    const first = await redeem(token);
    assert.equal(first.status, 200);
    const before = await snapshot(temp.db);
    const second = await redeem(token);
    assert.equal(second.status, 401);
    assert.deepEqual(second.json, GENERIC_REFUSAL);
    const afterRows = (await snapshot(temp.db)) as { audit: unknown[] };
    assert.deepEqual(
      { ...afterRows, audit: [] },
      { ...(before as object), audit: [] },
      'no credential changed',
    );
    const refusal = logger.lines.find(
      (l) => l.message === 'enrollment refused' && l.fields.reason === 'token_used',
    );
    assert.ok(refusal, 'the specific reason is logged');
    assert.equal(refusal.fields.gatewayId, 'cab-13');
    const audit = await listAudit(temp.db, 'cab-13');
    assert.deepEqual(
      audit.map((a) => [a.action, a.detail?.reason ?? null]),
      [
        ['token.create', null],
        ['enroll', null],
        ['enroll.refused', 'token_used'],
      ],
    );
    assert.equal(audit[0]?.actor, 'li.operator');
    assert.equal(audit[1]?.actor, 'enrollment:127.0.0.1');
  });

  it('refuses an expired token with the same 401, and the token stays unused', async () => {
    const token = await issue('cab-14', 60_000);
    clock = new Date(T0.getTime() + 60_000);
    const { status, json } = await redeem(token);
    assert.equal(status, 401);
    assert.deepEqual(json, GENERIC_REFUSAL);
    const row = await temp.db
      .selectFrom('enrollment_tokens')
      .selectAll()
      .where('token_hash', '=', hashEnrollmentToken(token))
      .executeTakeFirstOrThrow();
    assert.equal(row.used_at, null);
    assert.equal(
      await temp.db
        .selectFrom('gateways')
        .select('gateway_id')
        .where('gateway_id', '=', 'cab-14')
        .executeTakeFirst(),
      undefined,
    );
    assert.ok(
      logger.lines.some((l) => l.fields.reason === 'token_expired' && l.fields.gatewayId === 'cab-14'),
    );

    // One millisecond before expiry the same kind of token still works.
    clock = T0;
    const fresh = await issue('cab-14', 60_000);
    clock = new Date(T0.getTime() + 59_999);
    assert.equal((await redeem(fresh)).status, 200);
  });

  it('refuses an unknown token with 401 and changes nothing at all', async () => {
    const before = await snapshot(temp.db);
    const { status, json } = await redeem('x'.repeat(43));
    assert.equal(status, 401);
    assert.deepEqual(json, GENERIC_REFUSAL);
    assert.deepEqual(await snapshot(temp.db), before);
    assert.ok(logger.lines.some((l) => l.fields.reason === 'unknown_token'));
  });

  it('answers 400 with a clear message to malformed bodies', async () => {
    const cases: { body: string; type?: string; message: RegExp }[] = [
      { body: '{}', message: /token/ },
      { body: '{"token": 12}', message: /token.*string/ },
      { body: '{"token": ""}', message: /token.*(fewer|at least|short|empty)/i },
      { body: JSON.stringify({ token: 'a'.repeat(257) }), message: /token.*(more|longer|at most)/i },
      { body: '{"token": "abc"', message: /JSON/i },
      { body: '[]', message: /object/ },
    ];
    const before = await snapshot(temp.db);
    for (const { body, type, message } of cases) {
      const { status, json } = await postEnroll(server.url, body, type);
      assert.equal(status, 400, `${body}: ${JSON.stringify(json)}`);
      assert.match((json as { message: string }).message, message, body);
    }
    assert.deepEqual(await snapshot(temp.db), before);
  });

  it('re-enrollment with a new token rotates the secret: the old one stops matching', async () => {
    const first = (await redeem(await issue('cab-15'))).json as EnrollAnswer;
    clock = new Date(T0.getTime() + 3600_000);
    const second = (await redeem(await issue('cab-15'))).json as EnrollAnswer;
    assert.notEqual(first.mqtt.password, second.mqtt.password);
    const row = await temp.db
      .selectFrom('gateways')
      .selectAll()
      .where('gateway_id', '=', 'cab-15')
      .executeTakeFirstOrThrow();
    assert.equal(await verifySecret(first.mqtt.password, row.credential_hash, TEST_CREDENTIAL_KEY), false);
    assert.equal(await verifySecret(second.mqtt.password, row.credential_hash, TEST_CREDENTIAL_KEY), true);
    assert.equal(await verifyMosquittoHash(first.mqtt.password, row.mosquitto_hash), false);
    assert.equal(row.enrolled_at, T0.toISOString());
    assert.equal(row.rotated_at, clock.toISOString());
    const audit = await listAudit(temp.db, 'cab-15');
    assert.deepEqual(
      audit.map((a) => a.action),
      ['token.create', 'enroll', 'token.create', 'enroll.rotate'],
    );
  });

  it('disabling revokes pending tokens and refuses new ones until enabled again', async () => {
    await redeem(await issue('cab-16'));
    const pending = await issue('cab-16');
    await setGatewayDisabled(temp.db, { gatewayId: 'cab-16', disabled: true, by: 'li.operator', now: clock });
    assert.equal((await redeem(pending)).status, 401);
    await assert.rejects(
      issue('cab-16'),
      (error: unknown) => error instanceof EnrollmentError && error.code === 'ENROLL_CONFLICT',
    );
    await setGatewayDisabled(temp.db, {
      gatewayId: 'cab-16',
      disabled: false,
      by: 'li.operator',
      now: clock,
    });
    assert.equal((await redeem(await issue('cab-16'))).status, 200);
    const actions = (await listAudit(temp.db, 'cab-16')).map((a) => a.action);
    assert.deepEqual(actions, [
      'token.create',
      'enroll',
      'token.create',
      'gateway.disable',
      'enroll.refused',
      'gateway.enable',
      'token.create',
      'enroll.rotate',
    ]);
  });

  it('refuses invalid gateway ids and operator names when issuing', async () => {
    for (const [gatewayId, createdBy] of [
      ['Cab-1', 'li'],
      ['-cab', 'li'],
      ['kerbside/v1/#', 'li'],
      ['cab-1', ''],
      ['cab-1', 'li\nroot'],
    ] as const) {
      await assert.rejects(
        issueEnrollmentToken(temp.db, { gatewayId, createdBy }),
        (error: unknown) => error instanceof EnrollmentError && error.code === 'ENROLL_INVALID_ARGUMENT',
        `${gatewayId} by ${JSON.stringify(createdBy)}`,
      );
    }
  });

  it('never writes a token or secret into the log or the audit trail', async () => {
    assert.ok(secrets.length >= 10, 'the tests above handed out tokens and secrets');
    const logged = JSON.stringify(logger.lines);
    const audited = JSON.stringify(await listAudit(temp.db));
    for (const secret of secrets) {
      assert.ok(!logged.includes(secret), 'not in the log');
      assert.ok(!audited.includes(secret), 'not in the audit trail');
    }
  });
});

describe('embedded broker backed by the enrollment database', () => {
  let temp: TempDb;
  let server: EnrollmentServer;
  let broker: EmbeddedBroker;
  let brokerUrl: string;
  const clients: MqttClient[] = [];
  const credentials = new Map<string, EnrollAnswer>();
  let serviceSecret: string;

  async function connect(clientId: string, username: string, password: string): Promise<MqttClient> {
    const client = await connectAsync(brokerUrl, {
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

  async function connackCode(clientId: string, username: string, password: string): Promise<number> {
    try {
      await connect(clientId, username, password);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      assert.equal(typeof code, 'number', String(error));
      return code as number;
    }
    return 0;
  }

  before(async () => {
    requireCommand('mosquitto_pub', 'mosquitto-clients');
    temp = await openTempDb();
    const logger = new MemoryLogger();
    server = await startEnrollmentServer({ db: temp.db, logger, mqttUrl: 'mqtt://127.0.0.1:1883' });
    for (const id of ['gw-a', 'gw-b', 'gw-off']) {
      const issued = await issueEnrollmentToken(temp.db, { gatewayId: id, createdBy: 'test' });
      const { status, json } = await postEnroll(server.url, JSON.stringify({ token: issued.token }));
      assert.equal(status, 200);
      credentials.set(id, json as EnrollAnswer);
    }
    await setGatewayDisabled(temp.db, { gatewayId: 'gw-off', disabled: true, by: 'test' });
    serviceSecret = (
      await createServiceAccount(temp.db, { name: 'ingest', by: 'test', credentialKey: TEST_CREDENTIAL_KEY })
    ).secret;
    broker = await startEmbeddedBroker({
      port: 0,
      credentials: new DbGatewayCredentialStore(temp.db),
      serviceAccounts: new DbServiceAccountStore(temp.db),
      credentialKey: TEST_CREDENTIAL_KEY,
      logger,
      // No periodic sweep during the tests: a session cut must come from notifyCredentialsChanged().
      revocationCheckMs: 3_600_000,
    });
    brokerUrl = `mqtt://127.0.0.1:${broker.port}`;
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
    await broker?.close();
    await server?.close();
    await temp?.close();
  });

  function cred(id: string): EnrollAnswer {
    const answer = credentials.get(id);
    assert.ok(answer);
    return answer;
  }

  it('accepts an enrolled gateway with exactly what enrollment returned', async () => {
    const a = cred('gw-a');
    const client = await connect(a.mqtt.clientId, a.mqtt.username, a.mqtt.password);
    assert.equal(client.connected, true);
  });

  it('refuses a disabled gateway (5), a wrong secret (4) and a rotated-away secret (4)', async () => {
    const off = cred('gw-off');
    assert.equal(await connackCode(off.mqtt.clientId, off.mqtt.username, off.mqtt.password), 5);
    const b = cred('gw-b');
    assert.equal(await connackCode(b.mqtt.clientId, b.mqtt.username, cred('gw-a').mqtt.password), 4);

    const issued = await issueEnrollmentToken(temp.db, { gatewayId: 'gw-b', createdBy: 'test' });
    const rotated = (await postEnroll(server.url, JSON.stringify({ token: issued.token })))
      .json as EnrollAnswer;
    assert.equal(await connackCode(b.mqtt.clientId, b.mqtt.username, b.mqtt.password), 4, 'old secret');
    assert.equal(await connackCode(b.mqtt.clientId, b.mqtt.username, rotated.mqtt.password), 0, 'new secret');
    credentials.set('gw-b', rotated);
  });

  it(
    "rotating a service account cuts the old secret's live session at once",
    { timeout: 10_000 },
    async () => {
      const first = await createServiceAccount(temp.db, {
        name: 'rotator',
        by: 'test',
        credentialKey: TEST_CREDENTIAL_KEY,
      });
      const live = await connect('svc-rotator', 'service.rotator', first.secret);
      const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
      const rotated = await createServiceAccount(temp.db, {
        name: 'rotator',
        by: 'test',
        credentialKey: TEST_CREDENTIAL_KEY,
        rotate: true,
      });
      // The periodic sweep is an hour away: only the notification after the commit closes it.
      await closed;
      assert.equal(await connackCode('svc-rotator', 'service.rotator', first.secret), 4, 'old secret');
      assert.equal(await connackCode('svc-rotator', 'service.rotator', rotated.secret), 0, 'new secret');
    },
  );

  it("gateway A (mosquitto_pub) cannot publish under B's up/, nor read B's down/ (mqtt.js)", async () => {
    const svc = await connect('svc-ingest-1', 'service.ingest', serviceSecret);
    const received: { topic: string; payload: string }[] = [];
    svc.on('message', (topic, payload) => received.push({ topic, payload: payload.toString('utf8') }));
    await svc.subscribeAsync('kerbside/v1/+/up/#', { qos: 1 });

    const a = cred('gw-a');
    const base = ['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311'];
    const auth = ['-i', a.mqtt.clientId, '-u', a.mqtt.username, '-P', a.mqtt.password, '-q', '1'];
    await run('mosquitto_pub', [...base, ...auth, '-t', eventsTopic('gw-b'), '-m', 'forged-by-a']);
    const own = await run('mosquitto_pub', [...base, ...auth, '-t', eventsTopic('gw-a'), '-m', 'own-of-a']);
    assert.equal(own.code, 0, own.stderr);
    // own-of-a is the sentinel: the broker had refused forged-by-a before that mosquitto_pub
    // exited, so had it routed it, the subscriber would have had it first.
    await waitUntil('own-of-a at the service', () => received.length > 0, { timeoutMs: 3000 });
    assert.deepEqual(received, [{ topic: eventsTopic('gw-a'), payload: 'own-of-a' }]);

    const gwA = await connect(a.mqtt.clientId, a.mqtt.username, a.mqtt.password);
    const gotByA: string[] = [];
    gwA.on('message', (topic) => gotByA.push(topic));
    let granted: number[];
    try {
      granted = (
        await gwA.subscribeAsync(['kerbside/v1/gw-b/down/#', 'kerbside/v1/gw-a/down/#'], { qos: 1 })
      ).map((g) => g.qos);
    } catch (error) {
      granted = (error as { packet: { granted: number[] } }).packet.granted;
    }
    assert.deepEqual(granted, [0x80, 1]);
    await svc.publishAsync(commandTopic('gw-b'), 'for-b', { qos: 1 });
    await svc.publishAsync(commandTopic('gw-a'), 'for-a', { qos: 1 });
    // for-a is the sentinel: published (and acknowledged) after for-b on the same connection, it
    // reaches gw-a after for-b would have.
    await waitUntil('for-a at gw-a', () => gotByA.length > 0, { timeoutMs: 3000 });
    assert.deepEqual(gotByA, [commandTopic('gw-a')]);
  });
});

describe('enrollment rate limit (issue 12, finding 6)', () => {
  it('answers 429 ENROLL_RATE_LIMITED after ten attempts a minute from one address, without looking at the token', async () => {
    const temp = await openTempDb();
    const server = await startEnrollmentServer({
      db: temp.db,
      logger: new MemoryLogger(),
      rateLimit: ENROLL_RATE_LIMIT,
    });
    try {
      for (let i = 0; i < ENROLL_RATE_LIMIT.max; i++) {
        const refused = await postEnroll(server.url, JSON.stringify({ token: `guess-${i}` }));
        assert.equal(refused.status, 401, `attempt ${i + 1}: ${JSON.stringify(refused.json)}`);
      }
      const { token } = await issueEnrollmentToken(temp.db, {
        gatewayId: 'gw-limited',
        createdBy: 'li.operator',
      });
      const limited = await postEnroll(server.url, JSON.stringify({ token }));
      assert.equal(limited.status, 429);
      assert.equal((limited.json as { error: string }).error, 'ENROLL_RATE_LIMITED');
      const stored = await temp.db.selectFrom('enrollment_tokens').selectAll().executeTakeFirstOrThrow();
      assert.equal(stored.used_at, null, 'a limited attempt does not redeem even a good token');
    } finally {
      await server.close();
      await temp.close();
    }
  });
});
