/**
 * A read-only picture of the lighting for people (the cabinet web UI's lighting page and overview):
 * every loop and lamp with what its concentrator last reported, the overrides in force, the rates
 * of the last tick, and today's switching times. Pure: the controller hands in what it knows
 * (LightingController.snapshot); nothing here changes it.
 *
 * Rates (docs/domain.md "Alarm defaults", Lighting):
 * - lit rate: lamps lit / lamps that should be lit, over every concentrator (rates.ts counts them);
 * - online rate: single-lamp controllers heard / registered (rates.ts), over every concentrator;
 * - facility integrity (设施完好率): lamps without a fault (failure bit, lamp-failure check) /
 *   lamps, planned maintenance left out. docs/domain.md gives its target (>= 95 %), not its
 *   formula; "without a fault" is the reading of the term the lighting industry uses.
 */
import type { PointValue } from '../bus/types.js';
import type { DeviceSnapshot } from './conditions.js';
import { localCalendar } from './local-time.js';
import { dayType, effectiveRules, MIN_PLAUSIBLE_WALL_MS } from './schedule.js';
import { CIVIL_ZENITH_DEG, OFFICIAL_ZENITH_DEG, sunTimes } from './sun.js';
import type { LightingPlan } from './targets.js';
import type { DayType, DerivedCondition, LightingConfig, Override, RatesReport } from './types.js';

export interface LoopSnapshot {
  /** Target id, `${deviceId}:loop_N`. */
  id: string;
  deviceId: string;
  loop: number;
  /** The contactor's feedback, else its command coil as last read; null when not read yet. */
  on: boolean | null;
  /** Current of the loop's phase, A; null when the phase or the reading is unknown. */
  currentA: number | null;
  lamps: string[];
  /** Active lighting checks on this loop: 'switching_error', 'switching_error_off'. */
  faults: string[];
}

export interface LampSnapshot {
  /** Target id, `${deviceId}:lamp_NN`. */
  id: string;
  deviceId: string;
  /** Loop number feeding it, null when not configured. */
  loop: number | null;
  on: boolean | null;
  dimLevel: number | null;
  powerW: number | null;
  /** Its controller answered the concentrator (comm_status), and the concentrator was heard. */
  online: boolean;
  /** 'lamp_failure' (its failure bit), 'lamp_failure_check' (lit but no power), 'maintenance'. */
  faults: string[];
}

export interface OverrideSnapshot extends Override {
  /** expiresAtMonoMs on the wall clock of the snapshot (display only). */
  untilWallMs: number;
}

export interface TodaySnapshot {
  /** The cabinet's local date, YYYY-MM-DD. */
  date: string;
  dayType: DayType;
  sunriseWallMs: number | null;
  sunsetWallMs: number | null;
  /** Astronomical switching: sunset (or dusk) + onOffset, sunrise (or dawn) + offOffset. */
  switchOnWallMs: number | null;
  switchOffWallMs: number | null;
}

export interface LightingSnapshot {
  timeZone: string;
  loops: LoopSnapshot[];
  lamps: LampSnapshot[];
  overrides: OverrideSnapshot[];
  /** 0..1, null when there is nothing to measure (yet). */
  litRate: number | null;
  onlineRate: number | null;
  integrityRate: number | null;
  today: TodaySnapshot;
  rules: LightingConfig['rules'];
}

export interface SnapshotInput {
  config: LightingConfig;
  plan: LightingPlan;
  device(deviceId: string): DeviceSnapshot | undefined;
  /** The derived conditions of the last tick, by alarm key. */
  conditions: ReadonlyMap<string, DerivedCondition>;
  rates: RatesReport | null;
  overrides: readonly Override[];
  nowMonoMs: number;
  nowWallMs: number;
}

export function lightingSnapshot(input: SnapshotInput): LightingSnapshot {
  const { plan, config } = input;
  const active = (alarmKey: string): boolean => input.conditions.get(alarmKey)?.active === true;
  const loops: LoopSnapshot[] = [];
  const lamps: LampSnapshot[] = [];
  for (const device of plan.devices) {
    const snapshot = input.device(device.deviceId);
    const value = (key: string | null): PointValue | undefined =>
      key === null ? undefined : snapshot?.values.get(key)?.value;
    const heard = snapshot?.lastHeardMonoMs !== null && snapshot?.lastHeardMonoMs !== undefined;
    for (const loop of device.loops) {
      const faults = ['switching_error', 'switching_error_off'].filter((kind) =>
        active(`${device.deviceId}:derived.${kind}.${loop.name}`),
      );
      loops.push({
        id: loop.id,
        deviceId: device.deviceId,
        loop: Number(loop.name.slice('loop_'.length)),
        on: asBool(value(loop.statePoint) ?? value(loop.commandPoint)),
        currentA: asNumber(value(loop.currentPoint)),
        lamps: [...loop.lamps],
        faults,
      });
    }
    for (const lamp of device.lamps) {
      const faults: string[] = [];
      if (asBool(value(lamp.failurePoint)) === true) faults.push('lamp_failure');
      if (active(`${device.deviceId}:derived.lamp_failure.${lamp.name}`)) faults.push('lamp_failure_check');
      if (lamp.maintenance) faults.push('maintenance');
      const comm = asBool(value(lamp.commPoint));
      const loopTarget = lamp.loop === null ? undefined : plan.targets.get(lamp.loop);
      lamps.push({
        id: lamp.id,
        deviceId: device.deviceId,
        loop: loopTarget?.kind === 'loop' ? Number(loopTarget.name.slice('loop_'.length)) : null,
        on: asBool(value(lamp.switchPoint)),
        dimLevel: asNumber(value(lamp.dimPoint)),
        powerW: asNumber(value(lamp.powerPoint)),
        // Without a comm_status point, a lamp is as online as its concentrator.
        online: heard && (lamp.commPoint === null || comm === true),
        faults,
      });
    }
  }
  const counted = lamps.filter((l) => !l.faults.includes('maintenance'));
  const sound = counted.filter((l) => l.faults.length === 0).length;
  return {
    timeZone: config.timezone,
    loops,
    lamps,
    overrides: input.overrides.map((o) => ({
      ...o,
      untilWallMs: Math.round(input.nowWallMs + (o.expiresAtMonoMs - input.nowMonoMs)),
    })),
    litRate: litRate(input.rates),
    onlineRate: onlineRate(input.rates),
    integrityRate: counted.length === 0 ? null : sound / counted.length,
    today: today(config, input.nowWallMs),
    rules: effectiveRules(config),
  };
}

function litRate(rates: RatesReport | null): number | null {
  if (rates === null) return null;
  const should = rates.devices.reduce((sum, d) => sum + d.lampsShouldBeLit, 0);
  const lit = rates.devices.reduce((sum, d) => sum + d.lampsLit, 0);
  return should === 0 ? null : lit / should;
}

function onlineRate(rates: RatesReport | null): number | null {
  if (rates === null) return null;
  const judged = rates.devices.filter((d) => d.controllersOnlinePct !== null);
  const registered = judged.reduce((sum, d) => sum + d.controllersRegistered, 0);
  const heard = judged.reduce((sum, d) => sum + d.controllersHeard, 0);
  return registered === 0 ? null : heard / registered;
}

/** Today's sun and switching times in the cabinet's zone (schedule.ts astronomicalOn uses the same). */
function today(config: LightingConfig, nowWallMs: number): TodaySnapshot {
  const local = localCalendar(nowWallMs, config.timezone);
  const empty: TodaySnapshot = {
    date: local.date,
    dayType: dayType(config, local.date),
    sunriseWallMs: null,
    sunsetWallMs: null,
    switchOnWallMs: null,
    switchOffWallMs: null,
  };
  // Without a plausible wall clock the schedule runs fail-safe on (schedule.ts): no times to show.
  if (nowWallMs < MIN_PLAUSIBLE_WALL_MS) return empty;
  const { twilight, onOffsetMin, offOffsetMin } = config.astronomical;
  const zenith = twilight === 'civil' ? CIVIL_ZENITH_DEG : OFFICIAL_ZENITH_DEG;
  const sun = sunTimes(local.date, config.latitude, config.longitude, zenith);
  if (sun.type !== 'normal') return empty;
  return {
    ...empty,
    sunriseWallMs: Math.round(sun.sunriseUtcMs),
    sunsetWallMs: Math.round(sun.sunsetUtcMs),
    switchOnWallMs: Math.round(sun.sunsetUtcMs + onOffsetMin * 60_000),
    switchOffWallMs: Math.round(sun.sunriseUtcMs + offOffsetMin * 60_000),
  };
}

function asBool(value: PointValue | undefined): boolean | null {
  if (typeof value === 'boolean') return value;
  return typeof value === 'number' ? value !== 0 : null;
}

function asNumber(value: PointValue | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
