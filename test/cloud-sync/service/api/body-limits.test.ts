/**
 * Request bodies at the API's edge (issue 12, finding 5): a limit per route (8 KiB for sign-in,
 * 1 MiB for a configuration document, 64 KiB elsewhere: http.ts BODY_LIMITS) and a depth limit
 * before any parse or validation (api/json-body.ts). The attack of the issue, a 20 000-deep
 * configuration document, and the same depth at other routes, must be a clean 400 naming the
 * problem, never a 500 or a stack overflow. The real API assembly (harness.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { MAX_BODY_DEPTH, jsonDepth } from '../../../../cloud-sync/service/api/json-body.js';
import { BODY_LIMITS } from '../../../../cloud-sync/service/http.js';
import { openTempDb, signIn, type SignedIn, type TempDb } from '../auth/harness.js';
import { enrollGateway, GW } from '../downlink/helpers.js';
import { buildTestApi } from './harness.js';

/** `{"a":{"a":...1...}}`, `depth` objects deep. */
function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

describe('request body limits', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  let admin: SignedIn;
  let dispatcher: SignedIn;
  let monitor: SignedIn;

  before(async () => {
    temp = await openTempDb();
    await enrollGateway(temp.db, GW);
    app = await buildTestApi(temp.db);
    admin = await signIn(temp.db, { username: 'admin.li', roles: ['admin'] });
    dispatcher = await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher'] });
    monitor = await signIn(temp.db, { username: 'mon.zhou', roles: ['monitoring'] });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await temp.close();
  });

  function post(url: string, payload: string, who?: SignedIn): Promise<LightMyRequestResponse> {
    return app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...(who === undefined ? {} : who.headers) },
      payload,
    });
  }

  it('counts nesting without recursion, ignoring brackets inside strings', () => {
    assert.equal(jsonDepth('{"a":[1,{"b":"[[[{{{"}]}'), 3);
    assert.equal(jsonDepth('"\\"[["'), 0);
    assert.equal(jsonDepth(deepObject(100_000), MAX_BODY_DEPTH), MAX_BODY_DEPTH + 1, 'stops past the limit');
  });

  it('answers a 20 000-deep configuration document, and such bodies elsewhere, 400 API_BODY_TOO_DEEP', async () => {
    // As deep as each route's body limit allows (5 bytes a level): the depth, not the size, refuses.
    const attempts: Array<[string, string, SignedIn | undefined]> = [
      [`/api/v1/gateways/${GW}/config`, `{"document":{"alarms":${deepObject(20_000)}}}`, admin],
      [`/api/v1/gateways/${GW}/config`, `{"document":${'['.repeat(20_000)}${']'.repeat(20_000)}}`, admin],
      [
        `/api/v1/gateways/${GW}/commands`,
        `{"action":"lamp.switch","target":"lamp_01","params":${deepObject(10_000)}}`,
        dispatcher,
      ],
      ['/api/v1/auth/login', `{"username":${deepObject(1_000)},"password":"x"}`, undefined],
      ['/api/v1/cases', `{"note":${deepObject(10_000)}}`, monitor],
    ];
    for (const [url, payload, who] of attempts) {
      const response = await post(url, payload, who);
      assert.equal(response.statusCode, 400, `${url}: ${response.body.slice(0, 200)}`);
      assert.deepEqual(response.json(), {
        error: 'API_BODY_TOO_DEEP',
        message: `the request body nests objects and arrays deeper than ${MAX_BODY_DEPTH} levels`,
      });
    }
    // A document of ordinary depth still reaches the route's own checks.
    const shallow = await post(`/api/v1/gateways/${GW}/config`, '{"document":{"alarms":{"a":{}}}}', admin);
    assert.notEqual(shallow.json<{ error?: string }>().error, 'API_BODY_TOO_DEEP', shallow.body);
  });

  it('refuses an oversized sign-in with 413 before reading it, and takes a large configuration document', async () => {
    const password = 'x'.repeat(BODY_LIMITS.credentials);
    const login = await post('/api/v1/auth/login', JSON.stringify({ username: 'admin.li', password }));
    assert.equal(login.statusCode, 413, login.body);
    assert.equal(login.json<{ error: string }>().error, 'API_BODY_TOO_LARGE');
    // Elsewhere 64 KiB: a case note of 70 000 characters is refused by size, not by its schema.
    const note = await post('/api/v1/cases', JSON.stringify({ note: 'n'.repeat(70_000) }), monitor);
    assert.equal(note.statusCode, 413, note.body);
    // A configuration document of 200 KiB passes the size limit and meets the document's checks.
    const big = {
      alarms: { 'gas-1': { h2s: { levels: [{ setpoint: 10 }] } } },
      padding: 'p'.repeat(200_000),
    };
    const document = await post(`/api/v1/gateways/${GW}/config`, JSON.stringify({ document: big }), admin);
    assert.notEqual(document.statusCode, 413, document.body.slice(0, 200));
    assert.ok(document.statusCode < 500, document.body.slice(0, 200));
  });
});
