/**
 * Every route of the running cloud service refuses anonymous callers (401) and callers without one
 * of its roles (403) (issue 5, "API"). The routes are read from the service's own OpenAPI document,
 * so a route added later is covered without editing this test; a hand-written table of the
 * workflow's key routes checks that their declared roles are the right ones, so a route declared
 * too open fails here too.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ROLES, type Role } from '../../../../cloud-sync/service/auth/roles.js';
import { startCloudService, type CloudService } from '../../../../cloud-sync/service/service.js';
import { productionDeps } from '../../../../cloud-sync/service/wiring.js';
import { tempDataDir } from '../../../helpers/gateway-harness.js';
import { signIn } from '../auth/harness.js';
import { testConfig } from '../service-helpers.js';
import { SCRAPE_HEADERS } from './harness.js';

interface Operation {
  method: string;
  path: string;
  public: boolean;
  roles: Role[] | 'any';
}

/** Roles the workflow gives each action (docs/domain.md "The case workflow"; issue 5 part 3). */
const EXPECTED: Record<string, Role[]> = {
  'POST /api/v1/cases/{id}/file': ['monitoring'],
  'POST /api/v1/cases/{id}/cancel': ['monitoring'],
  'POST /api/v1/cases/{id}/verify': ['monitoring'],
  'POST /api/v1/cases/{id}/close': ['monitoring'],
  'POST /api/v1/cases/{id}/dispatch': ['dispatcher'],
  'POST /api/v1/cases/{id}/return': ['dispatcher'],
  'POST /api/v1/cases/{id}/extend': ['dispatcher'],
  'POST /api/v1/cases/{id}/suspend': ['dispatcher'],
  'POST /api/v1/cases/{id}/resume': ['dispatcher'],
  'POST /api/v1/cases/{id}/accept': ['owner_unit'],
  'POST /api/v1/cases/{id}/feedback': ['owner_unit'],
  'POST /api/v1/cases/{id}/request-extension': ['owner_unit'],
  'POST /api/v1/cases/{id}/inspect': ['inspector'],
  'POST /api/v1/operators': ['admin'],
  'POST /api/v1/gateways/{gatewayId}/config': ['admin'],
  'PUT /api/v1/components/{componentId}': ['admin'],
};

/**
 * The only routes anyone may call without signing in (the session guard's view: /metrics and the
 * OpenAPI document need the scrape token instead, api/scrape-token.ts).
 */
const PUBLIC = new Set([
  'GET /metrics',
  'GET /healthz',
  'GET /api/v1/openapi.json',
  'POST /api/v1/auth/login',
  'POST /api/v1/enroll',
]);

describe('route access of the whole cloud API', () => {
  let dir: string;
  let cloud: CloudService;
  const headers = new Map<Role, Record<string, string>>();
  const operations: Operation[] = [];

  before(async () => {
    dir = tempDataDir('route-access');
    // The production wiring (wiring.ts), so enrollment and every other route is there.
    cloud = await startCloudService(testConfig(dir), {
      ...productionDeps(pino({ level: 'silent' })),
      processMetrics: false,
    });
    for (const role of ROLES) {
      const signedIn = await signIn(cloud.db, {
        username: `op.${role.replace('_', '-')}`,
        roles: [role],
        ...(role === 'owner_unit' ? { unit: 'water-company' } : {}),
      });
      headers.set(role, signedIn.headers);
    }
    const response = await cloud.http.inject({
      method: 'GET',
      url: '/api/v1/openapi.json',
      headers: SCRAPE_HEADERS,
    });
    assert.equal(response.statusCode, 200);
    const doc = response.json<{
      paths: Record<
        string,
        Record<string, { 'x-kerbside-access'?: string; 'x-kerbside-roles'?: Role[] | 'any' }>
      >;
    }>();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (method === 'head') continue;
        operations.push({
          method: method.toUpperCase(),
          path,
          public: op['x-kerbside-access'] === 'public',
          roles: op['x-kerbside-roles'] ?? [],
        });
      }
    }
  });

  after(async () => {
    await cloud?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A concrete URL for a path template; the guard answers before any handler looks the id up. */
  const urlOf = (path: string): string => path.replace(/\{[^}]+\}/g, 'x0000000000000001');

  it('lists the service routes in its OpenAPI document, only the expected ones public', () => {
    assert.ok(operations.length >= 40, `only ${operations.length} operations documented`);
    const publicOnes = operations.filter((op) => op.public).map((op) => `${op.method} ${op.path}`);
    assert.deepEqual(new Set(publicOnes), PUBLIC);
    for (const key of Object.keys(EXPECTED)) {
      assert.ok(
        operations.some((op) => `${op.method} ${op.path}` === key),
        `${key} is missing from the API`,
      );
    }
  });

  it('answers 401 to an anonymous caller on every non-public route', async () => {
    for (const op of operations.filter((o) => !o.public)) {
      const response = await cloud.http.inject({
        method: op.method as 'GET',
        url: urlOf(op.path),
        payload: {},
      });
      assert.equal(
        response.statusCode,
        401,
        `${op.method} ${op.path} answered ${response.statusCode} anonymously`,
      );
      assert.equal(response.json<{ error: string }>().error, 'AUTH_REQUIRED');
    }
  });

  it('answers 401 to a forged or revoked token', async () => {
    const response = await cloud.http.inject({
      method: 'GET',
      url: '/api/v1/cases',
      headers: { authorization: 'Bearer not-a-real-token' },
    });
    assert.equal(response.statusCode, 401);
  });

  it('answers 403 to every role a route does not name', async () => {
    let checked = 0;
    for (const op of operations.filter((o) => !o.public && o.roles !== 'any')) {
      const allowed = op.roles as Role[];
      for (const role of ROLES.filter((r) => !allowed.includes(r))) {
        const response = await cloud.http.inject({
          method: op.method as 'GET',
          url: urlOf(op.path),
          headers: headers.get(role),
          payload: {},
        });
        assert.equal(
          response.statusCode,
          403,
          `${op.method} ${op.path} let ${role} through (${response.statusCode})`,
        );
        checked++;
      }
    }
    assert.ok(checked >= 60, `only ${checked} refusals checked`);
  });

  it('gives each workflow action exactly the roles of the city-management cycle', () => {
    for (const [key, roles] of Object.entries(EXPECTED)) {
      const op = operations.find((o) => `${o.method} ${o.path}` === key);
      assert.deepEqual(op?.roles, roles, key);
    }
  });

  it('records the denials in the audit trail', async () => {
    const rows = await cloud.db
      .selectFrom('admin_audit')
      .select(['actor', 'outcome', 'action'])
      .where('outcome', '=', 'denied')
      .execute();
    assert.ok(rows.some((r) => r.actor === 'anonymous'));
    assert.ok(rows.some((r) => r.actor === 'op.inspector' && r.action === 'POST /api/v1/cases/:id/dispatch'));
  });
});
