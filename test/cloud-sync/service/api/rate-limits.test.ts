/**
 * The HTTP edge's shared state in the database (migration 0008), on both backends the service runs
 * on (SQLite and PostgreSQL, test/helpers/cloud-db.ts): rate-limit counters per key and window,
 * login lockouts per username, and the summary rows of anonymous refusals. Each is hit by
 * concurrent writers (a pool of connections on PostgreSQL), as several instances would; the
 * counts must add up (one upsert each, never read-modify-write).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedRateLimiter } from '../../../../cloud-sync/service/api/rate-limits.js';
import {
  claimLoginAttempt,
  clearLoginFailures,
  lockDurationMs,
  LOGIN_LOCKOUT,
  lockedForS,
} from '../../../../cloud-sync/service/auth/login-limits.js';
import { listAudit, recordAnonymousRefusal } from '../../../../cloud-sync/service/enrollment/audit.js';
import { CLOUD_DB_BACKENDS } from '../../../helpers/cloud-db.js';

const T0 = new Date('2026-12-07T08:00:10.000Z');

describe('the lock schedule', () => {
  it('is free for five failures, then one minute doubling to at most fifteen', () => {
    assert.deepEqual(
      [1, 4, 5, 6, 7, 8, 9, 40].map((n) => lockDurationMs(n) / 60_000),
      [0, 0, 1, 2, 4, 8, 15, 15],
    );
  });
});

for (const backend of CLOUD_DB_BACKENDS) {
  describe(`edge limits on ${backend.name}`, () => {
    it('counts concurrent hits of one key by two limiters in one window, and starts again in the next', async () => {
      const opened = await backend.open();
      try {
        let now = T0;
        const a = new SharedRateLimiter(opened.db, () => now);
        const b = new SharedRateLimiter(opened.db, () => now);
        const rule = { max: 10, windowMs: 60_000 };
        const hits = await Promise.all(
          Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).hit('login:192.0.2.7', rule)),
        );
        assert.deepEqual(
          hits.map((hit) => hit.count).sort((x, y) => x - y),
          Array.from({ length: 12 }, (_, i) => i + 1),
          'no hit lost',
        );
        assert.equal(hits.filter((hit) => !hit.allowed).length, 2);
        assert.equal(hits[0]?.retryAfterS, 50, 'until the window ends');
        assert.equal((await a.hit('login:192.0.2.8', rule)).count, 1, 'another key, its own count');
        now = new Date(T0.getTime() + 60_000);
        assert.deepEqual(await b.hit('login:192.0.2.7', rule), { allowed: true, count: 1, retryAfterS: 50 });
      } finally {
        await opened.close();
      }
    });

    it('lets exactly five of twelve concurrent attempts through, locks the username, counts names that are no account, and clears on success', async () => {
      const opened = await backend.open();
      try {
        const { db } = opened;
        // Twelve concurrent attempts (a pool of connections on PostgreSQL): exactly the first five
        // are let through to a password check; the rest find the lock, and are not counted (the
        // next lock below stays at two minutes).
        const claims = await Promise.all(
          Array.from({ length: 12 }, () => claimLoginAttempt(db, 'disp.wang', T0)),
        );
        assert.deepEqual(
          [...claims].sort((x, y) => x - y),
          [
            ...Array<number>(LOGIN_LOCKOUT.freeFailures).fill(0),
            ...Array<number>(12 - LOGIN_LOCKOUT.freeFailures).fill(60),
          ],
        );
        assert.equal(await lockedForS(db, 'disp.wang', T0), 60);
        assert.equal(await lockedForS(db, 'disp.wang', new Date(T0.getTime() + 60_000)), 0);
        assert.equal(await lockedForS(db, 'mon.li', T0), 0);
        await claimLoginAttempt(db, 'disp.wang', new Date(T0.getTime() + 61_000));
        assert.equal(await lockedForS(db, 'disp.wang', new Date(T0.getTime() + 61_000)), 120);
        await clearLoginFailures(db, 'disp.wang');
        assert.equal(await lockedForS(db, 'disp.wang', new Date(T0.getTime() + 61_000)), 0);
        // A day without failures forgets the count.
        for (let i = 0; i < 4; i++) await claimLoginAttempt(db, 'nobody.here', T0);
        const later = new Date(T0.getTime() + 25 * 3600_000);
        await claimLoginAttempt(db, 'nobody.here', later);
        assert.equal(await lockedForS(db, 'nobody.here', later), 0, 'the fifth a day later is the first');
      } finally {
        await opened.close();
      }
    });

    it('counts anonymous refusals into one summary row per route, address, status and minute', async () => {
      const opened = await backend.open();
      try {
        const { db } = opened;
        const refusal = { action: 'GET /api/v1/cases', status: 401, source: 'http:192.0.2.7' };
        await Promise.all(Array.from({ length: 50 }, () => recordAnonymousRefusal(db, refusal, T0)));
        await recordAnonymousRefusal(db, { ...refusal, source: 'http:192.0.2.8' }, T0);
        await recordAnonymousRefusal(db, refusal, new Date(T0.getTime() + 60_000));
        const rows = await listAudit(db);
        assert.deepEqual(
          rows.map((row) => [row.at, row.source, row.count, row.outcome]),
          [
            ['2026-12-07T08:00:00.000Z', 'http:192.0.2.7', 50, 'denied'],
            ['2026-12-07T08:00:00.000Z', 'http:192.0.2.8', 1, 'denied'],
            ['2026-12-07T08:01:00.000Z', 'http:192.0.2.7', 1, 'denied'],
          ].sort((x, y) => (x[0] === y[0] ? 0 : String(x[0]) < String(y[0]) ? -1 : 1)),
        );
      } finally {
        await opened.close();
      }
    });
  });
}
