/**
 * Compiled validators of the uplink messages. parseX() takes a raw MQTT payload, validateX() an
 * already-parsed value; both return a result and never throw on bad input, because a malformed
 * message from a peer is expected and must not crash a broker hook or the uplink. Errors name the
 * offending value with a JSON Pointer (RFC 6901) so a log line says exactly what was wrong.
 */
import type { ValidateFunction } from 'ajv';
import { createAjv, issuesOf, type Ajv, type IssueWords } from './ajv.js';
import { ContractError } from './errors.js';
import { forbiddenKeyIssues } from './forbidden-keys.js';
import { GATEWAY_ID_PATTERN } from './topics.js';
import { EVENT_CLASS, LANE_OF_CLASS, type GatewayEventBody } from './events.js';
import {
  ACK_SCHEMA,
  COMMAND_SCHEMA,
  CONFIG_DOCUMENT_SCHEMA,
  EVENT_BODY_SCHEMA,
  EVENTS_BATCH_SCHEMA,
  EVENTS_ENVELOPE_SCHEMA,
  HASH_PATTERN,
  OUTBOX_EVENT_SCHEMA,
  MAX_PAYLOAD_BYTES,
  STATUS_SCHEMA,
  UUID_PATTERN,
  type JsonSchema,
} from './schemas.js';
import type { Ack, Command, ConfigDocument, EventsBatch, Status } from './types.js';
import type { OutboxEvent } from './events.js';
import type { Issue } from './errors.js';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: Issue[] };

/** Enough to see what is wrong with a message; a batch of 1000 bad events need not list 1000. */
const MAX_ISSUES = 50;

type Semantic<T> = (value: T) => Issue[];

class Validator<T> {
  private compiled: ValidateFunction | undefined;

  constructor(
    private readonly schema: JsonSchema,
    private readonly semantic: Semantic<T> = () => [],
  ) {}

  validate(value: unknown): ParseResult<T> {
    // Compiled on first use, so importing the contract (the gateway does) costs nothing.
    this.compiled ??= getAjv().compile(this.schema);
    if (!this.compiled(value)) return fail(issuesOf(this.compiled.errors ?? [], CONTRACT_WORDS));
    // Only a value that passed the schema reaches the semantic checks, so it has the type T.
    const typed = value as T;
    const issues = this.semantic(typed);
    return issues.length === 0 ? { ok: true, value: typed } : fail(issues);
  }

  parse(payload: string | Uint8Array): ParseResult<T> {
    const decoded = decodePayload(payload);
    return decoded.ok ? this.validate(decoded.value) : decoded;
  }
}

let ajv: Ajv | undefined;

/** One validator for every message type, created on first use (ajv.ts has the settings). */
function getAjv(): Ajv {
  ajv ??= createAjv();
  return ajv;
}

function fail(errors: Issue[]): { ok: false; errors: Issue[] } {
  return { ok: false, errors: errors.slice(0, MAX_ISSUES) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Size check, UTF-8 decoding and JSON.parse, each failure returned as an issue at pointer ''. */
function decodePayload(payload: string | Uint8Array): ParseResult<unknown> {
  let text: string;
  if (typeof payload === 'string') {
    if (Buffer.byteLength(payload, 'utf8') > MAX_PAYLOAD_BYTES) return tooLarge(Buffer.byteLength(payload));
    text = payload;
  } else if (payload instanceof Uint8Array) {
    if (payload.byteLength > MAX_PAYLOAD_BYTES) return tooLarge(payload.byteLength);
    try {
      text = utf8.decode(payload);
    } catch {
      return fail([{ pointer: '', message: 'payload is not valid UTF-8' }]);
    }
  } else {
    // Not a wire payload at all: a bug in the caller, not bad input from a peer.
    throw new ContractError(
      'CONTRACT_INVALID',
      `payload must be a string or a Buffer, got ${typeof payload}`,
    );
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail([{ pointer: '', message: `malformed JSON: ${reason}` }]);
  }
}

function tooLarge(bytes: number): { ok: false; errors: Issue[] } {
  return fail([
    { pointer: '', message: `payload is ${bytes} bytes, more than the limit of ${MAX_PAYLOAD_BYTES}` },
  ]);
}

/** How issues of a message are worded; patterns in words, as the expression helps nobody reading a log. */
const CONTRACT_WORDS: IssueWords = {
  unknownProperty: 'is not a field of this message',
  patterns: {
    [UUID_PATTERN]: 'must be a lower-case UUID',
    [HASH_PATTERN]: 'must be a lower-case hex SHA-256 (64 characters)',
    [GATEWAY_ID_PATTERN]:
      'must be a gateway id: 2-63 lower-case letters, digits or hyphens, not starting with a hyphen',
  },
};

/**
 * docs/uplink-contract.md, delivery rules 1 and 2: seqs strictly increase within a batch and all
 * lie above `after`. The cloud relies on both when it commits `seq > lastCommitted` and advances to
 * the batch's last seq; a batch breaking them is refused whole rather than half-committed. Every
 * event must belong to the batch's lane (docs/uplink-lanes.md).
 */
function checkBatch(batch: EventsBatch): Issue[] {
  const issues = checkEnvelope(batch);
  const lane = batch.lane ?? 'priority';
  const ids = new Set<string>();
  batch.events.forEach((event, index) => {
    for (const issue of checkEventInBatch(event, lane, ids))
      issues.push({ pointer: `/events/${index}${issue.pointer}`, message: issue.message });
    ids.add(event.id);
  });
  return issues;
}

/** A batch's event that breaks the contract: set aside with its reasons, its seq still counted. */
export interface InvalidEvent {
  seq: number;
  /** The event's own id and kind when they were readable strings, else null. */
  id: string | null;
  kind: string | null;
  /** The event as it arrived. */
  raw: unknown;
  /** Pointers relative to the event (`/periodStartMs`, not `/events/3/periodStartMs`). */
  issues: Issue[];
}

/** A batch split into the events to commit (`batch.events`) and those to set aside. */
export interface SortedBatch {
  batch: EventsBatch;
  invalid: InvalidEvent[];
}

type EnvelopeBatch = Omit<EventsBatch, 'events'> & {
  events: Array<{ seq: number } & Record<string, unknown>>;
};

/**
 * Seq order over every event, valid or not (docs/uplink-contract.md, delivery rules 1 and 2): the
 * cloud moves its lastCommitted past an invalid event only because its seq is known and in order.
 */
function checkEnvelope(batch: { after: number; events: ReadonlyArray<{ seq: number }> }): Issue[] {
  const issues: Issue[] = [];
  let previous: number | null = null;
  batch.events.forEach((event, index) => {
    const at = `/events/${index}/seq`;
    if (event.seq <= batch.after) {
      issues.push({
        pointer: at,
        message: `seq ${event.seq} is not above after (${batch.after}): every event must be newer than what is acknowledged`,
      });
    } else if (previous !== null && event.seq <= previous) {
      issues.push({
        pointer: at,
        message: `seq ${event.seq} is not above the previous event's seq ${previous}: events must be in strictly increasing seq order`,
      });
    }
    previous = previous === null ? event.seq : Math.max(previous, event.seq);
  });
  return issues;
}

/** Per-event checks beyond the schema: its lane, an id unique in the batch, a gap's range. */
function checkEventInBatch(event: OutboxEvent, lane: string, ids: Set<string>): Issue[] {
  const issues: Issue[] = [];
  const eventLane = LANE_OF_CLASS[EVENT_CLASS[event.kind]];
  if (eventLane !== lane) {
    issues.push({
      pointer: '/kind',
      message: `a ${event.kind} event belongs to the ${eventLane} lane, not the ${lane} lane`,
    });
  }
  if (ids.has(event.id))
    issues.push({ pointer: '/id', message: `id ${event.id} appears twice in the batch` });
  if (event.kind === 'gap' && event.fromSeq > event.toSeq) {
    issues.push({ pointer: '/toSeq', message: `toSeq ${event.toSeq} is below fromSeq ${event.fromSeq}` });
  }
  return issues;
}

function readableString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : null;
}

function checkCommand(command: Command): Issue[] {
  const issues: Issue[] = [];
  // A command that expires before it was issued can never run: refuse it as malformed.
  if (!(Date.parse(command.expiresAt) > Date.parse(command.issuedAt))) {
    issues.push({ pointer: '/expiresAt', message: 'expiresAt must be later than issuedAt' });
  }
  // ISA-18.2 asks for time-limited shelving: a timed shelve names its duration, a one-shot
  // shelve (until the alarm returns to normal) must not, so neither is misread.
  if (command.action === 'alarm.shelve') {
    const { mode, durationS } = command.params;
    if (mode === 'timed' && durationS === undefined) {
      issues.push({ pointer: '/params/durationS', message: "is required when mode is 'timed'" });
    }
    if (mode === 'one-shot' && durationS !== undefined) {
      issues.push({ pointer: '/params/durationS', message: "is not allowed when mode is 'one-shot'" });
    }
  }
  return issues;
}

const batchValidator = new Validator<EventsBatch>(EVENTS_BATCH_SCHEMA, checkBatch);
const envelopeValidator = new Validator<EnvelopeBatch>(EVENTS_ENVELOPE_SCHEMA, checkEnvelope);
const outboxEventValidator = new Validator<OutboxEvent>(OUTBOX_EVENT_SCHEMA);
const ackValidator = new Validator<Ack>(ACK_SCHEMA);
const statusValidator = new Validator<Status>(STATUS_SCHEMA);
const commandValidator = new Validator<Command>(COMMAND_SCHEMA, checkCommand);
/**
 * The document's keys become pointers and property names on the gateway (gateway/config/overlay.ts)
 * and on the cloud: `__proto__`, `prototype` and `constructor` are refused (forbidden-keys.ts).
 */
const checkConfigDocument = (message: ConfigDocument): Issue[] =>
  forbiddenKeyIssues(message.document, '/document');
const configValidator = new Validator<ConfigDocument>(CONFIG_DOCUMENT_SCHEMA, checkConfigDocument);
const eventBodyValidator = new Validator<GatewayEventBody>(EVENT_BODY_SCHEMA);

export const parseEventsBatch = (payload: string | Uint8Array): ParseResult<EventsBatch> =>
  batchValidator.parse(payload);
/**
 * How the cloud reads `up/events` (docs/uplink-contract.md, "invalid events"): the envelope and
 * every seq must be sound, or the whole batch is refused as parseEventsBatch would; past that, an
 * event that breaks the contract is returned in `invalid` instead of failing the batch, so the
 * cloud can keep it aside and move the lane past it. One bad event never blocks a lane.
 */
export function sortEventsBatch(payload: string | Uint8Array): ParseResult<SortedBatch> {
  const envelope = envelopeValidator.parse(payload);
  if (!envelope.ok) return envelope;
  const { events, ...head } = envelope.value;
  const lane = head.lane ?? 'priority';
  const valid: OutboxEvent[] = [];
  const invalid: InvalidEvent[] = [];
  const ids = new Set<string>();
  for (const raw of events) {
    const checked = outboxEventValidator.validate(raw);
    const issues = checked.ok ? checkEventInBatch(checked.value, lane, ids) : checked.errors;
    if (checked.ok && issues.length === 0) {
      valid.push(checked.value);
      ids.add(checked.value.id);
      continue;
    }
    invalid.push({
      seq: raw.seq,
      id: readableString(raw['id']),
      kind: readableString(raw['kind']),
      raw,
      issues: issues.slice(0, MAX_ISSUES),
    });
  }
  return { ok: true, value: { batch: { ...head, events: valid }, invalid } };
}

export const parseAck = (payload: string | Uint8Array): ParseResult<Ack> => ackValidator.parse(payload);
export const parseStatus = (payload: string | Uint8Array): ParseResult<Status> =>
  statusValidator.parse(payload);
export const parseCommand = (payload: string | Uint8Array): ParseResult<Command> =>
  commandValidator.parse(payload);
export const parseConfigDocument = (payload: string | Uint8Array): ParseResult<ConfigDocument> =>
  configValidator.parse(payload);

export const validateEventsBatch = (value: unknown): ParseResult<EventsBatch> =>
  batchValidator.validate(value);
export const validateAck = (value: unknown): ParseResult<Ack> => ackValidator.validate(value);
export const validateStatus = (value: unknown): ParseResult<Status> => statusValidator.validate(value);
export const validateCommand = (value: unknown): ParseResult<Command> => commandValidator.validate(value);
export const validateConfigDocument = (value: unknown): ParseResult<ConfigDocument> =>
  configValidator.validate(value);
/** One outbox event body (no seq/id/ts), e.g. before the gateway writes it to its outbox. */
export const validateEventBody = (value: unknown): ParseResult<GatewayEventBody> =>
  eventBodyValidator.validate(value);
