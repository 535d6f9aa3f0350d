/**
 * The cabinet's accounts over HTTP (gateway/web/routes/accounts.ts, gateway/web/accounts/*): sign-in
 * and its limits, sessions and their expiry, the first-admin setup link, user management and the
 * audit rows in kerbside.db.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { decodeScrypt, slowKdfRuns } from '../../../runtime/scrypt.js';
import { usePasswordScryptForTests } from '../../../gateway/web/accounts/passwords.js';
import { SetupToken } from '../../../gateway/web/accounts/setup-token.js';
import { findWebUser } from '../../../gateway/web/accounts/users.js';
import type { AuditPage, Session, WebUserList } from '../../../gateway/web/api-types.js';
import {
  cookieOf,
  PASSWORDS,
  SAME_ORIGIN,
  SITE,
  webHarness,
  type HarnessOptions,
  type WebHarness,
} from './harness.js';

const MINUTE = 60_000;

let open: WebHarness[] = [];
afterEach(async () => {
  for (const h of open) await h.close();
  open = [];
});

async function harness(options: HarnessOptions = {}): Promise<WebHarness> {
  const h = await webHarness(options);
  open.push(h);
  await h.addUser('admin.chen', 'admin', PASSWORDS.admin);
  await h.addUser('tech.li', 'technician', PASSWORDS.tech);
  return h;
}

function login(h: WebHarness, username: string, password: string, remoteAddress = '127.0.0.1') {
  return h.inject({
    method: 'POST',
    url: '/api/login',
    headers: SAME_ORIGIN,
    remoteAddress,
    payload: { username, password },
  });
}

function session(h: WebHarness, cookie: string) {
  return h.inject({ method: 'GET', url: '/api/session', headers: { cookie } });
}

describe('gateway/web sign-in', () => {
  it('gives no session for a wrong password, an unknown or a disabled user: one answer, one hash each', async () => {
    const h = await harness();
    await h.inject({
      method: 'PATCH',
      url: '/api/users/tech.li',
      headers: { ...SAME_ORIGIN, cookie: await h.login('admin.chen', PASSWORDS.admin) },
      payload: { disabled: true },
    });
    for (const [username, password] of [
      ['admin.chen', 'wrong-password-123'],
      ['nobody.here', PASSWORDS.admin],
      ['tech.li', PASSWORDS.tech],
      ['Not A Name!', PASSWORDS.admin],
    ] as const) {
      const runs = slowKdfRuns();
      const response = await login(h, username, password, '10.0.0.9');
      assert.equal(response.statusCode, 401, username);
      assert.deepEqual(response.json(), {
        error: 'WEB_LOGIN_FAILED',
        message: 'sign-in refused: wrong username or password',
      });
      assert.equal(response.headers['set-cookie'], undefined, `no cookie for ${username}`);
      assert.equal(slowKdfRuns() - runs, 1, `${username}: one password check, as for a real user`);
    }
    const failures = h.auditRows().filter((row) => row.action === 'web.login_failed');
    assert.equal(failures.length, 4);
    assert.deepEqual(failures[1], {
      actor: 'anonymous',
      action: 'web.login_failed',
      target: 'nobody.here',
      detail: { address: '10.0.0.9' },
    });
  });

  it('signs in with a Secure, HttpOnly, SameSite=Strict __Host- cookie and answers the Session', async () => {
    const h = await harness();
    const response = await login(h, 'tech.li', PASSWORDS.tech, '10.0.0.7');
    assert.equal(response.statusCode, 200);
    const cookie = String(response.headers['set-cookie']);
    assert.match(
      cookie,
      /^__Host-kerbside_cabinet=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/,
    );
    const answer = response.json<Session>();
    const now = h.clock.now().wallMs;
    assert.deepEqual(answer, {
      username: 'tech.li',
      role: 'technician',
      timeZone: SITE.timeZone,
      gatewayId: SITE.gatewayId,
      siteName: SITE.siteName,
      idleExpiresWallMs: now + 30 * MINUTE,
      absoluteExpiresWallMs: now + 12 * 60 * MINUTE,
    });
    assert.equal(response.headers['cache-control'], 'no-store');
    const me = await session(h, cookieOf(response));
    assert.equal(me.json<Session>().username, 'tech.li');
    const row = h.auditRows().find((r) => r.action === 'web.login');
    assert.deepEqual(row, {
      actor: 'tech.li',
      action: 'web.login',
      target: 'tech.li',
      detail: { address: '10.0.0.7' },
    });
    assert.equal(typeof findWebUser(h.port, 'tech.li')?.lastLoginWallMs, 'number');
  });

  it('locks an account after five failures from any address, runs no hash during the lock, and doubles it', async () => {
    const h = await harness();
    for (let i = 0; i < 5; i++) {
      const response = await login(h, 'tech.li', `wrong-password-${i}xx`, `10.0.1.${i}`);
      assert.equal(response.statusCode, 401);
    }
    const runs = slowKdfRuns();
    const locked = await login(h, 'tech.li', PASSWORDS.tech, '10.0.2.1');
    assert.equal(locked.statusCode, 429, 'the right password too is refused during the lock');
    assert.equal(locked.json<{ error: string }>().error, 'WEB_RATE_LIMITED');
    assert.equal(locked.headers['retry-after'], '60');
    assert.equal(locked.headers['set-cookie'], undefined);
    assert.equal(slowKdfRuns(), runs, 'no password hash ran during the lock');
    const lockRow = h
      .auditRows()
      .filter((r) => r.action === 'web.login_failed')
      .at(-1);
    assert.equal(lockRow?.detail['lockedForS'], 60, 'the failure that locked says so');
    // Other accounts are not affected.
    assert.equal((await login(h, 'admin.chen', PASSWORDS.admin, '10.0.2.1')).statusCode, 200);
    h.clock.advance(MINUTE);
    const sixth = await login(h, 'tech.li', 'wrong-password-6xx', '10.0.2.2');
    assert.equal(sixth.statusCode, 401);
    const again = await login(h, 'tech.li', PASSWORDS.tech, '10.0.2.2');
    assert.equal(again.statusCode, 429);
    assert.equal(again.headers['retry-after'], '120', 'the next lock is twice as long');
    h.clock.advance(2 * MINUTE);
    assert.equal((await login(h, 'tech.li', PASSWORDS.tech, '10.0.2.2')).statusCode, 200);
  });

  it('limits one address to 20 attempts a minute, whatever the usernames', async () => {
    const h = await harness();
    for (let i = 0; i < 20; i++) {
      const response = await login(h, `user.${i}`, 'wrong-password-1', '10.0.3.1');
      assert.equal(response.statusCode, 401);
    }
    const runs = slowKdfRuns();
    const refused = await login(h, 'tech.li', PASSWORDS.tech, '10.0.3.1');
    assert.equal(refused.statusCode, 429);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal(slowKdfRuns(), runs);
    assert.equal(
      (await login(h, 'tech.li', PASSWORDS.tech, '10.0.3.2')).statusCode,
      200,
      'another address signs in',
    );
    h.clock.advance(MINUTE);
    assert.equal((await login(h, 'tech.li', PASSWORDS.tech, '10.0.3.1')).statusCode, 200, 'the next minute');
  });

  it('redoes a hash weaker than today’s parameters at a successful sign-in', async () => {
    const h = await harness();
    usePasswordScryptForTests({ n: 32, r: 8, p: 1 });
    try {
      assert.equal((await login(h, 'tech.li', 'wrong-password-1')).statusCode, 401);
      assert.equal(
        decodeScrypt(findWebUser(h.port, 'tech.li')?.passwordHash ?? '')?.n,
        16,
        'not at a failure',
      );
      assert.equal((await login(h, 'tech.li', PASSWORDS.tech)).statusCode, 200);
      assert.equal(decodeScrypt(findWebUser(h.port, 'tech.li')?.passwordHash ?? '')?.n, 32);
    } finally {
      usePasswordScryptForTests({ n: 16, r: 8, p: 1 });
    }
  });
});

describe('gateway/web sessions', () => {
  it('logout ends the session: the old cookie then gets 401', async () => {
    const h = await harness();
    const cookie = await h.login('tech.li', PASSWORDS.tech);
    const out = await h.inject({ method: 'POST', url: '/api/logout', headers: { ...SAME_ORIGIN, cookie } });
    assert.equal(out.statusCode, 204);
    assert.match(
      String(out.headers['set-cookie']),
      /^__Host-kerbside_cabinet=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Secure$/,
    );
    const after = await session(h, cookie);
    assert.equal(after.statusCode, 401);
    assert.equal(after.json<{ error: string }>().error, 'WEB_AUTH_REQUIRED');
    assert.ok(h.auditRows().some((r) => r.action === 'web.logout' && r.actor === 'tech.li'));
  });

  it('ends a session after 30 minutes without a request, each request restarting the count', async () => {
    const h = await harness();
    const cookie = await h.login('tech.li', PASSWORDS.tech);
    h.clock.advance(29 * MINUTE);
    assert.equal((await session(h, cookie)).statusCode, 200);
    h.clock.advance(29 * MINUTE);
    const alive = await session(h, cookie);
    assert.equal(alive.statusCode, 200, 'the first request restarted the idle time');
    assert.equal(alive.json<Session>().idleExpiresWallMs, h.clock.now().wallMs + 30 * MINUTE);
    h.clock.advance(30 * MINUTE);
    assert.equal((await session(h, cookie)).statusCode, 401);
  });

  it('ends a session 12 hours after sign-in however active', async () => {
    const h = await harness();
    const cookie = await h.login('tech.li', PASSWORDS.tech);
    for (let elapsed = 0; elapsed < 12 * 60 - 20; elapsed += 20) {
      h.clock.advance(20 * MINUTE);
      assert.equal((await session(h, cookie)).statusCode, 200, `after ${elapsed + 20} min`);
    }
    h.clock.advance(20 * MINUTE);
    assert.equal((await session(h, cookie)).statusCode, 401);
  });

  it('takes the idle and absolute expiry from the options (web.sessionIdleMinutes, sessionAbsoluteHours)', async () => {
    const h = await harness({ sessions: { idleMs: 5 * MINUTE, absoluteMs: 60 * MINUTE } });
    const cookie = await h.login('tech.li', PASSWORDS.tech);
    h.clock.advance(5 * MINUTE);
    assert.equal((await session(h, cookie)).statusCode, 401);
  });
});

describe('gateway/web first-admin setup', () => {
  it('makes the first admin once with the token, signs it in, and refuses the token afterwards', async () => {
    const clockStart = 1_000;
    const { token, setup } = SetupToken.issue(clockStart);
    const h = await webHarness({ setup });
    open.push(h);
    assert.deepEqual((await h.inject({ method: 'GET', url: '/api/setup' })).json(), { needed: true });
    const wrong = await h.inject({
      method: 'POST',
      url: '/api/setup',
      headers: SAME_ORIGIN,
      payload: { token: `${token}x`, username: 'admin.wang', password: 'first-admin-pass-1' },
    });
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json<{ error: string }>().error, 'WEB_SETUP_TOKEN_INVALID');
    const weak = await h.inject({
      method: 'POST',
      url: '/api/setup',
      headers: SAME_ORIGIN,
      payload: { token, username: 'admin.wang', password: 'short' },
    });
    assert.equal(weak.statusCode, 400, 'a refused password does not use the token up');
    const made = await h.inject({
      method: 'POST',
      url: '/api/setup',
      headers: SAME_ORIGIN,
      remoteAddress: '10.0.0.5',
      payload: { token, username: 'admin.wang', password: 'first-admin-pass-1' },
    });
    assert.equal(made.statusCode, 201, made.body);
    assert.equal(made.json<Session>().role, 'admin');
    assert.equal((await session(h, cookieOf(made))).json<Session>().username, 'admin.wang');
    assert.deepEqual((await h.inject({ method: 'GET', url: '/api/setup' })).json(), { needed: false });
    const again = await h.inject({
      method: 'POST',
      url: '/api/setup',
      headers: SAME_ORIGIN,
      payload: { token, username: 'admin.eve', password: 'second-admin-pass' },
    });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json<{ error: string }>().error, 'WEB_SETUP_DONE');
    assert.deepEqual(
      h.auditRows().filter((r) => r.action === 'web.setup'),
      [
        {
          actor: 'admin.wang',
          action: 'web.setup',
          target: 'admin.wang',
          detail: { role: 'admin', address: '10.0.0.5' },
        },
      ],
    );
    assert.equal(setup.take(token, clockStart), false, 'the token is used up');
  });

  it('refuses the token after an hour', async () => {
    const { token, setup } = SetupToken.issue(1_000);
    const h = await webHarness({ setup });
    open.push(h);
    h.clock.advance(60 * MINUTE);
    const late = await h.inject({
      method: 'POST',
      url: '/api/setup',
      headers: SAME_ORIGIN,
      payload: { token, username: 'admin.wang', password: 'first-admin-pass-1' },
    });
    assert.equal(late.statusCode, 403);
    assert.equal(late.json<{ error: string }>().error, 'WEB_SETUP_TOKEN_INVALID');
    assert.equal(findWebUser(h.port, 'admin.wang'), null);
  });

  it('refuses the token when an admin exists already', async () => {
    const { token, setup } = SetupToken.issue(1_000);
    const h = await harness({ setup });
    const refused = await h.inject({
      method: 'POST',
      url: '/api/setup',
      headers: SAME_ORIGIN,
      payload: { token, username: 'admin.eve', password: 'second-admin-pass' },
    });
    assert.equal(refused.statusCode, 409);
    assert.equal(findWebUser(h.port, 'admin.eve'), null);
  });
});

describe('gateway/web users and the audit trail', () => {
  it('lets an admin add, change and disable users, each audited with the address, and ends sessions that must end', async () => {
    const h = await harness();
    const admin = await h.login('admin.chen', PASSWORDS.admin);
    const add = await h.inject({
      method: 'POST',
      url: '/api/users',
      headers: { ...SAME_ORIGIN, cookie: admin },
      remoteAddress: '10.0.0.8',
      payload: { username: 'tech.zhao', role: 'technician', password: 'zhao-password-99' },
    });
    assert.equal(add.statusCode, 201, add.body);
    assert.equal(
      (
        await h.inject({
          method: 'POST',
          url: '/api/users',
          headers: { ...SAME_ORIGIN, cookie: admin },
          payload: { username: 'tech.zhao', role: 'technician', password: 'zhao-password-99' },
        })
      ).statusCode,
      409,
    );
    const weak = await h.inject({
      method: 'POST',
      url: '/api/users',
      headers: { ...SAME_ORIGIN, cookie: admin },
      payload: { username: 'tech.qian', role: 'technician', password: 'tech.qian' },
    });
    assert.equal(weak.statusCode, 400);
    assert.equal(weak.json<{ error: string }>().error, 'WEB_INVALID_ARGUMENT');
    const unknownField = await h.inject({
      method: 'POST',
      url: '/api/users',
      headers: { ...SAME_ORIGIN, cookie: admin },
      payload: { username: 'tech.sun', role: 'root', password: 'sun-password-123' },
    });
    assert.equal(unknownField.statusCode, 400);
    assert.equal(unknownField.json<{ issues: Array<{ pointer: string }> }>().issues[0]?.pointer, '/role');

    const zhao = await h.login('tech.zhao', 'zhao-password-99');
    const reset = await h.inject({
      method: 'PATCH',
      url: '/api/users/tech.zhao',
      headers: { ...SAME_ORIGIN, cookie: admin },
      remoteAddress: '10.0.0.8',
      payload: { password: 'zhao-new-password' },
    });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.equal((await session(h, zhao)).statusCode, 401, 'a new password ends the user’s sessions');
    const zhao2 = await h.login('tech.zhao', 'zhao-new-password');
    const disable = await h.inject({
      method: 'PATCH',
      url: '/api/users/tech.zhao',
      headers: { ...SAME_ORIGIN, cookie: admin },
      remoteAddress: '10.0.0.8',
      payload: { disabled: true },
    });
    assert.equal(disable.json<{ disabled: boolean }>().disabled, true);
    assert.equal((await session(h, zhao2)).statusCode, 401, 'a disabled user’s sessions end');
    const list = await h.inject({ method: 'GET', url: '/api/users', headers: { cookie: admin } });
    assert.deepEqual(
      list.json<WebUserList>().users.map((u) => [u.username, u.role, u.disabled]),
      [
        ['admin.chen', 'admin', false],
        ['tech.li', 'technician', false],
        ['tech.zhao', 'technician', true],
      ],
    );
    const rows = h.auditRows().filter((r) => r.target === 'tech.zhao' && r.action !== 'web.login');
    assert.deepEqual(rows, [
      {
        actor: 'admin.chen',
        action: 'web.user_add',
        target: 'tech.zhao',
        detail: { role: 'technician', address: '10.0.0.8' },
      },
      {
        actor: 'admin.chen',
        action: 'web.user_update',
        target: 'tech.zhao',
        detail: { passwordChanged: true, address: '10.0.0.8' },
      },
      {
        actor: 'admin.chen',
        action: 'web.user_update',
        target: 'tech.zhao',
        detail: { disabled: true, address: '10.0.0.8' },
      },
    ]);
    assert.ok(!JSON.stringify(h.auditRows()).includes('zhao-'), 'no password in the audit trail');
  });

  it('refuses an admin disabling or demoting itself, and taking away the last admin', async () => {
    const h = await harness();
    const admin = await h.login('admin.chen', PASSWORDS.admin);
    for (const payload of [{ disabled: true }, { role: 'technician' }]) {
      const response = await h.inject({
        method: 'PATCH',
        url: '/api/users/admin.chen',
        headers: { ...SAME_ORIGIN, cookie: admin },
        payload,
      });
      assert.equal(response.statusCode, 409, JSON.stringify(payload));
    }
    assert.equal(
      (
        await h.inject({
          method: 'PATCH',
          url: '/api/users/nobody.here',
          headers: { ...SAME_ORIGIN, cookie: admin },
          payload: { disabled: true },
        })
      ).statusCode,
      404,
    );
    assert.equal(findWebUser(h.port, 'admin.chen')?.disabled, false);
  });

  it('changes one’s own password: the wrong current one is refused, the right one renews the session', async () => {
    const h = await harness();
    const first = await h.login('tech.li', PASSWORDS.tech);
    const second = await h.login('tech.li', PASSWORDS.tech);
    const wrong = await h.inject({
      method: 'POST',
      url: '/api/password',
      headers: { ...SAME_ORIGIN, cookie: first },
      payload: { currentPassword: 'not-my-password', newPassword: 'li-new-password-1' },
    });
    assert.equal(wrong.statusCode, 401);
    const actions = h.port.read((db) =>
      db.prepare('SELECT action, actor, target FROM audit ORDER BY id').all(),
    ) as Array<{ action: string; actor: string; target: string }>;
    assert.deepEqual(actions.at(-1), {
      action: 'web.password_change_failed',
      actor: 'tech.li',
      target: 'tech.li',
    });
    // New passwords the rules refuse are typing, not guesses: six of them lock nothing.
    for (let i = 0; i < 6; i++) {
      const short = await h.inject({
        method: 'POST',
        url: '/api/password',
        headers: { ...SAME_ORIGIN, cookie: first },
        payload: { currentPassword: PASSWORDS.tech, newPassword: 'short' },
      });
      assert.equal(short.statusCode, 400, short.body);
    }
    const changed = await h.inject({
      method: 'POST',
      url: '/api/password',
      headers: { ...SAME_ORIGIN, cookie: first },
      payload: { currentPassword: PASSWORDS.tech, newPassword: 'li-new-password-1' },
    });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal((await session(h, first)).statusCode, 401);
    assert.equal((await session(h, second)).statusCode, 401, 'every own session ends');
    assert.equal((await session(h, cookieOf(changed))).statusCode, 200, 'the renewed one works');
    assert.equal((await login(h, 'tech.li', 'li-new-password-1')).statusCode, 200);
  });

  it('pages the audit trail for an admin, newest first, with addresses', async () => {
    const h = await harness();
    await h.login('tech.li', PASSWORDS.tech, '10.0.0.21');
    await h.login('tech.li', PASSWORDS.tech, '10.0.0.22');
    const admin = await h.login('admin.chen', PASSWORDS.admin, '10.0.0.23');
    const first = await h.inject({ method: 'GET', url: '/api/audit?limit=2', headers: { cookie: admin } });
    const page = first.json<AuditPage>();
    assert.deepEqual(
      page.entries.map((e) => [e.action, e.actor, e.address]),
      [
        ['web.login', 'admin.chen', '10.0.0.23'],
        ['web.login', 'tech.li', '10.0.0.22'],
      ],
    );
    assert.ok(page.nextBeforeId !== null);
    const next = await h.inject({
      method: 'GET',
      url: `/api/audit?limit=2&beforeId=${page.nextBeforeId}`,
      headers: { cookie: admin },
    });
    const older = next.json<AuditPage>();
    assert.deepEqual(older.entries[0]?.address, '10.0.0.21');
    // The two users made by the harness (no address: the CLI's way) come last.
    const rest = await h.inject({
      method: 'GET',
      url: `/api/audit?beforeId=${older.entries[0]?.id}`,
      headers: { cookie: admin },
    });
    assert.deepEqual(
      rest.json<AuditPage>().entries.map((e) => [e.action, e.target, e.address]),
      [
        ['web.user_add', 'tech.li', null],
        ['web.user_add', 'admin.chen', null],
      ],
    );
    assert.equal(rest.json<AuditPage>().nextBeforeId, null);
    const bad = await h.inject({
      method: 'GET',
      url: '/api/audit?limit=0&actor=x',
      headers: { cookie: admin },
    });
    assert.equal(bad.statusCode, 400);
  });

  it('reports account changes upstream: each audit row is an outbox event', async () => {
    const h = await harness();
    await h.login('tech.li', PASSWORDS.tech, '10.0.0.31');
    const kinds = h.store.readTransaction((db) =>
      db
        .prepare<[], { kind: string; body: string }>(
          "SELECT kind, body FROM outbox WHERE kind = 'audit' ORDER BY seq",
        )
        .all(),
    );
    const actions = kinds.map((row) => (JSON.parse(row.body) as { action: string }).action);
    assert.deepEqual(actions, ['web.user_add', 'web.user_add', 'web.login']);
  });
});
