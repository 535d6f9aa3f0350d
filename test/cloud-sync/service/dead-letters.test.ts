/**
 * One bad event never blocks a lane (issue 9, docs/uplink-contract.md "invalid events"): through
 * the real service (embedded aedes broker, consumer, SQLite) a raw mqtt.js gateway sends, on each
 * lane, a batch with an event that breaks the contract between valid ones. The valid events are
 * committed exactly once, the bad one is kept in dead_letters with its raw body and reasons, the
 * ack moves past it, a resend stores nothing twice, and the next batch goes through. The same holds
 * for an event too deep to serialise (issue 10), which once failed its batch as a database error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Lane } from '../../../cloud-sync/contract/events.js';
import type { EventsBatch } from '../../../cloud-sync/contract/types.js';
import {
  generateSecret,
  hashSecret,
  MemoryCredentialStore,
} from '../../../cloud-sync/service/broker/credentials.js';
import { CredentialKey } from '../../../cloud-sync/service/secrets/credential-key.js';
import { createOperator } from '../../../cloud-sync/service/auth/operators.js';
import { createSession } from '../../../cloud-sync/service/auth/sessions.js';
import { startCloudService, type CloudService } from '../../../cloud-sync/service/service.js';
import {
  EPOCH,
  FakeGateway,
  makeBatch,
  memoryLogger,
  sampleValue,
  scrape,
  testConfig,
  TS,
} from './service-helpers.js';

const GW = 'cab-poison';
const SECRET = generateSecret();

/** The demo's poison (issue 9): a strain statistics event with a fractional periodStartMs. */
function poisonFor(lane: Lane, seq: number): Record<string, unknown> {
  const body =
    lane === 'telemetry'
      ? {
          kind: 'strain_statistics',
          deviceId: 'bridge-1',
          periodStartMs: 1796658000000.0002,
          channels: { strain_1: { min: 1, max: 2, mean: 1.5, rms: 1.6, count: 2 } },
        }
      : { kind: 'audit', actor: 'ops', action: 'login', target: 'web', detail: {}, colour: 'red' };
  return { ...body, seq, id: `00000000-0000-4000-8000-00000000000${seq}`, ts: '2026-11-21T07:42:16.123Z' };
}

/** Valid events at seqs 1, 2, 4, 5 and the poison at 3, in the given lane. */
function batchWithPoison(lane: Lane): EventsBatch {
  const batch = makeBatch(GW, 0, [1, 2, 4, 5], { lane });
  const events = [...batch.events] as unknown[];
  events.splice(2, 0, poisonFor(lane, 3));
  return { ...batch, events } as EventsBatch;
}

describe('dead letters: one bad event never blocks a lane', () => {
  let dir: string;
  let service: CloudService;
  let gw: FakeGateway;
  const { logger, lines } = memoryLogger();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-dead-letters-'));
    const credentialKey = CredentialKey.generate();
    const credentials = new MemoryCredentialStore();
    credentials.set(GW, { hash: hashSecret(SECRET, credentialKey), disabled: false });
    service = await startCloudService(testConfig(dir), {
      logger,
      credentials,
      credentialKey,
      processMetrics: false,
    });
    gw = await FakeGateway.connect(`mqtt://127.0.0.1:${service.mqttPort}`, GW, SECRET);
  });

  after(async () => {
    try {
      await gw?.close();
      await service?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const seqsOf = async (lane: Lane): Promise<number[]> =>
    (
      await service.db
        .selectFrom('events')
        .select('seq')
        .where('gateway_id', '=', GW)
        .where('lane', '=', lane)
        .orderBy('seq')
        .execute()
    ).map((row) => Number(row.seq));

  const deadLettersOf = (lane: Lane) =>
    service.db
      .selectFrom('dead_letters')
      .selectAll()
      .where('gateway_id', '=', GW)
      .where('lane', '=', lane)
      .execute();

  for (const [index, lane] of (['telemetry', 'priority'] as const).entries()) {
    it(`${lane} lane: the valid events commit once, the bad one is kept aside, the lane moves on`, async () => {
      const before = await scrape(service.httpPort);
      const batch = batchWithPoison(lane);
      await gw.publish(batch);
      // Acks are counted over both lanes: this lane's first ack is number 3 * index + 1.
      const first = 3 * index;
      assert.deepEqual(
        await gw.ack(first + 1),
        { epoch: EPOCH, lane, upTo: 5 },
        'the ack moves past the bad event',
      );
      assert.deepEqual(await seqsOf(lane), [1, 2, 4, 5]);

      const [dead, ...moreDead] = await deadLettersOf(lane);
      assert.equal(moreDead.length, 0);
      assert.ok(dead);
      assert.equal(Number(dead.seq), 3);
      assert.equal(dead.event_id, '00000000-0000-4000-8000-000000000003');
      assert.deepEqual(JSON.parse(dead.raw), poisonFor(lane, 3), 'the raw body is kept as it arrived');
      const reasons = JSON.parse(dead.reasons) as Array<{ pointer: string; message: string }>;
      assert.deepEqual(
        reasons.map((r) => r.pointer),
        [lane === 'telemetry' ? '/periodStartMs' : '/colour'],
      );
      assert.equal(dead.kind, lane === 'telemetry' ? 'strain_statistics' : 'audit');

      // Resent (the gateway missed the ack): nothing stored twice, the same ack.
      await gw.publish(batch);
      assert.deepEqual(await gw.ack(first + 2), { epoch: EPOCH, lane, upTo: 5 });
      assert.deepEqual(await seqsOf(lane), [1, 2, 4, 5]);
      assert.equal((await deadLettersOf(lane)).length, 1);

      // The lane is not blocked: the next batch commits.
      await gw.publish(makeBatch(GW, 5, [6, 7], { lane }));
      assert.deepEqual(await gw.ack(first + 3), { epoch: EPOCH, lane, upTo: 7 });
      assert.deepEqual(await seqsOf(lane), [1, 2, 4, 5, 6, 7]);

      const afterScrape = await scrape(service.httpPort);
      const kind = lane === 'telemetry' ? 'strain_statistics' : 'audit';
      assert.equal(
        sampleValue(afterScrape, 'kerbside_cloud_dead_letters_total', { lane, kind }) -
          sampleValue(before, 'kerbside_cloud_dead_letters_total', { lane, kind }),
        1,
        'counted once, not again for the resend',
      );
      const warned = lines.filter(
        (line) => line.includes('kept in dead_letters') && line.includes(`"lane":"${lane}"`),
      );
      assert.equal(warned.length, 1, 'one log line, not one per resend');
    });
  }

  it('operators see them: GET /api/v1/dead-letters (monitoring, admin) gives the total and each with its reasons', async () => {
    const now = new Date();
    await createOperator(
      service.db,
      { username: 'mon.wang', roles: ['monitoring'], password: 'a long password for mon' },
      now,
    );
    await createOperator(
      service.db,
      { username: 'disp.chen', roles: ['dispatcher'], password: 'a long password for disp' },
      now,
    );
    const monitoring = (await createSession(service.db, 'mon.wang', now)).token;
    const dispatcher = (await createSession(service.db, 'disp.chen', now)).token;
    const get = (url: string, token: string) =>
      fetch(`http://127.0.0.1:${service.httpPort}${url}`, { headers: { authorization: `Bearer ${token}` } });

    const response = await get(`/api/v1/dead-letters?gatewayId=${GW}`, monitoring);
    assert.equal(response.status, 200);
    const body = (await response.json()) as {
      total: number;
      deadLetters: Array<{ lane: string; seq: number; kind: string; raw: string; reasons: unknown[] }>;
    };
    assert.equal(body.total, 2, 'one per lane');
    assert.deepEqual(body.deadLetters.map((d) => [d.lane, d.seq, d.kind]).sort(), [
      ['priority', 3, 'audit'],
      ['telemetry', 3, 'strain_statistics'],
    ]);
    const telemetry = body.deadLetters.find((d) => d.lane === 'telemetry');
    assert.deepEqual(JSON.parse(telemetry?.raw ?? 'null'), poisonFor('telemetry', 3));
    assert.deepEqual(telemetry?.reasons, [{ pointer: '/periodStartMs', message: 'must be an integer' }]);

    assert.equal((await get('/api/v1/dead-letters', dispatcher)).status, 403);
    assert.equal((await get('/api/v1/dead-letters?gateway=x', monitoring)).status, 400);
  });

  it('a batch whose seqs are unreadable is still refused whole (nothing to move past)', async () => {
    const batch = makeBatch(GW, 7, [8], { lane: 'priority' });
    const broken = { ...batch, events: [{ ...batch.events[0], seq: 'eight' }] };
    const acksBefore = gw.acks.length;
    await gw.publish(JSON.stringify(broken));
    // The next valid batch is answered first: the broken one got no ack of its own.
    await gw.publish(makeBatch(GW, 7, [8], { lane: 'priority' }));
    assert.deepEqual(await gw.ack(acksBefore + 1), { epoch: EPOCH, lane: 'priority', upTo: 8 });
    assert.equal(gw.acks.length, acksBefore + 1);
    assert.ok(lines.some((line) => line.includes('invalid up/events batch refused')));
  });

  it('an audit detail nested 10,000 deep (issue 10) is kept aside, not failed as a database error', async () => {
    // The priority lane stands at 8 after the tests above. The deep event's JSON is written by
    // string concatenation: JSON.stringify itself overflows on it, which is the bug.
    const levels = 10_000;
    // Its id is apart from makeBatch's counter ids, so no valid event of the batch shares it.
    const id = 'dddddddd-0000-4000-8000-000000000011';
    const deep =
      `{"seq":11,"id":"${id}","ts":"${TS}","kind":"audit",` +
      `"actor":"ops","action":"login","target":"web","detail":` +
      `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}}`;
    const batch = makeBatch(GW, 8, [9, 10, 12, 13], { lane: 'priority' });
    const events = batch.events.map((event) => JSON.stringify(event));
    events.splice(2, 0, deep);
    const payload = JSON.stringify({ ...batch, events: [] }).replace(
      '"events":[]',
      `"events":[${events.join(',')}]`,
    );
    const acksBefore = gw.acks.length;

    await gw.publish(payload);
    assert.deepEqual(
      await gw.ack(acksBefore + 1),
      { epoch: EPOCH, lane: 'priority', upTo: 13 },
      'the ack moves past the deep event',
    );
    assert.deepEqual(await seqsOf('priority'), [1, 2, 4, 5, 6, 7, 8, 9, 10, 12, 13], 'each valid event once');
    const dead = (await deadLettersOf('priority')).find((row) => Number(row.seq) === 11);
    assert.ok(dead, 'the deep event is in dead_letters');
    assert.equal(dead.kind, 'audit');
    assert.equal(dead.event_id, id);
    assert.ok(dead.raw === deep, 'the raw event is kept whole, as it arrived');
    assert.deepEqual(JSON.parse(dead.reasons), [
      { pointer: '/detail', message: 'nests deeper than 32 levels' },
    ]);
    assert.equal(
      lines.filter((line) => line.includes('ingest failed on the database')).length,
      0,
      'not taken for a database failure',
    );

    // Operators read it like any other (raw is JSON text, so the answer is as shallow as ever).
    const token = (await createSession(service.db, 'mon.wang', new Date())).token;
    const response = await fetch(`http://127.0.0.1:${service.httpPort}/api/v1/dead-letters?gatewayId=${GW}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200);
    const listed = (await response.json()) as { deadLetters: Array<{ seq: number; raw: string }> };
    assert.ok(listed.deadLetters.find((d) => d.seq === 11)?.raw === deep);

    // The lane goes on.
    await gw.publish(makeBatch(GW, 13, [14, 15], { lane: 'priority' }));
    assert.deepEqual(await gw.ack(acksBefore + 2), { epoch: EPOCH, lane: 'priority', upTo: 15 });
    assert.deepEqual((await seqsOf('priority')).slice(-2), [14, 15]);
  });
});
