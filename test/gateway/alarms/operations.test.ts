/**
 * Every operator action in every state, through the engine: legal ones emit exactly one
 * transition (cause 'operation', who and why); illegal ones throw AlarmError with a stable code
 * and change nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlarmEngine } from '../../../gateway/alarms/engine.js';
import { AlarmError, type AlarmErrorCode, type EngineOutput } from '../../../gateway/alarms/types.js';
import { TECH, at, commLoss, rule } from './helpers.js';

const FLAG = 'dev:flag';
const LATCH = 'dev:latch';

function engine(): AlarmEngine {
  return new AlarmEngine(
    [
      rule('dev', 'flag', { kind: 'boolean', pointKey: 'flag' }),
      rule('dev', 'latch', { kind: 'boolean', pointKey: 'latch', latched: true }),
      commLoss('dev', 30),
    ],
    [],
    { devices: [{ deviceId: 'dev', busId: 'b1', children: [] }] },
  );
}

/** Drives the engine to a state at t = 10 s; operations then happen at t = 20 s. */
const SETUPS: Record<string, { key: string; setup: (e: AlarmEngine) => void }> = {
  normal: { key: FLAG, setup: (e) => e.evaluateReadings('dev', [{ key: 'flag', value: false }], at(10)) },
  unacknowledged: {
    key: FLAG,
    setup: (e) => e.evaluateReadings('dev', [{ key: 'flag', value: true }], at(10)),
  },
  acknowledged: {
    key: FLAG,
    setup: (e) => {
      e.evaluateReadings('dev', [{ key: 'flag', value: true }], at(10));
      e.acknowledge(FLAG, TECH, at(11));
    },
  },
  rtn_unacknowledged: {
    key: FLAG,
    setup: (e) => {
      e.evaluateReadings('dev', [{ key: 'flag', value: true }], at(10));
      e.evaluateReadings('dev', [{ key: 'flag', value: false }], at(11));
    },
  },
  latched: {
    key: LATCH,
    setup: (e) => {
      e.evaluateReadings('dev', [{ key: 'latch', value: true }], at(10));
      e.acknowledge(LATCH, TECH, at(11));
      e.evaluateReadings('dev', [{ key: 'latch', value: false }], at(12));
    },
  },
  shelved: {
    key: FLAG,
    setup: (e) => {
      e.evaluateReadings('dev', [{ key: 'flag', value: true }], at(10));
      e.shelve(FLAG, { mode: 'timed', durationMs: 3_600_000 }, TECH, at(11));
    },
  },
  suppressed: {
    key: FLAG,
    setup: (e) => {
      e.evaluateReadings('dev', [{ key: 'flag', value: true }], at(0));
      e.evaluateCommunication('dev', false, at(5));
      e.tick(at(19)); // 19 s without contact... not yet
      e.tick(at(30)); // 30 s: comm_loss, the device is dark, its flag alarm suppressed
    },
  },
  out_of_service: {
    key: FLAG,
    setup: (e) => {
      e.evaluateReadings('dev', [{ key: 'flag', value: true }], at(10));
      e.removeFromService(FLAG, TECH, at(11));
    },
  },
};

type Op = (e: AlarmEngine, key: string) => EngineOutput;
const OPS: Record<string, Op> = {
  acknowledge: (e, k) => e.acknowledge(k, TECH, at(20)),
  shelve_timed: (e, k) => e.shelve(k, { mode: 'timed', durationMs: 600_000 }, TECH, at(20)),
  shelve_one_shot: (e, k) => e.shelve(k, { mode: 'one-shot' }, TECH, at(20)),
  unshelve: (e, k) => e.unshelve(k, TECH, at(20)),
  reset: (e, k) => e.reset(k, TECH, at(20)),
  remove_from_service: (e, k) => e.removeFromService(k, TECH, at(20)),
  return_to_service: (e, k) => e.returnToService(k, TECH, at(20)),
};

const ILLEGAL = 'ALARM_ILLEGAL_OPERATION';
// Expected state after the operation, or the error code.
const TABLE: Record<string, Record<string, string>> = {
  normal: {
    acknowledge: ILLEGAL,
    shelve_timed: ILLEGAL,
    shelve_one_shot: ILLEGAL,
    unshelve: ILLEGAL,
    reset: ILLEGAL,
    remove_from_service: 'out_of_service',
    return_to_service: ILLEGAL,
  },
  unacknowledged: {
    acknowledge: 'acknowledged',
    shelve_timed: 'shelved',
    shelve_one_shot: 'shelved',
    unshelve: ILLEGAL,
    reset: ILLEGAL,
    remove_from_service: 'out_of_service',
    return_to_service: ILLEGAL,
  },
  acknowledged: {
    acknowledge: ILLEGAL,
    shelve_timed: 'shelved',
    shelve_one_shot: 'shelved',
    unshelve: ILLEGAL,
    reset: ILLEGAL,
    remove_from_service: 'out_of_service',
    return_to_service: ILLEGAL,
  },
  rtn_unacknowledged: {
    acknowledge: 'normal',
    shelve_timed: 'shelved',
    shelve_one_shot: ILLEGAL,
    unshelve: ILLEGAL,
    reset: ILLEGAL,
    remove_from_service: 'out_of_service',
    return_to_service: ILLEGAL,
  },
  latched: {
    acknowledge: ILLEGAL,
    shelve_timed: 'shelved',
    shelve_one_shot: ILLEGAL,
    unshelve: ILLEGAL,
    reset: 'normal',
    remove_from_service: 'out_of_service',
    return_to_service: ILLEGAL,
  },
  shelved: {
    acknowledge: ILLEGAL,
    shelve_timed: ILLEGAL,
    shelve_one_shot: ILLEGAL,
    unshelve: 'unacknowledged',
    reset: ILLEGAL,
    remove_from_service: 'out_of_service',
    return_to_service: ILLEGAL,
  },
  suppressed: {
    acknowledge: ILLEGAL,
    shelve_timed: ILLEGAL,
    shelve_one_shot: ILLEGAL,
    unshelve: ILLEGAL,
    reset: ILLEGAL,
    remove_from_service: 'out_of_service',
    return_to_service: ILLEGAL,
  },
  out_of_service: {
    acknowledge: ILLEGAL,
    shelve_timed: ILLEGAL,
    shelve_one_shot: ILLEGAL,
    unshelve: ILLEGAL,
    reset: ILLEGAL,
    remove_from_service: ILLEGAL,
    return_to_service: 'unacknowledged',
  },
};

function expectAlarmError(fn: () => unknown, code: AlarmErrorCode, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof AlarmError, `expected an AlarmError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

describe('engine operations: every operation in every state', () => {
  for (const [state, row] of Object.entries(TABLE)) {
    for (const [opName, expected] of Object.entries(row)) {
      it(`${opName} in ${state} -> ${expected}`, () => {
        const setup = SETUPS[state];
        const op = OPS[opName];
        assert.ok(setup !== undefined && op !== undefined);
        const e = engine();
        setup.setup(e);
        assert.equal(e.record(setup.key)?.state, state, 'setup reached the state');
        const before = e.records();
        if (expected === ILLEGAL) {
          expectAlarmError(() => op(e, setup.key), ILLEGAL, new RegExp(`'${state}'`));
          assert.deepEqual(e.records(), before, 'an illegal operation changes nothing');
          return;
        }
        const out = op(e, setup.key);
        assert.equal(e.record(setup.key)?.state, expected);
        assert.equal(out.transitions.length, 1);
        const t = out.transitions[0];
        assert.equal(t?.from, state);
        assert.equal(t?.to, expected);
        assert.equal(t?.cause, 'operation');
        assert.equal(t?.by, TECH.by);
        assert.equal(t?.reason, TECH.reason);
        assert.deepEqual(
          out.records.map((r) => r.alarmKey),
          [setup.key],
        );
        assert.deepEqual(out.records[0], e.record(setup.key));
      });
    }
  }
});

describe('engine operations: arguments', () => {
  it('unknown alarm -> ALARM_UNKNOWN', () => {
    expectAlarmError(() => engine().acknowledge('dev:nope', TECH, at(1)), 'ALARM_UNKNOWN');
  });

  it('a disabled rule is unknown to operations', () => {
    const e = new AlarmEngine([rule('dev', 'off', { kind: 'boolean', pointKey: 'x', enabled: false })], [], {
      devices: [],
    });
    expectAlarmError(() => e.acknowledge('dev:off', TECH, at(1)), 'ALARM_UNKNOWN', /disabled/);
    assert.deepEqual(
      e.rules().map((r) => [r.alarmKey, r.enabled]),
      [['dev:off', false]],
      'the disabled rule is still listed',
    );
    assert.deepEqual(e.records(), [], 'but not evaluated');
  });

  it('shelve and remove from service need a reason; every operation needs who', () => {
    const e = engine();
    SETUPS['unacknowledged']?.setup(e);
    const before = e.records();
    const noReason = { by: 'tech', reason: ' ' };
    expectAlarmError(
      () => e.shelve(FLAG, { mode: 'timed', durationMs: 1000 }, noReason, at(20)),
      'ALARM_REASON_REQUIRED',
    );
    expectAlarmError(() => e.removeFromService(FLAG, noReason, at(20)), 'ALARM_REASON_REQUIRED');
    expectAlarmError(() => e.acknowledge(FLAG, { by: '', reason: '' }, at(20)), 'ALARM_REASON_REQUIRED');
    assert.deepEqual(e.records(), before);
    // Acknowledging needs no reason: the transition says null.
    const out = e.acknowledge(FLAG, { by: 'tech', reason: '' }, at(20));
    assert.equal(out.transitions[0]?.reason, null);
  });

  it('a timed shelve longer than the maximum -> ALARM_SHELVE_TOO_LONG; the maximum itself is fine', () => {
    const e = engine();
    SETUPS['unacknowledged']?.setup(e);
    const before = e.records();
    expectAlarmError(
      () => e.shelve(FLAG, { mode: 'timed', durationMs: 8 * 3_600_000 + 1 }, TECH, at(20)),
      'ALARM_SHELVE_TOO_LONG',
    );
    expectAlarmError(() => e.shelve(FLAG, { mode: 'timed' }, TECH, at(20)), ILLEGAL, /durationMs/);
    assert.deepEqual(e.records(), before);
    e.shelve(FLAG, { mode: 'timed', durationMs: 8 * 3_600_000 }, TECH, at(20));
    assert.equal(e.record(FLAG)?.shelve?.untilMonoMs, 20_000 + 8 * 3_600_000);
  });

  it('the maximum shelve time is an option', () => {
    const e = new AlarmEngine(
      [rule('dev', 'flag', { kind: 'boolean', pointKey: 'flag' })],
      [],
      { devices: [] },
      {
        maxShelveMs: 60_000,
      },
    );
    e.evaluateReadings('dev', [{ key: 'flag', value: true }], at(1));
    expectAlarmError(
      () => e.shelve(FLAG, { mode: 'timed', durationMs: 61_000 }, TECH, at(2)),
      'ALARM_SHELVE_TOO_LONG',
    );
  });
});
