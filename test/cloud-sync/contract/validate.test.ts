import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError } from '../../../cloud-sync/contract/errors.js';
import { EVENT_CLASS, LANES } from '../../../cloud-sync/contract/events.js';
import {
  ACK_SCHEMA,
  COMMAND_SCHEMA,
  CONFIG_DOCUMENT_SCHEMA,
  EVENT_BODY_SCHEMAS,
  MAX_DEPTH,
  MAX_EVENTS_PER_BATCH,
  MAX_PAYLOAD_BYTES,
  MAX_TEXT_LENGTH,
  STATUS_SCHEMA,
  type JsonSchema,
} from '../../../cloud-sync/contract/schemas.js';
import {
  parseAck,
  parseCommand,
  parseConfigDocument,
  parseEventsBatch,
  parseStatus,
  sortEventsBatch,
  validateEventBody,
  validateEventsBatch,
  type ParseResult,
} from '../../../cloud-sync/contract/validate.js';
import {
  ACK_SAMPLE,
  BODY_SAMPLES,
  COMMAND_SAMPLES,
  CONFIG_SAMPLE,
  LAMP_DIM,
  LAMP_SWITCH,
  SHELVE_ONE_SHOT,
  SHELVE_TIMED,
  STATUS_SAMPLE,
  TS,
  WILL_SAMPLE,
  sampleBatch,
  sampleEvents,
  uuidFor,
} from './samples.js';
import type { Issue } from '../../../cloud-sync/contract/errors.js';

function errorsOf<T>(result: ParseResult<T>): Issue[] {
  if (result.ok) assert.fail('expected the message to be refused');
  return result.errors;
}

/** Asserts the message is refused with (at least) an error at `pointer` whose message matches. */
function assertIssue<T>(result: ParseResult<T>, pointer: string, message?: RegExp): void {
  const errors = errorsOf(result);
  const hit = errors.find((e) => e.pointer === pointer && (message === undefined || message.test(e.message)));
  assert.ok(hit, `no error at ${pointer} matching ${String(message)}; got ${JSON.stringify(errors)}`);
}

const json = (value: unknown): string => JSON.stringify(value);

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  assert.ok(item !== undefined, `no item ${index}`);
  return item;
}

describe('samples of every message validate', () => {
  it('every event body kind, on its own', () => {
    for (const body of Object.values(BODY_SAMPLES)) {
      assert.deepEqual(validateEventBody(body), { ok: true, value: body }, body.kind);
    }
  });

  it('a batch holding every kind of its lane, from a string and from a Buffer', () => {
    for (const lane of LANES) {
      const batch = sampleBatch(lane);
      assert.ok(batch.events.length >= 4, lane);
      assert.deepEqual(parseEventsBatch(json(batch)), { ok: true, value: batch });
      assert.deepEqual(parseEventsBatch(Buffer.from(json(batch))), { ok: true, value: batch });
    }
  });

  it('a batch without a lane is a priority-lane batch', () => {
    const { lane: _lane, ...noLane } = sampleBatch('priority');
    assert.equal(validateEventsBatch(noLane).ok, true);
    const { lane: _telemetry, ...telemetryNoLane } = sampleBatch('telemetry');
    assertIssue(
      validateEventsBatch(telemetryNoLane),
      '/events/0/kind',
      /telemetry lane, not the priority lane/,
    );
  });

  it('an event in the wrong lane, and an unknown lane', () => {
    const batch = sampleBatch('telemetry');
    batch.events[1] = { ...at(sampleEvents('priority'), 0), seq: at(batch.events, 1).seq };
    assertIssue(validateEventsBatch(batch), '/events/1/kind', /priority lane, not the telemetry lane/);
    assertIssue(validateEventsBatch({ ...sampleBatch(), lane: 'bulk' }), '/lane', /must be one of|allowed/);
  });

  it('an empty batch (asks the cloud for its lastCommitted)', () => {
    assert.equal(parseEventsBatch(json({ ...sampleBatch(), events: [] })).ok, true);
  });

  it('a batch with a hole in its seqs (evicted telemetry)', () => {
    const batch = sampleBatch();
    batch.events = [at(batch.events, 0), { ...at(batch.events, 1), seq: 40 }];
    assert.equal(validateEventsBatch(batch).ok, true);
  });

  it('ack, status, last will, every command action, config document', () => {
    assert.deepEqual(parseAck(json(ACK_SAMPLE)), { ok: true, value: ACK_SAMPLE });
    assert.deepEqual(parseStatus(json(STATUS_SAMPLE)), { ok: true, value: STATUS_SAMPLE });
    assert.deepEqual(parseStatus(json(WILL_SAMPLE)), { ok: true, value: WILL_SAMPLE });
    for (const command of COMMAND_SAMPLES) {
      assert.deepEqual(parseCommand(json(command)), { ok: true, value: command }, command.action);
    }
    assert.deepEqual(parseConfigDocument(json(CONFIG_SAMPLE)), { ok: true, value: CONFIG_SAMPLE });
  });

  it('command and config results are never-evicted outbox classes', () => {
    assert.equal(EVENT_CLASS.command_result, 'command_result');
    assert.equal(EVENT_CLASS.config_result, 'config_result');
  });
});

describe('payload problems', () => {
  it('malformed JSON is an error at the root, not an exception', () => {
    assertIssue(parseEventsBatch('{"gw": '), '', /malformed JSON/);
    assertIssue(parseAck(''), '', /malformed JSON/);
    assertIssue(parseCommand(Buffer.from('not json')), '', /malformed JSON/);
  });

  it('invalid UTF-8 is refused', () => {
    assertIssue(parseStatus(Buffer.from([0x7b, 0xff, 0x7d])), '', /UTF-8/);
  });

  it('a payload above MAX_PAYLOAD_BYTES is refused before parsing', () => {
    const big = `"${'x'.repeat(MAX_PAYLOAD_BYTES)}"`;
    assertIssue(parseEventsBatch(big), '', /more than the limit/);
    assertIssue(parseEventsBatch(Buffer.from(big)), '', /more than the limit/);
  });

  it('a JSON value of the wrong type at the root', () => {
    assertIssue(parseAck('[]'), '', /must be an object/);
    assertIssue(parseAck('null'), '', /must be an object/);
  });

  it('throws ContractError only for programmer misuse (a payload that is not a string or bytes)', () => {
    assert.throws(
      () => parseAck(42 as unknown as string),
      (error: unknown) => error instanceof ContractError && error.code === 'CONTRACT_INVALID',
    );
  });
});

describe('events batch rules', () => {
  it('missing field, wrong type and extra field each at their pointer', () => {
    const { gw: _gw, ...noGw } = sampleBatch();
    assertIssue(validateEventsBatch(noGw), '/gw', /is required/);
    assertIssue(validateEventsBatch({ ...sampleBatch(), after: '20' }), '/after', /integer/);
    assertIssue(validateEventsBatch({ ...sampleBatch(), extra: 1 }), '/extra', /not a field/);
  });

  it('event envelope and body fields at their pointer', () => {
    const batch = sampleBatch();
    const events: unknown[] = [...batch.events];
    const { seq: _seq, ...noSeq } = at(batch.events, 0);
    events[0] = noSeq;
    events[1] = { ...at(batch.events, 1), activations: 'four' };
    events[2] = { ...at(batch.events, 2), colour: 'red' };
    events[3] = { ...at(batch.events, 3), id: 'not-a-uuid' };
    events[4] = { ...at(batch.events, 4), ts: 'yesterday' };
    const result = validateEventsBatch({ ...batch, events });
    assertIssue(result, '/events/0/seq', /is required/);
    assertIssue(result, '/events/1/activations', /integer/);
    assertIssue(result, '/events/2/colour', /not a field/);
    assertIssue(result, '/events/3/id', /UUID/);
    assertIssue(result, '/events/4/ts', /date-time/);
  });

  it('an unknown or missing kind', () => {
    const batch = sampleBatch();
    const { kind: _kind, ...noKind } = at(batch.events, 1);
    const events: unknown[] = [
      { ...at(batch.events, 0), kind: 'alarm_transitions' },
      noKind,
      { ...at(batch.events, 2), kind: 7 },
    ];
    const result = validateEventsBatch({ ...batch, events });
    assertIssue(result, '/events/0/kind', /unknown kind "alarm_transitions"/);
    assertIssue(result, '/events/1/kind', /is required/);
    assertIssue(result, '/events/2/kind', /must be a string/);
  });

  it('seq not strictly increasing', () => {
    const batch = sampleBatch();
    batch.events[3] = { ...at(batch.events, 3), seq: at(batch.events, 2).seq };
    batch.events[5] = { ...at(batch.events, 5), seq: 22 };
    const result = validateEventsBatch(batch);
    assertIssue(result, '/events/3/seq', /strictly increasing/);
    assertIssue(result, '/events/5/seq', /strictly increasing/);
    assert.equal(errorsOf(result).length, 2);
  });

  it('seq at or below after', () => {
    const batch = sampleBatch();
    batch.events[0] = { ...at(batch.events, 0), seq: 20 };
    assertIssue(validateEventsBatch(batch), '/events/0/seq', /not above after \(20\)/);
    assertIssue(validateEventsBatch({ ...sampleBatch(), after: 21 }), '/events/0/seq', /not above after/);
  });

  it('seq semantics are checked only once the schema passes', () => {
    const batch = sampleBatch();
    batch.events[1] = { ...at(batch.events, 1), seq: 1 };
    const result = validateEventsBatch({ ...batch, gw: 'BAD' });
    assertIssue(result, '/gw', /must be a gateway id/);
    assert.deepEqual(
      errorsOf(result).map((e) => e.pointer),
      ['/gw'],
    );
  });

  it('duplicate event ids and an inverted gap', () => {
    const batch = sampleBatch();
    batch.events[1] = { ...at(batch.events, 1), id: at(batch.events, 0).id };
    batch.events.push({ seq: 99, id: uuidFor(99), ts: TS, ...BODY_SAMPLES.gap, fromSeq: 9, toSeq: 5 });
    const result = validateEventsBatch(batch);
    assertIssue(result, '/events/1/id', /twice/);
    assertIssue(result, `/events/${batch.events.length - 1}/toSeq`, /below fromSeq/);
  });

  it(`more than ${MAX_EVENTS_PER_BATCH} events`, () => {
    const body = BODY_SAMPLES.telemetry;
    const events = Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, (_, i) => ({
      seq: i + 1,
      id: uuidFor(i + 1),
      ts: TS,
      ...body,
    }));
    const batch = sampleBatch('telemetry');
    assertIssue(validateEventsBatch({ ...batch, after: 0, events }), '/events', /more than 1000/);
    assert.equal(validateEventsBatch({ ...batch, after: 0, events: events.slice(1) }).ok, true);
  });

  it('bounded strings and maps', () => {
    const long = { ...BODY_SAMPLES.gap, reason: 'x'.repeat(MAX_TEXT_LENGTH + 1) };
    assertIssue(validateEventBody(long), '/reason', /more than 2048/);
    const values = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`p${i}`, i]));
    assertIssue(validateEventBody({ ...BODY_SAMPLES.telemetry, values }), '/values', /more than 256/);
    assertIssue(validateEventBody({ ...BODY_SAMPLES.telemetry, values: { v: 'high' } }), '/values/v');
  });

  it('a nullable object field: null is fine, a wrong shape is not', () => {
    assert.equal(validateEventBody({ ...BODY_SAMPLES.alarm_transition, message: null }).ok, true);
    assertIssue(
      validateEventBody({ ...BODY_SAMPLES.alarm_transition, message: { en: 'x' } }),
      '/message/zh-CN',
      /is required/,
    );
    assertIssue(validateEventBody({ ...BODY_SAMPLES.alarm_transition, to: 'open' }), '/to', /must be one of/);
  });
});

describe('ack, status and config rules', () => {
  it('ack', () => {
    assertIssue(parseAck(json({ epoch: ACK_SAMPLE.epoch })), '/upTo', /is required/);
    assertIssue(parseAck(json({ ...ACK_SAMPLE, upTo: -1 })), '/upTo', />= 0/);
    assertIssue(parseAck(json({ ...ACK_SAMPLE, upTo: 1.5 })), '/upTo', /integer/);
    assertIssue(parseAck(json({ ...ACK_SAMPLE, gw: 'cab-12' })), '/gw', /not a field/);
  });

  it('status', () => {
    assertIssue(parseStatus(json({ ...STATUS_SAMPLE, online: 'yes' })), '/online', /boolean/);
    assertIssue(
      parseStatus(json({ ...STATUS_SAMPLE, backlog: { count: 1 } })),
      '/backlog/oldestAgeS',
      /is required/,
    );
    assertIssue(
      parseStatus(json({ ...STATUS_SAMPLE, backlog: { count: 1, oldestAgeS: 1, byClass: { junk: 1 } } })),
      '/backlog/byClass/junk',
      /not a field/,
    );
  });

  it('config document', () => {
    assertIssue(
      parseConfigDocument(json({ ...CONFIG_SAMPLE, hash: 'A'.repeat(64) })),
      '/hash',
      /lower-case hex SHA-256/,
    );
    assertIssue(parseConfigDocument(json({ ...CONFIG_SAMPLE, version: 0 })), '/version', />= 1/);
    assertIssue(parseConfigDocument(json({ ...CONFIG_SAMPLE, document: [] })), '/document', /object/);
  });
});

describe('command rules', () => {
  it('params that do not match the action', () => {
    // lamp.dim with lamp.switch params: `on` is foreign, `level` is missing.
    const result = parseCommand(json({ ...LAMP_DIM, params: LAMP_SWITCH.params }));
    assertIssue(result, '/params/on', /not a field/);
    assertIssue(result, '/params/level', /is required/);
    assertIssue(
      parseCommand(json({ ...LAMP_DIM, params: { ...LAMP_DIM.params, level: 101 } })),
      '/params/level',
      /<= 100/,
    );
  });

  it('an unknown action', () => {
    assertIssue(parseCommand(json({ ...LAMP_SWITCH, action: 'lamp.explode' })), '/action', /unknown action/);
  });

  it('a timed shelve needs a duration, a one-shot shelve must not have one', () => {
    const { durationS: _d, ...timedNoDuration } = SHELVE_TIMED.params;
    assertIssue(
      parseCommand(json({ ...SHELVE_TIMED, params: timedNoDuration })),
      '/params/durationS',
      /timed/,
    );
    assertIssue(
      parseCommand(json({ ...SHELVE_ONE_SHOT, params: { ...SHELVE_ONE_SHOT.params, durationS: 60 } })),
      '/params/durationS',
      /one-shot/,
    );
  });

  it('expiresAt must be after issuedAt, and ids must be UUIDs', () => {
    assertIssue(
      parseCommand(json({ ...LAMP_SWITCH, expiresAt: LAMP_SWITCH.issuedAt })),
      '/expiresAt',
      /later/,
    );
    assertIssue(parseCommand(json({ ...LAMP_SWITCH, id: '42' })), '/id', /UUID/);
    assertIssue(
      parseCommand(json({ ...LAMP_SWITCH, id: LAMP_SWITCH.id.toUpperCase() })),
      '/id',
      /lower-case UUID/,
    );
  });
});

/**
 * Free-form fields are bounded in depth (issue 10: a 10,000-level audit detail passed the contract,
 * then overflowed the stack in the cloud's JSON.stringify and failed its whole batch). Deep values
 * are built in loops and deep payloads by string concatenation: a recursive helper would overflow
 * before the contract is even asked.
 */
describe(`free-form fields nest at most MAX_DEPTH (${MAX_DEPTH}) levels`, () => {
  /** `{"a":{"a":...{}}}`, `levels` objects deep. */
  function nested(levels: number): Record<string, unknown> {
    let value: Record<string, unknown> = {};
    for (let level = 1; level < levels; level++) value = { a: value };
    return value;
  }
  const nestedText = (levels: number): string => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);
  const DEEP = 'deep value here';
  /** The batch's JSON with `"deep value here"` replaced by `text`, so the batch itself stays shallow. */
  const withDeep = (value: unknown, text: string): string => json(value).replace(json(DEEP), text);

  const audit = BODY_SAMPLES.audit;
  const override = BODY_SAMPLES.config_override;
  const tooDeep = /nests deeper than 32 levels/;

  type EventsBatchLike = Record<string, unknown> & { events: Array<Record<string, unknown>> };
  /** A priority batch: the audit event (seq 21, index 0), then the config override (seq 22). */
  function batchOf(auditDetail: unknown, overrideValue: unknown): EventsBatchLike {
    return {
      ...sampleBatch('priority'),
      events: [
        { seq: 21, id: uuidFor(21), ts: TS, ...audit, detail: auditDetail },
        { seq: 22, id: uuidFor(22), ts: TS, ...override, value: overrideValue },
      ],
    };
  }

  it('audit.detail: 10 and MAX_DEPTH levels pass, one more or 10,000 are refused at /detail', () => {
    assert.equal(validateEventBody({ ...audit, detail: nested(10) }).ok, true);
    assert.equal(validateEventBody({ ...audit, detail: nested(MAX_DEPTH) }).ok, true);
    assertIssue(validateEventBody({ ...audit, detail: nested(MAX_DEPTH + 1) }), '/detail', tooDeep);
    assert.deepEqual(errorsOf(validateEventBody({ ...audit, detail: nested(10_000) })), [
      { pointer: '/detail', message: 'nests deeper than 32 levels' },
    ]);
  });

  it('in a batch: parseEventsBatch refuses it at /events/0/detail, sortEventsBatch sets it aside alone', () => {
    assert.equal(parseEventsBatch(withDeep(batchOf(DEEP, 5), nestedText(10))).ok, true);
    const payload = withDeep(batchOf(DEEP, 5), nestedText(10_000));
    assert.deepEqual(errorsOf(parseEventsBatch(payload)), [
      { pointer: '/events/0/detail', message: 'nests deeper than 32 levels' },
    ]);
    const sorted = sortEventsBatch(payload);
    // Not JSON.stringify(sorted) as the message: it holds the deep event.
    if (!sorted.ok) assert.fail(`the batch was refused whole: ${json(sorted.errors)}`);
    assert.deepEqual(
      sorted.value.batch.events.map((event) => event.seq),
      [22],
      'the valid event goes on',
    );
    const [invalid, ...more] = sorted.value.invalid;
    assert.equal(more.length, 0);
    assert.deepEqual(
      { seq: invalid?.seq, kind: invalid?.kind, issues: invalid?.issues },
      { seq: 21, kind: 'audit', issues: [{ pointer: '/detail', message: 'nests deeper than 32 levels' }] },
    );
  });

  it('config_override value and previous, objects or arrays', () => {
    assert.equal(validateEventBody({ ...override, value: nested(10), previous: [[[1]]] }).ok, true);
    assertIssue(validateEventBody({ ...override, value: nested(10_000) }), '/value', tooDeep);
    const arrays = JSON.parse('['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1)) as unknown;
    assertIssue(validateEventBody({ ...override, previous: arrays }), '/previous', tooDeep);
    assertIssue(
      parseEventsBatch(withDeep(batchOf({}, DEEP), nestedText(10_000))),
      '/events/1/value',
      tooDeep,
    );
  });

  it('config document: alarm rules and lighting', () => {
    const deepDocument = (document: Record<string, unknown>): string =>
      withDeep({ ...CONFIG_SAMPLE, document }, nestedText(10_000));
    assert.equal(
      parseConfigDocument(json({ ...CONFIG_SAMPLE, document: { lighting: nested(10) } })).ok,
      true,
    );
    assertIssue(parseConfigDocument(deepDocument({ lighting: DEEP })), '/document/lighting', tooDeep);
    assertIssue(
      parseConfigDocument(deepDocument({ alarms: { 'gas-1': { h2s: DEEP } } })),
      '/document/alarms/gas-1/h2s',
      tooDeep,
    );
  });

  it('the check itself does not overflow: 100,000 levels, as a value and as a payload', () => {
    assertIssue(validateEventBody({ ...audit, detail: nested(100_000) }), '/detail', tooDeep);
    const payload = withDeep(batchOf(DEEP, 5), nestedText(100_000));
    assert.ok(Buffer.byteLength(payload) < MAX_PAYLOAD_BYTES, 'refused for its depth, not its size');
    assertIssue(parseEventsBatch(payload), '/events/0/detail', tooDeep);
  });

  it('every free-form field of every message carries the bound', () => {
    // A schema that leaves an object's members or an array's items undescribed is free-form.
    // EVENTS_ENVELOPE_SCHEMA's events are open on purpose and not walked: each is then checked
    // against its kind's schema, and a deep one must be set aside alone, not refuse its batch.
    const open: string[] = [];
    const unbounded: string[] = [];
    const walk = (schema: JsonSchema, path: string): void => {
      const s = schema as Record<string, unknown>;
      const types = s['type'] === undefined ? ['object', 'array'] : [s['type']].flat();
      const freeForm =
        s['enum'] === undefined &&
        s['const'] === undefined &&
        s['oneOf'] === undefined &&
        ((types.includes('object') && s['additionalProperties'] === undefined) ||
          (types.includes('array') && s['items'] === undefined));
      if (freeForm) {
        open.push(path);
        if (s['maxDepth'] !== MAX_DEPTH) unbounded.push(path);
      }
      const children: Array<[string, unknown]> = [
        ...Object.entries((s['properties'] ?? {}) as Record<string, unknown>),
        ...Object.entries((s['oneOf'] ?? []) as unknown[]),
        ['*', s['additionalProperties']],
        ['[]', s['items']],
      ];
      for (const [key, child] of children)
        if (typeof child === 'object' && child !== null) walk(child as JsonSchema, `${path}/${key}`);
    };
    for (const [kind, schema] of Object.entries(EVENT_BODY_SCHEMAS)) walk(schema, kind);
    walk(ACK_SCHEMA, 'ack');
    walk(STATUS_SCHEMA, 'status');
    walk(COMMAND_SCHEMA, 'command');
    walk(CONFIG_DOCUMENT_SCHEMA, 'config');
    assert.deepEqual(unbounded, [], 'free-form without maxDepth: MAX_DEPTH');
    assert.deepEqual(open.sort(), [
      'audit/detail',
      'config/document/alarms/*/*',
      'config/document/lighting',
      'config_override/previous',
      'config_override/value',
    ]);
  });
});
