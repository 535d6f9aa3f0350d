/**
 * Kysely table types of gateway status (migration 0003): the latest retained `up/status` of every
 * gateway (docs/uplink-contract.md), for the console's fleet view and the service's lag metrics.
 * Portable column types as in schema.ts: booleans 0/1, JSON as text, timestamps as ISO 8601 text.
 */

/** One row per gateway: the last status message the service received (retained, or the will). */
export interface GatewayStatusTable {
  gateway_id: string;
  /** 1 while the gateway is connected; 0 once its last will (`online: false`) arrived. */
  online: number;
  /** Gateway software version. */
  version: string;
  uptime_s: number;
  /** Unacknowledged outbox events on the gateway. */
  backlog_count: number;
  /** Age of the oldest of them on the gateway's monotonic clock; null when the backlog is empty. */
  backlog_oldest_age_s: number | null;
  /** JSON object class -> count, or null when the gateway did not report it. */
  backlog_by_class: string | null;
  /** The gateway database's epoch, when reported. */
  epoch: string | null;
  /** JSON object lane -> { lastSeq, ackedSeq }, or null when not reported. */
  lanes: string | null;
  /** Configuration document version running; null when only the local file is used or unknown. */
  config_version: number | null;
  /** JSON of the status's `storage` (state, freeBytes, reason), migration 0006; null when not sent. */
  storage: string | null;
  /** Cloud wall clock when the message was processed. */
  received_at: string;
}

export interface StatusTables {
  gateway_status: GatewayStatusTable;
}
