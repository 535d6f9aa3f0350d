/**
 * Current-state tables derived from committed events: the latest telemetry values per device and
 * the latest state per alarm. They are written in the same transaction as the events, so they
 * never show an event that is not committed, and a duplicate (never re-applied,
 * docs/uplink-contract.md, delivery rule 3) cannot move them backwards.
 */
import type { Transaction } from 'kysely';
import type { AlarmTransitionEvent, OutboxEvent, TelemetryEvent } from '../../contract/events.js';
import type { CloudSchema } from '../db/schema.js';

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

/**
 * Updates the state tables from one batch's newly committed events, in seq order. Only the end
 * result of the batch is written: the telemetry of each device merged in seq order (later values
 * win, as event by event), and the last transition of each alarm. One write per device and per
 * alarm instead of one per event: the same state, at a fraction of the statements (a 1000-event
 * telemetry batch touches a few dozen devices; docs/performance.md "uplink").
 */
export async function applyBatchToState(
  trx: Transaction<CloudSchema>,
  origin: Omit<EventOrigin, 'seq' | 'ts'>,
  events: readonly OutboxEvent[],
): Promise<void> {
  const telemetry = new Map<string, { values: TelemetryEvent['values']; seq: number; ts: string }>();
  const alarms = new Map<string, { event: AlarmTransitionEvent; seq: number; ts: string }>();
  for (const event of events) {
    if (event.kind === 'telemetry') {
      const merged = telemetry.get(event.deviceId);
      telemetry.set(event.deviceId, {
        values: { ...merged?.values, ...event.values },
        seq: event.seq,
        ts: event.ts,
      });
    } else if (event.kind === 'alarm_transition') {
      alarms.set(event.alarmKey, { event, seq: event.seq, ts: event.ts });
    }
  }
  for (const [deviceId, { values, seq, ts }] of telemetry) {
    await applyTelemetry(trx, { ...origin, seq, ts }, { kind: 'telemetry', deviceId, values });
  }
  for (const { event, seq, ts } of alarms.values()) {
    await applyAlarmTransition(trx, { ...origin, seq, ts }, event);
  }
}
