/**
 * Anonymous noise in the audit trail (issue 12, finding 6): 3,000 unauthenticated requests in 12 s
 * wrote 3,000 admin_audit rows. Refusals of anonymous callers are now counted into one summary row
 * per route, address, status and minute (enrollment/audit.ts recordAnonymousRefusal); a signed-in
 * operator's refusal stays a row of its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { listAudit } from '../../../../cloud-sync/service/enrollment/audit.js';
import { buildTestApi } from '../api/harness.js';
import { openTempDb, signIn, type TempDb } from './harness.js';

const FLOOD = 600;

describe('anonymous refusals in the audit trail', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  const now = new Date('2026-12-07T08:00:05.000Z');

  before(async () => {
    temp = await openTempDb();
    app = await buildTestApi(temp.db, { now: () => now });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await temp.close();
  });

  it('turns a flood of unauthenticated requests into a few summary rows with counts', async () => {
    const requests: Array<Promise<unknown>> = [];
    for (let i = 0; i < FLOOD; i++) {
      requests.push(
        app.inject({
          method: i % 3 === 0 ? 'POST' : 'GET',
          url: i % 3 === 0 ? '/api/v1/operators' : '/api/v1/cases',
          remoteAddress: i % 2 === 0 ? '192.0.2.7' : '192.0.2.8',
          ...(i % 3 === 0 ? { payload: { username: 'x.y', roles: ['admin'] } } : {}),
        }),
      );
      // In batches, so the test does not hold 600 requests open at once.
      if (requests.length === 100) await Promise.all(requests.splice(0));
    }
    await Promise.all(requests);
    // A signed-in operator's refusal is a row of its own, with its target.
    const dispatcher = await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher'] }, now);
    const forbidden = await app.inject({
      method: 'GET',
      url: '/api/v1/operators',
      headers: dispatcher.headers,
    });
    assert.equal(forbidden.statusCode, 403);

    const rows = await listAudit(temp.db);
    const summaries = rows.filter((row) => row.actor === 'anonymous');
    assert.equal(summaries.length, 4, 'two routes by two addresses, one minute');
    assert.equal(
      summaries.reduce((sum, row) => sum + (row.count ?? 0), 0),
      FLOOD,
      'every refusal counted',
    );
    for (const row of summaries) {
      assert.equal(row.outcome, 'denied');
      assert.equal(row.detail?.['status'], 401);
      assert.match(row.source ?? '', /^http:192\.0\.2\.[78]$/);
    }
    const own = rows.filter((row) => row.actor === 'disp.wang');
    assert.deepEqual(
      own.map((row) => [row.action, row.outcome, row.count]),
      [['GET /api/v1/operators', 'denied', null]],
    );
  });
});
