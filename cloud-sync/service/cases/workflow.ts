/**
 * The case workflow of digital city management (docs/domain.md "The case workflow", docs/cases.md)
 * as one table of data plus one pure function: who may take which action from which state, and
 * what it changes. Nothing here touches the database; case-store.ts runs a plan inside the
 * transaction that also writes its history row. Keeping the table in one place lets the test walk
 * every action from every state for every role.
 *
 * Checks run in a fixed order, so a caller learns the most basic problem first:
 *   1. role (403 CASE_ROLE), 2. owner unit for owner-unit callers (403 CASE_NOT_YOUR_UNIT),
 *   3. revision sent by the client (409 CASE_STALE), 4. state and suspension (409
 *   CASE_ILLEGAL_TRANSITION, naming the state and what is needed), 5. input (400 CASE_INVALID).
 */
import type { Role } from '../auth/roles.js';
import type { CasesTable } from '../db/case-tables.js';
import type { WorkingCalendar } from './calendar.js';
import type { CaseCategory } from './config.js';
import { deadlineAfter, minutesBetween } from './deadlines.js';
import { CaseError } from './errors.js';

export const CASE_STATES = [
  'reported',
  'filed',
  'cancelled',
  'dispatched',
  'in_progress',
  'feedback',
  'verified',
  'closed',
] as const;
export type CaseState = (typeof CASE_STATES)[number];

/** A case is open until it is closed or cancelled. */
export const TERMINAL_STATES: readonly CaseState[] = ['closed', 'cancelled'];
export const OPEN_STATES: readonly CaseState[] = CASE_STATES.filter(
  (state) => !TERMINAL_STATES.includes(state),
);

export function isOpenState(state: string): boolean {
  return (OPEN_STATES as readonly string[]).includes(state);
}

/** What an operator can ask for (POST /api/v1/cases/:id/{action with - for _}). */
export const CASE_ACTIONS = [
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
  'close',
] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];

/**
 * The `action` column of case_history: the operator actions plus the system's steps. These exact
 * names are read elsewhere (the KPI query reads suspend/resume), so they are part of the contract.
 */
export const HISTORY_ACTIONS = [
  'report',
  ...CASE_ACTIONS,
  'rework',
  'activation',
  'alarm_normal',
  'sensor_verified',
  'escalation',
  'component_registered',
] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

type NoteRule = 'required' | 'optional' | 'required_when_failed';

export interface ActionRule {
  /** Roles that may take the action (auth/roles.ts). */
  roles: readonly Role[];
  /** States the action may start from. */
  from: readonly CaseState[];
  /** The state after it; null: the state stays (history only, or a deadline or flag change). */
  to: CaseState | null;
  /**
   * not_suspended: refused while suspended (docs/cases.md: a parked case takes no steps);
   * suspended: only while suspended (resume); any: regardless (cancel).
   */
  suspension: 'not_suspended' | 'suspended' | 'any';
  note: NoteRule;
  /** The reason given when the state is wrong, unless STATE_HINTS has a better one. */
  needs: string;
}

/** The transition table (docs/domain.md "The case workflow"; brief h1-cases.md). */
export const TRANSITIONS: Readonly<Record<CaseAction, ActionRule>> = {
  file: {
    roles: ['monitoring'],
    from: ['reported'],
    to: 'filed',
    suspension: 'not_suspended',
    note: 'optional',
    needs: 'only a reported case can be filed',
  },
  cancel: {
    roles: ['monitoring'],
    from: ['reported', 'filed'],
    to: 'cancelled',
    suspension: 'any',
    note: 'required',
    needs:
      'only a reported or filed case can be cancelled; a dispatched case must be returned to the dispatcher first',
  },
  dispatch: {
    roles: ['dispatcher'],
    from: ['filed'],
    to: 'dispatched',
    suspension: 'not_suspended',
    note: 'optional',
    needs: 'only a filed case can be dispatched',
  },
  return: {
    roles: ['dispatcher'],
    from: ['dispatched', 'in_progress'],
    to: 'filed',
    suspension: 'not_suspended',
    note: 'required',
    needs: 'only a dispatched or in-progress case can be returned',
  },
  request_return: {
    roles: ['owner_unit'],
    from: ['dispatched', 'in_progress'],
    to: null,
    suspension: 'not_suspended',
    note: 'required',
    needs: 'a return can be requested only for a dispatched or in-progress case',
  },
  accept: {
    roles: ['owner_unit'],
    from: ['dispatched'],
    to: 'in_progress',
    suspension: 'not_suspended',
    note: 'optional',
    needs: 'only a dispatched case can be accepted',
  },
  feedback: {
    roles: ['owner_unit'],
    from: ['in_progress'],
    to: 'feedback',
    suspension: 'not_suspended',
    note: 'required',
    needs: 'feedback is given on a case in progress',
  },
  request_extension: {
    roles: ['owner_unit'],
    from: ['dispatched', 'in_progress'],
    to: null,
    suspension: 'not_suspended',
    note: 'required',
    needs: 'an extension can be requested only for a dispatched or in-progress case',
  },
  extend: {
    roles: ['dispatcher'],
    from: ['dispatched', 'in_progress'],
    to: null,
    suspension: 'not_suspended',
    note: 'required',
    needs: 'only a dispatched or in-progress case has a handling deadline to extend',
  },
  suspend: {
    roles: ['dispatcher'],
    from: ['dispatched', 'in_progress'],
    to: null,
    suspension: 'not_suspended',
    note: 'required',
    needs: 'only a dispatched or in-progress case can be suspended',
  },
  resume: {
    roles: ['dispatcher'],
    from: ['dispatched', 'in_progress'],
    to: null,
    suspension: 'suspended',
    note: 'optional',
    needs: 'only a suspended case can be resumed',
  },
  inspect: {
    roles: ['inspector'],
    from: ['feedback'],
    to: null,
    suspension: 'not_suspended',
    note: 'required_when_failed',
    needs: 'on-site inspection follows the owner unit’s feedback',
  },
  verify: {
    roles: ['monitoring'],
    from: ['feedback'],
    to: 'verified',
    suspension: 'not_suspended',
    note: 'required_when_failed',
    needs: 'only a case with feedback can be verified',
  },
  close: {
    roles: ['monitoring'],
    from: ['verified'],
    to: 'closed',
    suspension: 'not_suspended',
    note: 'optional',
    needs: 'only a verified case can be closed',
  },
};

/** Sharper reasons for common mistakes: what has to happen first. */
const STATE_HINTS: Partial<Record<CaseAction, Partial<Record<CaseState, string>>>> = {
  dispatch: {
    reported: 'the monitoring centre must file it first',
    dispatched: 'it is already dispatched',
    in_progress: 'it is already dispatched and accepted',
  },
  accept: { filed: 'the dispatcher must dispatch it first', in_progress: 'it is already accepted' },
  feedback: {
    dispatched: 'the owner unit must accept it first',
    filed: 'the dispatcher must dispatch it first',
  },
  verify: {
    dispatched: 'the owner unit must handle it and give feedback first',
    in_progress: 'the owner unit must give feedback first',
    verified: 'it is already verified',
  },
  inspect: {
    dispatched: 'the owner unit must handle it and give feedback first',
    in_progress: 'the owner unit must give feedback first',
  },
  close: { feedback: 'the monitoring centre must verify it first' },
  file: { filed: 'it is already filed' },
};

const VERBS: Readonly<Record<CaseAction, string>> = {
  file: 'file',
  cancel: 'cancel',
  dispatch: 'dispatch',
  return: 'return',
  request_return: 'request the return of',
  accept: 'accept',
  feedback: 'give feedback on',
  request_extension: 'request an extension of',
  extend: 'extend',
  suspend: 'suspend',
  resume: 'resume',
  inspect: 'inspect',
  verify: 'verify',
  close: 'close',
};

/** The columns of a case the workflow reads and writes (a cases row). */
export type CaseRow = CasesTable;

export interface Actor {
  username: string;
  roles: readonly Role[];
  /** The owner unit of an owner_unit operator. */
  unit: string | null;
}

/** Fields a client may send with an action; each action reads the ones it needs. */
export interface ActionInput {
  note?: string | null;
  /** The case revision the client saw; a mismatch is refused (optimistic concurrency). */
  revision?: number;
  /** dispatch: (re)assign the owner unit. */
  ownerUnit?: string | null;
  /** request_extension, extend: minutes of handling time asked for / granted. */
  minutes?: number;
  /** inspect, verify: result of the check. */
  passed?: boolean;
}

export interface TransitionContext {
  now: Date;
  /** The case's category (deadline modes and allowances). */
  category: CaseCategory;
  calendar: WorkingCalendar;
}

/** What an action does to a case: case-store.ts applies it and writes one history row. */
export interface TransitionPlan {
  /** The history action (verify that fails is recorded as `rework`). */
  historyAction: HistoryAction;
  /** The role the actor acted in. */
  role: Role;
  fromState: CaseState;
  toState: CaseState;
  /** Columns to change (revision and updated_at are added by the store). */
  patch: Partial<CaseRow>;
  note: string | null;
  detail: Record<string, unknown>;
}

/** Most minutes one extension may grant (a year): beyond that the input is surely a mistake. */
export const MAX_EXTENSION_MINUTES = 525_600;

/**
 * Steps 1, 2 and 4 of the checks (role, unit, state): throws the refusal, or returns the role the
 * actor acts in. Used by planTransition and to list the actions a caller may take on a case.
 */
export function checkAction(current: CaseRow, action: CaseAction, actor: Actor): Role {
  const role = checkActor(current, action, actor);
  checkState(current, action);
  return role;
}

/** The actions `actor` may take on the case now (for the console's buttons). */
export function allowedActions(current: CaseRow, actor: Actor): CaseAction[] {
  return CASE_ACTIONS.filter((action) => {
    try {
      checkAction(current, action, actor);
      return true;
    } catch (error) {
      if (error instanceof CaseError) return false;
      throw error;
    }
  });
}

function checkActor(current: CaseRow, action: CaseAction, actor: Actor): Role {
  const rule = TRANSITIONS[action];
  const role = rule.roles.find((candidate) => actor.roles.includes(candidate));
  if (role === undefined) {
    throw new CaseError(
      'CASE_ROLE',
      `to ${VERBS[action]} a case needs the role ${rule.roles.join(' or ')}; ${actor.username} has ${
        actor.roles.length === 0 ? 'no role' : actor.roles.join(', ')
      }`,
    );
  }
  // Owner units see and work only their own cases (auth/roles.ts).
  if (role === 'owner_unit' && (current.owner_unit === null || current.owner_unit !== actor.unit)) {
    throw new CaseError(
      'CASE_NOT_YOUR_UNIT',
      `case ${current.case_no} is not assigned to ${actor.unit ?? 'your unit'}`,
    );
  }
  return role;
}

function checkState(current: CaseRow, action: CaseAction): void {
  const rule = TRANSITIONS[action];
  const state = current.state as CaseState;
  const suspended = current.suspended === 1;
  const verb = VERBS[action];
  if (!rule.from.includes(state)) {
    const reason =
      (TERMINAL_STATES.includes(state) ? `the case is ${state}` : undefined) ??
      STATE_HINTS[action]?.[state] ??
      rule.needs;
    throw new CaseError('CASE_ILLEGAL_TRANSITION', `cannot ${verb} a case in state ${state}: ${reason}`);
  }
  if (rule.suspension === 'not_suspended' && suspended) {
    throw new CaseError(
      'CASE_ILLEGAL_TRANSITION',
      `cannot ${verb} a case while it is suspended (state ${state}): the dispatcher must resume it first`,
    );
  }
  if (rule.suspension === 'suspended' && !suspended) {
    throw new CaseError(
      'CASE_ILLEGAL_TRANSITION',
      `cannot ${verb} a case in state ${state}: it is not suspended`,
    );
  }
}

function noteOf(input: ActionInput): string | null {
  const note = input.note?.trim() ?? '';
  return note === '' ? null : note;
}

function requireNote(action: CaseAction, note: string | null, why: string): string {
  if (note === null) throw new CaseError('CASE_INVALID', `${action} needs a note: ${why}`);
  return note;
}

function requirePassed(action: CaseAction, input: ActionInput): boolean {
  if (typeof input.passed !== 'boolean') {
    throw new CaseError('CASE_INVALID', `${action} needs passed: true or false`);
  }
  return input.passed;
}

function requireMinutes(action: CaseAction, input: ActionInput): number {
  const minutes = input.minutes;
  if (
    typeof minutes !== 'number' ||
    !Number.isInteger(minutes) ||
    minutes < 1 ||
    minutes > MAX_EXTENSION_MINUTES
  ) {
    throw new CaseError(
      'CASE_INVALID',
      `${action} needs minutes: a whole number from 1 to ${MAX_EXTENSION_MINUTES}`,
    );
  }
  return minutes;
}

function iso(date: Date): string {
  return date.toISOString();
}

/**
 * Plans `action` on `current` for `actor`: runs the checks in the order of the header and returns
 * the change, or throws a CaseError. Pure: the clock, category and calendar come in `context`.
 */
export function planTransition(
  current: CaseRow,
  action: CaseAction,
  actor: Actor,
  input: ActionInput,
  context: TransitionContext,
): TransitionPlan {
  const role = checkActor(current, action, actor);
  if (input.revision !== undefined && input.revision !== current.revision) {
    throw new CaseError(
      'CASE_STALE',
      `case ${current.case_no} changed since you loaded it (revision ${input.revision}, now ${current.revision}): reload and try again`,
    );
  }
  checkState(current, action);

  const rule = TRANSITIONS[action];
  const fromState = current.state as CaseState;
  const now = iso(context.now);
  const note = noteOf(input);
  const plan: TransitionPlan = {
    historyAction: action,
    role,
    fromState,
    toState: rule.to ?? fromState,
    patch: rule.to === null ? {} : { state: rule.to },
    note,
    detail: {},
  };
  const handleMode = context.category.handleWithin.workingTime;

  switch (action) {
    case 'file':
      plan.patch.filed_at = now;
      break;
    case 'cancel':
      requireNote(action, note, 'say why the report is not a case');
      plan.patch.cancelled_at = now;
      plan.patch.open_alarm_key = null;
      break;
    case 'dispatch': {
      const given = input.ownerUnit?.trim() ?? '';
      const ownerUnit = given !== '' ? given : current.owner_unit;
      if (ownerUnit === null || ownerUnit === '') {
        throw new CaseError(
          'CASE_NO_OWNER_UNIT',
          `cannot dispatch case ${current.case_no}: it has no owner unit (its device is not in the component registry); give ownerUnit`,
        );
      }
      // docs/domain.md: the deadline clock starts at dispatch.
      const deadline = deadlineAfter(context.now, context.category.handleWithin, context.calendar);
      Object.assign(plan.patch, {
        dispatched_at: now,
        handle_deadline: iso(deadline),
        owner_unit: ownerUnit,
      });
      plan.detail = { ownerUnit, handleDeadline: iso(deadline) };
      if (ownerUnit !== current.owner_unit) plan.detail.previousOwnerUnit = current.owner_unit;
      break;
    }
    case 'return':
      requireNote(action, note, 'say why the owner unit is wrong');
      // Back to the dispatcher: the handling clock of the wrong unit does not carry over.
      Object.assign(plan.patch, { handle_deadline: null, accepted_at: null });
      plan.detail = { ownerUnit: current.owner_unit };
      break;
    case 'request_return':
      requireNote(action, note, 'say why the case is not yours');
      plan.detail = { ownerUnit: current.owner_unit };
      break;
    case 'accept':
      plan.patch.accepted_at = now;
      break;
    case 'feedback':
      requireNote(action, note, 'say what was done');
      plan.patch.feedback_at = now;
      plan.detail = {
        handleDeadline: current.handle_deadline,
        onTime:
          current.handle_deadline !== null && context.now.getTime() <= Date.parse(current.handle_deadline),
      };
      break;
    case 'request_extension': {
      const minutes = requireMinutes(action, input);
      requireNote(action, note, 'say why more time is needed');
      plan.detail = { minutes, handleDeadline: current.handle_deadline };
      break;
    }
    case 'extend': {
      const minutes = requireMinutes(action, input);
      requireNote(action, note, 'say why the extension is granted');
      const base = current.handle_deadline === null ? context.now : new Date(current.handle_deadline);
      const moved = deadlineAfter(base, { minutes, workingTime: handleMode }, context.calendar);
      plan.patch.handle_deadline = iso(moved);
      plan.detail = { minutes, workingTime: handleMode, from: current.handle_deadline, to: iso(moved) };
      break;
    }
    case 'suspend':
      requireNote(action, note, 'say why the case is parked');
      Object.assign(plan.patch, { suspended: 1, suspended_at: now });
      plan.detail = { handleDeadline: current.handle_deadline };
      break;
    case 'resume': {
      const moved = resumedDeadline(current, context);
      Object.assign(plan.patch, { suspended: 0, suspended_at: null, handle_deadline: moved });
      plan.detail = { suspendedAt: current.suspended_at, from: current.handle_deadline, to: moved };
      break;
    }
    case 'inspect': {
      const passed = requirePassed(action, input);
      if (!passed) requireNote(action, note, 'say what is still wrong on site');
      plan.detail = { passed };
      break;
    }
    case 'verify': {
      const passed = requirePassed(action, input);
      plan.detail = { passed };
      if (!passed) {
        requireNote(action, note, 'say what is still wrong');
        // Rework: back to the owner unit on the same deadline (rework does not buy time); the
        // sensor has to prove itself again after the next feedback.
        plan.historyAction = 'rework';
        plan.toState = 'dispatched';
        plan.patch = {
          state: 'dispatched',
          rework_count: current.rework_count + 1,
          accepted_at: null,
          feedback_at: null,
          sensor_verified_at: null,
        };
        plan.detail = {
          passed,
          reworkCount: current.rework_count + 1,
          handleDeadline: current.handle_deadline,
        };
      }
      break;
    }
    case 'close': {
      // On time: the (last) feedback came at or before the handling deadline (docs/domain.md KPIs).
      const onTime =
        current.feedback_at !== null &&
        current.handle_deadline !== null &&
        Date.parse(current.feedback_at) <= Date.parse(current.handle_deadline);
      Object.assign(plan.patch, { closed_at: now, closed_on_time: onTime ? 1 : 0, open_alarm_key: null });
      plan.detail = { onTime, feedbackAt: current.feedback_at, handleDeadline: current.handle_deadline };
      break;
    }
  }
  return plan;
}

/**
 * The handling deadline after a suspension (docs/cases.md: the clock stops while parked):
 * the time that was left at suspension, in the category's mode, is granted again from now. The
 * amount is signed (deadlines.ts), so a case parked when already overdue stays overdue by as much.
 */
function resumedDeadline(current: CaseRow, context: TransitionContext): string | null {
  if (current.handle_deadline === null) return null;
  const suspendedAt = current.suspended_at === null ? context.now : new Date(current.suspended_at);
  const workingTime = context.category.handleWithin.workingTime;
  const left = minutesBetween(suspendedAt, new Date(current.handle_deadline), workingTime, context.calendar);
  return iso(deadlineAfter(context.now, { minutes: left, workingTime }, context.calendar));
}
