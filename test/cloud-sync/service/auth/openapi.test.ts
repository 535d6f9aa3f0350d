/**
 * The OpenAPI document (auth/openapi.ts) lists every route of the assembled HTTP app (health,
 * metrics, enrollment, auth, accounts, audit, the document itself) with its schemas and its
 * access rule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../../../cloud-sync/service/api/build.js';
import { registerOpenApi } from '../../../../cloud-sync/service/auth/openapi.js';
import { newKeyFile, signerOf } from '../../../../cloud-sync/service/downlink/signing-key.js';
import { CredentialKey } from '../../../../cloud-sync/service/secrets/credential-key.js';
import { SCRAPE_HEADERS, testApiDeps, testHttpApp } from '../api/harness.js';
import { MemoryLogger, openTempDb, type TempDb } from './harness.js';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  requestBody?: unknown;
  parameters?: { in: string; name: string }[];
  security?: unknown;
  'x-kerbside-access'?: string;
  'x-kerbside-roles'?: string[];
}

describe('OpenAPI document', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  const routes: { method: string; url: string; access: unknown }[] = [];

  before(async () => {
    temp = await openTempDb();
    app = testHttpApp();
    // onRoute hooks are added at once: this one sees every route registered from here on.
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') routes.push({ method, url: route.url, access: route.config?.access });
      }
    });
    await registerOpenApi(app); // a second registration (buildHttpApp did one) is a no-op
    const enrollment = {
      mqttUrl: 'mqtts://mqtt.test.invalid:8883',
      caBundle: null,
      downlinkKeys: signerOf(newKeyFile()).publicKeys(),
      credentialKey: CredentialKey.generate(),
    };
    await buildApi(app, testApiDeps(temp.db, { authLogger: new MemoryLogger(), enrollment }));
    await app.ready();
  });

  after(async () => {
    await app.close();
    await temp.close();
  });

  it('is served with the scrape token, OpenAPI 3.0.3, with a bearer security scheme', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/openapi.json',
      headers: SCRAPE_HEADERS,
    });
    assert.equal(response.statusCode, 200);
    const doc = response.json();
    assert.equal(doc.openapi, '3.0.3');
    assert.equal(doc.info.title, 'Kerbside cloud API');
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, {
      type: 'http',
      scheme: 'bearer',
      description: 'session token',
    });
  });

  it('lists every route with its response schema, body, parameters and access rule', async () => {
    const doc = (
      await app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: SCRAPE_HEADERS })
    ).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    const expected = [
      'GET /metrics',
      'GET /healthz',
      'GET /api/v1/openapi.json',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/logout',
      'GET /api/v1/auth/me',
      'POST /api/v1/auth/password',
      'GET /api/v1/operators',
      'POST /api/v1/operators',
      'PATCH /api/v1/operators/:username',
      'POST /api/v1/operators/:username/reset-password',
      'GET /api/v1/audit',
      'POST /api/v1/enroll',
    ];
    // Routes registered after this test's hook; /metrics and /healthz came before it.
    const seen = routes.map((r) => `${r.method} ${r.url}`);
    for (const route of expected.slice(2)) assert.ok(seen.includes(route), `${route} registered`);
    for (const route of new Set([...expected, ...seen])) {
      const [method = '', url = ''] = route.split(' ');
      const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const operation = doc.paths[path]?.[method.toLowerCase()];
      assert.ok(operation !== undefined, `${route} is in the document`);
      const success = operation.responses['200'] ?? operation.responses['201'];
      assert.ok(success !== undefined, `${route} documents its success answer`);
      const access = operation['x-kerbside-access'];
      assert.ok(access === 'public' || access === 'any' || access === 'roles', `${route} states its access`);
      assert.ok(Array.isArray(operation['x-kerbside-roles']), `${route} lists its roles`);
      if (access === 'public') {
        assert.equal(operation.security, undefined, route);
      } else {
        assert.deepEqual(operation.security, [{ bearerAuth: [] }], route);
        assert.ok(
          operation.responses['401'] !== undefined && operation.responses['403'] !== undefined,
          route,
        );
      }
    }

    const login = doc.paths['/api/v1/auth/login']?.post;
    assert.equal(login?.['x-kerbside-access'], 'public');
    assert.ok(login?.requestBody !== undefined);
    assert.ok(login?.responses['429'] !== undefined);
    const patch = doc.paths['/api/v1/operators/{username}']?.patch;
    assert.deepEqual(patch?.['x-kerbside-roles'], ['admin']);
    assert.deepEqual(
      patch?.parameters?.map((p) => [p.in, p.name]),
      [['path', 'username']],
    );
    const me = doc.paths['/api/v1/auth/me']?.get;
    assert.equal(me?.['x-kerbside-access'], 'any');
    assert.deepEqual(me?.['x-kerbside-roles'], [
      'monitoring',
      'dispatcher',
      'owner_unit',
      'inspector',
      'admin',
    ]);
    const audit = doc.paths['/api/v1/audit']?.get;
    assert.deepEqual(audit?.parameters?.map((p) => p.name).sort(), [
      'actor',
      'from',
      'limit',
      'target',
      'to',
    ]);
    const schema = JSON.stringify(doc.paths['/api/v1/operators']?.get?.responses['200']?.content);
    assert.match(schema, /"displayName"/);
  });

  it('keeps health public next to the guarded API; metrics and this document need the scrape token', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/metrics', headers: SCRAPE_HEADERS })).statusCode,
      200,
    );
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/operators' })).statusCode, 401);
  });
});
