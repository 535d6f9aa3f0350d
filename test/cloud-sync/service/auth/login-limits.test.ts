/**
 * Sign-in limits (issue 12, finding 6), attacked as the issue did: guesses at one account from
 * several source addresses (real sockets bound to 127.0.0.2, 127.0.0.3 ...), two service instances
 * on one database, and a proxy's X-Forwarded-For. The per-address limit alone let four addresses
 * make 40 guesses a minute at one account; the counters lived in each process; behind a proxy every
 * client shared one bucket.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { buildApi } from '../../../../cloud-sync/service/api/build.js';
import { CloudConfigError, resolveDocument } from '../../../../cloud-sync/service/config.js';
import { LOGIN_LOCKOUT } from '../../../../cloud-sync/service/auth/login-limits.js';
import { openCloudDatabase } from '../../../../cloud-sync/service/db/open.js';
import { newKeyFile, signerOf } from '../../../../cloud-sync/service/downlink/signing-key.js';
import { ENROLL_RATE_LIMIT } from '../../../../cloud-sync/service/enrollment/routes.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { slowKdfRuns } from '../../../../runtime/scrypt.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import { buildHttpApp, listenHttp } from '../../../../cloud-sync/service/http.js';
import { buildTestApi, testApiDeps } from '../api/harness.js';
import { openTempDb, signIn, TEST_PASSWORD, type TempDb } from './harness.js';

interface Answer {
  status: number;
  body: { error?: string; message?: string; token?: string };
  retryAfter: string | undefined;
}

/** POST /api/v1/auth/login over a real socket whose source address is `from`. */
function loginFrom(port: number, from: string, username: string, password: string): Promise<Answer> {
  const payload = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: from,
        method: 'POST',
        path: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text) as Answer['body'],
            retryAfter: res.headers['retry-after'],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const START = new Date('2026-12-07T08:00:30.000Z');
const MINUTE = 60_000;

describe('per-account lockout', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  let port = 0;
  let clock = START;

  beforeEach(async () => {
    clock = START;
    temp = await openTempDb();
    await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher'] });
    app = await buildTestApi(temp.db, { now: () => clock });
    port = await listenHttp(app, '127.0.0.1', 0);
  });
  afterEach(async () => {
    await app.close();
    await temp.close();
  });

  it('locks one account after five failures from five addresses, a right password included; the lock doubles; a success resets it', async () => {
    // One guess from each address: the per-address limit (10 a minute) never comes into play.
    for (let i = 0; i < LOGIN_LOCKOUT.freeFailures; i++) {
      const guess = await loginFrom(port, `127.0.0.${i + 2}`, 'disp.wang', `guess number ${i}`);
      assert.equal(guess.status, 401, JSON.stringify(guess.body));
    }
    const wrong = await loginFrom(port, '127.0.0.20', 'disp.wang', 'yet another guess');
    const right = await loginFrom(port, '127.0.0.21', 'disp.wang', TEST_PASSWORD);
    for (const locked of [wrong, right]) {
      assert.equal(locked.status, 429, JSON.stringify(locked.body));
      assert.equal(locked.body.error, 'AUTH_RATE_LIMITED');
      assert.equal(locked.retryAfter, '60', 'the first lock is one minute');
    }
    assert.deepEqual(right.body, wrong.body, 'a right password during the lock is answered the same');
    assert.equal(right.body.token, undefined);
    // Others are not locked out by it.
    await signIn(temp.db, { username: 'mon.li', roles: ['monitoring'] });
    assert.equal((await loginFrom(port, '127.0.0.22', 'mon.li', TEST_PASSWORD)).status, 200);

    // The lock is over; one more failure locks for two minutes.
    clock = new Date(START.getTime() + MINUTE + 1000);
    assert.equal((await loginFrom(port, '127.0.0.30', 'disp.wang', 'one more')).status, 401);
    const doubled = await loginFrom(port, '127.0.0.31', 'disp.wang', TEST_PASSWORD);
    assert.equal(doubled.status, 429);
    assert.equal(doubled.retryAfter, '120');
    clock = new Date(clock.getTime() + 2 * MINUTE);
    const signedIn = await loginFrom(port, '127.0.0.32', 'disp.wang', TEST_PASSWORD);
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    // The success cleared the count: a typo now is an ordinary 401, not a lock.
    assert.equal((await loginFrom(port, '127.0.0.33', 'disp.wang', 'typo')).status, 401);
    assert.equal((await loginFrom(port, '127.0.0.34', 'disp.wang', TEST_PASSWORD)).status, 200);
  });

  it('checks at most five passwords of a burst of 30 concurrent guesses from three addresses', async () => {
    // Issue 12: the lock was read before the password check and the failure written after it, so
    // parallel guesses all passed the check before the first failure landed (9 of 30 checked).
    const kdfBefore = slowKdfRuns();
    const burst: Promise<Answer>[] = [];
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < 10; i++)
        burst.push(loginFrom(port, `127.0.0.${a + 2}`, 'disp.wang', `guess ${a}-${i}`));
    }
    const statuses = (await Promise.all(burst)).map((answer) => answer.status);
    const count = (status: number): number => statuses.filter((s) => s === status).length;
    assert.equal(
      slowKdfRuns() - kdfBefore,
      LOGIN_LOCKOUT.freeFailures,
      'one password check per admitted guess',
    );
    assert.equal(count(401), LOGIN_LOCKOUT.freeFailures, JSON.stringify(statuses));
    assert.equal(count(429), 30 - LOGIN_LOCKOUT.freeFailures, JSON.stringify(statuses));
  });
});

describe('limits shared by two instances on one database', () => {
  let temp: TempDb;
  let second: Kysely<CloudSchema>;
  const apps: FastifyInstance[] = [];

  beforeEach(async () => {
    temp = await openTempDb();
    // The same SQLite file through a second connection, as a second process would open it.
    second = await openCloudDatabase({ sqlitePath: join(temp.dir, 'cloud.sqlite') });
    await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher'] });
    // Both serve enrollment too, whose limit is counted in the same table.
    const enrollment = {
      mqttUrl: 'mqtts://mqtt.test.invalid:8883',
      caBundle: null,
      downlinkKeys: signerOf(newKeyFile()).publicKeys(),
      credentialKey: CredentialKey.generate(),
    };
    apps.push(await buildTestApi(temp.db, { enrollment }), await buildTestApi(second, { enrollment }));
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await second.destroy();
    await temp.close();
  });

  /** The app of instance `n` (alternating 0 and 1). */
  function instance(n: number): FastifyInstance {
    const app = apps[n % 2];
    assert.ok(app !== undefined);
    return app;
  }

  function login(n: number, username: string, password: string) {
    return instance(n).inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password },
    });
  }

  it('counts the attempts of one address on both: the eleventh in a minute is refused on either', async () => {
    // The limit counts requests before their body is read: ten without a password (400, no
    // password hash to wait for), alternating between the instances.
    for (let i = 0; i < 10; i++) {
      const response = await instance(i).inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: `nobody.${i}` },
      });
      assert.equal(response.statusCode, 400, response.body);
    }
    for (const instance of [0, 1]) {
      const refused = await login(instance, 'disp.wang', TEST_PASSWORD);
      assert.equal(refused.statusCode, 429, `instance ${instance}: ${refused.body}`);
      assert.equal(refused.json<{ error: string }>().error, 'AUTH_RATE_LIMITED');
    }
  });

  it('counts enrollment attempts of one address on both: the eleventh is refused on either', async () => {
    for (let i = 0; i < ENROLL_RATE_LIMIT.max; i++) {
      const guess = await instance(i).inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { token: `guess-${i}` },
      });
      assert.equal(guess.statusCode, 401, guess.body);
    }
    for (const n of [0, 1]) {
      const refused = await instance(n).inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { token: 'x' },
      });
      assert.equal(refused.statusCode, 429, refused.body);
      assert.equal(refused.json<{ error: string }>().error, 'ENROLL_RATE_LIMITED');
    }
  });

  it("shares an account's lockout: failures on one instance lock it on the other", async () => {
    for (let i = 0; i < LOGIN_LOCKOUT.freeFailures; i++) {
      assert.equal(
        (
          await instance(0).inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { username: 'disp.wang', password: `guess ${i}` },
          })
        ).statusCode,
        401,
      );
    }
    const right = await login(1, 'disp.wang', TEST_PASSWORD);
    assert.equal(right.statusCode, 429, right.body);
  });
});

describe('trustProxy', () => {
  let temp: TempDb;
  let app: FastifyInstance | undefined;
  after(async () => {
    await app?.close();
    await temp.close();
  });

  async function buildWith(trustProxy: false | number | string[]): Promise<FastifyInstance> {
    const built = buildHttpApp({
      registry: new Registry(),
      health: async () => ({ database: { ok: true }, mqtt: { ok: true } }),
      trustProxy,
    });
    await buildApi(built, testApiDeps(temp.db));
    return built;
  }

  /**
   * Eleven sign-ins from one socket peer, each claiming another client address; `through` is what
   * the proxy appends after it (the real client it saw), if anything.
   */
  async function elevenClaims(target: FastifyInstance, prefix: string, through?: string): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const claimed = `${prefix}.${i + 1}`;
      const response = await target.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'x-forwarded-for': through === undefined ? claimed : `${claimed}, ${through}` },
        // No password: counted, then refused by the schema (400) without a password hash to wait for.
        payload: { username: `nobody.${prefix}.${i}` },
      });
      statuses.push(response.statusCode);
    }
    return statuses;
  }

  it('keys the limits on X-Forwarded-For only when set; off by default, a claimed address changes nothing', async () => {
    temp = await openTempDb();
    const plain = await buildWith(false);
    // Off: every request is the socket peer's, whatever it claims: the eleventh is refused.
    assert.deepEqual(await elevenClaims(plain, '198.51.100'), [...Array<number>(10).fill(400), 429]);
    await plain.close();
    app = await buildWith(1);
    // One hop: each client address the proxy reports has its own count.
    assert.deepEqual(await elevenClaims(app, '203.0.113'), Array<number>(11).fill(400));
    const rows = await temp.db.selectFrom('rate_limit_counters').select('key').execute();
    assert.ok(
      rows.some((row) => row.key === 'login:203.0.113.11'),
      JSON.stringify(rows),
    );
  });

  it('with one proxy hop, a spoofed left-most X-Forwarded-For entry does not change the client address', async () => {
    // The client sends "X-Forwarded-For: <anything>"; the proxy appends the address it saw. Only
    // that right-most entry is believed (fastify's `true` took the left-most: a fresh count each).
    const hop = await buildWith(1);
    try {
      assert.deepEqual(await elevenClaims(hop, '192.0.2', '198.18.0.7'), [
        ...Array<number>(10).fill(400),
        429,
      ]);
      const rows = await temp.db.selectFrom('rate_limit_counters').select('key').execute();
      assert.ok(
        rows.some((row) => row.key === 'login:198.18.0.7'),
        JSON.stringify(rows),
      );
      assert.ok(!rows.some((row) => row.key.startsWith('login:192.0.2.')), JSON.stringify(rows));
    } finally {
      await hop.close();
    }
  });

  it('refuses http.trustProxy true in the configuration, with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kerbside-trustproxy-'));
    try {
      const config = (trustProxy: unknown): unknown =>
        resolveDocument({ http: { trustProxy } }, { env: {}, cwd: dir, fileDir: dir, file: null });
      assert.throws(
        () => config(true),
        (error: unknown) =>
          error instanceof CloudConfigError &&
          error.issues.some(
            (i) => i.pointer === '/http/trustProxy' && /left-most X-Forwarded-For/.test(i.message),
          ),
      );
      assert.equal((config(1) as { http: { trustProxy: unknown } }).http.trustProxy, 1);
      assert.deepEqual((config(['10.0.0.0/8']) as { http: { trustProxy: unknown } }).http.trustProxy, [
        '10.0.0.0/8',
      ]);
      assert.equal((config(false) as { http: { trustProxy: unknown } }).http.trustProxy, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
