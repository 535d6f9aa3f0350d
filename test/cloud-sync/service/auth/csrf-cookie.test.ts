/**
 * The session cookie and cross-site request forgery (issue 12, finding 9), over a real socket as a
 * browser would send it: the cookie is `__Host-` bound and Secure unless the dev setting says
 * otherwise; a change authenticated by the cookie is refused unless it comes from this service's
 * own origin (Origin, or Sec-Fetch-Site: same-origin); a Bearer token is not a cookie and passes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../../cloud-sync/service/api/build.js';
import { listenHttp } from '../../../../cloud-sync/service/http.js';
import { testApiDeps, testHttpApp } from '../api/harness.js';
import { openTempDb, signIn, TEST_PASSWORD, type SignedIn, type TempDb } from './harness.js';

describe('session cookie and CSRF', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  let base = '';
  let admin: SignedIn;

  before(async () => {
    temp = await openTempDb();
    admin = await signIn(temp.db, { username: 'admin.li', roles: ['admin'] });
    app = testHttpApp();
    await buildApi(app, testApiDeps(temp.db));
    base = `http://127.0.0.1:${await listenHttp(app, '127.0.0.1', 0)}`;
  });
  after(async () => {
    await app.close();
    await temp.close();
  });

  /** Creates an operator (a change) as the cookie-carrying browser would, with these headers. */
  async function createWithCookie(username: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${base}/api/v1/operators`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: `__Host-kerbside_session=${admin.token}`,
        ...headers,
      },
      body: JSON.stringify({ username, roles: ['dispatcher'] }),
    });
  }

  it('sets the cookie Secure, HttpOnly, SameSite=Strict, __Host- bound: Path=/ and no Domain', async () => {
    const response = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin.li', password: TEST_PASSWORD }),
    });
    assert.equal(response.status, 200);
    const cookie = response.headers.get('set-cookie') ?? '';
    const [pair, ...attributes] = cookie.split('; ');
    assert.match(pair ?? '', /^__Host-kerbside_session=[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(attributes.sort(), ['HttpOnly', 'Max-Age=43200', 'Path=/', 'SameSite=Strict', 'Secure']);
  });

  it('refuses a cross-site POST carrying the cookie with 403 AUTH_CROSS_SITE, and changes nothing', async () => {
    const forged: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'http://127.0.0.1:1' },
      { 'sec-fetch-site': 'cross-site', origin: base },
      { 'sec-fetch-site': 'same-site' },
      {},
    ];
    for (const headers of forged) {
      const response = await createWithCookie('disp.csrf', headers);
      assert.equal(response.status, 403, JSON.stringify(headers));
      assert.equal(((await response.json()) as { error: string }).error, 'AUTH_CROSS_SITE');
    }
    const rows = await temp.db
      .selectFrom('operators')
      .select('username')
      .where('username', '=', 'disp.csrf')
      .execute();
    assert.deepEqual(rows, []);
  });

  it('lets a same-origin POST with the cookie, a cookie GET, and a Bearer POST from anywhere through', async () => {
    assert.equal((await createWithCookie('disp.one', { origin: base })).status, 201);
    assert.equal((await createWithCookie('disp.two', { 'sec-fetch-site': 'same-origin' })).status, 201);
    const read = await fetch(`${base}/api/v1/auth/me`, {
      headers: { cookie: `__Host-kerbside_session=${admin.token}`, 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(read.status, 200, 'a read changes nothing and is not refused');
    const bearer = await fetch(`${base}/api/v1/operators`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin.headers, origin: 'https://elsewhere.example' },
      body: JSON.stringify({ username: 'disp.three', roles: ['dispatcher'] }),
    });
    assert.equal(bearer.status, 201, 'a Bearer header is no ambient credential');
  });

  it('with http.insecureCookies (loopback development), a plain cookie without Secure that still signs in', async () => {
    const dev = testHttpApp();
    await buildApi(dev, {
      ...testApiDeps(temp.db),
      auth: { logger: { error: () => undefined }, insecureCookies: true },
    });
    try {
      const response = await dev.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'admin.li', password: TEST_PASSWORD },
      });
      const cookie = String(response.headers['set-cookie']);
      assert.match(
        cookie,
        /^kerbside_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
      );
      const me = await dev.inject({
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { cookie: cookie.split(';')[0] ?? '' },
      });
      assert.equal(me.statusCode, 200);
    } finally {
      await dev.close();
    }
  });

  it('with http.insecureCookies, logout by the cookie ends the session (/me then 401)', async () => {
    // Issue 12: logout read the __Host- name while the guard had read kerbside_session, so
    // nothing was revoked and the answer was {"loggedOut":false}.
    const dev = testHttpApp();
    await buildApi(dev, {
      ...testApiDeps(temp.db),
      auth: { logger: { error: () => undefined }, insecureCookies: true },
    });
    try {
      const login = await dev.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'admin.li', password: TEST_PASSWORD },
      });
      const cookie = String(login.headers['set-cookie']).split(';')[0] ?? '';
      const out = await dev.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: { cookie, 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(out.statusCode, 200, out.body);
      assert.deepEqual(out.json(), { loggedOut: true });
      const me = await dev.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } });
      assert.equal(me.statusCode, 401, me.body);
    } finally {
      await dev.close();
    }
  });
});
