/**
 * The one check every downlink action starts with: the gateway must be enrolled (a row in
 * `gateways`, docs/enrollment.md) and enabled, otherwise nothing could ever reach it: the broker
 * refuses an unknown or disabled gateway's connection (broker/embedded.ts).
 */
import type { Kysely } from 'kysely';
import { isGatewayId } from '../../contract/topics.js';
import type { CloudSchema } from '../db/schema.js';
import { DownlinkError } from './errors.js';

/** Whether the gateway is enrolled (disabled or not). */
export async function gatewayExists(db: Kysely<CloudSchema>, gatewayId: string): Promise<boolean> {
  if (!isGatewayId(gatewayId)) return false;
  const row = await db
    .selectFrom('gateways')
    .select('gateway_id')
    .where('gateway_id', '=', gatewayId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Throws DOWNLINK_UNKNOWN_GATEWAY for an id that is not enrolled. */
export async function requireGateway(db: Kysely<CloudSchema>, gatewayId: string): Promise<void> {
  if (!(await gatewayExists(db, gatewayId))) {
    throw new DownlinkError(
      'DOWNLINK_UNKNOWN_GATEWAY',
      `gateway ${JSON.stringify(gatewayId)} is not enrolled`,
    );
  }
}

/**
 * For sending: enrolled and enabled. A disabled gateway cannot connect, so a command or document
 * for it would only wait (DOWNLINK_CONFLICT says why instead).
 */
export async function requireSendableGateway(db: Kysely<CloudSchema>, gatewayId: string): Promise<void> {
  const row = isGatewayId(gatewayId)
    ? await db
        .selectFrom('gateways')
        .select('disabled')
        .where('gateway_id', '=', gatewayId)
        .executeTakeFirst()
    : undefined;
  if (row === undefined) {
    throw new DownlinkError(
      'DOWNLINK_UNKNOWN_GATEWAY',
      `gateway ${JSON.stringify(gatewayId)} is not enrolled`,
    );
  }
  if (Number(row.disabled) !== 0) {
    throw new DownlinkError(
      'DOWNLINK_CONFLICT',
      `gateway ${gatewayId} is disabled: it cannot connect to receive this`,
    );
  }
}
