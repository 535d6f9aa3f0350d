/**
 * A disabled gateway's messages are not committed (issue 12, finding 3): ingestBatch refuses its
 * batches and the status upsert its status, inside their own transaction, on SQLite and PostgreSQL.
 */
import { CLOUD_DB_BACKENDS, type OpenedDatabase } from '../../../helpers/cloud-db.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setGatewayDisabled } from '../../../../cloud-sync/service/enrollment/accounts.js';
import { ingestBatch } from '../../../../cloud-sync/service/ingest/ingest.js';
import { upsertGatewayStatus } from '../../../../cloud-sync/service/consumer/status.js';
import { makeBatch, makeStatus } from '../service-helpers.js';

for (const backend of CLOUD_DB_BACKENDS) {
  describe(`disabled gateways are not ingested (${backend.name})`, () => {
    let opened: OpenedDatabase;

    before(async () => {
      opened = await backend.open();
      for (const gatewayId of ['gw-on', 'gw-off', 'gw-back'])
        await opened.db
          .insertInto('gateways')
          .values({
            gateway_id: gatewayId,
            credential_hash: 'test',
            mosquitto_hash: 'test',
            disabled: 0,
            enrolled_at: '2026-12-01T00:00:00.000Z',
            rotated_at: null,
            disabled_changed_at: null,
          })
          .execute();
      for (const gatewayId of ['gw-off', 'gw-back'])
        await setGatewayDisabled(opened.db, { gatewayId, disabled: true, by: 'test' });
    });
    after(() => opened.close());

    it('refuses a batch of a disabled gateway: nothing stored, no ack due', async () => {
      const result = await ingestBatch(opened.db, makeBatch('gw-off', 0, [1, 2]), 'gw-off');
      assert.equal(result.refusal, 'gateway_disabled');
      assert.equal(result.accepted, false);
      assert.equal(result.committed, 0);
      const events = await opened.db
        .selectFrom('events')
        .selectAll()
        .where('gateway_id', '=', 'gw-off')
        .execute();
      const streams = await opened.db
        .selectFrom('gateway_streams')
        .selectAll()
        .where('gateway_id', '=', 'gw-off')
        .execute();
      assert.deepEqual([events.length, streams.length], [0, 0]);
      // The enabled gateway next to it is ingested as ever.
      const ok = await ingestBatch(opened.db, makeBatch('gw-on', 0, [1, 2]), 'gw-on');
      assert.equal(ok.committed, 2);
    });

    it('refuses the status of a disabled gateway and stores the enabled one', async () => {
      const at = new Date('2026-12-07T10:00:00.000Z');
      assert.equal(await upsertGatewayStatus(opened.db, 'gw-off', makeStatus(), at), 'gateway_disabled');
      assert.equal(await upsertGatewayStatus(opened.db, 'gw-on', makeStatus(), at), 'stored');
      const rows = await opened.db.selectFrom('gateway_status').select('gateway_id').execute();
      assert.deepEqual(
        rows.map((row) => row.gateway_id),
        ['gw-on'],
      );
    });

    it('takes the gateway again once it is enabled', async () => {
      await setGatewayDisabled(opened.db, { gatewayId: 'gw-back', disabled: false, by: 'test' });
      const result = await ingestBatch(opened.db, makeBatch('gw-back', 0, [1]), 'gw-back');
      assert.equal(result.committed, 1);
    });
  });
}
