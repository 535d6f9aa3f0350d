/**
 * Request rules of the whole cloud API (issue 9 part 5, cloud-sync/service/http.ts): a query
 * parameter or body field a route does not declare is refused with 400 naming it, never silently
 * dropped (`GET /api/v1/cases?stat=open` is not the case list), and a body is taken as sent: a
 * string where the schema asks for an integer or a boolean is refused, not coerced (issue 11). The
 * routes are read from the service's own OpenAPI document, so a route added later is covered
 * without editing this test. Also
 * the paths people are given work in full: the OpenAPI document and sign-in, and a case by the number
 * printed in logs and messages.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { ROLES, type Role } from '../../../../cloud-sync/service/auth/roles.js';
import { startCloudService, type CloudService } from '../../../../cloud-sync/service/service.js';
import { productionDeps } from '../../../../cloud-sync/service/wiring.js';
import { tempDataDir } from '../../../helpers/gateway-harness.js';
import { signIn, TEST_PASSWORD } from '../auth/harness.js';
import { testConfig } from '../service-helpers.js';
import { SCRAPE_HEADERS } from './harness.js';

interface JsonSchemaDoc {
  type?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  minProperties?: number;
  required?: string[];
  additionalProperties?: unknown;
  properties?: Record<string, unknown>;
  oneOf?: JsonSchemaDoc[];
  discriminator?: { propertyName: string };
}

interface OperationDoc {
  'x-kerbside-access'?: string;
  'x-kerbside-roles'?: Role[];
  parameters?: Array<{ in: string; name: string; required?: boolean; schema: JsonSchemaDoc }>;
  requestBody?: { content: Record<string, { schema: JsonSchemaDoc }> };
  responses?: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

interface Operation {
  method: string;
  path: string;
  op: OperationDoc;
}

interface ErrorAnswer {
  error?: string;
  message: string;
  issues?: Array<{ pointer: string; message: string }>;
}

const UNKNOWN = 'unknownParam';

/** A concrete URL for a path template; every path parameter schema of the API admits this value. */
const urlOf = (path: string): string => path.replace(/\{[^}]+\}/g, 'x0000000000000001');

/** A value of a required query parameter that its schema admits (kpis needs from and to). */
function sampleOf(schema: JsonSchemaDoc): string {
  if (schema.enum !== undefined) return String(schema.enum[0]);
  if (schema.format === 'date-time') return '2026-01-01T00:00:00.000Z';
  if (schema.type === 'integer' || schema.type === 'number') return String(schema.minimum ?? 1);
  if (schema.type === 'boolean') return 'true';
  return 'x';
}

/** The URL of an operation with its required query parameters and `unknownParam=1`. */
function urlWithUnknown(path: string, op: OperationDoc): string {
  const query = new URLSearchParams();
  for (const parameter of op.parameters ?? []) {
    if (parameter.in === 'query' && parameter.required === true) {
      query.set(parameter.name, sampleOf(parameter.schema));
    }
  }
  query.set(UNKNOWN, '1');
  return `${urlOf(path)}?${query.toString()}`;
}

/** The documented body schema of an operation, if it has one. */
function bodySchemaOf(op: OperationDoc): JsonSchemaDoc | undefined {
  return op.requestBody?.content['application/json']?.schema;
}

/** Whether an empty body passes `schema` (or there is none). */
function emptyBodyFits(schema: JsonSchemaDoc | undefined): boolean {
  return (
    schema === undefined ||
    (schema.oneOf === undefined && (schema.required ?? []).length === 0 && (schema.minProperties ?? 0) === 0)
  );
}

/**
 * The fields a body needs to be read at all: for a `oneOf` with a discriminator, the tag of its first
 * branch (without it the body fails the discriminator before any branch looks at its fields).
 */
function tagOf(schema: JsonSchemaDoc): Record<string, unknown> {
  const tag = schema.discriminator?.propertyName;
  const first = schema.oneOf?.[0];
  if (tag === undefined || first === undefined) return {};
  const property = first.properties?.[tag] as JsonSchemaDoc | undefined;
  return { [tag]: property?.enum?.[0] };
}

/** The top-level integer, number and boolean fields of a body (of its first branch for a `oneOf`). */
function scalarFieldsOf(schema: JsonSchemaDoc): Array<{ name: string; type: string }> {
  const branch = schema.oneOf?.[0] ?? schema;
  return Object.entries(branch.properties ?? {}).flatMap(([name, property]) => {
    const type = (property as JsonSchemaDoc).type;
    return type === 'integer' || type === 'number' || type === 'boolean' ? [{ name, type }] : [];
  });
}

describe('request rules of the whole cloud API', () => {
  let dir: string;
  let cloud: CloudService;
  /** Sessions for the GET walk and the explicit checks. */
  const headers = new Map<Role, Record<string, string>>();
  /** Separate sessions for the walk over changing routes (a logout must not end the ones above). */
  const writeHeaders = new Map<Role, Record<string, string>>();
  const operations: Operation[] = [];

  before(async () => {
    dir = tempDataDir('request-rules');
    cloud = await startCloudService(testConfig(dir), {
      ...productionDeps(pino({ level: 'silent' })),
      processMetrics: false,
    });
    for (const role of ROLES) {
      const unit = role === 'owner_unit' ? { unit: 'water-company' } : {};
      const name = role.replace('_', '-');
      headers.set(role, (await signIn(cloud.db, { username: `op.${name}`, roles: [role], ...unit })).headers);
      writeHeaders.set(
        role,
        (await signIn(cloud.db, { username: `writer.${name}`, roles: [role], ...unit })).headers,
      );
    }
    const response = await cloud.http.inject({
      method: 'GET',
      url: '/api/v1/openapi.json',
      headers: SCRAPE_HEADERS,
    });
    assert.equal(response.statusCode, 200);
    const doc = response.json<{ paths: Record<string, Record<string, OperationDoc>> }>();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (method === 'head' || !path.startsWith('/api/')) continue;
        operations.push({ method: method.toUpperCase(), path, op });
      }
    }
  });

  after(async () => {
    await cloud?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The headers of a role the operation admits (none for a public one). */
  function callerOf(op: OperationDoc, sessions: Map<Role, Record<string, string>>): Record<string, string> {
    // The scrape token is no session: a public operation is called with it (it opens /metrics and
    // the OpenAPI document, and the others ignore it).
    if (op['x-kerbside-access'] === 'public') return { ...SCRAPE_HEADERS };
    const role = op['x-kerbside-roles']?.[0];
    assert.ok(role !== undefined, 'a guarded operation names its roles');
    return sessions.get(role) ?? {};
  }

  /** Asserts a 400 that names the unknown parameter (in its issues when the answer has them). */
  function assertNamesUnknown(what: string, status: number, answer: ErrorAnswer): void {
    assert.equal(status, 400, `${what} answered ${status}: ${JSON.stringify(answer).slice(0, 200)}`);
    assert.match(answer.message, new RegExp(`/${UNKNOWN}\\b`), `${what}: the message names it`);
    if (answer.issues !== undefined) {
      assert.deepEqual(
        answer.issues.map((issue) => issue.pointer),
        [`/${UNKNOWN}`],
        `${what}: the issue points at it`,
      );
    }
  }

  it('refuses an unknown query parameter on every GET route, naming it', async () => {
    const gets = operations.filter((o) => o.method === 'GET');
    assert.ok(gets.length >= 15, `only ${gets.length} GET operations documented`);
    for (const { path, op } of gets) {
      const response = await cloud.http.inject({
        method: 'GET',
        url: urlWithUnknown(path, op),
        headers: callerOf(op, headers),
      });
      assertNamesUnknown(`GET ${path}?${UNKNOWN}=1`, response.statusCode, response.json<ErrorAnswer>());
    }
  });

  it('refuses an unknown query parameter on every changing route that needs no body field', async () => {
    let checked = 0;
    for (const { method, path, op } of operations.filter((o) => o.method !== 'GET')) {
      const schema = bodySchemaOf(op);
      if (!emptyBodyFits(schema)) continue;
      const response = await cloud.http.inject({
        method: method as 'POST',
        url: urlWithUnknown(path, op),
        headers: callerOf(op, writeHeaders),
        ...(schema === undefined ? {} : { payload: {} }),
      });
      assertNamesUnknown(`${method} ${path}?${UNKNOWN}=1`, response.statusCode, response.json<ErrorAnswer>());
      checked++;
    }
    // logout, reset-password, DELETE component, and the case actions without fields
    assert.ok(checked >= 8, `only ${checked} changing operations checked`);
  });

  it('refuses GET /api/v1/cases?stat=open (a typo of state) instead of listing every case', async () => {
    const typo = await cloud.http.inject({
      method: 'GET',
      url: '/api/v1/cases?stat=open',
      headers: headers.get('dispatcher'),
    });
    assert.equal(typo.statusCode, 400);
    assert.deepEqual(typo.json(), {
      error: 'REQUEST_INVALID',
      message: 'the request querystring is invalid: /stat is not a parameter of this route',
      issues: [{ pointer: '/stat', message: 'is not a parameter of this route' }],
    });
    const declared = await cloud.http.inject({
      method: 'GET',
      url: '/api/v1/cases?state=reported&limit=5',
      headers: headers.get('dispatcher'),
    });
    assert.equal(declared.statusCode, 200, declared.body);
  });

  it('documents a closed body on every changing route', () => {
    let bodies = 0;
    for (const { method, path, op } of operations.filter((o) => o.method !== 'GET')) {
      const schema = bodySchemaOf(op);
      if (schema === undefined) continue;
      bodies++;
      for (const branch of schema.oneOf ?? [schema]) {
        assert.equal(branch.type, 'object', `${method} ${path}`);
        assert.equal(branch.additionalProperties, false, `${method} ${path} takes any field`);
      }
    }
    assert.ok(bodies >= 20, `only ${bodies} bodies documented`);
  });

  it('refuses an unknown body field instead of dropping it (cases, operators)', async () => {
    const opened = await cloud.http.inject({
      method: 'POST',
      url: '/api/v1/cases',
      headers: headers.get('monitoring'),
      payload: { gatewayId: 'gw-1', deviceId: 'lamp-9', category: 'lamp', severity: 'normal', notes: 'x' },
    });
    assert.equal(opened.statusCode, 400, opened.body);
    assert.deepEqual(opened.json<ErrorAnswer>().issues, [
      { pointer: '/notes', message: 'is not a field of this request' },
    ]);
    assert.equal((await cloud.db.selectFrom('cases').select('id').execute()).length, 0, 'no case was opened');

    const patched = await cloud.http.inject({
      method: 'PATCH',
      url: '/api/v1/operators/op.inspector',
      headers: headers.get('admin'),
      payload: { displayName: 'Ines', disable: true },
    });
    assert.equal(patched.statusCode, 400, patched.body);
    assert.equal(patched.json<ErrorAnswer>().error, 'REQUEST_INVALID');
    assert.match(patched.json<ErrorAnswer>().message, /\/disable is not a field of this request/);
    assert.deepEqual(patched.json<ErrorAnswer>().issues, [
      { pointer: '/disable', message: 'is not a field of this request' },
    ]);
  });

  it('refuses an unknown body field on every route with a body, naming it', async () => {
    let checked = 0;
    for (const { method, path, op } of operations) {
      const schema = bodySchemaOf(op);
      if (schema === undefined) continue;
      const response = await cloud.http.inject({
        method: method as 'POST',
        url: urlOf(path),
        headers: callerOf(op, writeHeaders),
        payload: { ...tagOf(schema), [UNKNOWN]: 1 },
      });
      const what = `${method} ${path} {${UNKNOWN}}`;
      const answer = response.json<ErrorAnswer>();
      assert.equal(response.statusCode, 400, `${what} answered ${response.statusCode}: ${response.body}`);
      assert.equal(answer.error, 'REQUEST_INVALID', what);
      assert.match(answer.message, new RegExp(`/${UNKNOWN} is not a field of this request`), what);
      assert.ok(
        answer.issues?.some(
          (i) => i.pointer === `/${UNKNOWN}` && i.message === 'is not a field of this request',
        ),
        `${what}: an issue points at it: ${JSON.stringify(answer.issues)}`,
      );
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} bodies checked`);
  });

  it('refuses a string for an integer, number or boolean body field instead of coercing it', async () => {
    let checked = 0;
    for (const { method, path, op } of operations) {
      const schema = bodySchemaOf(op);
      if (schema === undefined) continue;
      for (const { name, type } of scalarFieldsOf(schema)) {
        const response: LightMyRequestResponse = await cloud.http.inject({
          method: method as 'POST',
          url: urlOf(path),
          headers: callerOf(op, writeHeaders),
          payload: { ...tagOf(schema), [name]: type === 'boolean' ? 'true' : '5' },
        });
        const what = `${method} ${path} {${name}: string}`;
        const answer = response.json<ErrorAnswer>();
        assert.equal(response.statusCode, 400, `${what} answered ${response.statusCode}: ${response.body}`);
        assert.equal(answer.error, 'REQUEST_INVALID', what);
        assert.ok(
          answer.issues?.some(
            (i) =>
              // `a number or null` for a nullable field (OpenAPI 3.0 shows it as `nullable`)
              i.pointer === `/${name}` && new RegExp(`^must be an? ${type}\\b`).test(i.message),
          ),
          `${what}: an issue points at it: ${JSON.stringify(answer.issues)}`,
        );
        checked++;
      }
    }
    // revision and minutes of the case actions, disabled of an operator, ttlS of a command ...
    assert.ok(checked >= 5, `only ${checked} integer, number or boolean body fields checked`);
  });

  it('answers the OpenAPI document and sign-in at their full paths', async () => {
    const doc = await cloud.http.inject({
      method: 'GET',
      url: '/api/v1/openapi.json',
      headers: SCRAPE_HEADERS,
    });
    assert.equal(doc.statusCode, 200);
    assert.equal(doc.json<{ openapi: string }>().openapi, '3.0.3');
    await signIn(cloud.db, { username: 'login.check', roles: ['inspector'] });
    const login = await cloud.http.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'login.check', password: TEST_PASSWORD },
    });
    assert.equal(login.statusCode, 200, login.body);
    const token = login.json<{ token: string }>().token;
    const me = await cloud.http.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(me.json<{ operator: { username: string } }>().operator.username, 'login.check');
  });

  it('documents the case-by-number route like the case-by-id route', () => {
    const byId = operations.find((o) => o.method === 'GET' && o.path === '/api/v1/cases/{id}');
    const byNo = operations.find((o) => o.method === 'GET' && o.path === '/api/v1/cases/by-number/{caseNo}');
    assert.ok(byId !== undefined && byNo !== undefined, 'both routes are documented');
    assert.equal(byNo.op['x-kerbside-access'], byId.op['x-kerbside-access']);
    assert.deepEqual(byNo.op['x-kerbside-roles'], byId.op['x-kerbside-roles']);
    assert.deepEqual(byNo.op.responses?.['200'], byId.op.responses?.['200']);
    assert.deepEqual(
      byNo.op.parameters?.map((p) => [p.in, p.name]),
      [['path', 'caseNo']],
    );
  });
});
