/**
 * The route guard (gateway/web/access.ts): a route without an access rule cannot register, the
 * server itself refuses anonymous callers and the wrong role, and every unsafe method must come
 * from the cabinet's own pages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../../gateway/web/ports.js';
import { PASSWORDS, SAME_ORIGIN, webHarness, type WebHarness } from './harness.js';

/** One technician route, one admin route, and a technician change that records who made it. */
function testRoutes(changes: string[]) {
  return (app: FastifyInstance): void => {
    app.get(
      '/api/test/tech',
      {
        config: { cabinetAccess: { roles: ['technician'] } },
        schema: { response: { 200: { type: 'object', additionalProperties: true } } },
      },
      async (request) => ({ user: request.webUser }),
    );
    app.get('/api/test/admin', { config: { cabinetAccess: { roles: ['admin'] } } }, async (request) => ({
      user: request.webUser,
    }));
    app.post(
      '/api/test/change',
      { config: { cabinetAccess: { roles: ['technician'] } } },
      async (request) => {
        changes.push(actorOf(request).username);
        return { ok: true };
      },
    );
  };
}

describe('gateway/web access guard', () => {
  let h: WebHarness;
  const changes: string[] = [];
  let tech = '';
  let admin = '';

  before(async () => {
    h = await webHarness({ registerRoutes: testRoutes(changes) });
    await h.addUser('admin.chen', 'admin', PASSWORDS.admin);
    await h.addUser('tech.li', 'technician', PASSWORDS.tech);
    admin = await h.login('admin.chen', PASSWORDS.admin);
    tech = await h.login('tech.li', PASSWORDS.tech);
  });
  after(async () => h.close());

  it('refuses to register a route without cabinetAccess, or with a malformed one', async () => {
    for (const config of [
      undefined,
      {},
      { cabinetAccess: {} },
      { cabinetAccess: { roles: [] } },
      { cabinetAccess: { roles: ['root'] } },
      { cabinetAccess: { public: false } },
      { cabinetAccess: { public: true, roles: ['admin'] } },
    ]) {
      const harness = await webHarness({
        registerRoutes: (app) => {
          app.get(
            '/api/test/unguarded',
            config === undefined ? {} : { config: config as never },
            async () => ({}),
          );
        },
      }).then(
        async (made) => {
          await made.close();
          return 'registered';
        },
        (error: unknown) => error,
      );
      assert.ok(harness instanceof Error, `registered with config ${JSON.stringify(config)}`);
      assert.equal((harness as Error & { code?: string }).code, 'WEB_UNGUARDED_ROUTE');
      assert.match(harness.message, /\/api\/test\/unguarded/);
    }
  });

  it('answers an anonymous caller 401 WEB_AUTH_REQUIRED on a guarded route, and a bad cookie alike', async () => {
    const anonymous = await h.inject({ method: 'GET', url: '/api/test/tech' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json<{ error: string }>().error, 'WEB_AUTH_REQUIRED');
    const forged = await h.inject({
      method: 'GET',
      url: '/api/test/tech',
      headers: { cookie: '__Host-kerbside_cabinet=not-a-session' },
    });
    assert.equal(forged.statusCode, 401);
    const head = await h.inject({ method: 'HEAD', url: '/api/test/tech' });
    assert.equal(head.statusCode, 401, 'the automatic HEAD route is guarded like its GET');
  });

  it('refuses a technician on an admin route with 403 from the server; an admin passes both', async () => {
    const refused = await h.inject({ method: 'GET', url: '/api/test/admin', headers: { cookie: tech } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json<{ error: string }>().error, 'WEB_FORBIDDEN');
    const users = await h.inject({ method: 'GET', url: '/api/users', headers: { cookie: tech } });
    assert.equal(users.statusCode, 403, 'user management is admin only');
    const audit = await h.inject({ method: 'GET', url: '/api/audit', headers: { cookie: tech } });
    assert.equal(audit.statusCode, 403, 'the audit trail is admin only');
    const adminOk = await h.inject({ method: 'GET', url: '/api/test/admin', headers: { cookie: admin } });
    assert.equal(adminOk.statusCode, 200);
    const adminOnTech = await h.inject({ method: 'GET', url: '/api/test/tech', headers: { cookie: admin } });
    assert.deepEqual(adminOnTech.json(), { user: { username: 'admin.chen', role: 'admin' } });
    const techOk = await h.inject({ method: 'GET', url: '/api/test/tech', headers: { cookie: tech } });
    assert.deepEqual(techOk.json(), { user: { username: 'tech.li', role: 'technician' } });
  });

  it('refuses every unsafe request that is not from the cabinet’s own pages, before it changes anything', async () => {
    const crossSite = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'none' },
      { origin: 'https://evil.example' },
      { origin: 'http://localhost:8080' },
      {},
    ];
    for (const headers of crossSite) {
      const response = await h.inject({
        method: 'POST',
        url: '/api/test/change',
        headers: { ...headers, cookie: tech },
      });
      assert.equal(response.statusCode, 403, JSON.stringify(headers));
      assert.equal(response.json<{ error: string }>().error, 'WEB_CROSS_SITE');
    }
    assert.deepEqual(changes, [], 'no refused request ran');
    // Sign-in and setup are public, and refused the same way.
    const login = await h.inject({
      method: 'POST',
      url: '/api/login',
      headers: { origin: 'https://evil.example' },
      payload: { username: 'tech.li', password: PASSWORDS.tech },
    });
    assert.equal(login.statusCode, 403);
    assert.equal(login.headers['set-cookie'], undefined, 'no session for a cross-site sign-in');
    const setup = await h.inject({
      method: 'POST',
      url: '/api/setup',
      headers: { 'sec-fetch-site': 'cross-site' },
      payload: { token: 'x', username: 'eve.admin', password: 'eve-password-123' },
    });
    assert.equal(setup.statusCode, 403);
    const userAdd = await h.inject({
      method: 'POST',
      url: '/api/users',
      headers: { origin: 'https://evil.example', cookie: admin },
      payload: { username: 'eve.tech', role: 'admin', password: 'eve-password-123' },
    });
    assert.equal(userAdd.statusCode, 403);
    const list = await h.inject({ method: 'GET', url: '/api/users', headers: { cookie: admin } });
    assert.ok(!list.body.includes('eve'), 'no user was made');
  });

  it('lets a same-origin change through, by Fetch Metadata or by an Origin equal to its own', async () => {
    const byMetadata = await h.inject({
      method: 'POST',
      url: '/api/test/change',
      headers: { ...SAME_ORIGIN, cookie: tech },
    });
    assert.equal(byMetadata.statusCode, 200);
    const byOrigin = await h.inject({
      method: 'POST',
      url: '/api/test/change',
      headers: { origin: 'http://cabinet.local:8443', host: 'cabinet.local:8443', cookie: tech },
    });
    assert.equal(byOrigin.statusCode, 200);
    assert.deepEqual(changes, ['tech.li', 'tech.li']);
  });
});
