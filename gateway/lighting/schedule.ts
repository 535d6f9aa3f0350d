/**
 * What every target should be doing at one instant: a pure function of the configuration, the
 * plan, the instant, the cabinet's local calendar and the active overrides. No I/O, no clock of
 * its own, so it is tested table-driven and behaves the same with or without backhaul.
 *
 * Precedence, highest first (docs/lighting.md):
 *   1. override (operator or cloud command) on the lamp, else its loop, else its cabinet;
 *   2. calendar rules in list order: the first matching 'on'/'off' rule decides on/off;
 *   3. astronomical: on from sunset + onOffset until sunrise + offOffset (NOAA, zenith 90.833°,
 *      or civil twilight 96°; docs/domain.md Astronomical switching).
 * While on, the dim level is the first matching 'dim' rule (midnight dimming comes after the
 * configured rules), else the level of the deciding 'on' rule, else the configured level.
 */
import type { Instant } from '../alarms/types.js';
import { addDays, formatClock, parseClock, weekdayOf, type LocalCalendar } from './local-time.js';
import { CIVIL_ZENITH_DEG, OFFICIAL_ZENITH_DEG, sunTimes } from './sun.js';
import type { LampTarget, LightingPlan, LoopTarget } from './targets.js';
import type { DayType, DesiredState, LightingConfig, LightingRule, Override } from './types.js';

/**
 * A wall clock before this is not a real date: the cabinet booted without RTC or NTP
 * (docs/storage.md). Time-based schedules are then meaningless, and the safe state for a
 * street is lit, so every target goes on (overrides still apply: they run on monotonic time).
 */
export const MIN_PLAUSIBLE_WALL_MS = Date.UTC(2024, 0, 1);

/** Day type of a local date: holiday list first, then adjusted working days (调休), then weekday. */
export function dayType(config: Pick<LightingConfig, 'holidays' | 'workdays'>, date: string): DayType {
  if (config.holidays.includes(date)) return 'holiday';
  if (config.workdays.includes(date)) return 'weekday';
  return weekdayOf(date) >= 6 ? 'weekend' : 'weekday';
}

/** Whether a rule's window covers `local` (windows past midnight belong to the day they start on). */
export function ruleActive(
  config: Pick<LightingConfig, 'holidays' | 'workdays'>,
  rule: Pick<LightingRule, 'days' | 'from' | 'to'>,
  local: LocalCalendar,
): boolean {
  const from = parseClock(rule.from);
  const to = parseClock(rule.to);
  const m = local.minuteOfDay;
  const today = rule.days.includes(dayType(config, local.date));
  if (from === to) return today;
  if (from < to) return today && m >= from && m < to;
  const yesterday = rule.days.includes(dayType(config, addDays(local.date, -1)));
  return (today && m >= from) || (yesterday && m < to);
}

/** The astronomical answer for the whole cabinet: on at night. */
export function astronomicalOn(
  config: Pick<LightingConfig, 'latitude' | 'longitude' | 'astronomical'>,
  now: Instant,
  local: LocalCalendar,
): { on: boolean; detail: string } {
  const { twilight, onOffsetMin, offOffsetMin } = config.astronomical;
  const zenith = twilight === 'civil' ? CIVIL_ZENITH_DEG : OFFICIAL_ZENITH_DEG;
  const [riseName, setName] = twilight === 'civil' ? ['civil dawn', 'civil dusk'] : ['sunrise', 'sunset'];
  const sun = sunTimes(local.date, config.latitude, config.longitude, zenith);
  if (sun.type === 'polar_night') return { on: true, detail: `polar night: no ${riseName} today` };
  if (sun.type === 'polar_day') return { on: false, detail: `polar day: no ${setName} today` };
  // Local clock time of an UTC instant, via the offset between now's wall time and local time.
  const localMinuteOf = (utcMs: number): number => local.minuteOfDay + (utcMs - now.wallMs) / 60_000;
  const offAt = sun.sunriseUtcMs + offOffsetMin * 60_000;
  const onAt = sun.sunsetUtcMs + onOffsetMin * 60_000;
  const offset = (min: number): string => `${min >= 0 ? '+' : ''}${min} min`;
  if (now.wallMs < offAt)
    return {
      on: true,
      detail: `before ${riseName} ${formatClock(localMinuteOf(sun.sunriseUtcMs))} ${offset(offOffsetMin)}`,
    };
  if (now.wallMs >= onAt)
    return {
      on: true,
      detail: `after ${setName} ${formatClock(localMinuteOf(sun.sunsetUtcMs))} ${offset(onOffsetMin)}`,
    };
  return {
    on: false,
    detail: `day: ${riseName} ${formatClock(localMinuteOf(sun.sunriseUtcMs))} ${offset(offOffsetMin)}, ${setName} ${formatClock(localMinuteOf(sun.sunsetUtcMs))} ${offset(onOffsetMin)}`,
  };
}

/** Ids a rule or override may name for this target, most specific first: itself, its loop, its cabinet. */
export function scopesOf(target: LoopTarget | LampTarget): string[] {
  const scopes = [target.id];
  if (target.kind === 'lamp' && target.loop !== null) scopes.push(target.loop);
  scopes.push(target.deviceId);
  return scopes;
}

/** The configured rules followed by midnight dimming (so an explicit rule can take precedence). */
export function effectiveRules(config: Pick<LightingConfig, 'rules' | 'midnightDimming'>): LightingRule[] {
  const md = config.midnightDimming;
  if (md === null) return config.rules;
  return [
    ...config.rules,
    {
      id: 'midnight-dimming',
      days: md.days,
      from: md.from,
      to: md.to,
      action: 'dim',
      level: md.level,
      targets: [],
    },
  ];
}

/**
 * Desired state of every loop and lamp target. `overrides` may contain expired ones; they are
 * ignored here (the controller also prunes them).
 */
export function desiredState(
  config: LightingConfig,
  plan: LightingPlan,
  now: Instant,
  local: LocalCalendar,
  overrides: readonly Override[] = [],
): Map<string, DesiredState> {
  const clockTrusted = now.wallMs >= MIN_PLAUSIBLE_WALL_MS;
  const astro = clockTrusted
    ? astronomicalOn(config, now, local)
    : { on: true, detail: 'wall clock not set: fail-safe on' };
  const rules = clockTrusted ? effectiveRules(config) : [];
  const activeRules = rules.filter((rule) => ruleActive(config, rule, local));
  const liveOverrides = new Map<string, Override>();
  for (const o of overrides) if (now.monoMs < o.expiresAtMonoMs) liveOverrides.set(o.target, o);

  const result = new Map<string, DesiredState>();
  for (const target of plan.targets.values()) {
    const scopes = scopesOf(target);
    const override = scopes.map((s) => liveOverrides.get(s)).find((o) => o !== undefined);
    if (override) {
      const on = override.action !== 'off';
      const reason = override.origin === 'command' ? 'command' : 'override';
      result.set(target.id, {
        on,
        dimLevel: on ? (override.level ?? config.level) : 0,
        reason,
        dimReason: reason,
        detail: `${override.action} by ${override.by}${override.target === target.id ? '' : ` (on ${override.target})`}: ${override.reason}`,
      });
      continue;
    }
    const applies = (rule: LightingRule): boolean =>
      rule.targets.length === 0 || rule.targets.some((t) => scopes.includes(t));
    const switchRule = activeRules.find((r) => r.action !== 'dim' && applies(r));
    const on = switchRule ? switchRule.action === 'on' : astro.on;
    const reason = switchRule ? 'calendar' : 'astronomical';
    const detail = switchRule ? `rule ${switchRule.id} (${switchRule.from}-${switchRule.to})` : astro.detail;
    if (!on) {
      result.set(target.id, { on, dimLevel: 0, reason, dimReason: reason, detail });
      continue;
    }
    const dimRule = activeRules.find((r) => r.action === 'dim' && applies(r));
    if (dimRule) {
      result.set(target.id, {
        on,
        dimLevel: dimRule.level ?? config.level,
        reason,
        dimReason: 'calendar',
        detail: `${detail}; dim rule ${dimRule.id} (${dimRule.from}-${dimRule.to})`,
      });
      continue;
    }
    result.set(target.id, {
      on,
      dimLevel: switchRule?.level ?? config.level,
      reason,
      dimReason: reason,
      detail,
    });
  }
  return result;
}
