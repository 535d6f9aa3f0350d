/**
 * The request rules and answers of the cabinet web app (gateway/web/app.ts,
 * security-headers.ts): security headers on pages and API answers alike, body limits and depth,
 * the one error shape, the OpenAPI document, compression of API answers.
 */
import assert from 'node:assert/strict';
import { brotliDecompressSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { BODY_LIMIT, MAX_BODY_DEPTH } from '../../../gateway/web/app.js';
import { PASSWORDS, SAME_ORIGIN, webHarness, type WebHarness } from './harness.js';

const EXPECTED_CSP =
  "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';font-src 'self';manifest-src 'self';base-uri 'none';form-action 'self';frame-ancestors 'none'";

function testRoutes(app: FastifyInstance): void {
  app.post<{ Body: { value: unknown } }>(
    '/api/test/echo',
    {
      config: { cabinetAccess: { roles: ['technician'] } },
      schema: {
        body: { type: 'object', required: ['value'], additionalProperties: false, properties: { value: {} } },
      },
    },
    async (request) => ({ value: request.body.value }),
  );
  app.get('/api/test/fail', { config: { cabinetAccess: { roles: ['technician'] } } }, async () => {
    throw new Error('SQLITE_CORRUPT at /var/lib/kerbside/kerbside.db');
  });
  app.get('/api/test/big', { config: { cabinetAccess: { roles: ['technician'] } } }, async () => ({
    rows: Array.from({ length: 400 }, (_, i) => ({ index: i, name: `point-${i}`, value: i * 1.5 })),
  }));
}

function assertSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  assert.equal(headers['content-security-policy'], EXPECTED_CSP, what);
  assert.equal(headers['referrer-policy'], 'no-referrer', what);
  assert.equal(headers['x-content-type-options'], 'nosniff', what);
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin', what);
  assert.equal(headers['cross-origin-resource-policy'], 'same-origin', what);
  assert.equal(headers['permissions-policy'], 'camera=(), microphone=(), geolocation=()', what);
  assert.equal(headers['x-frame-options'], 'DENY', what);
}

describe('gateway/web app', () => {
  let h: WebHarness;
  let tech = '';

  before(async () => {
    h = await webHarness({ registerRoutes: testRoutes });
    await h.addUser('tech.li', 'technician', PASSWORDS.tech);
    tech = await h.login('tech.li', PASSWORDS.tech);
  });
  after(async () => h.close());

  it('sends the security headers and the strict CSP on the page, API answers and refusals', async () => {
    const page = await h.inject({ method: 'GET', url: '/' });
    assertSecurityHeaders(page.headers, 'the page');
    const api = await h.inject({ method: 'GET', url: '/api/session', headers: { cookie: tech } });
    assert.equal(api.statusCode, 200);
    assertSecurityHeaders(api.headers, 'an API answer');
    assert.equal(api.headers['cache-control'], 'no-store');
    const refused = await h.inject({ method: 'GET', url: '/api/session' });
    assert.equal(refused.statusCode, 401);
    assertSecurityHeaders(refused.headers, 'a 401');
    const missing = await h.inject({ method: 'GET', url: '/nothing/here' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ error: string }>().error, 'WEB_NOT_FOUND');
    assertSecurityHeaders(missing.headers, 'a 404');
    assert.equal(page.headers['strict-transport-security'], undefined, 'no HSTS on plain HTTP');
  });

  it('refuses a body over 16 KiB with 413 before the route runs', async () => {
    const value = 'x'.repeat(BODY_LIMIT);
    const response = await h.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { ...SAME_ORIGIN, cookie: tech, 'content-type': 'application/json' },
      payload: JSON.stringify({ value }),
    });
    assert.equal(response.statusCode, 413);
    assert.equal(response.json<{ error: string }>().error, 'WEB_BODY_TOO_LARGE');
  });

  it('refuses deep JSON with 400 before it is parsed, and takes nesting within the limit', async () => {
    const deep = `{"value":${'['.repeat(7_000)}${']'.repeat(7_000)}}`; // 14 kB, within the body limit
    const response = await h.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { ...SAME_ORIGIN, cookie: tech, 'content-type': 'application/json' },
      payload: deep,
    });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json<{ error: string }>().error, 'WEB_BODY_TOO_DEEP');
    const fine = `{"value":${'['.repeat(MAX_BODY_DEPTH - 1)}${']'.repeat(MAX_BODY_DEPTH - 1)}}`;
    const ok = await h.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { ...SAME_ORIGIN, cookie: tech, 'content-type': 'application/json' },
      payload: fine,
    });
    assert.equal(ok.statusCode, 200);
  });

  it('answers malformed JSON, other media types, unknown fields and parameters with a 4xx and issues', async () => {
    const malformed = await h.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { ...SAME_ORIGIN, cookie: tech, 'content-type': 'application/json' },
      payload: '{"value":',
    });
    assert.equal(malformed.json<{ error: string }>().error, 'WEB_BODY_MALFORMED');
    const form = await h.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { ...SAME_ORIGIN, cookie: tech, 'content-type': 'text/plain' },
      payload: '{"value":1}',
    });
    assert.equal(form.statusCode, 415);
    assert.equal(form.json<{ error: string }>().error, 'WEB_UNSUPPORTED_MEDIA_TYPE');
    const unknown = await h.inject({
      method: 'POST',
      url: '/api/test/echo',
      headers: { ...SAME_ORIGIN, cookie: tech },
      payload: { value: 1, extra: true },
    });
    assert.equal(unknown.statusCode, 400);
    assert.deepEqual(unknown.json(), {
      error: 'WEB_REQUEST_INVALID',
      message: 'the request body is invalid: /extra is not a field of this request',
      issues: [{ pointer: '/extra', message: 'is not a field of this request' }],
    });
    const param = await h.inject({ method: 'GET', url: '/api/session?debug=1', headers: { cookie: tech } });
    assert.equal(param.statusCode, 400);
    assert.equal(param.json<{ issues: Array<{ pointer: string }> }>().issues[0]?.pointer, '/debug');
  });

  it('answers an unexpected failure 500 with a request id and no internals', async () => {
    const response = await h.inject({ method: 'GET', url: '/api/test/fail', headers: { cookie: tech } });
    assert.equal(response.statusCode, 500);
    const body = response.json<{ error: string; message: string; requestId: string }>();
    assert.equal(body.error, 'WEB_INTERNAL');
    assert.ok(body.requestId.length > 0);
    assert.ok(!response.body.includes('SQLITE') && !response.body.includes('/var/lib'), response.body);
  });

  it('compresses API answers for a client that accepts it', async () => {
    const response = await h.inject({
      method: 'GET',
      url: '/api/test/big',
      headers: { cookie: tech, 'accept-encoding': 'br, gzip' },
    });
    assert.equal(response.headers['content-encoding'], 'br');
    const rows = (
      JSON.parse(brotliDecompressSync(response.rawPayload).toString('utf8')) as { rows: unknown[] }
    ).rows;
    assert.equal(rows.length, 400);
  });

  it('serves the OpenAPI document to a signed-in user only, with each route’s access', async () => {
    assert.equal((await h.inject({ method: 'GET', url: '/api/openapi.json' })).statusCode, 401);
    const response = await h.inject({ method: 'GET', url: '/api/openapi.json', headers: { cookie: tech } });
    assert.equal(response.statusCode, 200);
    const doc = response.json<{
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>();
    assert.equal(doc.openapi, '3.0.3');
    assert.equal(doc.paths['/api/login']?.['post']?.['x-kerbside-access'], 'public');
    assert.deepEqual(doc.paths['/api/users']?.['get']?.['x-kerbside-roles'], ['admin']);
    assert.deepEqual(doc.paths['/api/users']?.['get']?.['security'], [{ cabinetSession: [] }]);
    assert.ok(doc.paths['/api/test/echo'], 'routes from registerRoutes are described too');
    assert.equal(doc.paths['/assets/{name}'], undefined, 'the page and assets are not API');
  });
});
