/**
 * The cabinet web server listening for real (gateway/web/server.ts): HTTPS with the generated
 * certificate whose logged fingerprint is the one a TLS client sees, the one-time setup link in the
 * log and nowhere else, the Secure cookie over HTTPS, plain HTTP only on loopback.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, describe, it } from 'node:test';
import type { IncomingHttpHeaders } from 'node:http';
import type { WebConfig } from '../../../gateway/config/types.js';
import { createLogger } from '../../../gateway/logger.js';
import { EventBus } from '../../../gateway/events/event-bus.js';
import { createCommitter } from '../../../gateway/store/committer.js';
import { openGatewayStore, type GatewayStore } from '../../../gateway/store/event-store.js';
import type { WebStorePort } from '../../../gateway/web/ports.js';
import { checkWebTransport, startWebServer, type WebServer } from '../../../gateway/web/server.js';
import { SITE } from './harness.js';

const WEB: WebConfig = {
  enabled: true,
  host: '127.0.0.1',
  port: 0,
  tls: true,
  allowPlainHttpBeyondLoopback: false,
  insecureCookies: false,
  sessionIdleMinutes: 30,
  sessionAbsoluteHours: 12,
};

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  fingerprint: string | null;
}

/** One request; over HTTPS the server certificate is trusted only if it is `ca` (the logged one). */
function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown; ca?: string } = {},
): Promise<Answer> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers = {
    ...options.headers,
    ...(payload === undefined
      ? {}
      : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
  };
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        ...(secure ? { ca: options.ca, servername: 'localhost', agent: false } : {}),
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const fingerprint = secure ? socket.getPeerCertificate().fingerprint256 : null;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, fingerprint }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

interface Cabinet {
  dataDir: string;
  store: GatewayStore;
  port: WebStorePort;
  lines: string[];
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function cabinet(): Cabinet {
  const dataDir = mkdtempSync(join(tmpdir(), 'kerbside-web-server-'));
  const store = openGatewayStore(dataDir, { logger: createLogger({ level: 'silent' }) });
  const committer = createCommitter(store, new EventBus());
  cleanups.push(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir,
    store,
    port: {
      read: (fn) => store.readTransaction(fn),
      commit: (cycle) => void committer.commit(cycle),
      now: () => store.now(),
    },
    lines: [],
  };
}

async function start(c: Cabinet, config: Partial<WebConfig> = {}): Promise<WebServer> {
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void c.lines.push(line) },
  });
  const server = await startWebServer({
    config: { ...WEB, ...config },
    dataDir: c.dataDir,
    logger,
    store: c.port,
    site: SITE,
    assetsDir: join(c.dataDir, 'no-ui'),
  });
  cleanups.push(() => server.close());
  return server;
}

function logged(c: Cabinet): Array<{ level: number; msg: string } & Record<string, unknown>> {
  return c.lines.map((line) => JSON.parse(line) as { level: number; msg: string });
}

describe('gateway/web server', () => {
  it('serves HTTPS with a certificate whose logged fingerprint is the one a TLS client sees, kept across restarts', async () => {
    const c = cabinet();
    const first = await start(c);
    assert.match(first.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    const cert = readFileSync(join(c.dataDir, 'web-tls', 'cert.pem'), 'utf8');
    const answer = await call(`${first.url}api/setup`, { ca: cert });
    assert.equal(answer.status, 200);
    assert.equal(answer.fingerprint, first.fingerprint);
    assert.match(String(answer.headers['strict-transport-security']), /max-age=31536000/);
    const line = logged(c).find((entry) => entry['fingerprint256'] !== undefined);
    assert.equal(line?.['fingerprint256'], first.fingerprint);
    assert.equal(line?.level, 30, 'at info');
    assert.ok(line?.msg.includes(String(first.fingerprint)));
    await first.close();

    const second = await start(c);
    assert.equal(second.fingerprint, first.fingerprint, 'the same certificate at the next start');
    assert.equal((await call(`${second.url}api/setup`, { ca: cert })).fingerprint, first.fingerprint);
  });

  it('logs a one-time setup link once, and the token nowhere else; the link makes the first admin with a Secure cookie', async () => {
    const c = cabinet();
    const server = await start(c);
    const cert = readFileSync(join(c.dataDir, 'web-tls', 'cert.pem'), 'utf8');
    const token = /#\/setup\?token=([A-Za-z0-9_-]{43})/.exec(server.setupUrl ?? '')?.[1];
    assert.ok(token !== undefined, String(server.setupUrl));
    const mentions = c.lines.filter((line) => line.includes(token));
    assert.equal(mentions.length, 1, 'the token is in exactly one log line');
    const warn = JSON.parse(mentions[0] ?? '{}') as { level: number; msg: string };
    assert.equal(warn.level, 40, 'a warning');
    assert.ok(warn.msg.includes(`${server.url}#/setup?token=${token}`));

    const origin = server.url.replace(/\/$/, '');
    const made = await call(`${server.url}api/setup`, {
      method: 'POST',
      ca: cert,
      headers: { origin },
      body: { token, username: 'admin.wang', password: 'first-admin-pass-1' },
    });
    assert.equal(made.status, 201, made.body);
    const setCookie = String(made.headers['set-cookie']);
    assert.match(
      setCookie,
      /^__Host-kerbside_cabinet=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/,
    );
    const cookie = setCookie.split(';')[0] ?? '';
    const me = await call(`${server.url}api/session`, { ca: cert, headers: { cookie } });
    assert.equal(me.status, 200);
    const reused = await call(`${server.url}api/setup`, {
      method: 'POST',
      ca: cert,
      headers: { origin },
      body: { token, username: 'admin.eve', password: 'second-admin-pass' },
    });
    assert.equal(reused.status, 409);
    assert.equal(c.lines.filter((line) => line.includes(token)).length, 1, 'still only the one line');
    await server.close();

    const restarted = await start(c);
    assert.equal(restarted.setupUrl, null, 'no link once an admin exists');
    assert.ok(!c.lines.some((line) => line.includes('#/setup?token=') && !line.includes(token)));
  });

  it('refuses plain HTTP beyond loopback unless allowed, and insecure cookies with TLS', async () => {
    const c = cabinet();
    await assert.rejects(start(c, { tls: false, host: '0.0.0.0' }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'WEB_PLAIN_HTTP_REFUSED');
      assert.match(error.message, /0\.0\.0\.0/);
      return true;
    });
    assert.throws(() => checkWebTransport({ ...WEB, tls: true, insecureCookies: true }), /insecureCookies/);
    assert.doesNotThrow(() =>
      checkWebTransport({ ...WEB, tls: false, host: '0.0.0.0', allowPlainHttpBeyondLoopback: true }),
    );
    assert.doesNotThrow(() => checkWebTransport({ ...WEB, tls: false, host: '::1', insecureCookies: true }));
  });

  it('serves plain HTTP on loopback with the insecure cookie name and no Secure', async () => {
    const c = cabinet();
    const server = await start(c, { tls: false, insecureCookies: true });
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(server.fingerprint, null);
    const token = /token=([A-Za-z0-9_-]+)/.exec(server.setupUrl ?? '')?.[1] ?? '';
    const made = await call(`${server.url}api/setup`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'same-origin' },
      body: { token, username: 'admin.wang', password: 'first-admin-pass-1' },
    });
    assert.equal(made.status, 201, made.body);
    assert.match(
      String(made.headers['set-cookie']),
      /^kerbside_cabinet=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    assert.equal(made.headers['strict-transport-security'], undefined);
  });
});
