/**
 * A case's evidence (docs/cases.md): the alarm snapshot that opened it and the device's
 * recent trend, frozen into the case when it is reported so the inspector and the owner unit see
 * what the monitoring centre saw, even after telemetry has been pruned.
 */
import type { Kysely, Transaction } from 'kysely';
import type { OutboxEvent } from '../../contract/events.js';
import type { CloudSchema } from '../db/schema.js';

/** Most trend points frozen into one case (the newest ones of the window). */
export const MAX_TREND_POINTS = 500;

export interface TrendPoint {
  /** Gateway clock (display only). */
  ts: string;
  /** Cloud clock at commit. */
  receivedAt: string;
  kind: 'telemetry' | 'telemetry_aggregate';
  /** telemetry: the values reported. */
  values?: Record<string, number | boolean>;
  /** telemetry_aggregate: min/max/mean/count per point, and the period. */
  points?: Record<string, { min: number; max: number; mean: number; count: number }>;
  periodS?: number;
}

export interface CaseEvidence {
  /** The alarm_transition event that opened the case (with seq, id, ts); null for a case opened by hand. */
  alarm: (OutboxEvent & { gatewayId: string; receivedAt: string }) | null;
  /** Telemetry of the device within the trend window before the report, oldest first. */
  trend: TrendPoint[];
  /** For a case opened by hand: who opened it and why. */
  openedBy?: { username: string; note: string | null };
}

/**
 * Telemetry of one device received in [since, until] (cloud clock), oldest first: at most
 * MAX_TREND_POINTS, the newest ones when there are more (they matter most next to the alarm).
 */
export async function collectTrend(
  db: Kysely<CloudSchema> | Transaction<CloudSchema>,
  query: { gatewayId: string; deviceId: string; since: string; until: string },
): Promise<TrendPoint[]> {
  const rows = await db
    .selectFrom('events')
    .select(['ts', 'received_at', 'kind', 'body'])
    .where('gateway_id', '=', query.gatewayId)
    .where('device_id', '=', query.deviceId)
    .where('kind', 'in', ['telemetry', 'telemetry_aggregate'])
    .where('received_at', '>=', query.since)
    .where('received_at', '<=', query.until)
    .orderBy('received_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(MAX_TREND_POINTS)
    .execute();
  return rows.reverse().map((row) => trendPoint(row));
}

function trendPoint(row: { ts: string; received_at: string; kind: string; body: string }): TrendPoint {
  const body = JSON.parse(row.body) as Record<string, unknown>;
  if (row.kind === 'telemetry_aggregate') {
    return {
      ts: row.ts,
      receivedAt: row.received_at,
      kind: 'telemetry_aggregate',
      points: body.points as TrendPoint['points'],
      periodS: body.periodS as number,
    };
  }
  return {
    ts: row.ts,
    receivedAt: row.received_at,
    kind: 'telemetry',
    values: body.values as TrendPoint['values'],
  };
}

/** The ISO instant `minutes` before `at`. */
export function minutesBefore(at: string, minutes: number): string {
  return new Date(Date.parse(at) - minutes * 60_000).toISOString();
}
