/**
 * Current-state tables derived from committed events: the latest telemetry values per device and
 * the latest state per alarm. They are written in the same transaction as the events, so they
 * never show an event that is not committed, and a duplicate (never re-applied, DESIGN.md
 * section 6 rule 3) cannot move them backwards.
 */
import type { Transaction } from 'kysely';
import type { AlarmTransitionEvent, OutboxEvent, TelemetryEvent } from '../contract/events.js';
import type { CloudSchema } from './db/schema.js';

/** Where an event came from, for the state rows' provenance columns. */
export interface EventOrigin {
  gatewayId: string;
  epoch: string;
  seq: number;
  ts: string;
  receivedAt: string;
}

/** Merges a telemetry event's values over the device's latest values. */
export async function applyTelemetry(
  trx: Transaction<CloudSchema>,
  origin: EventOrigin,
  event: TelemetryEvent,
): Promise<void> {
  const row = await trx
    .selectFrom('device_state')
    .select('latest_values')
    .where('gateway_id', '=', origin.gatewayId)
    .where('device_id', '=', event.deviceId)
    .executeTakeFirst();
  const previous = row === undefined ? {} : (JSON.parse(row.latest_values) as Record<string, unknown>);
  const latest = JSON.stringify({ ...previous, ...event.values });
  const provenance = { epoch: origin.epoch, seq: origin.seq, ts: origin.ts, updated_at: origin.receivedAt };
  await trx
    .insertInto('device_state')
    .values({ gateway_id: origin.gatewayId, device_id: event.deviceId, latest_values: latest, ...provenance })
    .onConflict((oc) =>
      oc.columns(['gateway_id', 'device_id']).doUpdateSet({ latest_values: latest, ...provenance }),
    )
    .execute();
}

/** Records an alarm's state after a transition. */
export async function applyAlarmTransition(
  trx: Transaction<CloudSchema>,
  origin: EventOrigin,
  event: AlarmTransitionEvent,
): Promise<void> {
  const state = {
    device_id: event.deviceId,
    state: event.to,
    level: event.level,
    active: event.active ? 1 : 0,
    priority: event.priority,
    epoch: origin.epoch,
    seq: origin.seq,
    ts: origin.ts,
    updated_at: origin.receivedAt,
  };
  await trx
    .insertInto('alarm_state')
    .values({ gateway_id: origin.gatewayId, alarm_key: event.alarmKey, ...state })
    .onConflict((oc) => oc.columns(['gateway_id', 'alarm_key']).doUpdateSet(state))
    .execute();
}

/** Updates whichever state table an event feeds; other kinds feed none. */
export async function applyToState(
  trx: Transaction<CloudSchema>,
  origin: EventOrigin,
  event: OutboxEvent,
): Promise<void> {
  if (event.kind === 'telemetry') await applyTelemetry(trx, origin, event);
  else if (event.kind === 'alarm_transition') await applyAlarmTransition(trx, origin, event);
}
