/**
 * The pure ISA-18.2 transition functions, table-driven: every process event and every operation
 * in every state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyOperation,
  applyProcessEvent,
  restingState,
  type AlarmStatus,
  type OperationEvent,
  type ProcessEvent,
} from '../../../gateway/alarms/state-machine.js';
import type { AlarmStateName } from '../../../gateway/alarms/types.js';

const TIMED = { mode: 'timed' as const, untilMonoMs: 60_000, by: 'tech', reason: 'nuisance' };
const ONE_SHOT = { mode: 'one-shot' as const, untilMonoMs: null, by: 'tech', reason: 'nuisance' };
const OOS = { by: 'tech', reason: 'sensor replaced' };

/** A consistent status for each state; `active` says whether the condition holds. */
function status(state: AlarmStateName, active: boolean, extra: Partial<AlarmStatus> = {}): AlarmStatus {
  return {
    state,
    active,
    level: active ? 1 : 0,
    shelve: state === 'shelved' ? TIMED : null,
    outOfService: state === 'out_of_service' ? OOS : null,
    suppressedBy: state === 'suppressed' ? 'dev:comm_loss' : null,
    ...extra,
  };
}

const PLAIN = { latched: false };
const LATCHED = { latched: true };

describe('state machine: process events in every state', () => {
  const activate: ProcessEvent = { kind: 'condition', active: true, level: 1 };
  const clear: ProcessEvent = { kind: 'condition', active: false, level: 0 };
  const up: ProcessEvent = { kind: 'condition', active: true, level: 2 };
  const down: ProcessEvent = { kind: 'condition', active: true, level: 1 };

  const cases: Array<{
    name: string;
    from: AlarmStatus;
    event: ProcessEvent;
    latched?: boolean;
    to: AlarmStateName;
  }> = [
    // activation
    { name: 'normal activates', from: status('normal', false), event: activate, to: 'unacknowledged' },
    {
      name: 'rtn_unack re-activates',
      from: status('rtn_unacknowledged', false),
      event: activate,
      to: 'unacknowledged',
    },
    {
      name: 'latched re-activates',
      from: status('latched', false),
      event: activate,
      latched: true,
      to: 'unacknowledged',
    },
    { name: 'shelved stays shelved', from: status('shelved', false), event: activate, to: 'shelved' },
    {
      name: 'suppressed stays suppressed',
      from: status('suppressed', false),
      event: activate,
      to: 'suppressed',
    },
    {
      name: 'out of service stays',
      from: status('out_of_service', false),
      event: activate,
      to: 'out_of_service',
    },
    // return to normal
    {
      name: 'unack clears to rtn_unack',
      from: status('unacknowledged', true),
      event: clear,
      to: 'rtn_unacknowledged',
    },
    {
      name: 'unack (latched rule) clears to rtn_unack',
      from: status('unacknowledged', true),
      event: clear,
      latched: true,
      to: 'rtn_unacknowledged',
    },
    { name: 'ack clears to normal', from: status('acknowledged', true), event: clear, to: 'normal' },
    {
      name: 'ack (latched rule) clears to latched',
      from: status('acknowledged', true),
      event: clear,
      latched: true,
      to: 'latched',
    },
    {
      name: 'timed shelve stays shelved on clear',
      from: status('shelved', true),
      event: clear,
      to: 'shelved',
    },
    {
      name: 'one-shot shelve ends on clear',
      from: status('shelved', true, { shelve: ONE_SHOT }),
      event: clear,
      to: 'normal',
    },
    {
      name: 'suppressed stays suppressed on clear',
      from: status('suppressed', true),
      event: clear,
      to: 'suppressed',
    },
    {
      name: 'out of service stays on clear',
      from: status('out_of_service', true),
      event: clear,
      to: 'out_of_service',
    },
    // level changes
    {
      name: 'level increase re-annunciates an acked alarm',
      from: status('acknowledged', true),
      event: up,
      to: 'unacknowledged',
    },
    {
      name: 'level increase keeps unack',
      from: status('unacknowledged', true),
      event: up,
      to: 'unacknowledged',
    },
    {
      name: 'level decrease keeps the ack',
      from: status('acknowledged', true, { level: 2 }),
      event: down,
      to: 'acknowledged',
    },
    {
      name: 'level increase while shelved is recorded only',
      from: status('shelved', true),
      event: up,
      to: 'shelved',
    },
    // timers and dependencies
    {
      name: 'timed shelve expiry, active',
      from: status('shelved', true),
      event: { kind: 'shelve_expired' },
      to: 'unacknowledged',
    },
    {
      name: 'timed shelve expiry, clear',
      from: status('shelved', false),
      event: { kind: 'shelve_expired' },
      to: 'normal',
    },
    {
      name: 'suppression of normal',
      from: status('normal', false),
      event: { kind: 'suppression', by: 'x' },
      to: 'suppressed',
    },
    {
      name: 'suppression of unack',
      from: status('unacknowledged', true),
      event: { kind: 'suppression', by: 'x' },
      to: 'suppressed',
    },
    {
      name: 'suppression of shelved',
      from: status('shelved', true),
      event: { kind: 'suppression', by: 'x' },
      to: 'suppressed',
    },
    {
      name: 'suppression of out of service',
      from: status('out_of_service', true),
      event: { kind: 'suppression', by: 'x' },
      to: 'out_of_service',
    },
    {
      name: 'suppression ends, active',
      from: status('suppressed', true),
      event: { kind: 'suppression', by: null },
      to: 'unacknowledged',
    },
    {
      name: 'suppression ends, clear',
      from: status('suppressed', false),
      event: { kind: 'suppression', by: null },
      to: 'normal',
    },
    {
      name: 'suppression ends over a shelve',
      from: status('suppressed', true, { shelve: TIMED }),
      event: { kind: 'suppression', by: null },
      to: 'shelved',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const next = applyProcessEvent(c.from, c.event, c.latched === true ? LATCHED : PLAIN);
      assert.equal(next.state, c.to);
      if (c.event.kind === 'condition') {
        assert.equal(next.active, c.event.active, 'the condition is always recorded');
        assert.equal(next.level, c.event.level);
      }
    });
  }

  it('a shelved alarm suppressed keeps its shelve underneath', () => {
    const next = applyProcessEvent(status('shelved', true), { kind: 'suppression', by: 'x' }, PLAIN);
    assert.deepEqual(next.shelve, TIMED);
  });
});

describe('state machine: every operation in every state', () => {
  const ops: Record<string, OperationEvent> = {
    acknowledge: { kind: 'acknowledge' },
    shelve_timed: { kind: 'shelve', shelve: TIMED },
    shelve_one_shot: { kind: 'shelve', shelve: ONE_SHOT },
    unshelve: { kind: 'unshelve' },
    reset: { kind: 'reset' },
    remove: { kind: 'remove_from_service', outOfService: OOS },
    return: { kind: 'return_to_service' },
  };
  const X = null; // illegal
  // Expected state after each operation; null = illegal. Columns follow STATES.
  const STATES: Array<{ name: string; from: AlarmStatus; latched?: boolean }> = [
    { name: 'normal', from: status('normal', false) },
    { name: 'unacknowledged', from: status('unacknowledged', true) },
    { name: 'acknowledged', from: status('acknowledged', true) },
    { name: 'acknowledged (latched rule)', from: status('acknowledged', true), latched: true },
    { name: 'rtn_unacknowledged', from: status('rtn_unacknowledged', false) },
    { name: 'rtn_unacknowledged (latched rule)', from: status('rtn_unacknowledged', false), latched: true },
    { name: 'latched', from: status('latched', false), latched: true },
    { name: 'shelved (active)', from: status('shelved', true) },
    { name: 'suppressed', from: status('suppressed', true) },
    { name: 'out_of_service (active)', from: status('out_of_service', true) },
    { name: 'out_of_service (clear)', from: status('out_of_service', false) },
  ];
  const TABLE: Record<string, Array<AlarmStateName | null>> = {
    // columns: normal, unack, ack, ack (latched rule), rtn, rtn (latched rule), latched, shelved,
    // suppressed, out of service (active), out of service (clear)
    acknowledge: [X, 'acknowledged', X, X, 'normal', 'latched', X, X, X, X, X],
    shelve_timed: [X, 'shelved', 'shelved', 'shelved', 'shelved', 'shelved', 'shelved', X, X, X, X],
    shelve_one_shot: [X, 'shelved', 'shelved', 'shelved', X, X, X, X, X, X, X],
    unshelve: [X, X, X, X, X, X, X, 'unacknowledged', X, X, X],
    reset: [X, X, X, X, X, X, 'normal', X, X, X, X],
    remove: [
      'out_of_service',
      'out_of_service',
      'out_of_service',
      'out_of_service',
      'out_of_service',
      'out_of_service',
      'out_of_service',
      'out_of_service',
      'out_of_service',
      X,
      X,
    ],
    return: [X, X, X, X, X, X, X, X, X, 'unacknowledged', 'normal'],
  };
  for (const [opName, expected] of Object.entries(TABLE)) {
    STATES.forEach((s, i) => {
      const want = expected[i] ?? null;
      it(`${opName} in ${s.name} -> ${want ?? 'illegal'}`, () => {
        const op = ops[opName];
        assert.ok(op !== undefined);
        const result = applyOperation(s.from, op, s.latched === true ? LATCHED : PLAIN);
        if (want === null) {
          assert.equal(result.ok, false);
          if (!result.ok) assert.match(result.why, new RegExp(`in state '${s.from.state}'`));
        } else {
          assert.equal(result.ok, true, result.ok ? '' : result.why);
          if (result.ok) assert.equal(result.status.state, want);
        }
      });
    });
  }

  it('reset of an acknowledged latched alarm explains that the condition is still active', () => {
    const result = applyOperation(status('acknowledged', true), { kind: 'reset' }, LATCHED);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.why, /still active/);
  });

  it('removing from service drops a shelve; returning recomputes from the condition', () => {
    const removed = applyOperation(status('shelved', true), ops['remove'] ?? { kind: 'reset' }, PLAIN);
    assert.ok(removed.ok);
    if (!removed.ok) return;
    assert.equal(removed.status.shelve, null);
    const back = applyOperation(removed.status, { kind: 'return_to_service' }, PLAIN);
    assert.ok(back.ok);
    if (back.ok) assert.equal(back.status.state, 'unacknowledged');
  });

  it('returning to service while a dependency still suppresses lands in suppressed', () => {
    const from = status('out_of_service', true, { suppressedBy: 'dev:comm_loss' });
    const back = applyOperation(from, { kind: 'return_to_service' }, PLAIN);
    assert.ok(back.ok);
    if (back.ok) assert.equal(back.status.state, 'suppressed');
  });
});

describe('restingState', () => {
  it('orders the masks: out of service over suppressed over shelved', () => {
    const all = status('normal', true, { outOfService: OOS, suppressedBy: 'x', shelve: TIMED });
    assert.equal(restingState(all, 'normal'), 'out_of_service');
    assert.equal(restingState({ ...all, outOfService: null }, 'normal'), 'suppressed');
    assert.equal(restingState({ ...all, outOfService: null, suppressedBy: null }, 'normal'), 'shelved');
    assert.equal(
      restingState({ ...all, outOfService: null, suppressedBy: null, shelve: null }, 'shelved'),
      'unacknowledged',
    );
    assert.equal(
      restingState({ ...all, outOfService: null, suppressedBy: null, shelve: null }, 'acknowledged'),
      'acknowledged',
    );
  });
});
