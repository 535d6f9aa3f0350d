/**
 * The cloud's accept rule for `up/events` batches (docs/uplink-contract.md, delivery rule 3).
 * Together with the gateway's rules 1, 2 and 4 it makes delivery exactly-once in effect over
 * at-least-once MQTT: every event is committed once per (gateway, epoch, seq), and the ack the
 * caller publishes afterwards never claims more than is committed.
 *
 * The caller parses the payload with parseEventsBatch (contract/validate.ts), passes the gateway id
 * taken from the topic, and publishes `down/ack {epoch, lane, upTo}` only after this resolves.
 */
import type { Kysely, Transaction } from 'kysely';
import { EVENT_CLASS, type Lane, type OutboxEvent } from '../../contract/events.js';
import type { EventsBatch } from '../../contract/types.js';
import type { InvalidEvent } from '../../contract/validate.js';
import type { CloudSchema } from '../db/schema.js';
import { CloudServiceError } from '../errors.js';
import { isGatewayDisabled } from './disabled.js';
import { applyBatchToState } from './state.js';

/** Why a batch was refused. */
export type IngestRefusal =
  /** `gw` in the payload is not the gateway of the topic: nothing is read or stored, and no ack is due. */
  | 'gateway_mismatch'
  /** `after` is beyond lastCommitted: the gateway holds an ack we never gave; it resends from upTo. */
  | 'after_ahead'
  /** The gateway is disabled (ingest/disabled.ts): nothing is stored and no ack is due. */
  | 'gateway_disabled';

export interface IngestResult {
  /** Whether `after <= lastCommitted` held (docs/uplink-contract.md, delivery rule 3). */
  accepted: boolean;
  /** lastCommitted after this call: the `upTo` of the ack to publish (0 for gateway_mismatch). */
  upTo: number;
  /** Events newly committed by this call. */
  committed: number;
  /** Events at or below lastCommitted, already committed earlier: counted, not stored again. */
  duplicates: number;
  /** Invalid events newly kept in dead_letters by this call (docs/uplink-contract.md). */
  deadLettered: number;
  /** Null when accepted. */
  refusal: IngestRefusal | null;
}

/** Where a batch's newly committed events came from, for ingest hooks. */
export interface IngestHookContext {
  gatewayId: string;
  epoch: string;
  lane: Lane;
  /** Cloud wall clock of this commit (ISO 8601): the time cases and results are stamped with. */
  receivedAt: string;
}

/**
 * Work that must commit together with the events that cause it (filing a case from an alarm,
 * settling a command from its result): it runs inside the batch's transaction after the events
 * and state are written, sees only the fresh (never the duplicate) events in seq order, and a
 * throw rolls the whole batch back (the gateway resends; nothing half-applied).
 */
export type IngestHook = (
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  fresh: readonly OutboxEvent[],
) => Promise<void>;

export interface IngestOptions {
  /** Clock for received_at / updated_at; defaults to the system clock. */
  now?: () => Date;
  hooks?: readonly IngestHook[];
  /**
   * The batch's events that break the contract (sortEventsBatch): kept in dead_letters with their
   * raw body and reasons, and lastCommitted moves past them like past any committed event, so one
   * bad event never blocks its lane (docs/uplink-contract.md, "invalid events").
   */
  invalid?: readonly InvalidEvent[];
}

/** One stream: a gateway database (epoch) and one of its uplink lanes (docs/uplink-lanes.md). */
type StreamKey = { gatewayId: string; epoch: string; lane: Lane };

/**
 * lastCommitted of a stream, row-locked until the transaction ends (PostgreSQL: `FOR UPDATE`, so
 * two instances on a shared subscription take turns per stream; SQLite serialises transactions
 * anyway). Null when the stream has no row yet.
 */
async function lockStream(trx: Transaction<CloudSchema>, key: StreamKey): Promise<number | null> {
  const row = await trx
    .selectFrom('gateway_streams')
    .select('last_committed')
    .where('gateway_id', '=', key.gatewayId)
    .where('epoch', '=', key.epoch)
    .where('lane', '=', key.lane)
    .forUpdate()
    .executeTakeFirst();
  return row === undefined ? null : Number(row.last_committed);
}

/** Creates a stream row at 0; a concurrent creator makes this a no-op, never an error. */
async function createStream(trx: Transaction<CloudSchema>, key: StreamKey, now: string): Promise<void> {
  await trx
    .insertInto('gateway_streams')
    .values({
      gateway_id: key.gatewayId,
      epoch: key.epoch,
      lane: key.lane,
      last_committed: 0,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['gateway_id', 'epoch', 'lane']).doNothing())
    .execute();
}

/**
 * Thrown by ingestBatch, before anything is stored, when JSON.stringify cannot write valid events'
 * bodies. Defence in depth: the contract bounds every free-form field (MAX_DEPTH) so that this does
 * not happen, but if it does, it is bad input from the gateway, not a database failure; the caller
 * sets these events aside as invalid (`events`, reasons included) and ingests the batch again
 * without them.
 */
export class UnserialisableEventsError extends CloudServiceError {
  constructor(readonly events: readonly InvalidEvent[]) {
    super(
      'CLOUD_EVENT_UNSERIALISABLE',
      `${events.length} event(s) cannot be serialised: ${events[0]?.issues[0]?.message ?? ''}`,
    );
  }
}

async function insertEvents(
  trx: Transaction<CloudSchema>,
  key: StreamKey,
  events: OutboxEvent[],
  now: string,
): Promise<void> {
  const rows = [];
  const unserialisable: InvalidEvent[] = [];
  for (const event of events) {
    const { seq, id, ts, ...body } = event;
    let text: string;
    try {
      text = JSON.stringify(body);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const issues = [{ pointer: '', message: `cannot be serialised: ${reason}` }];
      unserialisable.push({ seq, id, kind: event.kind, raw: event, issues });
      continue;
    }
    rows.push({
      gateway_id: key.gatewayId,
      epoch: key.epoch,
      lane: key.lane,
      seq,
      event_id: id,
      kind: event.kind,
      class: EVENT_CLASS[event.kind],
      ts,
      body: text,
      device_id: 'deviceId' in body && typeof body.deviceId === 'string' ? body.deviceId : null,
      received_at: now,
    });
  }
  if (unserialisable.length > 0) throw new UnserialisableEventsError(unserialisable);
  await trx.insertInto('events').values(rows).execute();
}

async function insertDeadLetters(
  trx: Transaction<CloudSchema>,
  key: StreamKey,
  invalid: readonly InvalidEvent[],
  now: string,
): Promise<void> {
  const rows = invalid.map((event) => ({
    gateway_id: key.gatewayId,
    epoch: key.epoch,
    lane: key.lane,
    seq: event.seq,
    event_id: event.id,
    kind: event.kind,
    raw: jsonText(event.raw),
    reasons: JSON.stringify(event.issues),
    received_at: now,
  }));
  await trx.insertInto('dead_letters').values(rows).execute();
}

/**
 * JSON.stringify's text of a value read by JSON.parse, written without recursion. A dead letter
 * broke the contract, so nothing but MAX_PAYLOAD_BYTES bounds its depth (a 1 MiB payload can nest
 * half a million levels) while JSON.stringify overflows the stack at a few thousand; and its raw
 * body is the evidence of the gateway's bug, so it is kept whole rather than cut or replaced.
 */
function jsonText(value: unknown): string {
  const parts: string[] = [];
  // What is left to write, the next piece last: ready text, or an object or array to open up.
  const pending: Array<string | object> = [pieceOf(value)];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (typeof next === 'string') {
      parts.push(next);
      continue;
    }
    const isArray = Array.isArray(next);
    const pieces: Array<string | object> = [isArray ? '[' : '{'];
    Object.entries(next).forEach(([key, item], index) => {
      if (index > 0) pieces.push(',');
      if (!isArray) pieces.push(`${JSON.stringify(key)}:`);
      pieces.push(pieceOf(item));
    });
    pieces.push(isArray ? ']' : '}');
    // One push per piece: spreading an array of half a million pieces into push() would overflow.
    for (const piece of pieces.reverse()) pending.push(piece);
  }
  return parts.join('');
}

/** A scalar as its JSON text (undefined, which JSON.parse never gives, as null); an object or array as is. */
function pieceOf(value: unknown): string | object {
  if (value !== null && typeof value === 'object') return value;
  return JSON.stringify(value) ?? 'null';
}

/** The accept rule inside the transaction; see ingestBatch. */
async function ingestInTransaction(
  trx: Transaction<CloudSchema>,
  batch: EventsBatch,
  invalid: readonly InvalidEvent[],
  now: string,
  hooks: readonly IngestHook[],
): Promise<IngestResult> {
  const key: StreamKey = { gatewayId: batch.gw, epoch: batch.epoch, lane: batch.lane ?? 'priority' };
  const stored = await lockStream(trx, key);
  // Rule 1: a new epoch (a replaced gateway database) starts at 0, never continuing an old one.
  const lastCommitted = stored ?? 0;

  // Rule 3: accept only if after <= lastCommitted. Otherwise store nothing and answer with our
  // lastCommitted, from which the gateway resends.
  if (batch.after > lastCommitted) {
    return refused('after_ahead', lastCommitted);
  }

  // Rule 3: only seq > lastCommitted is new; the rest was committed (or set aside) by an earlier
  // delivery.
  const fresh = batch.events.filter((event) => event.seq > lastCommitted);
  const freshInvalid = invalid.filter((event) => event.seq > lastCommitted);
  const duplicates = batch.events.length + invalid.length - fresh.length - freshInvalid.length;
  const last = Math.max(fresh.at(-1)?.seq ?? 0, freshInvalid.at(-1)?.seq ?? 0);
  if (last === 0) {
    return { accepted: true, upTo: lastCommitted, committed: 0, duplicates, deadLettered: 0, refusal: null };
  }

  if (stored === null) {
    // First events of this epoch: create its row, then start over holding the row lock, since
    // another instance may have created and advanced it between our read and our insert.
    await createStream(trx, key, now);
    return ingestInTransaction(trx, batch, invalid, now, hooks);
  }

  if (fresh.length > 0) {
    await insertEvents(trx, key, fresh, now);
    await applyBatchToState(trx, { gatewayId: key.gatewayId, epoch: key.epoch, receivedAt: now }, fresh);
    for (const hook of hooks) await hook(trx, { ...key, receivedAt: now }, fresh);
  }
  if (freshInvalid.length > 0) await insertDeadLetters(trx, key, freshInvalid, now);

  // Rules 2 and 3: advance to the batch's last seq, valid or set aside. Events are in seq order;
  // holes before it mean "nothing else exists", so lastCommitted moves past them.
  await trx
    .updateTable('gateway_streams')
    .set({ last_committed: last, updated_at: now })
    .where('gateway_id', '=', key.gatewayId)
    .where('epoch', '=', key.epoch)
    .where('lane', '=', key.lane)
    .execute();
  return {
    accepted: true,
    upTo: last,
    committed: fresh.length,
    duplicates,
    deadLettered: freshInvalid.length,
    refusal: null,
  };
}

/** A refused batch: nothing stored; `upTo` is what the ack states (0: no ack is due). */
function refused(refusal: IngestRefusal, upTo = 0): IngestResult {
  return { accepted: false, upTo, committed: 0, duplicates: 0, deadLettered: 0, refusal };
}

/**
 * Applies docs/uplink-contract.md, delivery rule 3 to one parsed batch in one transaction, and
 * resolves only after it committed: the caller then publishes `down/ack {epoch, lane, upTo}` of the
 * batch (commit, then ack). A batch whose `gw` is not `topicGatewayId` is refused without touching
 * the database, and so is every batch of a disabled gateway (refusal `gateway_disabled`, nothing
 * stored, no ack due). Rejects on database failure, in which case nothing of the batch is stored and no
 * ack may be sent (the gateway resends), and with UnserialisableEventsError, also having stored
 * nothing, when a valid event cannot be serialised: the caller sets those aside and ingests the
 * batch again.
 */
export async function ingestBatch(
  db: Kysely<CloudSchema>,
  batch: EventsBatch,
  topicGatewayId: string,
  options: IngestOptions = {},
): Promise<IngestResult> {
  if (batch.gw !== topicGatewayId) {
    return refused('gateway_mismatch');
  }
  const now = (options.now ?? (() => new Date()))().toISOString();
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) =>
        // Asked inside the transaction: a disable committed before it is seen, and one committed
        // after it cannot undo what was legitimately taken while the gateway was enabled.
        (await isGatewayDisabled(trx, topicGatewayId))
          ? refused('gateway_disabled')
          : ingestInTransaction(trx, batch, options.invalid ?? [], now, options.hooks ?? []),
      );
    } catch (error) {
      // PostgreSQL aborts one of two transactions that deadlock (two instances merging the same
      // device_state row from different streams) or fail serialization; the aborted one stored
      // nothing, so running it again is safe and spares the gateway a resend after its timeout.
      if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
    }
  }
}

const MAX_ATTEMPTS = 3;

/**
 * SQLSTATE 40P01 deadlock_detected, 40001 serialization_failure (PostgreSQL appendix A), and
 * 23505 unique_violation on cases_one_open_per_alarm only: two instances filing a case for the
 * same alarm at once meet there, and the loser, run again, sees the winner's case and attaches.
 */
function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  if (code === '23505') return constraint === ONE_OPEN_CASE_PER_ALARM;
  return code === '40P01' || code === '40001';
}

/** The unique constraint of migration 0004 that two filing instances can meet on. */
const ONE_OPEN_CASE_PER_ALARM = 'cases_one_open_per_alarm';
