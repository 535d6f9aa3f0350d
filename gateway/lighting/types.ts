/**
 * Public shapes of the lighting module: its configuration (the `lighting` section of the gateway
 * configuration, after defaults), the desired state the schedule computes, operator overrides,
 * and what one controller tick returns to the pipeline.
 *
 * Target ids name what is switched: `${deviceId}:loop_2` (a loop contactor), `${deviceId}:lamp_03`
 * (one single-lamp controller), or `${deviceId}` (the whole cabinet, for rules and overrides).
 */
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';
import type { LightingActionEvent } from '../../cloud-sync/contract/events.js';
import type { AlarmRule } from '../alarms/types.js';

/** How the calendar classes a local date. */
export type DayType = 'weekday' | 'weekend' | 'holiday';

export type RoadClass = 'main' | 'secondary';

export type Phase = 'a' | 'b' | 'c';

/** 'official' = zenith 90.833° (sunrise/sunset), 'civil' = 96° (civil dawn/dusk). */
export type Twilight = 'official' | 'civil';

export interface AstronomicalConfig {
  twilight: Twilight;
  /** Minutes after sunset (or civil dusk) the lamps go on; negative = before. */
  onOffsetMin: number;
  /** Minutes after sunrise (or civil dawn) the lamps go off; negative = before. */
  offOffsetMin: number;
}

/**
 * A calendar rule: in the local window [from, to) on the listed day types, switch the targets on
 * or off, or set their dim level while they are on. A window with from > to runs past midnight
 * and belongs to the day it starts on (Friday 23:00-05:00 is Friday night).
 */
export interface LightingRule {
  id: string;
  days: DayType[];
  /** Local time "HH:MM". from == to means the whole day. */
  from: string;
  to: string;
  action: 'on' | 'off' | 'dim';
  /** Dim level 0..100 %: required for 'dim'; for 'on' defaults to the configured level. */
  level: number | null;
  /** Target ids the rule applies to; empty = every target. */
  targets: string[];
}

/** Midnight dimming (下半夜调光): a 'dim' rule with its own switch, checked after the rules. */
export interface MidnightDimming {
  from: string;
  to: string;
  level: number;
  days: DayType[];
}

export interface LightingLoopConfig {
  /** Loop number n: the profile's loop_n_command coil (and loop_n_state feedback). */
  loop: number;
  /** Phase the loop is fed from, so its phase current can confirm it; null = unknown. */
  phase: Phase | null;
  /** Child ids (lamp_03 ...) of the single-lamp controllers on this loop. */
  lamps: string[];
}

export interface LightingDeviceConfig {
  /** Device id in the gateway configuration. */
  device: string;
  roadClass: RoadClass;
  loops: LightingLoopConfig[];
}

export interface VerificationConfig {
  /** Time after a command (or the start of the scheduled-on period) before it is checked, s. */
  settleS: number;
  /** Below this a phase carries "no current", A. */
  minLoopCurrentA: number;
  /** Below this a lamp is "not lit", W. */
  minLampPowerW: number;
  /** Below this a lamp has no supply (its loop is dark, not the lamp), V. */
  minSupplyV: number;
}

export interface RatesConfig {
  /** Lit-lamp rate targets per road class, %. */
  litRateMinPct: Record<RoadClass, number>;
  /** Online rate targets, %. */
  onlineRateMinPct: { concentrators: number; controllers: number };
  /** A device counts as online when heard from within this window, s. */
  windowS: number;
}

export interface LightingConfig {
  /** IANA time zone of the cabinet (calendar dates, rule times). */
  timezone: string;
  /** WGS 84, from site.latitude/longitude. */
  latitude: number;
  longitude: number;
  astronomical: AstronomicalConfig;
  /** Dim level while on, unless a rule or override says otherwise, %. */
  level: number;
  /** Local dates (YYYY-MM-DD) that are holidays. */
  holidays: string[];
  /** Local weekend dates (YYYY-MM-DD) that are working days (调休). */
  workdays: string[];
  rules: LightingRule[];
  midnightDimming: MidnightDimming | null;
  devices: LightingDeviceConfig[];
  /** Lamp target ids (`${deviceId}:lamp_05`) in planned maintenance: left out of rates and checks. */
  maintenance: string[];
  verification: VerificationConfig;
  rates: RatesConfig;
}

/** Why a target is in its state; the values of LightingActionEvent['reason']. */
export type LightingReason = LightingActionEvent['reason'];

/** What the schedule wants of one target at one instant. */
export interface DesiredState {
  on: boolean;
  /** 0 when off. */
  dimLevel: number;
  /** What decided on/off. */
  reason: LightingReason;
  /** What decided the dim level. */
  dimReason: LightingReason;
  /** Human detail for logs and the UI, e.g. "after sunset 18:42 +0 min". */
  detail: string;
}

/** An operator or cloud override of one target (highest priority), until it expires. */
export interface Override {
  target: string;
  action: 'on' | 'off' | 'dim';
  /** Dim level for 'on' and 'dim'; null = the configured level. */
  level: number | null;
  /** Monotonic expiry: cabinets boot without a trusted wall clock (docs/storage.md). */
  expiresAtMonoMs: number;
  by: string;
  reason: string;
  /** 'command' when it came from a cloud command (events then say reason 'command'). */
  origin: 'local' | 'command';
}

export interface OverrideCommand {
  target: string;
  action: 'on' | 'off' | 'dim';
  /** Dim level 0..100 for 'on' and 'dim'. */
  value?: number;
  /** Give exactly one of expiresAtMonoMs and durationMs. */
  expiresAtMonoMs?: number;
  durationMs?: number;
  by: string;
  reason: string;
  origin?: 'local' | 'command';
}

/** One derived alarm condition for the alarm engine's setDerivedCondition. */
export interface DerivedCondition {
  rule: AlarmRule;
  active: boolean;
  /** 1 when active, 0 otherwise. */
  level: number;
  value: number | boolean | null;
}

/** Lit-lamp and online rates of one cabinet (concentrator), for logs and the UI. */
export interface DeviceRates {
  deviceId: string;
  roadClass: RoadClass;
  /** null outside the scheduled-on period (no lamp should be lit). */
  litRatePct: number | null;
  lampsLit: number;
  lampsShouldBeLit: number;
  controllersOnlinePct: number | null;
  controllersHeard: number;
  controllersRegistered: number;
}

export interface RatesReport {
  devices: DeviceRates[];
  concentratorsOnlinePct: number | null;
  concentratorsHeard: number;
  concentratorsRegistered: number;
}

/** What one controller tick returns to the pipeline. */
export interface LightingOutput {
  /** Writes completed (ok or failed) since the previous tick: outbox events. */
  actions: LightingActionEvent[];
  /** Every derived condition's current state (feed each to setDerivedCondition). */
  conditions: DerivedCondition[];
  desired: Array<{ target: string; state: DesiredState }>;
  rates: RatesReport;
}

export const LIGHTING_ERRORS = {
  LIGHTING_UNKNOWN_TARGET: {
    means: 'No lamp or loop of that name on this cabinet, or one that cannot be switched.',
  },
  LIGHTING_BAD_OVERRIDE: {
    means: 'An override the target cannot take (e.g. a dim level for a lamp without dimming).',
  },
  LIGHTING_BAD_CONFIG: {
    means: 'A lighting configuration that cannot run (e.g. a lighting device without a profile).',
  },
  LIGHTING_NOT_CONFIGURED: {
    means: 'A lighting page or command on a cabinet whose configuration has no lighting section.',
    status: 404,
  },
  LIGHTING_NOT_WRITTEN: {
    means:
      'A commanded write was not made or not answered (controller not running, lamp unpowered, timeout).',
  },
} as const satisfies ErrorCatalogue<string>;

export class LightingError extends errorClass('LightingError', LIGHTING_ERRORS) {}
