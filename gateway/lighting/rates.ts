/**
 * Lit-lamp rate and online rates (docs/domain.md Alarm defaults, Lighting):
 *   lit rate = lamps lit during the scheduled-on period / lamps that should be lit (excluding
 *   lamps in planned maintenance); online rate = devices heard from in the window / devices
 *   registered, separately for concentrators and single-lamp controllers.
 * Each rate below its threshold is a derived condition (lit_rate_low, online_rate_low).
 *
 * Working choices (docs/lighting.md):
 * - A lamp "should be lit" when its desired state has been on for the settle time; it counts
 *   once its concentrator has been polled after that, and it is lit when that poll shows it
 *   drawing at least minLampPowerW. An unreachable controller's lamp is not counted as lit: the
 *   street is not known to be lit.
 * - Single-lamp controllers on a loop commanded off are unpowered by design and are left out of
 *   the online rate; when the concentrator itself is not heard, its controllers' rate is unknown
 *   (the concentrator's communication-loss alarm covers it: one alarm, not one per lamp).
 * - No rate is judged until one window has passed since start (nothing has been heard yet).
 * - A rate that cannot be computed keeps its condition's previous state.
 */
import {
  condition,
  derivedRule,
  freshBool,
  freshNumber,
  type DeviceSnapshot,
  type CommandState,
} from './conditions.js';
import type { LightingDevicePlan, LightingPlan } from './targets.js';
import type {
  DerivedCondition,
  DesiredState,
  DeviceRates,
  RatesConfig,
  RatesReport,
  VerificationConfig,
} from './types.js';

const LIT_SOURCE =
  'docs/domain.md Alarm defaults, Lighting: lit-lamp rate target ≥ 98 % on main roads, ≥ 96 % on secondary roads; lit rate = lamps lit during the scheduled-on period / lamps that should be lit (excluding planned maintenance)';
const ONLINE_SOURCE =
  'docs/domain.md Where this comes from: alarms for low concentrator online rate; online rate = devices heard from in the window / devices registered (docs/domain.md Alarm defaults, Lighting); threshold default 95 % = the facility-integrity target, as docs/domain.md gives no online-rate figure';
/** A rate is an average over minutes; a minute of on-delay keeps a single slow poll from alarming. */
const RATE_ON_DELAY_MS = 60_000;

export interface RatesInput {
  plan: LightingPlan;
  config: RatesConfig;
  verification: VerificationConfig;
  desired: ReadonlyMap<string, DesiredState>;
  desiredOnSinceMonoMs: ReadonlyMap<string, number>;
  commanded(deviceId: string, pointKey: string): CommandState | undefined;
  snapshot(deviceId: string): DeviceSnapshot | undefined;
  /** Last time the lamp target's controller reported comm_status true. */
  lastCommOkMonoMs(lampTargetId: string): number | undefined;
  nowMonoMs: number;
  startedMonoMs: number;
  /** Device id for the gateway-wide concentrator online-rate alarm (the gateway id). */
  cabinetId: string;
}

export interface RatesResult {
  report: RatesReport;
  conditions: DerivedCondition[];
}

export function computeRates(
  input: RatesInput,
  previous: ReadonlyMap<string, DerivedCondition>,
): RatesResult {
  const windowMs = input.config.windowS * 1000;
  const windowStart = input.nowMonoMs - windowMs;
  const warmedUp = input.nowMonoMs - input.startedMonoMs >= windowMs;
  const conditions: DerivedCondition[] = [];
  const devices: DeviceRates[] = [];

  for (const device of input.plan.devices) {
    const snapshot = input.snapshot(device.deviceId);
    const lit = litRate(input, device, snapshot, windowStart);
    const online = controllersOnline(input, device, snapshot, windowStart, warmedUp);
    devices.push({
      deviceId: device.deviceId,
      roadClass: device.roadClass,
      litRatePct: pct(lit.lit, lit.should),
      lampsLit: lit.lit,
      lampsShouldBeLit: lit.should,
      controllersOnlinePct: online.judged ? pct(online.heard, online.registered) : null,
      controllersHeard: online.heard,
      controllersRegistered: online.registered,
    });

    const litThreshold = input.config.litRateMinPct[device.roadClass];
    const litRule = derivedRule({
      deviceId: device.deviceId,
      ruleKey: 'derived.lit_rate_low',
      derivedKind: 'lit_rate_low',
      family: 'lamp-concentrator',
      child: null,
      priority: 'medium',
      setpoint: litThreshold,
      onDelayMs: RATE_ON_DELAY_MS,
      message: {
        'zh-CN': `亮灯率低于${litThreshold}%`,
        en: `Lit-lamp rate below ${litThreshold} % (${device.roadClass} road)`,
      },
      source: LIT_SOURCE,
    });
    conditions.push(
      condition(
        litRule,
        lit.should === 0 ? 'unknown' : rateVerdict(lit.lit, lit.should, litThreshold),
        previous,
      ),
    );

    const onlineThreshold = input.config.onlineRateMinPct.controllers;
    const onlineRule = derivedRule({
      deviceId: device.deviceId,
      ruleKey: 'derived.online_rate_low.controllers',
      derivedKind: 'online_rate_low',
      family: 'lamp-concentrator',
      child: null,
      priority: 'medium',
      setpoint: onlineThreshold,
      onDelayMs: RATE_ON_DELAY_MS,
      message: {
        'zh-CN': `单灯控制器在线率低于${onlineThreshold}%`,
        en: `Single-lamp controller online rate below ${onlineThreshold} %`,
      },
      source: ONLINE_SOURCE,
    });
    conditions.push(
      condition(
        onlineRule,
        !online.judged || online.registered === 0
          ? 'unknown'
          : rateVerdict(online.heard, online.registered, onlineThreshold),
        previous,
      ),
    );
  }

  const registered = input.plan.devices.length;
  const heard = input.plan.devices.filter((d) => {
    const last = input.snapshot(d.deviceId)?.lastHeardMonoMs;
    return last !== undefined && last !== null && last >= windowStart;
  }).length;
  const concentratorThreshold = input.config.onlineRateMinPct.concentrators;
  const concentratorRule = derivedRule({
    deviceId: input.cabinetId,
    ruleKey: 'derived.online_rate_low.concentrators',
    derivedKind: 'online_rate_low',
    child: null,
    priority: 'medium',
    setpoint: concentratorThreshold,
    onDelayMs: RATE_ON_DELAY_MS,
    message: {
      'zh-CN': `集中控制器在线率低于${concentratorThreshold}%`,
      en: `Concentrator online rate below ${concentratorThreshold} %`,
    },
    source: ONLINE_SOURCE,
    // With one concentrator the rate is 0 or 100 % and repeats its comm_loss alarm: keep it
    // evaluated and recorded but not annunciated (ISA-18.2 suppressed by design).
    suppressedByDesign: registered <= 1,
  });
  if (registered > 0) {
    conditions.push(
      condition(
        concentratorRule,
        warmedUp ? rateVerdict(heard, registered, concentratorThreshold) : 'unknown',
        previous,
      ),
    );
  }

  return {
    report: {
      devices,
      concentratorsOnlinePct: warmedUp ? pct(heard, registered) : null,
      concentratorsHeard: heard,
      concentratorsRegistered: registered,
    },
    conditions,
  };
}

function litRate(
  input: RatesInput,
  device: LightingDevicePlan,
  snapshot: DeviceSnapshot | undefined,
  windowStart: number,
): { lit: number; should: number } {
  const settleMs = input.verification.settleS * 1000;
  const lastHeard = snapshot?.lastHeardMonoMs ?? null;
  let lit = 0;
  let should = 0;
  for (const lamp of device.lamps) {
    if (lamp.maintenance || !input.desired.get(lamp.id)?.on) continue;
    const onSince = input.desiredOnSinceMonoMs.get(lamp.id);
    if (onSince === undefined) continue;
    if (onSince + settleMs > input.nowMonoMs) continue;
    // Counted once the concentrator has been polled after the settle time, and within the window.
    const from = Math.max(onSince + settleMs, windowStart);
    if (lastHeard === null || lastHeard < from) continue;
    should++;
    const power = freshNumber(snapshot, lamp.powerPoint, from);
    const reachable = freshBool(snapshot, lamp.commPoint, from) !== false;
    if (reachable && power !== undefined && power >= input.verification.minLampPowerW) lit++;
  }
  return { lit, should };
}

function controllersOnline(
  input: RatesInput,
  device: LightingDevicePlan,
  snapshot: DeviceSnapshot | undefined,
  windowStart: number,
  warmedUp: boolean,
): { heard: number; registered: number; judged: boolean } {
  const concentratorHeard = (snapshot?.lastHeardMonoMs ?? -Infinity) >= windowStart;
  let heard = 0;
  let registered = 0;
  for (const lamp of device.lamps) {
    if (lamp.maintenance || lamp.commPoint === null) continue;
    if (lamp.loop !== null) {
      const loop = input.plan.targets.get(lamp.loop);
      if (loop?.kind === 'loop' && input.commanded(loop.deviceId, loop.commandPoint)?.value === false)
        continue;
    }
    registered++;
    if ((input.lastCommOkMonoMs(lamp.id) ?? -Infinity) >= windowStart) heard++;
  }
  return { heard, registered, judged: warmedUp && concentratorHeard };
}

function pct(part: number, whole: number): number | null {
  return whole === 0 ? null : (part * 100) / whole;
}

/** part/whole below threshold %, compared in integers-times-100 so 49/50 is exactly 98 %. */
function rateVerdict(part: number, whole: number, thresholdPct: number): { active: boolean; value: number } {
  return { active: part * 100 < thresholdPct * whole, value: (part * 100) / whole };
}
