/**
 * The HTTP app's access log (cloud-sync/service/http.ts): one line per request at debug, not
 * fastify's two info lines; an errored or 5xx request at error; no query string in the log;
 * scrapes and probes silent. A real fastify app from buildHttpApp and a real pino logger.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildHttpApp } from '../../../cloud-sync/service/http.js';
import { waitFor } from './service-helpers.js';

type Line = Record<string, unknown>;

/** pino's numbers for the levels asserted here. */
const DEBUG = 20;
const INFO = 30;
const ERROR = 50;

describe('HTTP access log', () => {
  const lines: Line[] = [];
  let app: FastifyInstance;

  before(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Line);
        callback();
      },
    });
    app = buildHttpApp({
      registry: new Registry(),
      health: async () => ({ database: { ok: true }, mqtt: { ok: true } }),
      logger: pino({ level: 'trace' }, destination),
    });
    const query = { type: 'object', properties: { token: { type: 'string' } } } as const;
    app.get(
      '/api/v1/echo',
      { config: { access: { public: true } }, schema: { querystring: query } },
      async () => ({
        ok: true,
      }),
    );
    app.get('/api/v1/broken', { config: { access: { public: true } } }, async () => {
      throw new Error('database unreachable');
    });
    await app.ready();
  });

  after(async () => {
    await app.close();
  });

  /** The lines of the request fastify numbered `reqId`, once its completion line is written. */
  async function linesOf(reqId: string): Promise<Line[]> {
    const completion = (line: Line): boolean =>
      line['reqId'] === reqId && /^request (completed|errored)$/.test(String(line['msg']));
    await waitFor(() => lines.some(completion), 5000, `the completion line of ${reqId}`);
    return lines.filter((line) => line['reqId'] === reqId);
  }

  /** The reqId fastify gave the one request `send` makes. */
  async function request(send: () => Promise<unknown>): Promise<string> {
    const before = new Set(lines.map((line) => line['reqId']));
    await send();
    await waitFor(
      () => lines.some((line) => typeof line['reqId'] === 'string' && !before.has(line['reqId'])),
      5000,
      'a line of the request',
    );
    const found = lines.find((line) => typeof line['reqId'] === 'string' && !before.has(line['reqId']));
    return String(found?.['reqId']);
  }

  it('logs a request as one debug line, nothing at info, and no query string', async () => {
    const reqId = await request(() => app.inject({ method: 'GET', url: '/api/v1/echo?token=s3cret-value' }));
    const ofRequest = await linesOf(reqId);
    assert.deepEqual(
      ofRequest.filter((line) => Number(line['level']) >= INFO),
      [],
      'no access line at info or above',
    );
    const completed = ofRequest.filter((line) => line['msg'] === 'request completed');
    assert.equal(completed.length, 1);
    const [line] = completed;
    assert.equal(line?.['level'], DEBUG);
    assert.equal(line?.['method'], 'GET');
    assert.equal(line?.['url'], '/api/v1/echo');
    assert.equal(line?.['statusCode'], 200);
    assert.equal(typeof line?.['responseTime'], 'number');
    assert.ok(!JSON.stringify(lines).includes('s3cret-value'), 'the query string is not logged');
  });

  it('logs a 5xx request at error', async () => {
    const reqId = await request(() => app.inject({ method: 'GET', url: '/api/v1/broken' }));
    const ofRequest = await linesOf(reqId);
    const completion = ofRequest.find((line) => /^request (completed|errored)$/.test(String(line['msg'])));
    assert.equal(completion?.['level'], ERROR);
    assert.equal(completion?.['statusCode'], 500);
    assert.equal(completion?.['url'], '/api/v1/broken');
  });

  it('logs a refused request (4xx) at debug, with the reason and without a stack', async () => {
    const reqId = await request(() => app.inject({ method: 'GET', url: '/api/v1/echo?stat=open' }));
    const ofRequest = await linesOf(reqId);
    assert.deepEqual(
      ofRequest.filter((line) => Number(line['level']) >= INFO),
      [],
    );
    const refused = ofRequest.find((line) => line['msg'] === 'request refused');
    assert.equal(refused?.['level'], DEBUG);
    assert.match(String(refused?.['error']), /\/stat is not a parameter of this route/);
    assert.ok(!JSON.stringify(ofRequest).includes('"stack"'));
    assert.equal(ofRequest.find((line) => line['msg'] === 'request completed')?.['statusCode'], 400);
  });

  it('logs nothing for a health probe', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    // The probe's would-be line comes before the echo's: once the echo's is there, none came.
    const reqId = await request(() => app.inject({ method: 'GET', url: '/api/v1/echo' }));
    await linesOf(reqId);
    assert.equal(
      lines.filter(
        (line) => line['url'] === '/healthz' || JSON.stringify(line['req'] ?? '').includes('/healthz'),
      ).length,
      0,
    );
  });
});
