/**
 * The API's one error handler and one body policy (cloud-sync/service/http.ts, issue 11): every
 * error of every route answers `{error: CODE, message, issues?}`; an area's error with its own
 * status and code, a schema failure 400 REQUEST_INVALID by pointer, fastify's own refusals and an
 * unknown route with an API_ERRORS code, anything else 500 API_INTERNAL with nothing of its text.
 * A body is taken as sent, a query string is coerced. A real app from buildHttpApp, app.inject().
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { KerbsideError, type ErrorCatalogue } from '../../../../cloud-sync/contract/errors.js';
import { API_ERRORS } from '../../../../cloud-sync/service/api/errors.js';
import { AuthError } from '../../../../cloud-sync/service/auth/errors.js';
import { buildHttpApp } from '../../../../cloud-sync/service/http.js';

const TEST_ERRORS = {
  TEST_CONFLICT: { means: 'A refusal of the test route.', status: 409 },
} as const satisfies ErrorCatalogue<string>;

class TestError extends KerbsideError<keyof typeof TEST_ERRORS> {
  constructor(message: string) {
    super(TEST_ERRORS, 'TEST_CONFLICT', message, { issues: [{ pointer: '/n', message: 'is taken' }] });
  }
}

interface Answer {
  error: string;
  message: string;
  issues?: Array<{ pointer: string; message: string }>;
}

const SECRET = 'password=hunter2 at /var/lib/kerbside';

describe('API error answers and body policy', () => {
  const lines: Array<Record<string, unknown>> = [];
  let app: FastifyInstance;

  before(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        callback();
      },
    });
    app = buildHttpApp({
      registry: new Registry(),
      health: async () => ({ database: { ok: true }, mqtt: { ok: true } }),
      logger: pino({ level: 'debug' }, destination),
    });
    const body = {
      type: 'object',
      additionalProperties: false,
      required: ['n'],
      properties: { n: { type: 'integer' }, on: { type: 'boolean' }, note: { type: 'string', default: '-' } },
    } as const;
    const query = { type: 'object', properties: { n: { type: 'integer' } } } as const;
    const access = { access: { public: true } } as const;
    // Answers what it was given, after validation, so the test sees coercion and defaults.
    app.post('/api/v1/echo', { config: access, schema: { body, querystring: query } }, async (request) => ({
      body: request.body,
      query: request.query,
    }));
    app.get('/api/v1/conflict', { config: access }, async () => {
      throw new TestError('n is taken');
    });
    app.get('/api/v1/forbidden', { config: access }, async () => {
      throw new AuthError('AUTH_FORBIDDEN', 'not for you');
    });
    app.get('/api/v1/broken', { config: access }, async () => {
      throw new Error(SECRET);
    });
    app.get('/api/v1/area-fault', { config: access }, async () => {
      throw new AuthError('AUTH_UNGUARDED_ROUTE', `an area's own 5xx: ${SECRET}`);
    });
    await app.ready();
  });

  after(async () => {
    await app.close();
  });

  async function post(payload: string, contentType = 'application/json'): Promise<[number, Answer]> {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/echo',
      headers: { 'content-type': contentType },
      payload,
    });
    return [response.statusCode, response.json<Answer>()];
  }

  it('takes a body as sent (no coercion, unknown fields refused) and fills in defaults', async () => {
    const ok = await app.inject({ method: 'POST', url: '/api/v1/echo?n=7', payload: { n: 5 } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { body: { n: 5, note: '-' }, query: { n: 7 } }, 'query coerced, default set');

    assert.deepEqual(await post(JSON.stringify({ n: '5', on: 'true' })), [
      400,
      {
        error: 'REQUEST_INVALID',
        message: 'the request body is invalid: /n must be an integer; /on must be a boolean',
        issues: [
          { pointer: '/n', message: 'must be an integer' },
          { pointer: '/on', message: 'must be a boolean' },
        ],
      },
    ]);
    assert.deepEqual(await post(JSON.stringify({ n: 5, extra: 1 })), [
      400,
      {
        error: 'REQUEST_INVALID',
        message: 'the request body is invalid: /extra is not a field of this request',
        issues: [{ pointer: '/extra', message: 'is not a field of this request' }],
      },
    ]);
    const query = await app.inject({ method: 'POST', url: '/api/v1/echo?n=x', payload: { n: 5 } });
    assert.equal(query.statusCode, 400);
    assert.deepEqual(query.json<Answer>().issues, [{ pointer: '/n', message: 'must be an integer' }]);
  });

  it("answers fastify's own refusals with a stable code of API_ERRORS", async () => {
    const [malformed, malformedAnswer] = await post('{"n": 5');
    assert.equal(malformed, 400);
    assert.equal(malformedAnswer.error, 'API_BODY_MALFORMED');
    const [empty, emptyAnswer] = await post('');
    assert.equal(empty, 400);
    assert.equal(emptyAnswer.error, 'API_BODY_EMPTY');
    const [media, mediaAnswer] = await post('<n>5</n>', 'application/xml');
    assert.equal(media, 415);
    assert.equal(mediaAnswer.error, 'API_UNSUPPORTED_MEDIA_TYPE');
    // text/plain is what a cross-site form or fetch sends without a CORS preflight: not read.
    const [plain, plainAnswer] = await post('{"n": 5}', 'text/plain');
    assert.equal(plain, 415);
    assert.equal(plainAnswer.error, 'API_UNSUPPORTED_MEDIA_TYPE');
    const [large, largeAnswer] = await post(JSON.stringify({ n: 5, note: 'x'.repeat(70_000) }));
    assert.equal(large, 413);
    assert.equal(largeAnswer.error, 'API_BODY_TOO_LARGE');
    for (const answer of [malformedAnswer, emptyAnswer, mediaAnswer, largeAnswer]) {
      assert.ok(answer.error in API_ERRORS, `${answer.error} is declared`);
      assert.equal(typeof answer.message, 'string');
    }
  });

  it("answers an area's error with its status, code, message and issues", async () => {
    const conflict = await app.inject({ method: 'GET', url: '/api/v1/conflict' });
    assert.equal(conflict.statusCode, 409);
    assert.deepEqual(conflict.json(), {
      error: 'TEST_CONFLICT',
      message: 'n is taken',
      issues: [{ pointer: '/n', message: 'is taken' }],
    });
    const forbidden = await app.inject({ method: 'GET', url: '/api/v1/forbidden' });
    assert.equal(forbidden.statusCode, 403);
    assert.deepEqual(forbidden.json(), { error: 'AUTH_FORBIDDEN', message: 'not for you' });
  });

  it('answers an unknown route 404 API_NOT_FOUND, without its query string', async () => {
    const missing = await app.inject({ method: 'GET', url: '/api/v1/nothing?token=s3cret' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'API_NOT_FOUND', message: 'no route GET /api/v1/nothing' });
  });

  it('answers anything else 500 {error: API_INTERNAL, requestId} and nothing more, its text only in the log, at error', async () => {
    const broken = await app.inject({ method: 'GET', url: '/api/v1/broken' });
    assert.equal(broken.statusCode, 500);
    const answer = broken.json<{ requestId: string }>();
    // Exactly these two keys (issue 12, finding 5): no message, no code of the cause.
    assert.deepEqual(Object.keys(answer).sort(), ['error', 'requestId']);
    assert.deepEqual(answer, { error: 'API_INTERNAL', requestId: answer.requestId });
    assert.ok(!broken.body.includes('hunter2'), 'nothing of the error is in the answer');
    // An area's own 5xx code is internal too: the answer is the API's code, not the area's.
    const area = await app.inject({ method: 'GET', url: '/api/v1/area-fault' });
    assert.equal(area.statusCode, 500);
    const areaAnswer = area.json<{ requestId: string }>();
    assert.deepEqual(areaAnswer, { error: 'API_INTERNAL', requestId: areaAnswer.requestId });
    assert.ok(!area.body.includes('hunter2') && !area.body.includes('AUTH_UNGUARDED_ROUTE'), area.body);
    const logged = lines.find((line) => line['msg'] === 'internal error');
    assert.equal(logged?.['level'], 50);
    assert.match(JSON.stringify(logged?.['err']), /hunter2/);
    // The id in the answer finds the log line that has the rest.
    assert.ok(answer.requestId !== '' && logged?.['reqId'] === answer.requestId, JSON.stringify(logged));
  });
});
