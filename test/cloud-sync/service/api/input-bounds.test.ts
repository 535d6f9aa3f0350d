/**
 * Inputs that used to reach the database or the Date code unchecked and came back as a 500 with
 * internal text (issue 12, finding 5): an offset beyond any list (SQLite refused it with
 * SQLITE_MISMATCH) and a leap second (`23:59:60` passes RFC 3339, then `new Date()` gave "Invalid
 * time value"). Each is now a 400 that names the parameter.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openSqlite, type OpenedDatabase } from '../cases/case-helpers.js';
import { signIn, type SignedIn } from '../auth/harness.js';
import { buildTestApi } from './harness.js';

describe('input bounds of the API', () => {
  let opened: OpenedDatabase;
  let app: FastifyInstance;
  let admin: SignedIn;
  before(async () => {
    opened = await openSqlite();
    app = await buildTestApi(opened.db);
    await app.ready();
    admin = await signIn(opened.db, { username: 'ada', roles: ['admin', 'monitoring'] });
  });
  after(async () => {
    await app.close();
    await opened.close();
  });

  for (const url of ['/api/v1/cases', '/api/v1/components', '/api/v1/dead-letters']) {
    it(`refuses an offset beyond any list on ${url} with 400, and serves a sane one`, async () => {
      const huge = await app.inject({ method: 'GET', url: `${url}?offset=1e30`, headers: admin.headers });
      assert.equal(huge.statusCode, 400, huge.body);
      const answer = huge.json<{ error: string; issues: Array<{ pointer: string }> }>();
      assert.equal(answer.error, 'REQUEST_INVALID');
      assert.deepEqual(
        answer.issues.map((issue) => issue.pointer),
        ['/offset'],
      );
      const sane = await app.inject({ method: 'GET', url: `${url}?offset=10`, headers: admin.headers });
      assert.equal(sane.statusCode, 200, sane.body);
    });
  }

  it('refuses a leap second (which JavaScript dates cannot hold) with 400 naming the field', async () => {
    const leap = await app.inject({
      method: 'GET',
      url: '/api/v1/kpis?from=2016-12-31T23:59:60Z&to=2017-01-02T00:00:00Z',
      headers: admin.headers,
    });
    assert.equal(leap.statusCode, 400, leap.body);
    const answer = leap.json<{ error: string; issues: Array<{ pointer: string }> }>();
    assert.equal(answer.error, 'REQUEST_INVALID');
    assert.deepEqual(
      answer.issues.map((issue) => issue.pointer),
      ['/from'],
    );
  });
});
