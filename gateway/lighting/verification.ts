/**
 * Expected-state verification: compare what the cabinet was told to do with what it reports, after
 * a settle time, and turn each mismatch into a derived alarm condition (docs/domain.md Devices:
 * "loop switching error (commanded on but no current)", "lamp failure"). Names follow the TALQ
 * Smart City Protocol: segment events switchingErrorOn / switchingErrorOff, lamp event lampFailure.
 *
 *   switching_error (switchingErrorOn), per loop: the coil says on, the settle time has passed,
 *     and the contactor feedback says off, or the loop's phase carries no current although lamps
 *     on it should be drawing (a phase shared with a lit loop cannot tell, so only feedback counts).
 *   switching_error_off (switchingErrorOff), per loop: the coil says off, and the feedback says
 *     on, or current flows on a phase whose every loop is commanded off.
 *   lamp_failure (lampFailure), per lamp: during the scheduled-on period the lamp is switched on
 *     at a level above 0, its controller answers and its supply is present, yet the lamp draws
 *     (almost) no power without the controller reporting it (a set failure bit has its own
 *     profile alarm, so it is not flagged twice). A lamp without supply is its
 *     loop's fault and is not flagged (one grouped alarm, not one per lamp: docs/alarms.md).
 *
 * Pure: the controller passes the snapshot and command states, and the previous conditions so an
 * undecidable check holds its state.
 */
import type { AlarmRule } from '../alarms/types.js';
import {
  DERIVED_ON_DELAY_MS,
  condition,
  derivedRule,
  freshBool,
  freshNumber,
  type CommandState,
  type DeviceSnapshot,
} from './conditions.js';
import type { LampTarget, LightingPlan, LoopTarget } from './targets.js';
import type { DerivedCondition, DesiredState, VerificationConfig } from './types.js';

export interface VerificationInput {
  plan: LightingPlan;
  config: VerificationConfig;
  desired: ReadonlyMap<string, DesiredState>;
  /** Target id -> monotonic time its desired state last turned on (absent while desired off). */
  desiredOnSinceMonoMs: ReadonlyMap<string, number>;
  /** What the device holds for a writable point (read back, else last written), and since when. */
  commanded(deviceId: string, pointKey: string): CommandState | undefined;
  snapshot(deviceId: string): DeviceSnapshot | undefined;
}

const SWITCHING_SOURCE =
  'docs/domain.md Devices: loop switching error (commanded on but no current); TALQ segment switchingErrorOn/Off; 15 s on-delay from the ISA-18.2 defaults in docs/domain.md';
const LAMP_SOURCE =
  'docs/domain.md Devices: lamp failure; TALQ lampFailure (commanded on during the scheduled-on period but no lamp power or the failure bit); 15 s on-delay from the ISA-18.2 defaults in docs/domain.md';

export function verify(
  input: VerificationInput,
  previous: ReadonlyMap<string, DerivedCondition>,
): DerivedCondition[] {
  const out: DerivedCondition[] = [];
  for (const device of input.plan.devices) {
    const snapshot = input.snapshot(device.deviceId);
    for (const loop of device.loops) out.push(...verifyLoop(input, device.loops, loop, snapshot, previous));
    for (const lamp of device.lamps) {
      if (lamp.maintenance) continue; // planned maintenance: not expected to work
      out.push(verifyLamp(input, lamp, snapshot, previous));
    }
  }
  return out;
}

function verifyLoop(
  input: VerificationInput,
  siblings: readonly LoopTarget[],
  loop: LoopTarget,
  snapshot: DeviceSnapshot | undefined,
  previous: ReadonlyMap<string, DerivedCondition>,
): DerivedCondition[] {
  const settleMs = input.config.settleS * 1000;
  const onRule = switchingRule(loop, 'on');
  const offRule = switchingRule(loop, 'off');

  const command = input.commanded(loop.deviceId, loop.commandPoint);
  if (command === undefined || typeof command.value !== 'boolean')
    return [condition(onRule, 'unknown', previous), condition(offRule, 'unknown', previous)];
  const since = command.sinceMonoMs + settleMs;
  const state = freshBool(snapshot, loop.statePoint, since);
  const current = freshNumber(snapshot, loop.currentPoint, since);
  const minA = input.config.minLoopCurrentA;
  const noData = state === undefined && current === undefined;

  if (command.value) {
    const off = { active: false, value: null };
    if (noData) return [condition(onRule, 'unknown', previous), condition(offRule, off, previous)];
    if (state === false)
      return [condition(onRule, { active: true, value: false }, previous), condition(offRule, off, previous)];
    const dark = current !== undefined && current < minA && loopShouldDraw(input, loop);
    return [
      condition(onRule, { active: dark, value: current ?? state ?? null }, previous),
      condition(offRule, off, previous),
    ];
  }

  const onInactive = { active: false, value: null };
  if (noData) return [condition(onRule, onInactive, previous), condition(offRule, 'unknown', previous)];
  // Current on a shared phase proves this loop is energised only when every loop on it is off.
  const phaseAllOff = siblings
    .filter((l) => l.phase !== null && l.phase === loop.phase)
    .every((l) => input.commanded(l.deviceId, l.commandPoint)?.value === false);
  const energised = state === true || (current !== undefined && phaseAllOff && current >= minA);
  return [
    condition(onRule, onInactive, previous),
    condition(
      offRule,
      { active: energised, value: state === true ? true : (current ?? state ?? null) },
      previous,
    ),
  ];
}

/**
 * The two switching checks of one loop (TALQ switchingErrorOn/Off) differ only in what follows from
 * the direction: rule key, priority (docs/lighting.md lists both) and wording.
 */
const SWITCHING = {
  on: {
    ruleKey: 'switching_error',
    priority: 'high',
    zh: '开灯异常:已命令合闸但未通电',
    en: 'commanded on but not energised',
  },
  off: {
    ruleKey: 'switching_error_off',
    priority: 'medium',
    zh: '关灯异常:已命令分闸但仍通电',
    en: 'commanded off but still energised',
  },
} as const;

function switchingRule(loop: LoopTarget, direction: keyof typeof SWITCHING): AlarmRule {
  const s = SWITCHING[direction];
  return derivedRule({
    deviceId: loop.deviceId,
    ruleKey: `derived.${s.ruleKey}.${loop.name}`,
    derivedKind: 'switching_error',
    family: 'lamp-concentrator',
    child: null,
    priority: s.priority,
    setpoint: 1,
    onDelayMs: DERIVED_ON_DELAY_MS,
    message: {
      'zh-CN': `${loopZh(loop)}${s.zh}`,
      en: `Loop ${loopNumber(loop)} switching error: ${s.en}`,
    },
    source: SWITCHING_SOURCE,
  });
}

/** A loop without configured lamps always draws when on; with lamps, only if one is switched on above 0 %. */
function loopShouldDraw(input: VerificationInput, loop: LoopTarget): boolean {
  if (loop.lamps.length === 0) return true;
  return loop.lamps.some((id) => {
    const lamp = input.plan.targets.get(id);
    if (!lamp || lamp.kind !== 'lamp') return false;
    const on = input.commanded(lamp.deviceId, lamp.switchPoint)?.value;
    const dim = lamp.dimPoint === null ? 100 : input.commanded(lamp.deviceId, lamp.dimPoint)?.value;
    return (on === true || on === 1) && (typeof dim !== 'number' || dim > 0);
  });
}

function verifyLamp(
  input: VerificationInput,
  lamp: LampTarget,
  snapshot: DeviceSnapshot | undefined,
  previous: ReadonlyMap<string, DerivedCondition>,
): DerivedCondition {
  const rule = derivedRule({
    deviceId: lamp.deviceId,
    ruleKey: `derived.lamp_failure.${lamp.name}`,
    derivedKind: 'lamp_failure',
    family: 'lamp-concentrator',
    child: lamp.name,
    priority: 'medium',
    setpoint: 1,
    onDelayMs: DERIVED_ON_DELAY_MS,
    message: { 'zh-CN': '灯具故障:已开灯但无功率', en: 'Lamp failure: switched on but drawing no power' },
    source: LAMP_SOURCE,
  });
  const desired = input.desired.get(lamp.id);
  const onSince = input.desiredOnSinceMonoMs.get(lamp.id);
  // Outside the scheduled-on period nothing is expected of the lamp: keep what we last knew.
  if (!desired?.on || onSince === undefined) return condition(rule, 'unknown', previous);
  const switchCmd = input.commanded(lamp.deviceId, lamp.switchPoint);
  if (switchCmd === undefined || !(switchCmd.value === true || switchCmd.value === 1))
    return condition(rule, 'unknown', previous);
  const dimCmd = lamp.dimPoint === null ? undefined : input.commanded(lamp.deviceId, lamp.dimPoint);
  if (dimCmd !== undefined && typeof dimCmd.value === 'number' && dimCmd.value <= 0)
    return condition(rule, { active: false, value: null }, previous); // dimmed to 0: no light expected

  const loopCmd = lampLoop(input, lamp);
  if (loopCmd !== undefined && !loopCmd.on) return condition(rule, 'unknown', previous); // its loop is off
  const since =
    Math.max(onSince, switchCmd.sinceMonoMs, dimCmd?.sinceMonoMs ?? 0, loopCmd?.sinceMonoMs ?? 0) +
    input.config.settleS * 1000;
  if (freshBool(snapshot, lamp.commPoint, since) === false) return condition(rule, 'unknown', previous);
  if (!supplyPresent(input, lamp, snapshot, since)) return condition(rule, 'unknown', previous);

  const failureBit = freshBool(snapshot, lamp.failurePoint, since);
  const power = freshNumber(snapshot, lamp.powerPoint, since);
  if (failureBit === undefined && power === undefined) return condition(rule, 'unknown', previous);
  // The controller's own failure bit already has its profile alarm (template rule lamp_failure);
  // this check covers what the device does not report: switched on, supplied, answering, but dark.
  // So a failed lamp raises exactly one alarm whichever way it shows.
  const active = failureBit !== true && power !== undefined && power < input.config.minLampPowerW;
  return condition(rule, { active, value: power ?? failureBit ?? null }, previous);
}

function lampLoop(
  input: VerificationInput,
  lamp: LampTarget,
): { sinceMonoMs: number; on: boolean } | undefined {
  if (lamp.loop === null) return undefined;
  const loop = input.plan.targets.get(lamp.loop);
  if (!loop || loop.kind !== 'loop') return undefined;
  const cmd = input.commanded(loop.deviceId, loop.commandPoint);
  return cmd === undefined ? undefined : { sinceMonoMs: cmd.sinceMonoMs, on: cmd.value === true };
}

/**
 * Supply at the lamp: its own voltage reading when the profile has one, else its loop's contactor
 * feedback, else assumed present (a lamp with neither cannot tell a dark loop from a dead lamp).
 */
function supplyPresent(
  input: VerificationInput,
  lamp: LampTarget,
  snapshot: DeviceSnapshot | undefined,
  since: number,
): boolean {
  if (lamp.voltagePoint !== null) {
    const volts = freshNumber(snapshot, lamp.voltagePoint, since);
    return volts !== undefined && volts >= input.config.minSupplyV;
  }
  if (lamp.loop !== null) {
    const loop = input.plan.targets.get(lamp.loop);
    if (loop?.kind === 'loop') return freshBool(snapshot, loop.statePoint, since) === true;
  }
  return true;
}

function loopNumber(loop: LoopTarget): string {
  return loop.name.replace(/^loop_/, '');
}

function loopZh(loop: LoopTarget): string {
  return `回路${loopNumber(loop)}`;
}
