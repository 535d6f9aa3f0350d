/**
 * Gateway status (`up/status`, retained, and the gateway's last will with `online: false`;
 * docs/uplink-contract.md): the latest message of each gateway is kept in `gateway_status`, and the
 * fleet snapshot read from it (plus `gateway_streams`) feeds the lag metrics.
 */
import type { Kysely } from 'kysely';
import type { Status } from '../../contract/types.js';
import type { CloudSchema } from '../db/schema.js';
import { isGatewayDisabled } from '../ingest/disabled.js';

/**
 * Stores `status` as the latest of `gatewayId`, replacing the previous one; a disabled gateway's
 * status is not stored (`gateway_disabled`), so a revoked cabinet cannot report itself online.
 */
export async function upsertGatewayStatus(
  db: Kysely<CloudSchema>,
  gatewayId: string,
  status: Status,
  receivedAt: Date,
): Promise<'stored' | 'gateway_disabled'> {
  const row = {
    online: status.online ? 1 : 0,
    version: status.version,
    uptime_s: status.uptimeS,
    backlog_count: status.backlog.count,
    backlog_oldest_age_s: status.backlog.oldestAgeS,
    backlog_by_class: status.backlog.byClass === undefined ? null : JSON.stringify(status.backlog.byClass),
    epoch: status.epoch ?? null,
    lanes: status.lanes === undefined ? null : JSON.stringify(status.lanes),
    config_version: status.configVersion ?? null,
    storage: status.storage === undefined ? null : JSON.stringify(status.storage),
    received_at: receivedAt.toISOString(),
  };
  // Every field is overwritten, including those the new message leaves out: a will carries only
  // the required fields, and a stale epoch or lane position next to `online: false` would mislead.
  return db.transaction().execute(async (trx) => {
    if (await isGatewayDisabled(trx, gatewayId)) return 'gateway_disabled';
    await trx
      .insertInto('gateway_status')
      .values({ gateway_id: gatewayId, ...row })
      .onConflict((oc) => oc.column('gateway_id').doUpdateSet(row))
      .execute();
    return 'stored';
  });
}

export interface GatewayLag {
  gatewayId: string;
  online: boolean;
  backlogCount: number;
  backlogOldestAgeS: number | null;
}

export interface StreamCommit {
  gatewayId: string;
  lane: string;
  /** Cloud wall clock of the last commit on any epoch of this gateway's lane. */
  lastCommitAt: string;
}

export interface FleetSnapshot {
  gateways: GatewayLag[];
  streams: StreamCommit[];
}

/**
 * The fleet as the database has it, so every instance of a scaled-out deployment reports the same
 * figures even though each one sees only its share of the batches (shared subscription).
 */
export async function readFleetSnapshot(db: Kysely<CloudSchema>): Promise<FleetSnapshot> {
  const statusRows = await db
    .selectFrom('gateway_status')
    .select(['gateway_id', 'online', 'backlog_count', 'backlog_oldest_age_s'])
    .execute();
  // gateway_streams.updated_at moves only when events are committed (ingest.ts), so its maximum
  // per gateway and lane is the time of the last commit there.
  const streamRows = await db
    .selectFrom('gateway_streams')
    .select(['gateway_id', 'lane', (eb) => eb.fn.max('updated_at').as('last_commit_at')])
    .where('last_committed', '>', 0)
    .groupBy(['gateway_id', 'lane'])
    .execute();
  return {
    gateways: statusRows.map((row) => ({
      gatewayId: row.gateway_id,
      online: Number(row.online) === 1,
      backlogCount: Number(row.backlog_count),
      backlogOldestAgeS: row.backlog_oldest_age_s === null ? null : Number(row.backlog_oldest_age_s),
    })),
    streams: streamRows.map((row) => ({
      gatewayId: row.gateway_id,
      lane: row.lane,
      lastCommitAt: String(row.last_commit_at),
    })),
  };
}
