/**
 * The lighting controller: every tick it computes what each loop and lamp should be doing
 * (schedule.ts, with the overrides of overrides.ts over it), has the points written where the
 * device does not hold that yet (point-writer.ts), checks what the cabinet reports against what
 * it was told (verification.ts) and computes the lit and online rates (rates.ts).
 *
 * It needs nothing beyond the bus: schedules, calendars and overrides all live on the cabinet,
 * so the street keeps switching when the backhaul is down. What it did comes back from tick() as
 * LightingActionEvents for the outbox, which the uplink ships whenever it can.
 *
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
import type { Instant } from '../alarms/types.js';
import type { DevicePollResult, PointValue } from '../bus/types.js';
import type { LoadedProfile } from '../profiles/types.js';
import type { DeviceSnapshot, PointSnapshot } from './conditions.js';
import { localCalendar } from './local-time.js';
import { LightingOverrides } from './overrides.js';
import { LightingWriter, sameValue, type PointSpec, type PointWriter } from './point-writer.js';
import { computeRates } from './rates.js';
import { desiredState } from './schedule.js';
import { lightingSnapshot, type LightingSnapshot } from './snapshot.js';
import { buildPlan, type LightingPlan } from './targets.js';
import {
  LightingError,
  type DerivedCondition,
  type DesiredState,
  type LightingConfig,
  type LightingOutput,
  type Override,
  type OverrideCommand,
  type RatesReport,
} from './types.js';
import { verify } from './verification.js';

export type { PointWriter } from './point-writer.js';

export interface LightingDeviceInput {
  id: string;
  profile: LoadedProfile;
}

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

/** How long command() waits for the device's answer to its write. */
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** A lighting configuration checked against the profiles, ready for reconfigure() (cannot fail then). */
export interface PreparedLighting {
  config: LightingConfig;
  plan: LightingPlan;
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
  private readonly points: LightingWriter;
  private readonly overridesTable: LightingOverrides;
  private devices = new Map<string, DeviceState>();
  private readonly desiredOnSince = new Map<string, number>();
  private readonly lastCommOk = new Map<string, number>();
  private previousConditions = new Map<string, DerivedCondition>();
  /** The rates of the last tick (snapshot()); null before the first. */
  private lastRates: RatesReport | null = null;
  private readonly monoNow: () => number;
  private running = false;
  private startedMonoMs = 0;

  constructor(private readonly options: LightingControllerOptions) {
    this.profiles = new Map(options.devices.map((d) => [d.id, d.profile]));
    this.config = options.config;
    this.plan = buildPlan(options.config, this.profiles);
    this.monoNow = options.monoNow ?? (() => performance.now());
    this.points = new LightingWriter({
      writer: options.writer,
      logger: options.logger,
      monoNow: this.monoNow,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
    this.overridesTable = new LightingOverrides({
      logger: options.logger,
      monoNow: this.monoNow,
      ...(options.maxOverrideMs === undefined ? {} : { maxOverrideMs: options.maxOverrideMs }),
    });
    this.index(this.plan);
  }

  /**
   * (Re)builds the device and point tables of `plan`, keeping the state of what already existed;
   * returns the undo of the point table.
   */
  private index(plan: LightingPlan): () => void {
    const devices = new Map<string, DeviceState>();
    const points: PointSpec[] = [];
    for (const device of plan.devices) {
      const deviceId = device.deviceId;
      const commPoints = new Map<string, string>();
      for (const lamp of device.lamps) if (lamp.commPoint !== null) commPoints.set(lamp.commPoint, lamp.id);
      const known = this.devices.get(deviceId);
      devices.set(
        deviceId,
        known === undefined
          ? { values: new Map(), lastHeardMonoMs: null, lastPollFailed: false, commPoints }
          : { ...known, commPoints },
      );
      for (const loop of device.loops)
        points.push({ deviceId, pointKey: loop.commandPoint, target: loop.name, action: 'switch' });
      for (const lamp of device.lamps) {
        points.push({ deviceId, pointKey: lamp.switchPoint, target: lamp.name, action: 'switch' });
        if (lamp.dimPoint !== null)
          points.push({ deviceId, pointKey: lamp.dimPoint, target: lamp.name, action: 'dim' });
      }
    }
    this.devices = devices;
    return this.points.reindex(points);
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
    const before = { config: this.config, plan: this.plan, devices: this.devices };
    this.config = prepared.config;
    this.plan = prepared.plan;
    const undoPoints = this.index(prepared.plan);
    const undoOverrides = this.overridesTable.retain(new Set(this.targets()));
    this.options.logger.info({ targets: this.plan.targets.size }, 'lighting configuration changed');
    return () => {
      this.config = before.config;
      this.plan = before.plan;
      this.devices = before.devices;
      undoPoints();
      undoOverrides();
    };
  }

  /**
   * A cloud command (docs/uplink-contract.md, delivery rule 7), or a technician's switch in the
   * cabinet web UI (`origin: 'local'`): sets the override (origin 'command' unless the command
   * says otherwise), writes its target's point at once (even when the device is believed to hold the
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
    const deviceId = target.deviceId;
    const awaited: Array<{ pointKey: string; value: PointValue }> = [];
    const point = (pointKey: string | null): string | undefined =>
      pointKey !== null && this.points.has(deviceId, pointKey) ? pointKey : undefined;
    if (cmd.action === 'dim') {
      const dim = target.kind === 'lamp' ? point(target.dimPoint) : undefined;
      if (dim === undefined)
        throw new LightingError('LIGHTING_BAD_OVERRIDE', `${cmd.target} has no dim level to set`);
      awaited.push({ pointKey: dim, value: Math.round(cmd.value ?? this.config.level) });
    } else {
      const switched = point(target.kind === 'loop' ? target.commandPoint : target.switchPoint);
      if (switched === undefined)
        throw new LightingError('LIGHTING_UNKNOWN_TARGET', `${cmd.target} cannot be switched`);
      awaited.push({ pointKey: switched, value: cmd.action === 'on' });
    }
    this.override({ ...cmd, origin: cmd.origin ?? 'command' });
    // Forget what we believe the device holds: the command's write must be made and answered.
    const answers = awaited.map(({ pointKey, value }) => this.points.expectAnswer(deviceId, pointKey, value));
    const nowMono = this.monoNow();
    this.drive(this.desiredAt({ monoMs: nowMono, wallMs: Date.now() }), nowMono);
    for (const { pointKey, value } of awaited) {
      const intent = this.points.intent(deviceId, pointKey);
      if (intent !== null && sameValue(intent.value, value)) continue;
      const why =
        intent === null && target.kind === 'lamp' && target.loop !== null
          ? `${cmd.target} was not written: its loop ${target.loop} is switched off, so its controller has no power`
          : `${cmd.target} was not written: the schedule wants another value`;
      this.points.refuse(deviceId, pointKey, value, new LightingError('LIGHTING_NOT_WRITTEN', why));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LightingError(
              'LIGHTING_NOT_WRITTEN',
              `no answer from ${deviceId} to the write of ${cmd.target} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(answers.map((a) => a.answered)), timeout]);
    } finally {
      clearTimeout(timer);
      for (const answer of answers) answer.release();
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
    this.points.forgetConfirmed();
    this.options.logger.info(
      { devices: this.plan.devices.map((d) => d.deviceId), targets: this.plan.targets.size },
      'lighting controller started',
    );
  }

  /** Stops issuing writes and waits for the ones on the bus. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.points.settled();
  }

  /** Resolves when no write is in flight (tests; a graceful stop). */
  async idle(): Promise<void> {
    await this.points.idle();
  }

  /** Feed every poll result of every bus; results of other devices are ignored. */
  onPoll(result: DevicePollResult): void {
    const device = this.devices.get(result.deviceId);
    if (!device) return;
    const answered = result.quality !== 'failed';
    if (answered) {
      device.lastHeardMonoMs = result.monotonicMs;
      // The device is back: retry its failed writes now instead of waiting out the backoff.
      if (device.lastPollFailed) this.points.retryNow(result.deviceId);
    }
    device.lastPollFailed = !answered;
    for (const reading of result.readings) {
      device.values.set(reading.key, { value: reading.value, monoMs: result.monotonicMs });
      const lamp = device.commPoints.get(reading.key);
      if (lamp !== undefined && (reading.value === true || reading.value === 1))
        this.lastCommOk.set(lamp, result.monotonicMs);
      this.points.readBack(result.deviceId, reading.key, reading.value, result.monotonicMs);
    }
  }

  /**
   * Sets an override of one target (lamp, loop or whole cabinet), replacing any earlier one on the
   * same target (overrides.ts). Throws LightingError for an unknown target or a malformed override.
   */
  override(cmd: OverrideCommand): Override {
    return this.overridesTable.set(cmd, this.targets());
  }

  /** Ends the override of a target; false if there was none. */
  cancelOverride(target: string, by: string): boolean {
    return this.overridesTable.cancel(target, by);
  }

  overrides(): Override[] {
    return this.overridesTable.list();
  }

  /** What the lighting looks like now, for people (snapshot.ts): read-only, changes nothing. */
  snapshot(nowWallMs: number = Date.now()): LightingSnapshot {
    return lightingSnapshot({
      config: this.config,
      plan: this.plan,
      device: (deviceId) => this.devices.get(deviceId),
      conditions: this.previousConditions,
      rates: this.lastRates,
      overrides: this.overridesTable.list(),
      nowMonoMs: this.monoNow(),
      nowWallMs,
    });
  }

  tick(now: Instant): LightingOutput {
    const config = this.config;
    this.overridesTable.expire(now.monoMs);
    const desired = this.desiredAt(now);
    for (const [target, state] of desired) {
      if (!state.on) this.desiredOnSince.delete(target);
      else if (!this.desiredOnSince.has(target)) this.desiredOnSince.set(target, now.monoMs);
    }
    if (this.running) this.drive(desired, now.monoMs);

    const commanded = (deviceId: string, pointKey: string) => this.points.held(deviceId, pointKey);
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
    this.lastRates = rates.report;
    this.previousConditions = new Map(conditions.map((c) => [c.rule.alarmKey, c]));

    return {
      actions: this.points.takeActions(),
      conditions,
      desired: [...desired].map(([target, state]) => ({ target, state })),
      rates: rates.report,
    };
  }

  /** Sets every point's intent from the desired states; the writer writes where needed. */
  private drive(desired: ReadonlyMap<string, DesiredState>, nowMonoMs: number): void {
    const want = this.points.want.bind(this.points);
    for (const device of this.plan.devices) {
      // Loops first: a lamp controller on a loop has power only once its contactor is closed.
      for (const loop of device.loops) {
        const state = desired.get(loop.id);
        if (state) want(device.deviceId, loop.commandPoint, state.on, state.reason, nowMonoMs);
      }
      for (const lamp of device.lamps) {
        const state = desired.get(lamp.id);
        const loopOn = lamp.loop === null ? true : (desired.get(lamp.loop)?.on ?? true);
        if (!state || !loopOn) {
          want(device.deviceId, lamp.switchPoint, null, 'astronomical', nowMonoMs);
          if (lamp.dimPoint !== null) want(device.deviceId, lamp.dimPoint, null, 'astronomical', nowMonoMs);
          continue;
        }
        // Level before switch, so a lamp comes on at its level rather than at its last one.
        if (lamp.dimPoint !== null)
          want(device.deviceId, lamp.dimPoint, state.on ? state.dimLevel : null, state.dimReason, nowMonoMs);
        want(device.deviceId, lamp.switchPoint, state.on, state.reason, nowMonoMs);
      }
    }
  }
}
