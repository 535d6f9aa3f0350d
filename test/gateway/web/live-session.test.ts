/**
 * The live stream and the session it was opened with (gateway/web/live.ts, access.ts): the whole
 * web app (buildWebApp with its guard) on a real socket, the stream fed by a real gateway. A stream
 * ends when its session does: logout, the user disabled by an admin, idle expiry (the hand-moved
 * clock); the stream itself never restarts the session's idle time. HEAD /api/live is no route,
 * so it cannot hold one of the stream's slots.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { DEFAULT_SESSION_LIMITS } from '../../../gateway/web/app.js';
import { cabinetPortOf } from '../../../gateway/web/cabinet-adapter.js';
import type { CabinetPort } from '../../../gateway/web/cabinet-port.js';
import { registerLiveRoute, type LiveHub } from '../../../gateway/web/live.js';
import { startScenario, tcpEndpoint, type ScenarioHarness } from '../../helpers/gateway-harness.js';
import { waitFor } from '../../helpers/wait.js';
import { PASSWORDS, SAME_ORIGIN, webHarness, type WebHarness } from './harness.js';

const MAX_CLIENTS = 2;

/** A stream's response, with whether it has ended and how many heartbeat comments came. */
interface Stream {
  response: IncomingMessage;
  closed: () => boolean;
  chunks: () => number;
}

function request(port: number, method: string, cookie: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method,
      path: '/api/live',
      headers: { accept: 'text/event-stream', cookie },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

async function openStream(port: number, cookie: string): Promise<Stream> {
  const response = await request(port, 'GET', cookie);
  assert.equal(response.statusCode, 200);
  let closed = false;
  let chunks = 0;
  response.on('data', () => chunks++);
  response.on('close', () => (closed = true));
  response.on('error', () => (closed = true));
  return { response, closed: () => closed, chunks: () => chunks };
}

describe('the live stream ends with its session', () => {
  let g: ScenarioHarness;
  let cabinet: CabinetPort;
  let h: WebHarness;
  let hub: LiveHub;
  let port = 0;
  let admin = '';

  before(async () => {
    g = await startScenario({
      name: 'web-live-session',
      buses: [tcpEndpoint('lan')],
      devices: [{ id: 'gas-1', bus: 'lan', unitId: 1, profile: 'anqi-gd300' }],
    });
    cabinet = cabinetPortOf(g.gateway, { logger: pino({ level: 'silent' }) });
    h = await webHarness({
      registerRoutes: (app) => {
        hub = registerLiveRoute(app, cabinet, {
          maxClients: MAX_CLIENTS,
          heartbeatMs: 20,
          sessionCheckMs: 20,
        });
      },
    });
    await h.addUser('admin.chen', 'admin', PASSWORDS.admin);
    await h.addUser('tech.li', 'technician', PASSWORDS.tech);
    admin = await h.login('admin.chen', PASSWORDS.admin);
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(async () => {
    await h?.close();
    cabinet?.close();
    await g?.stop();
  });

  it('ends a technician’s stream after logout', async (t) => {
    const tech = await h.login('tech.li', PASSWORDS.tech);
    const stream = await openStream(port, tech);
    t.after(() => stream.response.destroy());
    await waitFor('a few heartbeats', () => stream.chunks() >= 3);
    assert.equal(stream.closed(), false, 'the stream stays open while its session lives');
    const logout = await h.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { ...SAME_ORIGIN, cookie: tech },
    });
    assert.equal(logout.statusCode, 204);
    await waitFor('the stream to end after logout', () => stream.closed());
    await waitFor('the hub to forget the client', () => hub.size === 0);
  });

  it('ends a technician’s stream after an admin disables the user', async (t) => {
    const tech = await h.login('tech.li', PASSWORDS.tech);
    const stream = await openStream(port, tech);
    t.after(() => stream.response.destroy());
    await waitFor('a few heartbeats', () => stream.chunks() >= 3);
    const disable = await h.inject({
      method: 'PATCH',
      url: '/api/users/tech.li',
      headers: { ...SAME_ORIGIN, cookie: admin },
      payload: { disabled: true },
    });
    assert.equal(disable.statusCode, 200, disable.body);
    await waitFor('the stream to end after the user is disabled', () => stream.closed());
    const enable = await h.inject({
      method: 'PATCH',
      url: '/api/users/tech.li',
      headers: { ...SAME_ORIGIN, cookie: admin },
      payload: { disabled: false },
    });
    assert.equal(enable.statusCode, 200, enable.body);
  });

  it('ends a stream at idle expiry, and the stream does not restart the idle time', async (t) => {
    const tech = await h.login('tech.li', PASSWORDS.tech);
    const stream = await openStream(port, tech);
    t.after(() => stream.response.destroy());
    // Most of the idle time passes while the stream is open and checked many times ...
    h.clock.advance(DEFAULT_SESSION_LIMITS.idleMs - 1_000);
    const checks = hub.sessionChecks;
    await waitFor('a few session checks', () => hub.sessionChecks >= checks + 3);
    assert.equal(stream.closed(), false, 'not yet idle');
    // ... then the rest: had a check refreshed the session, it would live on.
    h.clock.advance(2_000);
    await waitFor('the stream to end at idle expiry', () => stream.closed());
    const session = await h.inject({ method: 'GET', url: '/api/session', headers: { cookie: tech } });
    assert.equal(session.statusCode, 401, 'the session itself has expired');
  });

  it('has no HEAD /api/live: 404, and no slot taken', async () => {
    const tech = await h.login('tech.li', PASSWORDS.tech);
    await waitFor('no stream open', () => hub.size === 0);
    for (let i = 0; i < MAX_CLIENTS + 1; i++) {
      const head = await request(port, 'HEAD', tech);
      head.resume();
      assert.equal(head.statusCode, 404);
    }
    assert.equal(hub.size, 0, 'a HEAD request attached no client');
    const streams = await Promise.all([openStream(port, tech), openStream(port, tech)]);
    for (const stream of streams) stream.response.destroy();
  });
});
