/**
 * Derived alarm rules of the lighting module and the readings snapshot the checks work on.
 * The rules are full AlarmRules (kind 'derived') so the alarm engine gives them the same ISA-18.2
 * lifecycle as point rules; this module decides only whether the condition holds.
 */
import type { AlarmRule } from '../alarms/types.js';
import type { PointValue } from '../bus/types.js';
import type { DerivedCondition } from './types.js';

export interface PointSnapshot {
  value: PointValue;
  /** Monotonic start time of the poll that read it. */
  monoMs: number;
}

/** The latest value of every point of one device, merged over polls (a partial poll keeps the rest). */
export interface DeviceSnapshot {
  values: ReadonlyMap<string, PointSnapshot>;
  /** Last poll that got any answer (quality good or partial). */
  lastHeardMonoMs: number | null;
}

/** The value a device holds for a writable point, and since when it has held it. */
export interface CommandState {
  value: PointValue;
  sinceMonoMs: number;
}

/** A reading no older than `sinceMonoMs`, else undefined: a check never judges stale data. */
export function freshValue(
  snapshot: DeviceSnapshot | undefined,
  key: string | null,
  sinceMonoMs: number,
): PointValue | undefined {
  if (!snapshot || key === null) return undefined;
  const point = snapshot.values.get(key);
  return point !== undefined && point.monoMs >= sinceMonoMs ? point.value : undefined;
}

export function freshNumber(
  snapshot: DeviceSnapshot | undefined,
  key: string | null,
  sinceMonoMs: number,
): number | undefined {
  const value = freshValue(snapshot, key, sinceMonoMs);
  return typeof value === 'number' ? value : undefined;
}

export function freshBool(
  snapshot: DeviceSnapshot | undefined,
  key: string | null,
  sinceMonoMs: number,
): boolean | undefined {
  const value = freshValue(snapshot, key, sinceMonoMs);
  if (typeof value === 'boolean') return value;
  return typeof value === 'number' ? value !== 0 : undefined;
}

// Derived rules are built by the alarm module's factory, shared with the engine and the store.
export { derivedRule, type DerivedRuleSpec } from '../alarms/rules.js';

/**
 * A condition whose inputs cannot be judged now (no fresh reading, device offline, nothing
 * scheduled) keeps its previous state: a failed lamp stays failed until it is seen lit again.
 */
export function condition(
  rule: AlarmRule,
  verdict: { active: boolean; value: number | boolean | null } | 'unknown',
  previous: ReadonlyMap<string, DerivedCondition>,
): DerivedCondition {
  if (verdict === 'unknown') {
    const before = previous.get(rule.alarmKey);
    return before ? { ...before, rule } : { rule, active: false, level: 0, value: null };
  }
  return { rule, active: verdict.active, level: verdict.active ? 1 : 0, value: verdict.value };
}

/** ISA-18.2 on-delay default (docs/domain.md Alarm defaults: on/off delays of 15-60 s). */
export const DERIVED_ON_DELAY_MS = 15_000;
