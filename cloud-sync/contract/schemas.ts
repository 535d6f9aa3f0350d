/**
 * JSON Schemas (draft-07) of every uplink message (docs/uplink-contract.md). Both ends validate
 * with them (validate.ts): the gateway before it publishes and when it receives, the cloud when it
 * receives. Every object is closed (additionalProperties false) so a typo fails loudly; new
 * fields within v1 are added here as optional, and receivers are deployed before senders use them
 * (docs/uplink-contract.md, versioning). The TypeScript types are in types.ts and events.ts.
 */
import { ALARM_STATES, EVENT_CLASS, LANES, type EventClass, type GatewayEventKind } from './events.js';
import { REMOTE_CONFIG_SCHEMA } from './config-document.js';
import { DOWNLINK_REFUSAL_CODES, SIGNATURE_SCHEMA } from './signing.js';
import { GATEWAY_ID_PATTERN } from './topics.js';
import type { CommandAction } from './types.js';

export type JsonSchema = Readonly<Record<string, unknown>>;

/** Most events in one `up/events` batch; the gateway also keeps the payload under MAX_PAYLOAD_BYTES. */
export const MAX_EVENTS_PER_BATCH = 1000;
/** Largest payload of any message, bytes; larger ones are refused before JSON.parse. */
export const MAX_PAYLOAD_BYTES = 1_048_576;
/** Ids, names, keys. */
export const MAX_ID_LENGTH = 256;
/** Free text: reasons, messages, errors. */
export const MAX_TEXT_LENGTH = 2048;
/** Most keys in a map (telemetry values, aggregate points, audit detail). */
export const MAX_MAP_KEYS = 256;
/** Longest override or shelve a command may ask for, seconds (one day). */
export const MAX_COMMAND_DURATION_S = 86_400;
/**
 * Deepest nesting of objects and arrays in a free-form field (`{}` is 1 level, `{"a":[]}` 2). JSON
 * has no depth limit of its own and MAX_PAYLOAD_BYTES allows hundreds of thousands of levels, while
 * JSON.stringify, canonicalJson and every other recursive walker overflow the stack at a few
 * thousand (issue 10: a 10,000-deep audit detail failed the cloud's commit of its whole batch).
 * 32 is over four times the deepest real shape (a whole gateway configuration nests 7 levels) and
 * shallow enough for any recursive code to walk with stack to spare. Not a JSON Schema keyword:
 * validate.ts registers `maxDepth` with ajv and measures it without recursion.
 */
export const MAX_DEPTH = 32;

const SEQ_MAX = Number.MAX_SAFE_INTEGER;

// Building blocks. Kept as small functions so every bound is written once.
const id = (): JsonSchema => ({ type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH });
const text = (): JsonSchema => ({ type: 'string', maxLength: MAX_TEXT_LENGTH });
const nullableText = (): JsonSchema => ({ type: ['string', 'null'], maxLength: MAX_TEXT_LENGTH });
/**
 * Lower-case UUIDs only (what randomUUID() and the epoch migration produce): ids are idempotency
 * keys, and ajv's `uuid` format would also accept upper case and a `urn:uuid:` prefix, making two
 * spellings of one id.
 */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
export const HASH_PATTERN = '^[0-9a-f]{64}$';
export const uuid = (): JsonSchema => ({ type: 'string', pattern: UUID_PATTERN });
const timestamp = (): JsonSchema => ({ type: 'string', format: 'date-time', maxLength: 64 });
const int = (minimum: number, maximum = SEQ_MAX): JsonSchema => ({ type: 'integer', minimum, maximum });
const num = (): JsonSchema => ({ type: 'number' });
const seq = (): JsonSchema => int(1);

/** A closed object whose listed properties are all required except `optional`. */
function object(properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((key) => !optional.includes(key)),
    additionalProperties: false,
  };
}

/**
 * A value whose content the contract leaves open: bounded in depth like every free-form field, so
 * that no valid message is too deep to serialise (MAX_DEPTH).
 */
function freeForm(schema: JsonSchema = {}): JsonSchema {
  return { ...schema, maxDepth: MAX_DEPTH };
}

/** A map with bounded keys whose values all match `value`. */
function map(value: JsonSchema): JsonSchema {
  return {
    type: 'object',
    maxProperties: MAX_MAP_KEYS,
    propertyNames: { maxLength: MAX_ID_LENGTH },
    additionalProperties: value,
  };
}

/** Body properties of each event kind (without `kind`), mirroring the interfaces in events.ts. */
const EVENT_BODY_PROPERTIES: Readonly<Record<GatewayEventKind, Record<string, JsonSchema>>> = {
  alarm_transition: {
    alarmKey: id(),
    deviceId: id(),
    ruleKey: id(),
    condition: id(),
    from: { enum: [...ALARM_STATES] },
    to: { enum: [...ALARM_STATES] },
    level: int(0, 3),
    priority: { enum: ['low', 'medium', 'high', 'critical', null] },
    active: { type: 'boolean' },
    value: { type: ['number', 'boolean', 'null'] },
    setpoint: { type: ['number', 'null'] },
    cause: { enum: ['reading', 'timer', 'operation', 'dependency', 'config'] },
    by: nullableText(),
    reason: nullableText(),
    message: {
      type: ['object', 'null'],
      properties: { 'zh-CN': text(), en: text() },
      required: ['zh-CN', 'en'],
      additionalProperties: false,
    },
    family: id(),
  },
  alarm_chattering: {
    alarmKey: id(),
    deviceId: id(),
    activations: int(0),
    windowS: { type: 'number', minimum: 0 },
  },
  vehicle: {
    deviceId: id(),
    peakMicrostrain: num(),
    channel: id(),
    estimatedTonnes: num(),
    durationMs: { type: 'number', minimum: 0 },
  },
  overweight: {
    deviceId: id(),
    level: int(0, 3),
    thresholdTonnes: num(),
    estimatedTonnes: num(),
    peakMicrostrain: num(),
    channel: id(),
    durationMs: { type: 'number', minimum: 0 },
    windowId: id(),
  },
  lighting_action: {
    deviceId: id(),
    target: id(),
    action: { enum: ['switch', 'dim'] },
    value: { type: ['number', 'boolean'] },
    reason: { enum: ['astronomical', 'calendar', 'override', 'command', 'restore'] },
    ok: { type: 'boolean' },
    error: nullableText(),
  },
  telemetry: {
    deviceId: id(),
    values: map({ type: ['number', 'boolean'] }),
  },
  telemetry_aggregate: {
    deviceId: id(),
    periodS: { enum: [60, 3600] },
    periodStartMs: int(0),
    points: map(object({ min: num(), max: num(), mean: num(), count: int(0) })),
  },
  strain_statistics: {
    deviceId: id(),
    periodStartMs: int(0),
    channels: map(object({ min: num(), max: num(), mean: num(), rms: num(), count: int(0) })),
  },
  audit: {
    actor: id(),
    action: id(),
    target: id(),
    // Free-form by design, bounded in breadth (MAX_MAP_KEYS), depth (MAX_DEPTH) and size
    // (MAX_PAYLOAD_BYTES).
    detail: freeForm({ type: 'object', maxProperties: MAX_MAP_KEYS }),
  },
  gap: {
    fromSeq: seq(),
    toSeq: seq(),
    count: int(0),
    fromTs: timestamp(),
    toTs: timestamp(),
    reason: text(),
    lane: { enum: [...LANES] },
  },
  store_quarantined: {
    file: text(),
    quarantinedAs: text(),
    reason: text(),
  },
  command_result: {
    commandId: id(),
    action: id(),
    target: id(),
    status: { enum: ['succeeded', 'failed', 'rejected', 'expired', 'duplicate'] },
    error: nullableText(),
    // Set when the message was refused for its signature (signing.ts); added within v1.
    code: { enum: [...DOWNLINK_REFUSAL_CODES] },
  },
  config_result: {
    version: int(1),
    hash: { type: 'string', pattern: HASH_PATTERN },
    status: { enum: ['applied', 'rejected', 'rolled_back'] },
    activeVersion: { type: ['integer', 'null'], minimum: 1, maximum: SEQ_MAX },
    errors: { type: 'array', maxItems: 100, items: object({ pointer: text(), message: text() }) },
    // Set when the document was refused for its signature (signing.ts); added within v1.
    code: { enum: [...DOWNLINK_REFUSAL_CODES] },
  },
  config_override: {
    pointer: text(),
    action: { enum: ['set', 'clear'] },
    // Any setting's value (a number, a schedule, a list of levels): free-form, bounded in depth.
    value: freeForm(),
    previous: freeForm(),
    by: id(),
    reason: nullableText(),
  },
};

export const EVENT_KINDS = Object.keys(EVENT_CLASS) as GatewayEventKind[];

/** Fields added within v1, which older gateways do not send (docs/uplink-contract.md, versioning). */
const EVENT_BODY_OPTIONAL: Readonly<Partial<Record<GatewayEventKind, readonly string[]>>> = {
  alarm_transition: ['family'],
  gap: ['lane'],
  command_result: ['code'],
  config_result: ['code'],
};

function withKind(kind: string, properties: Record<string, JsonSchema>): Record<string, JsonSchema> {
  return { kind: { const: kind }, ...properties };
}

/** Schema of one event body (what the gateway writes to its outbox), per kind. */
export const EVENT_BODY_SCHEMAS: Readonly<Record<GatewayEventKind, JsonSchema>> = Object.fromEntries(
  EVENT_KINDS.map((kind) => [
    kind,
    object(withKind(kind, EVENT_BODY_PROPERTIES[kind]), EVENT_BODY_OPTIONAL[kind]),
  ]),
) as Record<GatewayEventKind, JsonSchema>;

/**
 * `discriminator` makes ajv check an object only against the branch its tag selects, so one bad
 * field yields one error at its own pointer instead of a complaint from every branch of oneOf.
 */
function discriminated(tag: string, branches: JsonSchema[]): JsonSchema {
  // Every branch requires the tag; ajv's strictRequired refuses a top-level `required` for it.
  return { type: 'object', discriminator: { propertyName: tag }, oneOf: branches };
}

/** Any event body, selected by `kind`. */
export const EVENT_BODY_SCHEMA: JsonSchema = discriminated(
  'kind',
  EVENT_KINDS.map((kind) => EVENT_BODY_SCHEMAS[kind]),
);

/** Any outbox event as sent upstream: envelope (seq, id, ts) plus the body of its kind. */
export const OUTBOX_EVENT_SCHEMA: JsonSchema = discriminated(
  'kind',
  EVENT_KINDS.map((kind) =>
    object(
      { seq: seq(), id: uuid(), ts: timestamp(), ...withKind(kind, EVENT_BODY_PROPERTIES[kind]) },
      EVENT_BODY_OPTIONAL[kind],
    ),
  ),
);

export const EVENTS_BATCH_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'kerbside/v1 up/events',
  ...object(
    {
      gw: { type: 'string', pattern: GATEWAY_ID_PATTERN },
      epoch: uuid(),
      lane: { enum: [...LANES] },
      after: int(0),
      // May be empty: an empty batch asks the cloud for its lastCommitted (it answers with an ack).
      events: { type: 'array', maxItems: MAX_EVENTS_PER_BATCH, items: OUTBOX_EVENT_SCHEMA },
    },
    ['lane'],
  ),
};

/**
 * The batch with each event checked only for a usable seq: what the cloud's ingest reads first, so
 * that an event breaking the contract can be set aside alone (docs/uplink-contract.md, "invalid
 * events") while every other event of the batch is checked against OUTBOX_EVENT_SCHEMA.
 */
export const EVENTS_ENVELOPE_SCHEMA: JsonSchema = {
  ...EVENTS_BATCH_SCHEMA,
  title: 'kerbside/v1 up/events (envelope)',
  properties: {
    ...(EVENTS_BATCH_SCHEMA['properties'] as Record<string, JsonSchema>),
    events: {
      type: 'array',
      maxItems: MAX_EVENTS_PER_BATCH,
      items: { type: 'object', properties: { seq: seq() }, required: ['seq'] },
    },
  },
};

export const ACK_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'kerbside/v1 down/ack',
  ...object({ epoch: uuid(), lane: { enum: [...LANES] }, upTo: int(0) }, ['lane']),
};

const EVENT_CLASSES: readonly EventClass[] = [...new Set(Object.values(EVENT_CLASS))];

export const STATUS_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'kerbside/v1 up/status',
  ...object(
    {
      online: { type: 'boolean' },
      version: { type: 'string', minLength: 1, maxLength: 64 },
      uptimeS: { type: 'number', minimum: 0 },
      backlog: object(
        {
          count: int(0),
          oldestAgeS: { type: ['number', 'null'], minimum: 0 },
          byClass: object(Object.fromEntries(EVENT_CLASSES.map((c) => [c, int(0)])), EVENT_CLASSES),
        },
        ['byClass'],
      ),
      epoch: uuid(),
      lanes: object(
        Object.fromEntries(LANES.map((lane) => [lane, object({ lastSeq: int(0), ackedSeq: int(0) })])),
        LANES,
      ),
      configVersion: { type: ['integer', 'null'], minimum: 1, maximum: SEQ_MAX },
      storage: object({
        state: { enum: ['ok', 'low', 'full'] },
        freeBytes: { type: ['integer', 'null'], minimum: 0, maximum: SEQ_MAX },
        reason: nullableText(),
      }),
    },
    ['epoch', 'lanes', 'configVersion', 'storage'],
  ),
};

const operator = { by: id(), reason: { type: 'string', minLength: 1, maxLength: MAX_TEXT_LENGTH } };
const duration = (): JsonSchema => int(1, MAX_COMMAND_DURATION_S);
const switchParams = object({ on: { type: 'boolean' }, durationS: duration(), ...operator });

/** Params schema of each command action. */
export const COMMAND_PARAMS_SCHEMAS: Readonly<Record<CommandAction, JsonSchema>> = {
  'lamp.switch': switchParams,
  'lamp.dim': object({
    level: { type: 'number', minimum: 0, maximum: 100 },
    durationS: duration(),
    ...operator,
  }),
  'loop.switch': switchParams,
  'alarm.acknowledge': object({ by: id(), reason: text() }, ['reason']),
  // durationS goes with mode 'timed' only; validate.ts checks that (an if/then here would give
  // the reader a vaguer error).
  'alarm.shelve': object({ ...operator, mode: { enum: ['one-shot', 'timed'] }, durationS: duration() }, [
    'durationS',
  ]),
};

export const COMMAND_ACTIONS = Object.keys(COMMAND_PARAMS_SCHEMAS) as CommandAction[];

export const COMMAND_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'kerbside/v1 down/cmd',
  ...discriminated(
    'action',
    COMMAND_ACTIONS.map((action) =>
      object(
        {
          id: uuid(),
          issuedAt: timestamp(),
          expiresAt: timestamp(),
          target: id(),
          action: { const: action },
          params: COMMAND_PARAMS_SCHEMAS[action],
          // The cloud's signature (signing.ts); optional in the schema because the cloud validates a
          // command before it signs it: the gateway refuses one without it before the schema.
          sig: SIGNATURE_SCHEMA,
        },
        ['sig'],
      ),
    ),
  ),
};

export const CONFIG_DOCUMENT_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'kerbside/v1 down/config',
  ...object(
    {
      version: int(1),
      hash: { type: 'string', pattern: HASH_PATTERN },
      // Checked in full by the gateway's own configuration schema; here only its shape.
      document: REMOTE_CONFIG_SCHEMA,
      // As in COMMAND_SCHEMA: the gateway refuses a document without it before the schema.
      sig: SIGNATURE_SCHEMA,
    },
    ['sig'],
  ),
};
