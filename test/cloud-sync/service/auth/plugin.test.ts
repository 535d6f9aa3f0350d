/**
 * The route guard (auth/plugin.ts): no route without an access rule, 401 for anonymous callers,
 * 403 for the wrong role, and one audit row per mutation or refusal, never holding a password.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { listAudit } from '../../../../cloud-sync/service/enrollment/audit.js';
import { buildTestApi } from '../api/harness.js';
import { MemoryLogger, openTempDb, signIn, TEST_PASSWORD, type TempDb } from './harness.js';

const okSchema = {
  response: {
    200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } },
  },
};

describe('auth plugin', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  let logger: MemoryLogger;

  beforeEach(async () => {
    temp = await openTempDb();
    logger = new MemoryLogger();
    app = await buildTestApi(temp.db, { authLogger: logger });
    await app.register(async (scope) => {
      scope.get(
        '/api/v1/things/:thingId',
        { config: { access: { roles: ['dispatcher', 'monitoring'] } }, schema: okSchema },
        async () => ({ ok: true }),
      );
      scope.post(
        '/api/v1/things/:thingId/poke',
        { config: { access: { roles: ['dispatcher'] } }, schema: okSchema },
        async (request) => {
          request.auditDetail = { poked: true };
          return { ok: true };
        },
      );
      scope.post(
        '/api/v1/things/:thingId/retarget',
        { config: { access: { roles: 'any' } }, schema: okSchema },
        async (request) => {
          request.auditTarget = 'case-42';
          return { ok: true };
        },
      );
      scope.get('/open', { config: { access: { public: true } }, schema: okSchema }, async () => ({
        ok: true,
      }));
    });
  });

  afterEach(async () => {
    await app.close();
    await temp.close();
  });

  it('refuses at registration a route without config.access, or with a malformed one', async () => {
    assert.throws(
      () => app.get('/api/v1/unguarded', { schema: okSchema }, async () => ({ ok: true })),
      (error: Error & { code?: string }) =>
        error.code === 'AUTH_UNGUARDED_ROUTE' && /GET \/api\/v1\/unguarded/.test(error.message),
    );
    const malformed: unknown[] = [
      {},
      { roles: [] },
      { roles: ['root'] },
      { public: false },
      { public: true, roles: 'any' },
    ];
    for (const access of malformed) {
      assert.throws(
        () =>
          app.post('/api/v1/bad', { config: { access: access as never }, schema: okSchema }, async () => ({
            ok: true,
          })),
        /config\.access/,
        JSON.stringify(access),
      );
    }
    // A child plugin registered later is covered too.
    await assert.rejects(async () => {
      await app.register(async (scope) => {
        scope.delete('/api/v1/also-unguarded', async () => ({ ok: true }));
      });
    }, /config\.access/);
  });

  it('answers 401 with WWW-Authenticate to a caller without a valid session, and lets public routes pass', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer not-a-session' },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { cookie: 'kerbside_session=forged' },
    ]) {
      const response = await app.inject({ method: 'GET', url: '/api/v1/things/t1', headers });
      assert.equal(response.statusCode, 401, JSON.stringify(headers));
      assert.equal(response.json().error, 'AUTH_REQUIRED');
      assert.match(String(response.headers['www-authenticate']), /^Bearer /);
    }
    assert.equal((await app.inject({ method: 'GET', url: '/open' })).statusCode, 200);
    // fastify's automatic HEAD route carries the GET's rule.
    assert.equal((await app.inject({ method: 'HEAD', url: '/api/v1/things/t1' })).statusCode, 401);
  });

  it('answers 403 naming the roles needed to an operator without them; Bearer header or cookie', async () => {
    const inspector = await signIn(temp.db, { username: 'insp.zhao', roles: ['inspector'] });
    const refused = await app.inject({ method: 'GET', url: '/api/v1/things/t1', headers: inspector.headers });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error, 'AUTH_FORBIDDEN');
    assert.match(refused.json().message, /dispatcher, monitoring/);

    const dispatcher = await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher', 'inspector'] });
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/things/t1', headers: dispatcher.headers })).statusCode,
      200,
    );
    const viaCookie = await app.inject({
      method: 'GET',
      url: '/api/v1/things/t1',
      headers: { cookie: `theme=dark; __Host-kerbside_session=${dispatcher.token}` },
    });
    assert.equal(viaCookie.statusCode, 200);
  });

  it('audits mutations and refusals with actor, route pattern, target, outcome and source; reads are not audited', async () => {
    const dispatcher = await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher'] });
    const monitor = await signIn(temp.db, { username: 'mon.li', roles: ['monitoring'] });
    await app.inject({ method: 'GET', url: '/api/v1/things/t1', headers: dispatcher.headers });
    await app.inject({ method: 'GET', url: '/api/v1/things/t9' });
    await app.inject({ method: 'POST', url: '/api/v1/things/t2/poke', headers: dispatcher.headers });
    await app.inject({ method: 'POST', url: '/api/v1/things/t3/poke', headers: monitor.headers });
    await app.inject({ method: 'POST', url: '/api/v1/things/t4/poke' });
    await app.inject({ method: 'POST', url: '/api/v1/things/t5/retarget', headers: monitor.headers });
    await app.inject({ method: 'POST', url: '/api/v1/nowhere' });

    const rows = await listAudit(temp.db);
    assert.deepEqual(
      rows
        .filter((r) => r.actor !== 'anonymous')
        .map((r) => [r.actor, r.action, r.target, r.outcome, r.source, r.detail, r.count]),
      [
        [
          'disp.wang',
          'POST /api/v1/things/:thingId/poke',
          't2',
          'ok',
          'http:127.0.0.1',
          { poked: true },
          null,
        ],
        ['mon.li', 'POST /api/v1/things/:thingId/poke', 't3', 'denied', 'http:127.0.0.1', null, null],
        ['mon.li', 'POST /api/v1/things/:thingId/retarget', 'case-42', 'ok', 'http:127.0.0.1', null, null],
      ],
    );
    // Anonymous refusals are counted into a summary row per route, address, status and minute.
    assert.deepEqual(
      rows
        .filter((r) => r.actor === 'anonymous')
        .map((r) => [r.action, r.target, r.outcome, r.source, r.detail?.['status'], r.count])
        .sort(),
      [
        ['GET /api/v1/things/:thingId', '', 'denied', 'http:127.0.0.1', 401, 1],
        ['POST /api/v1/things/:thingId/poke', '', 'denied', 'http:127.0.0.1', 401, 1],
      ],
    );
  });

  it('never writes a password into the audit trail', async () => {
    const admin = await signIn(temp.db, { username: 'admin.chen', roles: ['admin'] });
    const chosen = 'a-chosen-password-42';
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin.chen', password: TEST_PASSWORD },
    });
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'admin.chen', password: 'wrong-password-123' },
    });
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/operators',
      headers: admin.headers,
      payload: { username: 'disp.wu', roles: ['dispatcher'] },
    });
    const generated = created.json().password as string;
    await app.inject({
      method: 'POST',
      url: '/api/v1/operators',
      headers: admin.headers,
      payload: { username: 'disp.ma', roles: ['dispatcher'], password: chosen },
    });
    const reset = await app.inject({
      method: 'POST',
      url: '/api/v1/operators/disp.ma/reset-password',
      headers: admin.headers,
    });
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: admin.headers,
      payload: { currentPassword: TEST_PASSWORD, newPassword: 'brand-new-password-7' },
    });
    const trail = JSON.stringify(await listAudit(temp.db));
    for (const secret of [
      TEST_PASSWORD,
      'wrong-password-123',
      generated,
      chosen,
      reset.json().password,
      'brand-new-password-7',
      admin.token,
    ]) {
      assert.equal(typeof secret, 'string');
      assert.ok(!trail.includes(secret as string), `audit trail holds a secret`);
    }
    assert.match(trail, /POST \/api\/v1\/operators\/:username\/reset-password/);
  });

  it('logs a failed audit write at error level and still answers', async () => {
    const dispatcher = await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher'] });
    await sql`DROP TABLE admin_audit`.execute(temp.db);
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/things/t2/poke',
      headers: dispatcher.headers,
    });
    assert.equal(response.statusCode, 200);
    assert.equal(logger.errors.length, 1);
    assert.match(logger.errors[0]?.message ?? '', /audit/);
  });
});
