/**
 * Condition evaluation: from a value to a raw level (set points with deadband), and from the raw
 * level over time to the alarm's level (on-delay and off-delay). Pure functions over a small
 * per-alarm tracker; the engine owns the trackers and the clock.
 *
 * Levels: 0 = condition inactive, 1..3 = the most severe level whose condition holds.
 */
import type { AlarmPriority, AlarmRule } from './types.js';

export const MAX_LEVEL = 3;

export interface LevelTracker {
  /**
   * Hysteresis memory per level (index level - 1): whether the value is inside that level. A level
   * is entered at its set point and left only beyond set point - deadband (high) or + deadband (low).
   */
  inLevel: boolean[];
  /** The raw level of the last good observation. */
  rawLevel: number;
  /**
   * Per level (index level - 1): since when (monotonic ms) the raw level has been continuously at
   * or above that level, and since when continuously below it; null while the opposite holds.
   */
  aboveSince: Array<number | null>;
  belowSince: Array<number | null>;
  /** Value reported with the next change (the reading, the rate, or a derived value). */
  lastValue: number | boolean | null;
}

/**
 * A tracker for an alarm whose current level is `level` (restored from a record after a restart):
 * the level counts as held long enough, so a restart neither re-raises nor clears anything by itself.
 */
export function newTracker(level: number, lastValue: number | boolean | null = null): LevelTracker {
  const tracker: LevelTracker = {
    inLevel: [],
    rawLevel: level,
    aboveSince: [],
    belowSince: [],
    lastValue,
  };
  for (let k = 1; k <= MAX_LEVEL; k++) {
    tracker.inLevel.push(k <= level);
    tracker.aboveSince.push(k <= level ? Number.NEGATIVE_INFINITY : null);
    tracker.belowSince.push(k <= level ? null : Number.NEGATIVE_INFINITY);
  }
  return tracker;
}

/** Records a raw level observed at `nowMs`, keeping the start of each continuous stretch. */
export function observe(tracker: LevelTracker, rawLevel: number, nowMs: number): void {
  tracker.rawLevel = rawLevel;
  for (let k = 1; k <= MAX_LEVEL; k++) {
    const i = k - 1;
    if (rawLevel >= k) {
      tracker.belowSince[i] = null;
      tracker.aboveSince[i] ??= nowMs;
    } else {
      tracker.aboveSince[i] = null;
      tracker.belowSince[i] ??= nowMs;
    }
  }
}

/**
 * The alarm's level at `nowMs`, given its current level. On-delay and off-delay (ISA-18.2 /
 * IEC 62682 basic alarm design, guidance in ISA-TR18.2.3): a level is entered only after its
 * condition has held continuously for the on-delay, and left only after it has been absent
 * continuously for the off-delay. We apply the delays to every level change, not only to activation
 * and return: a one-second spike must not escalate an H2S alarm to level 2 any more than it may
 * raise it.
 */
export function settle(
  tracker: LevelTracker,
  currentLevel: number,
  onDelayMs: number,
  offDelayMs: number,
  nowMs: number,
): number {
  for (let k = MAX_LEVEL; k > currentLevel; k--) {
    const since = tracker.aboveSince[k - 1] ?? null;
    if (since !== null && nowMs - since >= onDelayMs) return k;
  }
  // The stretches below a level are nested (below 1 implies below 2), so the lowest matured level
  // decides how far the alarm falls.
  for (let k = 1; k <= currentLevel; k++) {
    const since = tracker.belowSince[k - 1] ?? null;
    if (since !== null && nowMs - since >= offDelayMs) return k - 1;
  }
  return currentLevel;
}

/** NaN, infinities and null are bad quality: they never activate or clear a value alarm. */
export function isBadValue(value: number | boolean | null | undefined): value is null | undefined {
  return value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value));
}

/**
 * Raw level of a high or low rule for a good numeric value. Deadband (ISA-18.2 / IEC 62682 basic
 * alarm design, ISA-TR18.2.3): a level is left only when the value has moved `deadband` back past
 * its set point, so a value hovering at the set point does not chatter. Level changes use the same
 * rule. Set points are inclusive: 10 mg/m³ of H2S is level 1 (GB/T 50493-2019 alarms AT the limit).
 */
export function setpointLevel(
  rule: Pick<AlarmRule, 'kind' | 'levels' | 'deadband'>,
  tracker: LevelTracker,
  value: number,
): number {
  const high = rule.kind !== 'low';
  let raw = 0;
  rule.levels.forEach((level, i) => {
    const inside = tracker.inLevel[i] ?? false;
    const limit = inside
      ? high
        ? level.setpoint - rule.deadband
        : level.setpoint + rule.deadband
      : level.setpoint;
    const now = high ? value >= limit : value <= limit;
    tracker.inLevel[i] = now;
    if (now) raw = Math.max(raw, level.level);
  });
  return raw;
}

/** Raw level of a rate rule: |rate| above the limit, leaving only below limit - deadband. */
export function rateLevel(
  rule: Pick<AlarmRule, 'rateLimit' | 'deadband'>,
  tracker: LevelTracker,
  rate: number,
): number {
  if (rule.rateLimit === null) return 0;
  const inside = tracker.inLevel[0] ?? false;
  const limit = inside ? rule.rateLimit - rule.deadband : rule.rateLimit;
  const now = Math.abs(rate) > limit;
  tracker.inLevel[0] = now;
  return now ? 1 : 0;
}

/** Raw level of a two-state condition (boolean point, stale, comm loss). */
export function binaryLevel(tracker: LevelTracker, on: boolean): number {
  tracker.inLevel[0] = on;
  return on ? 1 : 0;
}

/** Raw level of a condition computed elsewhere (derived rules): 0, or the level clamped to 1..3. */
export function derivedLevel(tracker: LevelTracker, active: boolean, level: number): number {
  const raw = active ? Math.min(MAX_LEVEL, Math.max(1, Math.trunc(level) || 1)) : 0;
  for (let k = 1; k <= MAX_LEVEL; k++) tracker.inLevel[k - 1] = k <= raw;
  return raw;
}

/** Whether a boolean-rule reading is "in alarm" (a numeric reading counts as non-zero = true). */
export function booleanOn(rule: Pick<AlarmRule, 'activeWhen'>, value: number | boolean): boolean {
  const asBool = typeof value === 'boolean' ? value : value !== 0;
  return asBool === rule.activeWhen;
}

/** Set point of a level; rate rules report their limit; other kinds have none. */
export function setpointFor(rule: AlarmRule, level: number): number | null {
  if (rule.kind === 'rate') return rule.rateLimit;
  if (level <= 0) return null;
  return rule.levels.find((l) => l.level === level)?.setpoint ?? null;
}

/** Priority of a level, falling back to the rule's priority (level 0, or a level without one). */
export function priorityFor(rule: AlarmRule, level: number): AlarmPriority {
  if (level <= 0) return rule.priority;
  return rule.levels.find((l) => l.level === level)?.priority ?? rule.priority;
}
