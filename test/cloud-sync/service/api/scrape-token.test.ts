/**
 * GET /metrics and the OpenAPI document behind the scrape token (issue 12, finding 9): both told
 * anyone who reached the API's listener about the fleet and every route. Over a real socket; the
 * token comes from the configuration (KERBSIDE_SCRAPE_TOKEN or http.scrapeTokenFile). Also the
 * start-up warnings about an exposed listener.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { resolveDocument } from '../../../../cloud-sync/service/config.js';
import { startCloudService } from '../../../../cloud-sync/service/service.js';
import { productionDeps } from '../../../../cloud-sync/service/wiring.js';
import { memoryLogger, testConfig } from '../service-helpers.js';
import {
  buildHttpApp,
  isLoopbackHost,
  listenerWarnings,
  listenHttp,
} from '../../../../cloud-sync/service/http.js';
import { TEST_SCRAPE_TOKEN } from './harness.js';

const health = (): Promise<{ database: { ok: boolean }; mqtt: { ok: boolean } }> =>
  Promise.resolve({ database: { ok: true }, mqtt: { ok: true } });

describe('scrape token', () => {
  const apps: FastifyInstance[] = [];
  let guarded = '';
  let unset = '';

  before(async () => {
    const registry = new Registry();
    const withToken = buildHttpApp({ registry, health, scrapeToken: TEST_SCRAPE_TOKEN });
    const withoutToken = buildHttpApp({ registry: new Registry(), health });
    apps.push(withToken, withoutToken);
    guarded = `http://127.0.0.1:${await listenHttp(withToken, '127.0.0.1', 0)}`;
    unset = `http://127.0.0.1:${await listenHttp(withoutToken, '127.0.0.1', 0)}`;
  });
  after(async () => {
    for (const app of apps) await app.close();
  });

  it('answers /metrics and the OpenAPI document 401 without the token or with a wrong one, 200 with it', async () => {
    for (const path of ['/metrics', '/api/v1/openapi.json']) {
      const none = await fetch(`${guarded}${path}`);
      assert.equal(none.status, 401, path);
      assert.equal(((await none.json()) as { error: string }).error, 'API_SCRAPE_TOKEN_REQUIRED');
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
      for (const wrong of [`${TEST_SCRAPE_TOKEN}x`, TEST_SCRAPE_TOKEN.slice(1), 'x']) {
        const refused = await fetch(`${guarded}${path}`, { headers: { authorization: `Bearer ${wrong}` } });
        assert.equal(refused.status, 401, `${path} with a wrong token`);
      }
      const ok = await fetch(`${guarded}${path}`, {
        headers: { authorization: `Bearer ${TEST_SCRAPE_TOKEN}` },
      });
      assert.equal(ok.status, 200, path);
    }
    // Health stays public: a load balancer probes it without credentials.
    assert.equal((await fetch(`${guarded}/healthz`)).status, 200);
  });

  it('refuses both when no token is configured, whatever is sent', async () => {
    for (const path of ['/metrics', '/api/v1/openapi.json']) {
      const response = await fetch(`${unset}${path}`, {
        headers: { authorization: `Bearer ${TEST_SCRAPE_TOKEN}` },
      });
      assert.equal(response.status, 401, path);
      assert.match(((await response.json()) as { message: string }).message, /no scrape token is configured/);
    }
  });

  it('reads the token from KERBSIDE_SCRAPE_TOKEN or http.scrapeTokenFile, and refuses a short one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kerbside-scrape-'));
    try {
      const context = { cwd: dir, fileDir: dir, file: null };
      writeFileSync(join(dir, 'scrape.token'), `${TEST_SCRAPE_TOKEN}\n`, { mode: 0o600 });
      const fromFile = resolveDocument(
        { http: { scrapeTokenFile: 'scrape.token' } },
        { ...context, env: {} },
      );
      assert.equal(fromFile.http.scrapeToken, TEST_SCRAPE_TOKEN);
      const fromEnv = resolveDocument({}, { ...context, env: { KERBSIDE_SCRAPE_TOKEN: 'y'.repeat(32) } });
      assert.equal(fromEnv.http.scrapeToken, 'y'.repeat(32));
      assert.equal(resolveDocument({}, { ...context, env: {} }).http.scrapeToken, null);
      assert.throws(
        () => resolveDocument({}, { ...context, env: { KERBSIDE_SCRAPE_TOKEN: 'short' } }),
        /at least 16 characters/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('listener warnings', () => {
  it('warns of plain HTTP beyond loopback, insecure cookies beyond loopback and a missing scrape token', () => {
    assert.ok(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].every(isLoopbackHost));
    assert.ok(!['0.0.0.0', '::', '192.0.2.7', 'api.city.example'].some(isLoopbackHost));
    const quiet = { host: '127.0.0.1', tls: null, insecureCookies: true, scrapeToken: TEST_SCRAPE_TOKEN };
    assert.deepEqual(listenerWarnings(quiet), []);
    const exposed = listenerWarnings({ ...quiet, host: '0.0.0.0', scrapeToken: null });
    assert.equal(exposed.length, 3, exposed.join('\n'));
    assert.match(exposed[0] ?? '', /listens on 0\.0\.0\.0 without TLS/);
    assert.match(exposed[1] ?? '', /insecureCookies/);
    assert.match(exposed[2] ?? '', /no scrape token/);
    assert.deepEqual(listenerWarnings({ ...quiet, host: '0.0.0.0', tls: {}, insecureCookies: false }), []);
  });

  it('the service logs them at warn when it binds a non-loopback address without TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kerbside-exposed-'));
    const { logger, lines } = memoryLogger();
    const service = await startCloudService(testConfig(dir, { http: { host: '0.0.0.0', port: 0 } }), {
      ...productionDeps(logger),
      processMetrics: false,
    });
    try {
      const warned = lines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((line) => line.level === 40 && /without TLS/.test(line.msg));
      assert.equal(warned.length, 1, lines.join(''));
      assert.match(warned[0]?.msg ?? '', /listens on 0\.0\.0\.0 without TLS/);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
