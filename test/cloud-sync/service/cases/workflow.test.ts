/**
 * The case workflow table (cloud-sync/service/cases/workflow.ts) against an independent,
 * hand-written copy of the brief: every action from every state, suspended or not, for every
 * role, is allowed (with the right next state) or refused with the right code; then the effects
 * of each action (deadlines, rework, closure on time, notes, owner unit, revision).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROLES, type Role } from '../../../../cloud-sync/service/auth/roles.js';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { DEFAULT_CASES_CONFIG, type CaseCategory } from '../../../../cloud-sync/service/cases/config.js';
import { CaseError, type CaseErrorCode } from '../../../../cloud-sync/service/cases/errors.js';
import {
  allowedActions,
  CASE_ACTIONS,
  CASE_STATES,
  HISTORY_ACTIONS,
  planTransition,
  type ActionInput,
  type Actor,
  type CaseAction,
  type CaseRow,
  type CaseState,
} from '../../../../cloud-sync/service/cases/workflow.js';

const calendar = new WorkingCalendar(DEFAULT_CASES_CONFIG.calendar);
function category(id: string): CaseCategory {
  const found = DEFAULT_CASES_CONFIG.categories.find((candidate) => candidate.id === id);
  assert.ok(found);
  return found;
}
/** Calendar-time handling: 240 minutes. */
const GAS = category('hazardous_gas');
/** Working-time handling: 480 working minutes. */
const LIGHTING = category('lighting_fault');

const T0 = new Date('2026-03-02T02:00:00.000Z'); // Monday 10:00 Asia/Shanghai
const minutes = (n: number, from = T0): Date => new Date(from.getTime() + n * 60_000);

/** The brief (h1-cases.md) written out again, independently of workflow.ts. */
const SPEC: Record<
  CaseAction,
  { role: Role; from: CaseState[]; to: CaseState | 'same'; suspended: 'refused' | 'required' | 'allowed' }
> = {
  file: { role: 'monitoring', from: ['reported'], to: 'filed', suspended: 'refused' },
  cancel: { role: 'monitoring', from: ['reported', 'filed'], to: 'cancelled', suspended: 'allowed' },
  dispatch: { role: 'dispatcher', from: ['filed'], to: 'dispatched', suspended: 'refused' },
  return: { role: 'dispatcher', from: ['dispatched', 'in_progress'], to: 'filed', suspended: 'refused' },
  request_return: {
    role: 'owner_unit',
    from: ['dispatched', 'in_progress'],
    to: 'same',
    suspended: 'refused',
  },
  accept: { role: 'owner_unit', from: ['dispatched'], to: 'in_progress', suspended: 'refused' },
  feedback: { role: 'owner_unit', from: ['in_progress'], to: 'feedback', suspended: 'refused' },
  request_extension: {
    role: 'owner_unit',
    from: ['dispatched', 'in_progress'],
    to: 'same',
    suspended: 'refused',
  },
  extend: { role: 'dispatcher', from: ['dispatched', 'in_progress'], to: 'same', suspended: 'refused' },
  suspend: { role: 'dispatcher', from: ['dispatched', 'in_progress'], to: 'same', suspended: 'refused' },
  resume: { role: 'dispatcher', from: ['dispatched', 'in_progress'], to: 'same', suspended: 'required' },
  inspect: { role: 'inspector', from: ['feedback'], to: 'same', suspended: 'refused' },
  verify: { role: 'monitoring', from: ['feedback'], to: 'verified', suspended: 'refused' },
  close: { role: 'monitoring', from: ['verified'], to: 'closed', suspended: 'refused' },
};

/** A plausible case row in `state` (timestamps as far as the state implies). */
function caseRow(state: CaseState, changes: Partial<CaseRow> = {}): CaseRow {
  const dispatched = !['reported', 'filed', 'cancelled'].includes(state);
  return {
    id: 'case-1',
    case_no: '20260302-ABC123',
    state,
    suspended: 0,
    suspended_at: null,
    hold_reason: null,
    category: GAS.id,
    severity: 'normal',
    rule_id: 'gas-level-1',
    gateway_id: 'cab-1',
    device_id: 'gas-1',
    alarm_key: 'gas-1:h2s_high',
    open_alarm_key: ['closed', 'cancelled'].includes(state) ? null : 'gas-1:h2s_high',
    condition: 'high',
    component_id: null,
    grid_cell: null,
    location: null,
    competent_department: 'dept',
    owner_unit: 'unit-a',
    maintenance_unit: 'maint',
    evidence: '{}',
    max_level: 1,
    activations: 1,
    alarm_active: 1,
    alarm_normal_since: null,
    sensor_verified_at: null,
    reported_at: T0.toISOString(),
    filed_at: T0.toISOString(),
    dispatched_at: dispatched ? T0.toISOString() : null,
    accepted_at: null,
    feedback_at: ['feedback', 'verified', 'closed'].includes(state) ? minutes(60).toISOString() : null,
    closed_at: null,
    cancelled_at: null,
    dispatch_deadline: minutes(30).toISOString(),
    handle_deadline: dispatched ? minutes(240).toISOString() : null,
    rework_count: 0,
    escalation_level: 0,
    closed_on_time: null,
    revision: 3,
    updated_at: T0.toISOString(),
    ...changes,
  };
}

function actor(role: Role, unit: string | null = role === 'owner_unit' ? 'unit-a' : null): Actor {
  return { username: `${role}-user`, roles: [role], unit };
}

/** Input that satisfies every action's needs, so only role, unit and state decide. */
const FULL_INPUT: ActionInput = { note: 'because', minutes: 30, passed: true };

function refusal(fn: () => unknown): CaseError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CaseError, `expected a CaseError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

function refusedWith(code: CaseErrorCode, fn: () => unknown): CaseError {
  const error = refusal(fn);
  assert.equal(error.code, code, error.message);
  return error;
}

describe('case workflow table', () => {
  it('names every history action the KPI query and the store rely on', () => {
    assert.deepEqual(
      [...HISTORY_ACTIONS].sort(),
      [
        'report',
        'file',
        'cancel',
        'dispatch',
        'return',
        'request_return',
        'accept',
        'feedback',
        'request_extension',
        'extend',
        'suspend',
        'resume',
        'inspect',
        'verify',
        'rework',
        'close',
        'activation',
        'alarm_normal',
        'sensor_verified',
        'escalation',
        'component_registered',
      ].sort(),
    );
    assert.deepEqual([...CASE_ACTIONS].sort(), Object.keys(SPEC).sort());
  });

  it('allows or refuses every action from every state, suspended or not, for every role', () => {
    let allowed = 0;
    let checked = 0;
    for (const action of CASE_ACTIONS) {
      const spec = SPEC[action];
      for (const state of CASE_STATES) {
        for (const suspended of [false, true]) {
          const row = caseRow(
            state,
            suspended ? { suspended: 1, suspended_at: minutes(30).toISOString() } : {},
          );
          for (const role of ROLES) {
            checked++;
            const where = `${action} from ${state}${suspended ? ' (suspended)' : ''} as ${role}`;
            const run = () =>
              planTransition(row, action, actor(role), FULL_INPUT, {
                now: minutes(90),
                category: GAS,
                calendar,
              });
            if (role !== spec.role) {
              const error = refusedWith('CASE_ROLE', run);
              assert.equal(error.status, 403, where);
              continue;
            }
            const stateOk = spec.from.includes(state);
            const suspensionOk =
              spec.suspended === 'allowed' || (spec.suspended === 'required' ? suspended : !suspended);
            if (stateOk && suspensionOk) {
              const plan = run();
              allowed++;
              assert.equal(plan.fromState, state, where);
              assert.equal(plan.toState, spec.to === 'same' ? state : spec.to, where);
              assert.equal(plan.role, role, where);
              assert.equal(plan.historyAction, action, where);
            } else {
              const error = refusedWith('CASE_ILLEGAL_TRANSITION', run);
              assert.equal(error.status, 409, where);
              assert.match(error.message, new RegExp(`state ${state}`), where);
              if (stateOk && suspended) assert.match(error.message, /suspended/, where);
            }
          }
        }
      }
    }
    assert.equal(checked, CASE_ACTIONS.length * CASE_STATES.length * 2 * ROLES.length);
    // 21 (action, from-state) pairs: cancel's 2 both unsuspended and suspended, resume's 2 only
    // suspended, the other 17 only unsuspended.
    assert.equal(allowed, 2 * 2 + 2 + 17);
  });

  it('names what has to happen first', () => {
    const error = refusedWith('CASE_ILLEGAL_TRANSITION', () =>
      planTransition(
        caseRow('reported'),
        'dispatch',
        actor('dispatcher'),
        {},
        { now: T0, category: GAS, calendar },
      ),
    );
    assert.equal(
      error.message,
      'cannot dispatch a case in state reported: the monitoring centre must file it first',
    );
    const accept = refusedWith('CASE_ILLEGAL_TRANSITION', () =>
      planTransition(
        caseRow('dispatched', { suspended: 1 }),
        'accept',
        actor('owner_unit'),
        {},
        {
          now: T0,
          category: GAS,
          calendar,
        },
      ),
    );
    assert.match(accept.message, /while it is suspended .*resume it first/);
  });

  it('checks role, then unit, then revision, then state', () => {
    const closedElsewhere = caseRow('closed', { owner_unit: 'unit-b' });
    const context = { now: T0, category: GAS, calendar };
    refusedWith('CASE_ROLE', () =>
      planTransition(closedElsewhere, 'accept', actor('dispatcher'), { revision: 1 }, context),
    );
    refusedWith('CASE_NOT_YOUR_UNIT', () =>
      planTransition(closedElsewhere, 'accept', actor('owner_unit', 'unit-a'), { revision: 1 }, context),
    );
    refusedWith('CASE_NOT_YOUR_UNIT', () =>
      planTransition(
        caseRow('dispatched', { owner_unit: null }),
        'accept',
        actor('owner_unit', 'unit-a'),
        {},
        context,
      ),
    );
    refusedWith('CASE_STALE', () =>
      planTransition(caseRow('closed'), 'accept', actor('owner_unit', 'unit-a'), { revision: 1 }, context),
    );
    refusedWith('CASE_ILLEGAL_TRANSITION', () =>
      planTransition(caseRow('closed'), 'accept', actor('owner_unit', 'unit-a'), { revision: 3 }, context),
    );
    const plan = planTransition(
      caseRow('dispatched'),
      'accept',
      actor('owner_unit', 'unit-a'),
      { revision: 3 },
      context,
    );
    assert.deepEqual(plan.patch, { state: 'in_progress', accepted_at: T0.toISOString() });
  });

  it('lets an operator with several roles act in the one the action needs', () => {
    const both: Actor = { username: 'chief', roles: ['monitoring', 'dispatcher'], unit: null };
    assert.deepEqual(allowedActions(caseRow('filed'), both), ['cancel', 'dispatch']);
    assert.deepEqual(allowedActions(caseRow('filed'), actor('owner_unit')), []);
    assert.deepEqual(allowedActions(caseRow('in_progress'), actor('owner_unit')), [
      'request_return',
      'feedback',
      'request_extension',
    ]);
    assert.equal(
      planTransition(caseRow('filed'), 'dispatch', both, {}, { now: T0, category: GAS, calendar }).role,
      'dispatcher',
    );
  });
});

describe('case workflow effects', () => {
  const context = (now: Date, category = GAS) => ({ now, category, calendar });

  it('requires notes where the brief does', () => {
    const cases: Array<[CaseAction, CaseState, Role, ActionInput]> = [
      ['cancel', 'filed', 'monitoring', {}],
      ['return', 'dispatched', 'dispatcher', {}],
      ['request_return', 'dispatched', 'owner_unit', {}],
      ['feedback', 'in_progress', 'owner_unit', { note: '   ' }],
      ['request_extension', 'in_progress', 'owner_unit', { minutes: 60 }],
      ['extend', 'in_progress', 'dispatcher', { minutes: 60 }],
      ['suspend', 'in_progress', 'dispatcher', {}],
      ['verify', 'feedback', 'monitoring', { passed: false }],
      ['inspect', 'feedback', 'inspector', { passed: false }],
    ];
    for (const [action, state, role, input] of cases) {
      const error = refusedWith('CASE_INVALID', () =>
        planTransition(caseRow(state), action, actor(role), input, context(T0)),
      );
      assert.match(error.message, /note/, action);
      assert.equal(error.status, 400);
    }
    refusedWith('CASE_INVALID', () =>
      planTransition(
        caseRow('in_progress'),
        'extend',
        actor('dispatcher'),
        { note: 'x', minutes: 0 },
        context(T0),
      ),
    );
    refusedWith('CASE_INVALID', () =>
      planTransition(caseRow('feedback'), 'verify', actor('monitoring'), {}, context(T0)),
    );
    // A passed verification or inspection needs no note.
    planTransition(caseRow('feedback'), 'verify', actor('monitoring'), { passed: true }, context(T0));
    planTransition(caseRow('feedback'), 'inspect', actor('inspector'), { passed: true }, context(T0));
  });

  it('dispatch starts the handling clock and needs an owner unit', () => {
    const now = minutes(20);
    const plan = planTransition(caseRow('filed'), 'dispatch', actor('dispatcher'), {}, context(now));
    assert.equal(plan.patch.dispatched_at, now.toISOString());
    assert.equal(plan.patch.handle_deadline, minutes(240, now).toISOString());
    assert.equal(plan.patch.owner_unit, 'unit-a');

    const orphan = caseRow('filed', { owner_unit: null });
    const error = refusedWith('CASE_NO_OWNER_UNIT', () =>
      planTransition(orphan, 'dispatch', actor('dispatcher'), {}, context(now)),
    );
    assert.equal(error.status, 409);
    assert.match(error.message, /no owner unit/);
    const assigned = planTransition(
      orphan,
      'dispatch',
      actor('dispatcher'),
      { ownerUnit: 'unit-c' },
      context(now),
    );
    assert.equal(assigned.patch.owner_unit, 'unit-c');
    assert.deepEqual(assigned.detail, {
      ownerUnit: 'unit-c',
      handleDeadline: minutes(240, now).toISOString(),
      previousOwnerUnit: null,
    });

    // Working-time category: Monday 10:00 local + 480 working minutes (08:30-12:00, 13:30-17:30)
    // = 2 h to noon, 4 h afternoon, 2 h Tuesday from 08:30 -> Tuesday 10:30 local = 02:30Z.
    const lighting = planTransition(
      caseRow('filed', { category: LIGHTING.id }),
      'dispatch',
      actor('dispatcher'),
      {},
      context(T0, LIGHTING),
    );
    assert.equal(lighting.patch.handle_deadline, '2026-03-03T02:30:00.000Z');
  });

  it('return sends the case back to the dispatcher without its handling clock', () => {
    const plan = planTransition(
      caseRow('in_progress', { accepted_at: minutes(5).toISOString() }),
      'return',
      actor('dispatcher'),
      { note: 'not ours' },
      context(minutes(30)),
    );
    assert.deepEqual(plan.patch, { state: 'filed', handle_deadline: null, accepted_at: null });
    assert.equal(plan.note, 'not ours');
  });

  it('history-only actions change nothing on the case', () => {
    for (const [action, role, input] of [
      ['request_return', 'owner_unit', { note: 'wrong unit' }],
      ['request_extension', 'owner_unit', { note: 'parts', minutes: 120 }],
      ['inspect', 'inspector', { passed: false, note: 'still open' }],
    ] as Array<[CaseAction, Role, ActionInput]>) {
      const state = action === 'inspect' ? 'feedback' : 'in_progress';
      const plan = planTransition(caseRow(state), action, actor(role), input, context(T0));
      assert.deepEqual(plan.patch, {}, action);
      assert.equal(plan.toState, state);
    }
    const inspect = planTransition(
      caseRow('feedback'),
      'inspect',
      actor('inspector'),
      { passed: false, note: 'x' },
      context(T0),
    );
    assert.deepEqual(inspect.detail, { passed: false });
  });

  it('extend moves the deadline in the category mode', () => {
    const gas = planTransition(
      caseRow('in_progress'),
      'extend',
      actor('dispatcher'),
      { minutes: 60, note: 'ok' },
      context(T0),
    );
    assert.equal(gas.patch.handle_deadline, minutes(300).toISOString());
    // Friday 17:00 local (09:00Z) + 60 working minutes: 30 to 17:30, 30 from Monday 08:30 -> 09:00 local.
    const friday = caseRow('in_progress', {
      category: LIGHTING.id,
      handle_deadline: '2026-03-06T09:00:00.000Z',
    });
    const lighting = planTransition(
      friday,
      'extend',
      actor('dispatcher'),
      { minutes: 60, note: 'ok' },
      context(T0, LIGHTING),
    );
    assert.equal(lighting.patch.handle_deadline, '2026-03-09T01:00:00.000Z');
  });

  it('suspension stops the clock: resume grants the time that was left', () => {
    // Dispatched at T0, due T0+240; parked at T0+60 with 180 left; resumed at T0+120 -> due T0+300.
    const suspend = planTransition(
      caseRow('in_progress'),
      'suspend',
      actor('dispatcher'),
      { note: 'road closed' },
      context(minutes(60)),
    );
    assert.deepEqual(suspend.patch, { suspended: 1, suspended_at: minutes(60).toISOString() });
    const parked = caseRow('in_progress', { suspended: 1, suspended_at: minutes(60).toISOString() });
    const resume = planTransition(parked, 'resume', actor('dispatcher'), {}, context(minutes(120)));
    assert.deepEqual(resume.patch, {
      suspended: 0,
      suspended_at: null,
      handle_deadline: minutes(300).toISOString(),
    });

    // Parked 60 minutes after the deadline had passed: it stays 60 minutes overdue.
    const late = caseRow('in_progress', { suspended: 1, suspended_at: minutes(300).toISOString() });
    const resumedLate = planTransition(late, 'resume', actor('dispatcher'), {}, context(minutes(400)));
    assert.equal(resumedLate.patch.handle_deadline, minutes(340).toISOString());
  });

  it('a failed verification is rework on the same deadline', () => {
    const row = caseRow('feedback', {
      accepted_at: minutes(10).toISOString(),
      sensor_verified_at: minutes(70).toISOString(),
      rework_count: 1,
    });
    const plan = planTransition(
      row,
      'verify',
      actor('monitoring'),
      { passed: false, note: 'still leaking' },
      context(minutes(80)),
    );
    assert.equal(plan.historyAction, 'rework');
    assert.equal(plan.toState, 'dispatched');
    assert.deepEqual(plan.patch, {
      state: 'dispatched',
      rework_count: 2,
      accepted_at: null,
      feedback_at: null,
      sensor_verified_at: null,
    });
    const passed = planTransition(row, 'verify', actor('monitoring'), { passed: true }, context(minutes(80)));
    assert.equal(passed.historyAction, 'verify');
    assert.deepEqual(passed.patch, { state: 'verified' });
  });

  it('close records whether the last feedback met the handling deadline', () => {
    const onTime = planTransition(
      caseRow('verified'),
      'close',
      actor('monitoring'),
      {},
      context(minutes(500)),
    );
    assert.deepEqual(onTime.patch, {
      state: 'closed',
      closed_at: minutes(500).toISOString(),
      closed_on_time: 1,
      open_alarm_key: null,
    });
    const exactly = caseRow('verified', { feedback_at: minutes(240).toISOString() });
    assert.equal(
      planTransition(exactly, 'close', actor('monitoring'), {}, context(minutes(500))).patch.closed_on_time,
      1,
    );
    const late = caseRow('verified', { feedback_at: minutes(241).toISOString() });
    assert.equal(
      planTransition(late, 'close', actor('monitoring'), {}, context(minutes(500))).patch.closed_on_time,
      0,
    );
  });

  it('file and cancel stamp their times', () => {
    const filed = planTransition(
      caseRow('reported', { filed_at: null }),
      'file',
      actor('monitoring'),
      {},
      context(minutes(3)),
    );
    assert.deepEqual(filed.patch, { state: 'filed', filed_at: minutes(3).toISOString() });
    const cancelled = planTransition(
      caseRow('filed'),
      'cancel',
      actor('monitoring'),
      { note: 'false alarm' },
      context(minutes(4)),
    );
    // Cancelling frees the alarm's one open-case slot (cases_one_open_per_alarm).
    assert.deepEqual(cancelled.patch, {
      state: 'cancelled',
      cancelled_at: minutes(4).toISOString(),
      open_alarm_key: null,
    });
  });
});
