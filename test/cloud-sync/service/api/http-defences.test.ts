/**
 * The HTTP edge of the cloud service (issue 12, finding 5; docs/security.md), over a real socket:
 * a client that sends its request slowly is cut off instead of holding the socket (slowloris), and
 * every answer carries the security headers.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildHttpApp, listenHttp } from '../../../../cloud-sync/service/http.js';

const health = (): Promise<{ database: { ok: boolean }; mqtt: { ok: boolean } }> =>
  Promise.resolve({ database: { ok: true }, mqtt: { ok: true } });

describe('HTTP defences', () => {
  let app: FastifyInstance;
  let port = 0;
  before(async () => {
    // Short enough for a test to see the cut; the defaults are HTTP_TIMEOUTS.
    app = buildHttpApp({ registry: new Registry(), health, timeouts: { requestMs: 600, idleMs: 600 } });
    port = await listenHttp(app, '127.0.0.1', 0);
  });
  after(() => app.close());

  // The test timeouts only turn a socket that stays open into a failure instead of a hang.
  it(
    'cuts a request that is never finished (a half-sent body), instead of holding the socket',
    { timeout: 15_000 },
    async () => {
      const socket = connect(port, '127.0.0.1');
      const closed = new Promise<string>((resolve) => {
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        socket.on('close', () => resolve(answer));
      });
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      // Headers complete, 100 bytes of body announced, one sent: the server waits for the rest.
      socket.write(
        'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
      );
      const answer = await closed;
      // Closed, with node's 408 Request Timeout or silently when the idle timeout came first; without
      // the timeouts the socket stays open (300 s by node's default) and the test times out.
      assert.ok(answer === '' || /^HTTP\/1\.1 408 /.test(answer), answer);
      assert.ok(socket.destroyed);
    },
  );

  it('cuts a client that never finishes its headers', { timeout: 15_000 }, async () => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await closed;
    assert.ok(socket.destroyed);
  });

  it('answers with the security headers', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    assert.match(response.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const missing = await fetch(`http://127.0.0.1:${port}/api/v1/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-content-type-options'), 'nosniff', 'refusals carry them too');
  });
});
