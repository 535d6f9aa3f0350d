/**
 * Rule resolution: the profile's default rules (device rules and per-child template rules, keys
 * `id` and `${child}.${id}`) overridden per device by the gateway configuration (docs/alarms.md).
 * Pure: the same profile and overrides always give the same rules.
 *
 * The field checks here are shared with the config validation (gateway/config/semantic.ts), so
 * an override the engine would refuse is already reported, with its JSON pointer, at start-up.
 */
import type { AlarmRuleOverride, DeviceAlarmOverrides } from '../config/types.js';
import type {
  AlarmKind,
  AlarmLevel,
  LoadedProfile,
  LocalizedText,
  ResolvedAlarmRule,
} from '../profiles/types.js';
import { AlarmError } from './types.js';
import type { AlarmPriority, AlarmRule, DerivedKind } from './types.js';

export type { AlarmRuleOverride, DeviceAlarmOverrides };

/** Rule key every device answers to, whether or not its profile names one. */
export const COMM_LOSS_RULE_KEY = 'comm_loss';

/**
 * A device whose profile has no comm_loss rule is still watched: 30 s is six missed polls at the
 * common 5 s interval (the lamp concentrator profile uses the same figure).
 */
export const DEFAULT_COMM_LOSS_S = 30;

/**
 * Default priority by level when neither the profile nor the config names one. ISA-18.2 /
 * IEC 62682 rationalization (alarm prioritization) asks for few priorities, set by the consequence
 * and the time to respond; a higher level of the same condition is the more urgent one.
 */
export const PRIORITY_BY_LEVEL: Readonly<Record<1 | 2 | 3, AlarmPriority>> = {
  1: 'medium',
  2: 'high',
  3: 'critical',
};

const LEVEL_KINDS: ReadonlySet<AlarmKind> = new Set(['high', 'low']);
const DEADBAND_KINDS: ReadonlySet<AlarmKind> = new Set(['high', 'low', 'rate']);
const STALE_KINDS: ReadonlySet<AlarmKind> = new Set(['stale', 'comm_loss']);

/** Which kinds each kind-specific field applies to (the same table as the profile lint). */
const FIELD_KINDS: ReadonlyArray<{
  field: keyof AlarmRuleOverride;
  kinds: ReadonlySet<AlarmKind>;
  label: string;
}> = [
  { field: 'levels', kinds: LEVEL_KINDS, label: 'high and low' },
  { field: 'deadband', kinds: DEADBAND_KINDS, label: 'high, low and rate' },
  { field: 'rateLimit', kinds: new Set<AlarmKind>(['rate']), label: 'rate' },
  { field: 'staleAfterS', kinds: STALE_KINDS, label: 'stale and comm_loss' },
];

export function alarmKeyOf(deviceId: string, ruleKey: string): string {
  return `${deviceId}:${ruleKey}`;
}

export interface OverrideProblem {
  /** Path below the override, e.g. "levels/1/setpoint"; "" for the override itself. */
  path: string;
  message: string;
}

/**
 * Problems of one override for a rule of `kind`: fields that do not apply to the kind, and levels
 * that are not listed 1, 2, 3 with setpoints getting more severe. Reads defensively: the config
 * check runs it on documents the schema may have rejected.
 */
export function overrideProblems(kind: AlarmKind, override: unknown): OverrideProblem[] {
  if (typeof override !== 'object' || override === null || Array.isArray(override)) return [];
  const fields = override as Record<string, unknown>;
  const problems: OverrideProblem[] = [];
  for (const { field, kinds, label } of FIELD_KINDS) {
    if (fields[field] !== undefined && !kinds.has(kind)) {
      problems.push({
        path: field,
        message: `'${field}' applies only to ${label} rules, this one is ${kind}`,
      });
    }
  }
  const levels = fields['levels'];
  if (LEVEL_KINDS.has(kind) && Array.isArray(levels)) {
    let previous: number | undefined;
    levels.forEach((item: unknown, k) => {
      if (typeof item !== 'object' || item === null) return;
      const level = (item as Record<string, unknown>)['level'];
      const setpoint = (item as Record<string, unknown>)['setpoint'];
      if (typeof level === 'number' && level !== k + 1) {
        problems.push({
          path: `levels/${k}/level`,
          message: `expected level ${k + 1}: list levels as 1, 2, 3`,
        });
      }
      if (typeof setpoint !== 'number') return;
      // A more severe level lies further from normal: higher for high rules, lower for low rules.
      if (previous !== undefined && kind === 'high' && !(setpoint > previous)) {
        problems.push({
          path: `levels/${k}/setpoint`,
          message: `high rule setpoints must rise with the level: ${setpoint} is not above ${previous}`,
        });
      }
      if (previous !== undefined && kind === 'low' && !(setpoint < previous)) {
        problems.push({
          path: `levels/${k}/setpoint`,
          message: `low rule setpoints must fall with the level: ${setpoint} is not below ${previous}`,
        });
      }
      previous = setpoint;
    });
  }
  return problems;
}

/** The rules a device gets from its profile, by key, including the implicit comm_loss rule. */
export function profileRuleKinds(profile: LoadedProfile): Map<string, AlarmKind> {
  const kinds = new Map<string, AlarmKind>();
  for (const rule of profileRules(profile)) kinds.set(rule.key, rule.kind);
  return kinds;
}

function profileRules(profile: LoadedProfile): ResolvedAlarmRule[] {
  const rules = [...profile.alarms];
  if (!rules.some((r) => r.kind === 'comm_loss' && r.child === null)) {
    rules.push({
      id: COMM_LOSS_RULE_KEY,
      key: COMM_LOSS_RULE_KEY,
      child: null,
      kind: 'comm_loss',
      staleAfterS: DEFAULT_COMM_LOSS_S,
      source: `Kerbside default: every device is watched for communication loss; ${DEFAULT_COMM_LOSS_S} s = 6 missed 5 s polls`,
      message: { 'zh-CN': '设备通信中断', en: 'Device communication lost' },
    });
  }
  return rules;
}

/**
 * Resolves the alarm rules of one device. Throws AlarmError ALARM_RULE_INVALID for an override of
 * a rule the profile does not have, or with fields that do not fit the rule (the config check
 * reports the same problems earlier, with their JSON pointers).
 */
export function resolveAlarmRules(
  deviceId: string,
  profile: LoadedProfile,
  overrides: DeviceAlarmOverrides = {},
): AlarmRule[] {
  const defaults = profileRules(profile);
  const known = new Set(defaults.map((r) => r.key));
  for (const key of Object.keys(overrides)) {
    if (!known.has(key)) {
      throw new AlarmError(
        'ALARM_RULE_INVALID',
        `device '${deviceId}': no alarm rule '${key}' in profile '${profile.id}'`,
      );
    }
  }
  return defaults.map((rule) => {
    const override = overrides[rule.key] ?? {};
    const problems = overrideProblems(rule.kind, override);
    if (problems.length > 0) {
      const detail = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      throw new AlarmError('ALARM_RULE_INVALID', `device '${deviceId}' rule '${rule.key}': ${detail}`);
    }
    return applyOverride(deviceId, profile.family, rule, override);
  });
}

function applyOverride(
  deviceId: string,
  family: string,
  rule: ResolvedAlarmRule,
  override: AlarmRuleOverride,
): AlarmRule {
  const levels = resolveLevels(rule, override);
  const staleAfterS = override.staleAfterS ?? rule.staleAfterS;
  const rateLimit = override.rateLimit ?? rule.rateLimit;
  const resolved: AlarmRule = {
    alarmKey: alarmKeyOf(deviceId, rule.key),
    deviceId,
    ruleKey: rule.key,
    kind: rule.kind,
    child: rule.child,
    levels,
    activeWhen: rule.activeWhen ?? true,
    deadband: override.deadband ?? rule.deadband ?? 0,
    onDelayMs: secondsToMs(override.onDelayS ?? rule.onDelayS ?? 0),
    offDelayMs: secondsToMs(override.offDelayS ?? rule.offDelayS ?? 0),
    rateLimit: rule.kind === 'rate' ? (rateLimit ?? null) : null,
    staleAfterMs: STALE_KINDS.has(rule.kind) && staleAfterS !== undefined ? secondsToMs(staleAfterS) : null,
    staleWhenUnchanged: rule.kind === 'stale' && rule.staleWhenUnchanged === true,
    latched: override.latched ?? rule.latched ?? false,
    suppressedByDesign: override.suppressedByDesign ?? false,
    enabled: override.enabled ?? true,
    // The rule's own priority is that of its first level: the priority of rules without levels
    // (boolean, rate, stale, comm_loss), and of a level rule's return-to-normal events.
    priority: override.priority ?? levels[0]?.priority ?? PRIORITY_BY_LEVEL[1],
    message: rule.message === undefined ? null : { ...rule.message },
    source:
      Object.keys(override).length === 0 ? rule.source : `${rule.source}; overridden in the gateway config`,
  };
  if (rule.pointKey !== undefined) resolved.pointKey = rule.pointKey;
  resolved.family = family;
  return resolved;
}

/**
 * Level priority: the config override's own level, then the override's rule priority, then the
 * profile level, then the default by level. An override `levels` list replaces the profile's.
 */
function resolveLevels(rule: ResolvedAlarmRule, override: AlarmRuleOverride): AlarmLevel[] {
  const source = override.levels ?? rule.levels ?? [];
  const fromConfig = override.levels !== undefined;
  return source.map((level) => ({
    level: level.level,
    setpoint: level.setpoint,
    priority:
      (fromConfig ? level.priority : undefined) ??
      override.priority ??
      level.priority ??
      PRIORITY_BY_LEVEL[level.level],
  }));
}

function secondsToMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** What a module computing a condition itself (lighting, strain, the store) says about its rule. */
export interface DerivedRuleSpec {
  deviceId: string;
  ruleKey: string;
  derivedKind: DerivedKind;
  child: string | null;
  priority: AlarmPriority;
  /** Set point shown with the alarm (a rate threshold, 1 for "true"); none for pure conditions. */
  setpoint?: number;
  onDelayMs?: number;
  latched?: boolean;
  suppressedByDesign?: boolean;
  message: LocalizedText;
  source: string;
  /** Profile family of the device the condition is about; absent for the gateway's own alarms. */
  family?: string;
}

/** A derived rule with every evaluation field neutral: its source decides when it is active. */
export function derivedRule(spec: DerivedRuleSpec): AlarmRule {
  return {
    alarmKey: alarmKeyOf(spec.deviceId, spec.ruleKey),
    deviceId: spec.deviceId,
    ruleKey: spec.ruleKey,
    kind: 'derived',
    derivedKind: spec.derivedKind,
    child: spec.child,
    levels:
      spec.setpoint === undefined ? [] : [{ level: 1, setpoint: spec.setpoint, priority: spec.priority }],
    activeWhen: true,
    deadband: 0,
    onDelayMs: spec.onDelayMs ?? 0,
    offDelayMs: 0,
    rateLimit: null,
    staleAfterMs: null,
    staleWhenUnchanged: false,
    latched: spec.latched ?? false,
    suppressedByDesign: spec.suppressedByDesign ?? false,
    enabled: true,
    priority: spec.priority,
    message: spec.message,
    source: spec.source,
    ...(spec.family === undefined ? {} : { family: spec.family }),
  };
}
