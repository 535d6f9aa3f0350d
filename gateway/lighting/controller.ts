/**
 * The lighting controller: every tick it computes what each loop and lamp should be doing
 * (schedule.ts), writes the difference through the profile's writable points (loop_N_command
 * coils, lamp_NN.lamp_switch and lamp_NN.dim_level registers), checks what the cabinet reports
 * against what it was told (verification.ts) and computes the lit and online rates (rates.ts).
 *
 * It needs nothing beyond the bus: schedules, calendars and overrides all live on the cabinet,
 * so the street keeps switching when the backhaul is down. What it did comes back from tick() as
 * LightingActionEvents for the outbox, which the uplink ships whenever it can.
 *
 * Writes:
 * - A point is written when its desired value differs from what the device is known to hold:
 *   after a restart nothing is known, so the first tick asserts every point (the schedule may
 *   have moved on while the gateway was down).
 * - A poll that started after our last write and shows another value means the device lost it
 *   (power cycle, a hand switch): it is written again with reason 'restore'.
 * - A failed write is retried with exponential backoff (2 s doubling to 60 s), and at once when
 *   the device answers polls again after failing them. The first failure of an intent is
 *   reported as a failed action; later attempts are logged, and the eventual success reported.
 * - Lamps on a loop whose contactor is scheduled off are not written: the contactor switches
 *   them, and their controllers are unpowered (a write would only fail). Lamps on no configured
 *   loop are switched by their own lamp_switch.
 * - The lead of the pipeline calls tick() (e.g. every second) with an Instant whose monoMs is on
 *   the same clock as DevicePollResult.monotonicMs (performance.now()).
 * - A cloud command (gateway/downlink/commands.ts) goes through command(): an override like any
 *   other, whose write is made at once and awaited, so the command's result says what the device
 *   answered (docs/commands.md).
 * - reconfigure() takes a new configuration from a configuration document (docs/config-downlink.md)
 *   keeping the overrides and what is known of each point; it returns an undo for a rollback.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { LightingActionEvent } from '../../cloud-sync/contract/events.js';
import type { Instant } from '../alarms/types.js';
import type { DevicePollResult, PointValue } from '../bus/types.js';
import type { LoadedProfile } from '../profiles/types.js';
import type { CommandState, DeviceSnapshot, PointSnapshot } from './conditions.js';
import { localCalendar } from './local-time.js';
import { computeRates } from './rates.js';
import { desiredState } from './schedule.js';
import { buildPlan, type LightingPlan } from './targets.js';
import {
  LightingError,
  type DerivedCondition,
  type DesiredState,
  type LightingConfig,
  type LightingOutput,
  type LightingReason,
  type Override,
  type OverrideCommand,
} from './types.js';
import { verify } from './verification.js';

export interface LightingDeviceInput {
  id: string;
  profile: LoadedProfile;
}

/** BusScheduler.write has this shape (gateway/bus/scheduler.ts). */
export type PointWriter = (deviceId: string, pointKey: string, value: PointValue) => Promise<void>;

export interface LightingControllerOptions {
  config: LightingConfig;
  /** The lighting devices (config.devices) with their profiles. */
  devices: LightingDeviceInput[];
  writer: PointWriter;
  logger: Logger;
  /** Device id for the gateway-wide concentrator online-rate alarm; default 'gateway'. */
  cabinetId?: string;
  /** Monotonic clock for write completion times; default performance.now (tests inject one). */
  monoNow?: () => number;
  /** Backoff of failed writes. */
  retry?: { initialMs: number; maxMs: number };
  /** Longest override accepted, ms (default 7 days: an override is for work, not a new schedule). */
  maxOverrideMs?: number;
}

const DEFAULT_RETRY = { initialMs: 2_000, maxMs: 60_000 };
/** How long command() waits for the device's answer to its write. */
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** A lighting configuration checked against the profiles, ready for reconfigure() (cannot fail then). */
export interface PreparedLighting {
  config: LightingConfig;
  plan: LightingPlan;
}

/** Someone waiting for the answer to the write of one value on one point (command()). */
interface WriteWaiter {
  value: PointValue;
  resolve: () => void;
  reject: (error: Error) => void;
}
const DEFAULT_MAX_OVERRIDE_MS = 7 * 24 * 3_600_000;

/** Write state of one writable point. */
interface PointControl {
  deviceId: string;
  pointKey: string;
  /** Name in events: loop_2 or lamp_03. */
  target: string;
  action: 'switch' | 'dim';
  /** What the schedule wants now; null = leave the point alone. */
  intent: { value: PointValue; reason: LightingReason } | null;
  /** A value the device is known to hold since our last write or read-back; undefined = unknown. */
  confirmed: PointValue | undefined;
  /** Latest read-back from a poll that started after our last write. */
  readback: PointSnapshot | undefined;
  /** Completion time of our last write attempt (ok or failed). */
  lastWriteMonoMs: number;
  inFlight: boolean;
  failures: number;
  retryAtMonoMs: number;
  /** What the device holds (read back, else our last successful write) and since when. */
  held: CommandState | undefined;
}

interface DeviceState {
  values: Map<string, PointSnapshot>;
  lastHeardMonoMs: number | null;
  lastPollFailed: boolean;
  /** comm_status point key -> lamp target id. */
  commPoints: Map<string, string>;
}

export class LightingController {
  private plan: LightingPlan;
  private config: LightingConfig;
  private readonly profiles: ReadonlyMap<string, LoadedProfile>;
  private controls = new Map<string, PointControl>();
  private devices = new Map<string, DeviceState>();
  private overridesByTarget = new Map<string, Override>();
  private readonly waiters = new Map<string, WriteWaiter[]>();
  private readonly desiredOnSince = new Map<string, number>();
  private readonly lastCommOk = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private completed: LightingActionEvent[] = [];
  /** Writes since the bus had none of ours in flight: logged as one line when they are all done. */
  private applied: { ok: number; failed: number; reasons: Set<LightingReason> } | undefined;
  private previousConditions = new Map<string, DerivedCondition>();
  private readonly monoNow: () => number;
  private readonly retry: { initialMs: number; maxMs: number };
  private running = false;
  private startedMonoMs = 0;

  constructor(private readonly options: LightingControllerOptions) {
    this.profiles = new Map(options.devices.map((d) => [d.id, d.profile]));
    this.config = options.config;
    this.plan = buildPlan(options.config, this.profiles);
    this.monoNow = options.monoNow ?? (() => performance.now());
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.index(this.plan);
  }

  /** (Re)builds the device and point tables of `plan`, keeping the state of what already existed. */
  private index(plan: LightingPlan): void {
    const devices = new Map<string, DeviceState>();
    const controls = new Map<string, PointControl>();
    const keep = (deviceId: string, pointKey: string, target: string, action: 'switch' | 'dim'): void => {
      const key = controlKey(deviceId, pointKey);
      controls.set(key, this.controls.get(key) ?? newControl(deviceId, pointKey, target, action));
    };
    for (const device of plan.devices) {
      const commPoints = new Map<string, string>();
      for (const lamp of device.lamps) if (lamp.commPoint !== null) commPoints.set(lamp.commPoint, lamp.id);
      const known = this.devices.get(device.deviceId);
      devices.set(
        device.deviceId,
        known === undefined
          ? { values: new Map(), lastHeardMonoMs: null, lastPollFailed: false, commPoints }
          : { ...known, commPoints },
      );
      for (const loop of device.loops) keep(device.deviceId, loop.commandPoint, loop.name, 'switch');
      for (const lamp of device.lamps) {
        keep(device.deviceId, lamp.switchPoint, lamp.name, 'switch');
        if (lamp.dimPoint !== null) keep(device.deviceId, lamp.dimPoint, lamp.name, 'dim');
      }
    }
    this.devices = devices;
    this.controls = controls;
  }

  /**
   * Checks a new configuration against the devices' profiles without touching the running
   * controller (the build step of an atomic configuration change). Throws LightingError.
   */
  prepare(config: LightingConfig): PreparedLighting {
    const unknown = config.devices.filter((d) => !this.profiles.has(d.device)).map((d) => d.device);
    if (unknown.length > 0) {
      throw new LightingError(
        'LIGHTING_BAD_CONFIG',
        `lighting devices ${unknown.join(', ')} were not configured at start; adding a lighting device needs a restart`,
      );
    }
    return { config, plan: buildPlan(config, this.profiles) };
  }

  /**
   * Swaps in a prepared configuration, synchronously: overrides of targets that still exist stay,
   * and so does what is known of every point that still exists (no needless rewrites). Returns
   * the undo that restores the previous configuration exactly (a rolled-back change).
   */
  reconfigure(prepared: PreparedLighting): () => void {
    const before = {
      config: this.config,
      plan: this.plan,
      controls: this.controls,
      devices: this.devices,
      overrides: this.overridesByTarget,
    };
    this.config = prepared.config;
    this.plan = prepared.plan;
    this.index(prepared.plan);
    const targets = new Set(this.targets());
    this.overridesByTarget = new Map([...before.overrides].filter(([target]) => targets.has(target)));
    for (const target of before.overrides.keys())
      if (!targets.has(target))
        this.options.logger.warn({ target }, 'lighting override dropped: its target is no longer configured');
    this.options.logger.info({ targets: this.plan.targets.size }, 'lighting configuration changed');
    return () => {
      this.config = before.config;
      this.plan = before.plan;
      this.controls = before.controls;
      this.devices = before.devices;
      this.overridesByTarget = before.overrides;
    };
  }

  /**
   * A cloud command (docs/uplink-contract.md, delivery rule 7): sets the override (origin
   * 'command'), writes its target's point at once (even when the device is believed to hold the
   * value already, so the answer is fresh) and resolves once the device has answered the write (a
   * Modbus response); rejects with the write's error, or LightingError: LIGHTING_UNKNOWN_TARGET
   * (not a lamp or loop of this cabinet), LIGHTING_BAD_OVERRIDE, LIGHTING_NOT_WRITTEN (not running,
   * lamp unpowered because its loop is off, no answer in time). The lighting_action event records
   * the write.
   */
  async command(cmd: OverrideCommand, timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): Promise<void> {
    const target = this.plan.targets.get(cmd.target);
    if (target === undefined)
      throw new LightingError('LIGHTING_UNKNOWN_TARGET', `no lamp or loop ${cmd.target} on this cabinet`);
    if (!this.running)
      throw new LightingError('LIGHTING_NOT_WRITTEN', 'the lighting controller is not running');
    const awaited: Array<{ control: PointControl; value: PointValue }> = [];
    const control = (pointKey: string | null): PointControl | undefined =>
      pointKey === null ? undefined : this.controls.get(controlKey(target.deviceId, pointKey));
    if (cmd.action === 'dim') {
      const dim = target.kind === 'lamp' ? control(target.dimPoint) : undefined;
      if (dim === undefined)
        throw new LightingError('LIGHTING_BAD_OVERRIDE', `${cmd.target} has no dim level to set`);
      awaited.push({ control: dim, value: Math.round(cmd.value ?? this.config.level) });
    } else {
      const point = control(target.kind === 'loop' ? target.commandPoint : target.switchPoint);
      if (point === undefined)
        throw new LightingError('LIGHTING_UNKNOWN_TARGET', `${cmd.target} cannot be switched`);
      awaited.push({ control: point, value: cmd.action === 'on' });
    }
    this.override({ ...cmd, origin: 'command' });
    const mine: WriteWaiter[] = [];
    const answers = awaited.map(({ control: c, value }) => {
      // Forget what we believe the device holds: the command's write must be made and answered.
      c.confirmed = undefined;
      c.readback = undefined;
      return new Promise<void>((resolve, reject) => {
        const key = controlKey(c.deviceId, c.pointKey);
        const waiter = { value, resolve, reject };
        mine.push(waiter);
        this.waiters.set(key, [...(this.waiters.get(key) ?? []), waiter]);
      });
    });
    const nowMono = this.monoNow();
    this.drive(this.desiredAt({ monoMs: nowMono, wallMs: Date.now() }), nowMono);
    for (const { control: c, value } of awaited) {
      if (c.intent !== null && sameValue(c.intent.value, value)) continue;
      const why =
        c.intent === null && target.kind === 'lamp' && target.loop !== null
          ? `${cmd.target} was not written: its loop ${target.loop} is switched off, so its controller has no power`
          : `${cmd.target} was not written: the schedule wants another value`;
      this.settleWaiters(c, value, new LightingError('LIGHTING_NOT_WRITTEN', why));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LightingError(
              'LIGHTING_NOT_WRITTEN',
              `no answer from ${target.deviceId} to the write of ${cmd.target} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(answers), timeout]);
    } finally {
      clearTimeout(timer);
      for (const { control: c } of awaited) {
        const key = controlKey(c.deviceId, c.pointKey);
        const left = (this.waiters.get(key) ?? []).filter((w) => !mine.includes(w));
        if (left.length === 0) this.waiters.delete(key);
        else this.waiters.set(key, left);
      }
    }
  }

  /** Resolves (error null) or rejects the waiters of `control` for `value`. */
  private settleWaiters(control: PointControl, value: PointValue, error: Error | null): void {
    const key = controlKey(control.deviceId, control.pointKey);
    const list = this.waiters.get(key);
    if (list === undefined) return;
    const matching = list.filter((w) => sameValue(w.value, value));
    const rest = list.filter((w) => !sameValue(w.value, value));
    if (rest.length === 0) this.waiters.delete(key);
    else this.waiters.set(key, rest);
    for (const waiter of matching) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }

  private desiredAt(now: Instant): Map<string, DesiredState> {
    return desiredState(
      this.config,
      this.plan,
      now,
      localCalendar(now.wallMs, this.config.timezone),
      this.overrides(),
    );
  }

  /** Target ids (loops and lamps) and cabinet ids this controller switches. */
  targets(): string[] {
    return [...this.plan.devices.map((d) => d.deviceId), ...this.plan.targets.keys()];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedMonoMs = this.monoNow();
    // After a (re)start nothing is known about the devices: assert every point once.
    for (const control of this.controls.values()) control.confirmed = undefined;
    this.options.logger.info(
      { devices: this.plan.devices.map((d) => d.deviceId), targets: this.plan.targets.size },
      'lighting controller started',
    );
  }

  /** Stops issuing writes and waits for the ones on the bus. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.allSettled([...this.pending]);
  }

  /** Resolves when no write is in flight (tests; a graceful stop). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Feed every poll result of every bus; results of other devices are ignored. */
  onPoll(result: DevicePollResult): void {
    const device = this.devices.get(result.deviceId);
    if (!device) return;
    const answered = result.quality !== 'failed';
    if (answered) {
      device.lastHeardMonoMs = result.monotonicMs;
      // The device is back: retry its failed writes now instead of waiting out the backoff.
      if (device.lastPollFailed) {
        for (const control of this.controls.values())
          if (control.deviceId === result.deviceId && control.failures > 0) control.retryAtMonoMs = 0;
      }
    }
    device.lastPollFailed = !answered;
    for (const reading of result.readings) {
      device.values.set(reading.key, { value: reading.value, monoMs: result.monotonicMs });
      const lamp = device.commPoints.get(reading.key);
      if (lamp !== undefined && (reading.value === true || reading.value === 1))
        this.lastCommOk.set(lamp, result.monotonicMs);
      const control = this.controls.get(controlKey(result.deviceId, reading.key));
      // A poll that started before our last write may show the old value: ignore it.
      if (control && result.monotonicMs >= control.lastWriteMonoMs) {
        control.readback = { value: reading.value, monoMs: result.monotonicMs };
        this.hold(control, reading.value, result.monotonicMs);
      }
    }
  }

  /**
   * Sets an override of one target (lamp, loop or whole cabinet), replacing any earlier one on the
   * same target. It wins over every schedule until it expires or is cancelled. Overrides live in
   * memory on the monotonic clock: a restart ends them (the schedule resumes).
   */
  override(cmd: OverrideCommand): Override {
    const bad = (message: string): LightingError => new LightingError('LIGHTING_BAD_OVERRIDE', message);
    if (!this.targets().includes(cmd.target))
      throw new LightingError('LIGHTING_UNKNOWN_TARGET', `no lighting target ${cmd.target}`);
    if (!['on', 'off', 'dim'].includes(cmd.action)) throw bad(`unknown action ${String(cmd.action)}`);
    if (cmd.action === 'dim' && cmd.value === undefined) throw bad('a dim override needs a value (0..100 %)');
    if (cmd.action === 'off' && cmd.value !== undefined) throw bad('an off override takes no value');
    if (cmd.value !== undefined && !(Number.isFinite(cmd.value) && cmd.value >= 0 && cmd.value <= 100))
      throw bad(`dim level ${cmd.value} is outside 0..100 %`);
    if ((cmd.expiresAtMonoMs === undefined) === (cmd.durationMs === undefined))
      throw bad('give exactly one of expiresAtMonoMs and durationMs');
    if (cmd.by.trim() === '') throw bad('an override needs who (by)');
    if (cmd.reason.trim() === '') throw bad('an override needs a reason');
    const now = this.monoNow();
    const expiresAtMonoMs = cmd.expiresAtMonoMs ?? now + (cmd.durationMs ?? 0);
    const maxMs = this.options.maxOverrideMs ?? DEFAULT_MAX_OVERRIDE_MS;
    if (!(expiresAtMonoMs > now)) throw bad('the override has already expired');
    if (expiresAtMonoMs - now > maxMs) throw bad(`an override may last at most ${maxMs / 3_600_000} h`);
    const override: Override = {
      target: cmd.target,
      action: cmd.action,
      level: cmd.value === undefined ? null : Math.round(cmd.value),
      expiresAtMonoMs,
      by: cmd.by,
      reason: cmd.reason,
      origin: cmd.origin ?? 'local',
    };
    this.overridesByTarget.set(cmd.target, override);
    // `level` would collide with pino's own field; in the log it is the dim level it is.
    const { level: dimLevel, ...logged } = override;
    this.options.logger.info(
      { ...logged, dimLevel, remainingMs: expiresAtMonoMs - now },
      'lighting override set',
    );
    return override;
  }

  /** Ends the override of a target; false if there was none. */
  cancelOverride(target: string, by: string): boolean {
    const existing = this.overridesByTarget.get(target);
    if (!existing) return false;
    this.overridesByTarget.delete(target);
    this.options.logger.info({ target, by, override: existing }, 'lighting override cancelled');
    return true;
  }

  overrides(): Override[] {
    return [...this.overridesByTarget.values()];
  }

  tick(now: Instant): LightingOutput {
    const config = this.config;
    for (const [target, o] of this.overridesByTarget) {
      if (now.monoMs >= o.expiresAtMonoMs) {
        this.overridesByTarget.delete(target);
        this.options.logger.info({ override: o }, 'lighting override expired');
      }
    }
    const desired = this.desiredAt(now);
    for (const [target, state] of desired) {
      if (!state.on) this.desiredOnSince.delete(target);
      else if (!this.desiredOnSince.has(target)) this.desiredOnSince.set(target, now.monoMs);
    }
    if (this.running) this.drive(desired, now.monoMs);

    const commanded = (deviceId: string, pointKey: string): CommandState | undefined =>
      this.controls.get(controlKey(deviceId, pointKey))?.held;
    const snapshot = (deviceId: string): DeviceSnapshot | undefined => this.devices.get(deviceId);
    const previous = this.previousConditions;
    const checks = verify(
      {
        plan: this.plan,
        config: config.verification,
        desired,
        desiredOnSinceMonoMs: this.desiredOnSince,
        commanded,
        snapshot,
      },
      previous,
    );
    const rates = computeRates(
      {
        plan: this.plan,
        config: config.rates,
        verification: config.verification,
        desired,
        desiredOnSinceMonoMs: this.desiredOnSince,
        commanded,
        snapshot,
        lastCommOkMonoMs: (id) => this.lastCommOk.get(id),
        nowMonoMs: now.monoMs,
        startedMonoMs: this.startedMonoMs,
        cabinetId: this.options.cabinetId ?? 'gateway',
      },
      previous,
    );
    const conditions = [...checks, ...rates.conditions];
    this.previousConditions = new Map(conditions.map((c) => [c.rule.alarmKey, c]));

    const actions = this.completed;
    this.completed = [];
    return {
      actions,
      conditions,
      desired: [...desired].map(([target, state]) => ({ target, state })),
      rates: rates.report,
    };
  }

  /** Sets every point's intent from the desired states and writes where needed. */
  private drive(desired: ReadonlyMap<string, DesiredState>, nowMonoMs: number): void {
    for (const device of this.plan.devices) {
      // Loops first: a lamp controller on a loop has power only once its contactor is closed.
      for (const loop of device.loops) {
        const state = desired.get(loop.id);
        if (state) this.want(device.deviceId, loop.commandPoint, state.on, state.reason, nowMonoMs);
      }
      for (const lamp of device.lamps) {
        const state = desired.get(lamp.id);
        const loopOn = lamp.loop === null ? true : (desired.get(lamp.loop)?.on ?? true);
        if (!state || !loopOn) {
          this.want(device.deviceId, lamp.switchPoint, null, 'astronomical', nowMonoMs);
          if (lamp.dimPoint !== null)
            this.want(device.deviceId, lamp.dimPoint, null, 'astronomical', nowMonoMs);
          continue;
        }
        // Level before switch, so a lamp comes on at its level rather than at its last one.
        if (lamp.dimPoint !== null)
          this.want(
            device.deviceId,
            lamp.dimPoint,
            state.on ? state.dimLevel : null,
            state.dimReason,
            nowMonoMs,
          );
        this.want(device.deviceId, lamp.switchPoint, state.on, state.reason, nowMonoMs);
      }
    }
  }

  private want(
    deviceId: string,
    pointKey: string,
    value: PointValue | null,
    reason: LightingReason,
    nowMonoMs: number,
  ): void {
    const control = this.controls.get(controlKey(deviceId, pointKey));
    if (!control) return;
    if (value === null) {
      control.intent = null;
      return;
    }
    if (control.intent === null || !sameValue(control.intent.value, value)) {
      // A new intent gets an immediate attempt, whatever the backoff of the previous one.
      control.intent = { value, reason };
      control.failures = 0;
      control.retryAtMonoMs = 0;
    }
    if (control.inFlight || nowMonoMs < control.retryAtMonoMs) return;
    const fresh = control.readback !== undefined && control.readback.monoMs >= control.lastWriteMonoMs;
    if (fresh && control.readback !== undefined && sameValue(control.readback.value, value)) {
      control.confirmed = value;
      return;
    }
    if (control.confirmed !== undefined && sameValue(control.confirmed, value)) {
      if (!fresh) return; // written, not yet read back: nothing to do
      // Read back different from what we wrote: the device lost it.
      control.confirmed = undefined;
      this.write(control, value, 'restore');
      return;
    }
    this.write(control, value, control.intent.reason);
  }

  private write(control: PointControl, value: PointValue, reason: LightingReason): void {
    control.inFlight = true;
    const { deviceId, pointKey } = control;
    const action = control.action;
    const event = (ok: boolean, error: string | null): LightingActionEvent => ({
      kind: 'lighting_action',
      deviceId,
      target: control.target,
      action,
      value,
      reason,
      ok,
      error,
    });
    const attempt = this.options.writer(deviceId, pointKey, value).then(
      () => {
        const at = this.monoNow();
        control.inFlight = false;
        control.lastWriteMonoMs = at;
        control.confirmed = value;
        control.failures = 0;
        control.retryAtMonoMs = 0;
        this.hold(control, value, at);
        this.completed.push(event(true, null));
        this.settleWaiters(control, value, null);
        if (this.applied) this.applied.ok++;
        this.options.logger.debug({ deviceId, pointKey, value, reason }, 'lighting point written');
      },
      (error: unknown) => {
        const at = this.monoNow();
        const message = error instanceof Error ? error.message : String(error);
        control.inFlight = false;
        control.lastWriteMonoMs = at;
        control.confirmed = undefined;
        control.failures++;
        const backoff = Math.min(this.retry.initialMs * 2 ** (control.failures - 1), this.retry.maxMs);
        control.retryAtMonoMs = at + backoff;
        this.settleWaiters(control, value, error instanceof Error ? error : new Error(message));
        if (this.applied) this.applied.failed++;
        const log = {
          deviceId,
          pointKey,
          value,
          reason,
          attempt: control.failures,
          retryInMs: backoff,
          err: message,
        };
        if (control.failures === 1) {
          this.completed.push(event(false, message));
          this.options.logger.warn(log, 'lighting write failed; retrying with backoff');
        } else {
          this.options.logger.debug(log, 'lighting write failed again');
        }
      },
    );
    this.applied ??= { ok: 0, failed: 0, reasons: new Set() };
    this.applied.reasons.add(reason);
    this.pending.add(attempt);
    void attempt.finally(() => {
      this.pending.delete(attempt);
      if (this.pending.size === 0) this.logApplied();
    });
  }

  /**
   * One line for a batch of writes (a start asserts dozens of points), not one per point. A batch
   * that wrote nothing (retries failing again) is debug: each point's first failure warned already.
   */
  private logApplied(): void {
    const applied = this.applied;
    this.applied = undefined;
    if (applied === undefined) return;
    const fields = { writes: applied.ok, failed: applied.failed, reasons: [...applied.reasons] };
    const message = `lighting applied: ${applied.ok} write${applied.ok === 1 ? '' : 's'}${
      applied.failed > 0 ? `, ${applied.failed} failed` : ''
    }`;
    if (applied.ok > 0) this.options.logger.info(fields, message);
    else this.options.logger.debug(fields, message);
  }

  private hold(control: PointControl, value: PointValue, atMonoMs: number): void {
    if (control.held === undefined || !sameValue(control.held.value, value))
      control.held = { value, sinceMonoMs: atMonoMs };
  }
}

function newControl(
  deviceId: string,
  pointKey: string,
  target: string,
  action: 'switch' | 'dim',
): PointControl {
  return {
    deviceId,
    pointKey,
    target,
    action,
    intent: null,
    confirmed: undefined,
    readback: undefined,
    lastWriteMonoMs: -Infinity,
    inFlight: false,
    failures: 0,
    retryAtMonoMs: 0,
    held: undefined,
  };
}

function controlKey(deviceId: string, pointKey: string): string {
  return `${deviceId}\u0000${pointKey}`;
}

/** Booleans and 0/1 compare equal: a bool held in a whole register may decode either way. */
function sameValue(a: PointValue, b: PointValue): boolean {
  if (typeof a === typeof b) return a === b;
  return Number(a) === Number(b);
}
