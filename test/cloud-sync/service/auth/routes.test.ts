/**
 * Sign-in and accounts over HTTP (auth/routes.ts with auth/plugin.ts): login, logout, absolute and
 * idle expiry on a fake clock, one answer for every refused login, the login rate limit, disabled
 * operators, password changes, operator administration and the audit query.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createOperator, updateOperator } from '../../../../cloud-sync/service/auth/operators.js';
import { listAudit } from '../../../../cloud-sync/service/enrollment/audit.js';
import { buildTestApi } from '../api/harness.js';
import { MemoryLogger, openTempDb, signIn, TEST_PASSWORD, type TempDb } from './harness.js';

const START = new Date('2030-03-04T08:00:00.000Z');
const MINUTE = 60_000;

describe('auth routes', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  let clock: Date;

  async function login(username: string, password: string): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  }

  async function me(token: string): Promise<number> {
    return (
      await app.inject({
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { authorization: `Bearer ${token}` },
      })
    ).statusCode;
  }

  function advance(ms: number): void {
    clock = new Date(clock.getTime() + ms);
  }

  beforeEach(async () => {
    temp = await openTempDb();
    clock = START;
    const now = (): Date => clock;
    app = await buildTestApi(temp.db, { now, authLogger: new MemoryLogger() });
    await createOperator(
      temp.db,
      { username: 'disp.wang', displayName: 'Wang Fang', roles: ['dispatcher'], password: TEST_PASSWORD },
      clock,
    );
  });

  afterEach(async () => {
    await app.close();
    await temp.close();
  });

  it('signs in, answers /me, and signs out (the token then stops working)', async () => {
    const response = await login('disp.wang', TEST_PASSWORD);
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.match(body.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(body.expiresAt, new Date(START.getTime() + 12 * 60 * MINUTE).toISOString());
    assert.deepEqual(body.operator, {
      username: 'disp.wang',
      displayName: 'Wang Fang',
      roles: ['dispatcher'],
      unit: null,
    });
    assert.equal(response.headers['cache-control'], 'no-store');
    // Secure and __Host- bound (RFC 6265bis section 4.1.3.2): Path=/, no Domain.
    assert.match(
      String(response.headers['set-cookie']),
      /^__Host-kerbside_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/,
    );

    const meResponse = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${body.token}` },
    });
    assert.equal(meResponse.statusCode, 200);
    assert.equal(meResponse.json().operator.username, 'disp.wang');

    // Only the hash of the token is stored.
    const stored = await temp.db.selectFrom('sessions').select('token_hash').execute();
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0]?.token_hash, body.token);
    assert.match(stored[0]?.token_hash ?? '', /^[0-9a-f]{64}$/);

    const out = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { authorization: `Bearer ${body.token}` },
    });
    assert.equal(out.statusCode, 200);
    assert.deepEqual(out.json(), { loggedOut: true });
    assert.equal(await me(body.token), 401);
  });

  it('ends a session 30 minutes after its last use, and 12 hours after login however busy', async () => {
    const idle = (await login('disp.wang', TEST_PASSWORD)).json().token as string;
    advance(29 * MINUTE);
    assert.equal(await me(idle), 200, 'used within the idle timeout');
    advance(29 * MINUTE);
    assert.equal(await me(idle), 200, 'the previous use restarted the idle timer');
    advance(30 * MINUTE);
    assert.equal(await me(idle), 401, 'idle for 30 minutes');

    clock = START;
    const busy = (await login('disp.wang', TEST_PASSWORD)).json().token as string;
    for (let elapsed = 0; elapsed < 12 * 60 - 20; elapsed += 20) {
      advance(20 * MINUTE);
      assert.equal(await me(busy), 200, `in use after ${elapsed + 20} minutes`);
    }
    advance(20 * MINUTE); // 12 h 00 after login
    assert.equal(await me(busy), 401, 'absolute lifetime reached');
  });

  it('refuses unknown user, wrong password and disabled operator with the very same answer', async () => {
    await createOperator(
      temp.db,
      { username: 'disp.gone', roles: ['dispatcher'], password: TEST_PASSWORD },
      clock,
    );
    await updateOperator(temp.db, 'disp.gone', { disabled: true }, clock);
    const answers = [
      await login('disp.wang', 'not the password'),
      await login('nobody.here', TEST_PASSWORD),
      await login('disp.gone', TEST_PASSWORD),
      await login('Not A Username!', TEST_PASSWORD),
    ];
    for (const answer of answers) {
      assert.equal(answer.statusCode, 401);
      assert.deepEqual(answer.json(), answers[0]?.json());
      assert.equal(answer.json().error, 'AUTH_FAILED');
    }
    const failed = (await listAudit(temp.db)).filter((row) => row.action === 'POST /api/v1/auth/login');
    assert.deepEqual(
      failed.map((row) => [row.actor, row.outcome, row.detail]),
      [
        ['anonymous', 'denied', { username: 'disp.wang' }],
        ['anonymous', 'denied', { username: 'nobody.here' }],
        ['anonymous', 'denied', { username: 'disp.gone' }],
        ['anonymous', 'denied', { username: 'Not A Username!' }],
      ],
    );
  });

  it('limits login to 10 attempts per minute per address (429)', async () => {
    // Ten names, so that no one account reaches its own lockout (login-limits.test.ts).
    for (let i = 0; i < 10; i++)
      assert.equal((await login(`nobody.${i}`, 'wrong password!')).statusCode, 401);
    const limited = await login('disp.wang', TEST_PASSWORD);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error, 'AUTH_RATE_LIMITED');
    assert.ok(limited.headers['retry-after'] !== undefined);
    // Other routes are not limited.
    const admin = await signIn(temp.db, { username: 'admin.chen', roles: ['admin'] }, clock);
    for (let i = 0; i < 12; i++) {
      assert.equal(
        (await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: admin.headers })).statusCode,
        200,
      );
    }
  });

  it("ends a disabled operator's sessions at once and refuses its login; enabling lets it sign in again", async () => {
    const admin = await signIn(temp.db, { username: 'admin.chen', roles: ['admin'] }, clock);
    const token = (await login('disp.wang', TEST_PASSWORD)).json().token as string;
    assert.equal(await me(token), 200);
    const disabled = await app.inject({
      method: 'PATCH',
      url: '/api/v1/operators/disp.wang',
      headers: admin.headers,
      payload: { disabled: true },
    });
    assert.equal(disabled.statusCode, 200);
    assert.equal(disabled.json().operator.disabled, true);
    assert.equal(await me(token), 401);
    assert.equal((await login('disp.wang', TEST_PASSWORD)).statusCode, 401);
    await app.inject({
      method: 'PATCH',
      url: '/api/v1/operators/disp.wang',
      headers: admin.headers,
      payload: { disabled: false },
    });
    assert.equal(await me(token), 401, 'an old session stays ended');
    assert.equal((await login('disp.wang', TEST_PASSWORD)).statusCode, 200);
  });

  it('applies a role change at the next request', async () => {
    const admin = await signIn(temp.db, { username: 'admin.chen', roles: ['admin'] }, clock);
    const token = (await login('disp.wang', TEST_PASSWORD)).json().token as string;
    const asDisp = { authorization: `Bearer ${token}` };
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/operators', headers: asDisp })).statusCode,
      403,
    );
    await app.inject({
      method: 'PATCH',
      url: '/api/v1/operators/disp.wang',
      headers: admin.headers,
      payload: { roles: ['dispatcher', 'admin'] },
    });
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/operators', headers: asDisp })).statusCode,
      200,
    );
  });

  it('changes the own password: needs the current one, ends the old sessions, returns a new one', async () => {
    const first = (await login('disp.wang', TEST_PASSWORD)).json().token as string;
    const second = (await login('disp.wang', TEST_PASSWORD)).json().token as string;
    const headers = { authorization: `Bearer ${first}` };
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers,
      payload: { currentPassword: 'not the password', newPassword: 'another good password' },
    });
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json().error, 'AUTH_FAILED');
    const weak = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers,
      payload: { currentPassword: TEST_PASSWORD, newPassword: 'short' },
    });
    assert.equal(weak.statusCode, 400);
    assert.equal(weak.json().error, 'AUTH_INVALID_ARGUMENT');
    const changed = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers,
      payload: { currentPassword: TEST_PASSWORD, newPassword: 'another good password' },
    });
    assert.equal(changed.statusCode, 200);
    assert.equal(await me(first), 401);
    assert.equal(await me(second), 401);
    assert.equal(await me(changed.json().token), 200);
    assert.equal((await login('disp.wang', TEST_PASSWORD)).statusCode, 401);
    assert.equal((await login('disp.wang', 'another good password')).statusCode, 200);
  });

  it('lets an admin create, list, change and reset operators; others get 403', async () => {
    const admin = await signIn(temp.db, { username: 'admin.chen', roles: ['admin'] }, clock);
    const dispatcher = await signIn(temp.db, { username: 'disp.liu', roles: ['dispatcher'] }, clock);
    const create = (payload: object, headers = admin.headers): Promise<LightMyRequestResponse> =>
      app.inject({ method: 'POST', url: '/api/v1/operators', headers, payload });

    assert.equal(
      (await create({ username: 'unit.gas', roles: ['owner_unit'], unit: 'Gas Co.' }, dispatcher.headers))
        .statusCode,
      403,
    );
    const created = await create({
      username: 'unit.gas',
      roles: ['owner_unit'],
      unit: 'Gas Co.',
      displayName: 'Gas desk',
    });
    assert.equal(created.statusCode, 201);
    const password = created.json().password as string;
    assert.match(password, /^[A-Za-z0-9]{20}$/);
    assert.deepEqual(
      { ...created.json().operator, createdAt: undefined, updatedAt: undefined },
      {
        username: 'unit.gas',
        displayName: 'Gas desk',
        roles: ['owner_unit'],
        unit: 'Gas Co.',
        disabled: false,
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    assert.equal((await login('unit.gas', password)).statusCode, 200);

    const given = await create({ username: 'mon.sun', roles: ['monitoring'], password: 'a chosen password' });
    assert.equal(given.statusCode, 201);
    assert.equal(given.json().password, undefined, 'a given password is not echoed');

    const refusals: [object, number, string][] = [
      [{ username: 'unit.gas', roles: ['dispatcher'] }, 409, 'AUTH_CONFLICT'],
      [{ username: 'unit.water', roles: ['owner_unit'] }, 400, 'AUTH_INVALID_ARGUMENT'],
      [{ username: 'disp.zhou', roles: ['dispatcher'], unit: 'Gas Co.' }, 400, 'AUTH_INVALID_ARGUMENT'],
      [{ username: 'disp.zhou', roles: [] }, 400, 'REQUEST_INVALID'],
      [{ username: 'disp.zhou', roles: ['superuser'] }, 400, 'REQUEST_INVALID'],
      [{ username: 'Disp Zhou', roles: ['dispatcher'] }, 400, 'REQUEST_INVALID'],
      [{ username: 'disp.zhou', roles: ['dispatcher'], password: 'too short' }, 400, 'AUTH_INVALID_ARGUMENT'],
      [{ username: 'disp.zhou', roles: ['dispatcher'], password: 'disp.zhou' }, 400, 'AUTH_INVALID_ARGUMENT'],
      [
        { username: 'disp.zhou.long', roles: ['dispatcher'], password: 'DISP.ZHOU.LONG' },
        400,
        'AUTH_INVALID_ARGUMENT',
      ],
    ];
    for (const [payload, status, code] of refusals) {
      const answer = await create(payload);
      assert.equal(answer.statusCode, status, JSON.stringify(payload));
      assert.equal(answer.json().error, code, JSON.stringify(payload));
    }

    const listed = await app.inject({ method: 'GET', url: '/api/v1/operators', headers: admin.headers });
    assert.deepEqual(
      listed.json().operators.map((o: { username: string }) => o.username),
      ['admin.chen', 'disp.liu', 'disp.wang', 'mon.sun', 'unit.gas'],
    );
    assert.ok(!listed.body.includes('scrypt'), 'no password hash leaves the service');

    const moved = await app.inject({
      method: 'PATCH',
      url: '/api/v1/operators/unit.gas',
      headers: admin.headers,
      payload: { roles: ['inspector'] },
    });
    assert.equal(moved.statusCode, 200);
    assert.equal(moved.json().operator.unit, null, 'leaving owner_unit clears the unit');
    assert.equal(
      (
        await app.inject({
          method: 'PATCH',
          url: '/api/v1/operators/nobody.here',
          headers: admin.headers,
          payload: { disabled: true },
        })
      ).statusCode,
      404,
    );
    const selfLock = await app.inject({
      method: 'PATCH',
      url: '/api/v1/operators/admin.chen',
      headers: admin.headers,
      payload: { disabled: true },
    });
    assert.equal(selfLock.statusCode, 409);

    const reset = await app.inject({
      method: 'POST',
      url: '/api/v1/operators/mon.sun/reset-password',
      headers: admin.headers,
    });
    assert.equal(reset.statusCode, 200);
    assert.equal((await login('mon.sun', 'a chosen password')).statusCode, 401);
    assert.equal((await login('mon.sun', reset.json().password)).statusCode, 200);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/api/v1/operators/nobody.here/reset-password',
          headers: admin.headers,
        })
      ).statusCode,
      404,
    );
  });

  it('serves the audit trail to admins, newest first, filtered by actor, target and time', async () => {
    const admin = await signIn(temp.db, { username: 'admin.chen', roles: ['admin'] }, clock);
    await login('disp.wang', TEST_PASSWORD);
    advance(MINUTE);
    await app.inject({
      method: 'PATCH',
      url: '/api/v1/operators/disp.wang',
      headers: admin.headers,
      payload: { displayName: 'W. Fang' },
    });
    advance(MINUTE);
    await app.inject({
      method: 'POST',
      url: '/api/v1/operators',
      headers: admin.headers,
      payload: { username: 'mon.sun', roles: ['monitoring'] },
    });

    const audit = async (query: string): Promise<LightMyRequestResponse> =>
      app.inject({ method: 'GET', url: `/api/v1/audit${query}`, headers: admin.headers });
    const all = (await audit('')).json().entries as {
      actor: string;
      action: string;
      target: string;
      at: string;
    }[];
    assert.deepEqual(
      all.map((e) => [e.actor, e.action, e.target]),
      [
        ['admin.chen', 'POST /api/v1/operators', 'mon.sun'],
        ['admin.chen', 'PATCH /api/v1/operators/:username', 'disp.wang'],
        ['disp.wang', 'POST /api/v1/auth/login', 'disp.wang'],
      ],
    );
    assert.equal((await audit('?actor=disp.wang')).json().entries.length, 1);
    assert.equal((await audit('?target=disp.wang')).json().entries.length, 2);
    assert.equal((await audit('?limit=1')).json().entries[0].target, 'mon.sun');
    const from = encodeURIComponent(new Date(START.getTime() + MINUTE).toISOString());
    const to = encodeURIComponent(new Date(START.getTime() + 2 * MINUTE).toISOString());
    assert.deepEqual(
      (await audit(`?from=${from}&to=${to}`)).json().entries.map((e: { target: string }) => e.target),
      ['disp.wang'],
    );
    assert.equal((await audit('?limit=0')).statusCode, 400);
    assert.equal((await audit('?from=yesterday')).statusCode, 400);
    const dispatcher = (await login('disp.wang', TEST_PASSWORD)).json().token as string;
    assert.equal(
      (
        await app.inject({
          method: 'GET',
          url: '/api/v1/audit',
          headers: { authorization: `Bearer ${dispatcher}` },
        })
      ).statusCode,
      403,
    );
  });
});
