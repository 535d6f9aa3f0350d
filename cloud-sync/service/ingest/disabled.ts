/**
 * Whether a gateway is disabled (`cloud-admin gateway disable`, docs/enrollment.md). Ingest and the
 * status upsert ask inside their own transaction, so nothing of a disabled gateway is committed
 * even in the seconds before the broker's revocation sweep (broker/revocation.ts) has cut its
 * session, or when a message was already queued.
 */
import type { Kysely, Transaction } from 'kysely';
import type { CloudSchema } from '../db/schema.js';

/**
 * True when the gateway's row says disabled (anything but an explicit 0, like the credential
 * store: deny on doubt). A gateway without a row is not refused here: the broker authenticated it
 * against its credential store, which in production is this same table.
 */
export async function isGatewayDisabled(
  db: Kysely<CloudSchema> | Transaction<CloudSchema>,
  gatewayId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('gateways')
    .select('disabled')
    .where('gateway_id', '=', gatewayId)
    .executeTakeFirst();
  return row !== undefined && Number(row.disabled) !== 0;
}
