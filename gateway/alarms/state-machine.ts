/**
 * The ISA-18.2 / IEC 62682 alarm state machine as one pure transition function per kind of event.
 * No clock, no I/O: the engine decides WHEN something happened; this module decides what it does
 * to an alarm's state.
 *
 * Two layers:
 * - annunciation (the states of the ISA-18.2 alarm state transition diagram): normal,
 *   unacknowledged, acknowledged, returned-to-normal unacknowledged, and latched;
 * - masks that take an alarm out of annunciation while it is still evaluated and recorded:
 *   out of service (operator, maintenance) over suppressed (by design or by a dependency such as a
 *   dark device) over shelved (operator, temporary). The strongest mask present is the state.
 *
 * Leaving the last mask recomputes the annunciation from the current condition: active ->
 * unacknowledged (the operator has not seen this activation), else normal. Nothing that happened
 * while masked is replayed.
 */
import type { AlarmRecord, AlarmStateName } from './types.js';

export type ShelveInfo = NonNullable<AlarmRecord['shelve']>;
export type OutOfServiceInfo = NonNullable<AlarmRecord['outOfService']>;

/** The part of a record the state machine reads and writes. */
export interface AlarmStatus {
  state: AlarmStateName;
  /** Process condition after delays and deadband. */
  active: boolean;
  level: number;
  shelve: ShelveInfo | null;
  outOfService: OutOfServiceInfo | null;
  suppressedBy: string | null;
}

/** What the process or the engine's timers did. */
export type ProcessEvent =
  /** The condition after delays and deadband: activation, return, or a level change. */
  | { kind: 'condition'; active: boolean; level: number }
  /** A timed shelve reached its end. */
  | { kind: 'shelve_expired' }
  /** Suppression (by design or by a dependency) starts, changes or ends (`by` null). */
  | { kind: 'suppression'; by: string | null };

/** What an operator asked for. */
export type OperationEvent =
  | { kind: 'acknowledge' }
  | { kind: 'shelve'; shelve: ShelveInfo }
  | { kind: 'unshelve' }
  | { kind: 'reset' }
  | { kind: 'remove_from_service'; outOfService: OutOfServiceInfo }
  | { kind: 'return_to_service' };

export type OperationResult = { ok: true; status: AlarmStatus } | { ok: false; why: string };

/** The states an operator sees in the alarm list (ISA-18.2: annunciated). */
export const ANNUNCIATED_STATES: ReadonlySet<AlarmStateName> = new Set([
  'unacknowledged',
  'acknowledged',
  'rtn_unacknowledged',
  'latched',
]);

const MASKED_STATES: ReadonlySet<AlarmStateName> = new Set(['shelved', 'suppressed', 'out_of_service']);

export interface RuleTraits {
  /** ISA-18.2 latching alarm: after return to normal it waits for an operator reset. */
  latched: boolean;
}

/**
 * The state an alarm rests in after its masks changed. `previous` is the state before the change:
 * coming out of a mask, the annunciation is recomputed from the condition.
 */
export function restingState(status: AlarmStatus, previous: AlarmStateName): AlarmStateName {
  if (status.outOfService !== null) return 'out_of_service';
  if (status.suppressedBy !== null) return 'suppressed';
  if (status.shelve !== null) return 'shelved';
  if (MASKED_STATES.has(previous)) return status.active ? 'unacknowledged' : 'normal';
  return previous;
}

/** Applies a process or timer event. Always legal: the process does not ask permission. */
export function applyProcessEvent(status: AlarmStatus, event: ProcessEvent, rule: RuleTraits): AlarmStatus {
  switch (event.kind) {
    case 'condition':
      return applyCondition(status, event.active, event.level, rule);
    case 'shelve_expired': {
      if (status.shelve?.mode !== 'timed') return status;
      const next = { ...status, shelve: null };
      return { ...next, state: restingState(next, status.state) };
    }
    case 'suppression': {
      if (status.suppressedBy === event.by) return status;
      const next = { ...status, suppressedBy: event.by };
      return { ...next, state: restingState(next, status.state) };
    }
  }
}

function applyCondition(status: AlarmStatus, active: boolean, level: number, rule: RuleTraits): AlarmStatus {
  const next: AlarmStatus = { ...status, active, level };
  if (MASKED_STATES.has(status.state) || status.shelve !== null) {
    // Still evaluated and recorded while masked (ISA-18.2: shelved and suppressed alarms keep
    // their process state). A one-shot shelve ends when the condition returns to normal.
    if (status.shelve?.mode === 'one-shot' && status.active && !active) next.shelve = null;
    return { ...next, state: restingState(next, status.state) };
  }
  return { ...next, state: annunciate(status.state, status.active, active, status.level, level, rule) };
}

/** The annunciation transitions of the ISA-18.2 alarm state transition diagram. */
function annunciate(
  state: AlarmStateName,
  wasActive: boolean,
  isActive: boolean,
  oldLevel: number,
  newLevel: number,
  rule: RuleTraits,
): AlarmStateName {
  if (!wasActive && isActive) {
    // normal, rtn_unacknowledged or latched -> unacknowledged: a new activation needs a new ack.
    return 'unacknowledged';
  }
  if (wasActive && !isActive) {
    if (state === 'acknowledged') return rule.latched ? 'latched' : 'normal';
    return 'rtn_unacknowledged';
  }
  if (isActive && newLevel > oldLevel && state === 'acknowledged') {
    // A more severe level is a new situation: re-annunciate. A less severe one keeps the ack.
    return 'unacknowledged';
  }
  return state;
}

/** Applies an operator action, or says why it is illegal in the current state. */
export function applyOperation(
  status: AlarmStatus,
  event: OperationEvent,
  rule: RuleTraits,
): OperationResult {
  const illegal = (why: string): OperationResult => ({
    ok: false,
    why: `cannot ${event.kind.replace(/_/g, ' ')} an alarm in state '${status.state}': ${why}`,
  });
  const to = (next: AlarmStatus): OperationResult => ({ ok: true, status: next });
  switch (event.kind) {
    case 'acknowledge':
      if (status.state === 'unacknowledged') return to({ ...status, state: 'acknowledged' });
      if (status.state === 'rtn_unacknowledged') {
        return to({ ...status, state: rule.latched ? 'latched' : 'normal' });
      }
      return illegal('only unacknowledged alarms can be acknowledged');
    case 'shelve':
      if (!ANNUNCIATED_STATES.has(status.state)) return illegal('only annunciated alarms can be shelved');
      if (event.shelve.mode === 'one-shot' && !status.active) {
        // A one-shot shelve lasts until the condition returns to normal; it already has.
        return illegal('the condition is already normal, so a one-shot shelve would end at once');
      }
      return to({ ...status, shelve: event.shelve, state: 'shelved' });
    case 'unshelve': {
      if (status.state !== 'shelved') return illegal('the alarm is not shelved');
      const next = { ...status, shelve: null };
      return to({ ...next, state: restingState(next, status.state) });
    }
    case 'reset':
      if (status.state === 'latched') return to({ ...status, state: 'normal' });
      if (status.state === 'acknowledged' && rule.latched) return illegal('the condition is still active');
      return illegal('only latched alarms can be reset');
    case 'remove_from_service':
      if (status.state === 'out_of_service') return illegal('the alarm is already out of service');
      // Shelving is superseded: returning to service starts from the current condition.
      return to({ ...status, shelve: null, outOfService: event.outOfService, state: 'out_of_service' });
    case 'return_to_service': {
      if (status.state !== 'out_of_service') return illegal('the alarm is in service');
      const next = { ...status, outOfService: null };
      return to({ ...next, state: restingState(next, status.state) });
    }
  }
}
