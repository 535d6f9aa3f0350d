/**
 * The alarm engine (docs/alarms.md). Pure: no I/O, no timers, no clock of its own. Every call
 * takes `now` and returns an EngineOutput (transitions and chattering events to publish, records to
 * upsert), which the pipeline commits in one SQLite transaction with the readings that caused it.
 *
 * One call is one "pass": (1) conditions are evaluated (readings, communication, timers, derived
 * conditions), (2) grouping decides what the dark devices and buses suppress, (3) each affected
 * alarm takes its events through the state machine once, so an alarm whose condition activates in
 * the same pass as its device goes dark moves straight to 'suppressed': one transition, nothing
 * annunciated and taken back.
 *
 * Modules: conditions.ts (set points, deadband, delays), state-machine.ts (ISA-18.2 transitions),
 * grouping.ts (dependencies), chatter.ts (chattering), rules.ts (rule resolution).
 */
import type { PointValue } from '../bus/types.js';
import { ChatterDetector } from './chatter.js';
import {
  binaryLevel,
  booleanOn,
  derivedLevel,
  isBadValue,
  newTracker,
  observe,
  priorityFor,
  rateLevel,
  setpointFor,
  setpointLevel,
  settle,
} from './conditions.js';
import type { LevelTracker } from './conditions.js';
import { resolveGrouping } from './grouping.js';
import type { GroupingDevice } from './grouping.js';
import { DEFAULT_COMM_LOSS_S, alarmKeyOf, derivedRule } from './rules.js';
import { applyOperation, applyProcessEvent } from './state-machine.js';
import type { AlarmStatus, OperationEvent } from './state-machine.js';
import { AlarmError } from './types.js';
import type {
  AlarmRecord,
  AlarmRule,
  AlarmTopology,
  EngineOutput,
  Instant,
  OperatorAction,
} from './types.js';

export interface AlarmEngineOptions {
  /** Activations that make a chattering episode (default 3, docs/domain.md). */
  chatterCount?: number;
  /** Window for chattering, ms (default 60 000, docs/domain.md). */
  chatterWindowMs?: number;
  /** Longest timed shelve, ms (default 8 h: one shift; ISA-18.2 asks for a time limit on shelving). */
  maxShelveMs?: number;
}

export const DEFAULT_ENGINE_OPTIONS: Readonly<Required<AlarmEngineOptions>> = {
  chatterCount: 3,
  chatterWindowMs: 60_000,
  maxShelveMs: 8 * 3_600_000,
};

/** A reading as the engine takes it: a PointReading, or null for a bad-quality value. */
export interface AlarmReading {
  key: string;
  value: PointValue | null;
}

export interface ShelveOptions {
  mode: 'one-shot' | 'timed';
  /** Required for 'timed': 1 .. maxShelveMs. */
  durationMs?: number;
}

/** Rule key and derived kind of the grouped alarm a dark bus raises. */
export const BUS_DARK_RULE_KEY = 'bus_dark';

export function busDeviceId(busId: string): string {
  return `bus:${busId}`;
}

type Cause = EngineOutput['transitions'][number]['cause'];

/** One alarm in evaluation. */
interface Slot {
  rule: AlarmRule;
  record: AlarmRecord;
  tracker: LevelTracker;
  /** Stale and comm_loss rules: when the engine first looked (the clock starts there). */
  baselineMs: number | null;
}

interface DeviceEntry {
  deviceId: string;
  busId: string | null;
  parentId: string | null;
  alarmKeys: string[];
  /** Point key -> alarm keys of the rules watching it (high, low, boolean, rate). */
  pointRules: Map<string, string[]>;
  staleKeys: string[];
  commKey: string | null;
  lastOkMs: number | null;
  /** The last communication attempt failed. */
  failing: boolean;
  /** Suppressors last applied to this device's alarms; undefined = apply on the next pass. */
  appliedDevice: string | null | undefined;
  appliedComm: string | null | undefined;
}

interface PointTrack {
  lastValue: PointValue | undefined;
  /** When the point last got any good reading (monotonic ms). */
  lastReadMs: number | null;
  /** When the point last got a NEW value (a different number, or any boolean read). */
  lastNewMs: number | null;
  previous: { value: number; ms: number } | null;
  /** Units per second between the last two good numeric readings. */
  rate: number | null;
}

interface BusEntry {
  busId: string;
  alarmKey: string;
  deviceIds: string[];
  recoveredAtMs: number | null;
}

interface ConditionChange {
  level: number;
  value: number | boolean | null;
  cause: Cause;
}

interface Pass {
  now: Instant;
  conditions: Map<string, ConditionChange>;
  shelveExpired: Set<string>;
  /** Records changed outside the state machine (a clamped shelve end). */
  touched: Set<string>;
}

class OutputBuilder {
  readonly transitions: EngineOutput['transitions'] = [];
  readonly chattering: EngineOutput['chattering'] = [];
  private readonly records = new Map<string, AlarmRecord>();

  record(record: AlarmRecord): void {
    this.records.set(record.alarmKey, cloneRecord(record));
  }

  build(): EngineOutput {
    return {
      transitions: this.transitions,
      chattering: this.chattering,
      records: [...this.records.values()],
    };
  }
}

export class AlarmEngine {
  private readonly options: Required<AlarmEngineOptions>;
  private readonly chatter: ChatterDetector;
  /** Every rule the engine knows, enabled or not. */
  private ruleList = new Map<string, AlarmRule>();
  /** Alarms in evaluation (enabled rules). */
  private slots = new Map<string, Slot>();
  /** Persisted records without a rule yet: a derived rule may register later and adopt its record. */
  private dormant = new Map<string, AlarmRecord>();
  private devices = new Map<string, DeviceEntry>();
  private readonly buses: BusEntry[] = [];
  private readonly points = new Map<string, PointTrack>();

  constructor(
    rules: AlarmRule[],
    persisted: AlarmRecord[],
    topology: AlarmTopology,
    options: AlarmEngineOptions = {},
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.chatter = new ChatterDetector({
      count: this.options.chatterCount,
      windowMs: this.options.chatterWindowMs,
    });

    const inTopology = new Set(topology.devices.map((d) => d.deviceId));
    for (const device of topology.devices) this.device(device.deviceId).busId = device.busId;
    for (const device of topology.devices) {
      for (const child of device.children) {
        if (inTopology.has(child)) this.device(child).parentId = device.deviceId;
      }
    }

    for (const record of persisted) this.dormant.set(record.alarmKey, record);
    for (const rule of rules) {
      if (this.ruleList.has(rule.alarmKey)) {
        throw new AlarmError('ALARM_RULE_INVALID', `duplicate alarm rule '${rule.alarmKey}'`);
      }
      this.addRule(rule);
    }
    for (const bus of busesOf(topology)) {
      const rule = busRule(bus.busId);
      this.buses.push({
        busId: bus.busId,
        alarmKey: rule.alarmKey,
        deviceIds: bus.deviceIds,
        recoveredAtMs: null,
      });
      this.addRule(rule);
    }
    // A device whose comm_loss was active when the gateway stopped counts as failing until it
    // answers, so a dark bus stays one alarm across a restart.
    for (const device of this.devices.values()) {
      const comm = device.commKey === null ? undefined : this.slots.get(device.commKey);
      if (comm?.record.active === true) device.failing = true;
    }
  }

  // --- evaluation -------------------------------------------------------------------------------

  /**
   * Evaluates one poll's readings of one device. Good readings also count as contact with the
   * device (a partial poll still answered). NaN/null values are bad quality: ignored.
   */
  evaluateReadings(deviceId: string, readings: readonly AlarmReading[], now: Instant): EngineOutput {
    return this.run(now, (pass) => {
      const device = this.devices.get(deviceId);
      if (device === undefined) return;
      const ms = now.monoMs;
      let good = 0;
      for (const reading of readings) {
        if (isBadValue(reading.value)) continue;
        good++;
        const value = reading.value;
        const track = this.point(deviceId, reading.key);
        // A numeric value exactly equal to the previous one is not new: a stuck heartbeat counter
        // looks like this. Rules opt in to that reading (staleWhenUnchanged); by default any good
        // reading is fresh. A boolean has only two values, so every read counts as new.
        track.lastReadMs = ms;
        if (typeof value === 'boolean' || track.lastValue !== value) track.lastNewMs = ms;
        track.lastValue = value;
        if (typeof value === 'number') {
          if (track.previous === null) {
            track.previous = { value, ms };
          } else if (ms > track.previous.ms) {
            track.rate = (value - track.previous.value) / ((ms - track.previous.ms) / 1000);
            track.previous = { value, ms };
          }
        }
        for (const key of device.pointRules.get(reading.key) ?? []) {
          const slot = this.slots.get(key);
          if (slot !== undefined) this.evaluatePointRule(pass, slot, value, track);
        }
      }
      if (good > 0) this.contact(pass, device, true);
      for (const key of device.staleKeys) {
        const slot = this.slots.get(key);
        if (slot !== undefined) this.evaluateStale(pass, slot);
      }
    });
  }

  /** One poll's outcome for a device: ok = it answered. Drives comm_loss and bus grouping. */
  evaluateCommunication(deviceId: string, ok: boolean, now: Instant): EngineOutput {
    return this.run(now, (pass) => {
      const device = this.devices.get(deviceId);
      if (device !== undefined) this.contact(pass, device, ok);
    });
  }

  /**
   * Time passes: points go stale, devices go silent, timed shelves end, derived conditions' delays
   * mature. The on/off delays of point rules (high, low, boolean, rate) do NOT mature here: ISA-18.2
   * delays require the condition to be observed to persist, and between two samples we have not
   * observed anything. When a poll is late (a busy RS-485 line), a 1-second tilt bump must not
   * become an alarm because its next sample had not arrived yet; it matures on the next reading.
   */
  tick(now: Instant): EngineOutput {
    return this.run(now, (pass) => {
      for (const slot of this.slots.values()) {
        const device = this.devices.get(slot.rule.deviceId);
        if (slot.rule.kind === 'stale') this.evaluateStale(pass, slot);
        else if (device !== undefined && device.commKey === slot.rule.alarmKey)
          this.evaluateComm(pass, slot, device);
        else if (slot.rule.kind === 'derived') this.settleSlot(pass, slot, null, undefined, 'timer');
        this.checkShelve(pass, slot);
      }
    });
  }

  /**
   * A condition computed outside the engine (lighting, strain ...). Registers the rule on first use
   * (adopting its persisted record after a restart) and takes it through the same lifecycle.
   */
  setDerivedCondition(
    rule: AlarmRule,
    active: boolean,
    level: number,
    value: number | boolean | null,
    now: Instant,
  ): EngineOutput {
    if (rule.kind !== 'derived') {
      throw new AlarmError('ALARM_RULE_INVALID', `rule '${rule.alarmKey}' is ${rule.kind}, not derived`);
    }
    const known = this.ruleList.get(rule.alarmKey);
    if (known !== undefined && known.kind !== 'derived') {
      throw new AlarmError('ALARM_RULE_INVALID', `'${rule.alarmKey}' is a ${known.kind} rule of the profile`);
    }
    return this.run(now, (pass) => {
      let slot = this.slots.get(rule.alarmKey);
      if (slot !== undefined && !rule.enabled) {
        // Disabled now: out of evaluation, its record kept aside like any rule that went away.
        this.removeSlot(slot);
        this.ruleList.set(rule.alarmKey, rule);
        return;
      }
      if (slot === undefined) {
        this.addRule(rule);
        slot = this.slots.get(rule.alarmKey);
        if (slot === undefined) return; // disabled
      } else {
        // The caller may pass a new object each time; the latest definition wins, the timers stay.
        if (slot.rule.suppressedByDesign !== rule.suppressedByDesign)
          this.device(rule.deviceId).appliedDevice = undefined;
        slot.rule = rule;
        this.ruleList.set(rule.alarmKey, rule);
      }
      const raw = derivedLevel(slot.tracker, active, level);
      this.settleSlot(pass, slot, raw, value, 'reading');
    });
  }

  /**
   * A new configuration's rules (docs/config-downlink.md), swapped in synchronously. `rules` are
   * the profile rules (every kind but derived) of every device; derived rules (lighting, strain,
   * bus grouping) are not touched. A rule key that stays keeps its alarm state, timers and
   * tracker: a changed set point takes effect at the next reading. A rule that is gone (or now
   * disabled) has its alarm returned to normal with cause 'config' (one transition when it was
   * not normal), and its record put aside. Validates everything before changing anything; the
   * returned undo restores the engine exactly (a rolled-back configuration change).
   */
  replaceRules(rules: AlarmRule[], now: Instant): { output: EngineOutput; undo: () => void } {
    const incoming = new Map<string, AlarmRule>();
    for (const rule of rules) {
      if (rule.kind === 'derived')
        throw new AlarmError('ALARM_RULE_INVALID', `'${rule.alarmKey}' is derived: not a configuration rule`);
      if (incoming.has(rule.alarmKey))
        throw new AlarmError('ALARM_RULE_INVALID', `duplicate alarm rule '${rule.alarmKey}'`);
      if (rule.alarmKey !== alarmKeyOf(rule.deviceId, rule.ruleKey))
        throw new AlarmError(
          'ALARM_RULE_INVALID',
          `rule key '${rule.alarmKey}' does not match its device and rule`,
        );
      const known = this.ruleList.get(rule.alarmKey);
      if (known?.kind === 'derived')
        throw new AlarmError('ALARM_RULE_INVALID', `'${rule.alarmKey}' is a derived rule of the gateway`);
      incoming.set(rule.alarmKey, rule);
    }
    const before = {
      ruleList: new Map(this.ruleList),
      slots: new Map(this.slots),
      dormant: new Map(this.dormant),
      devices: new Map([...this.devices].map(([id, d]) => [id, cloneDevice(d)])),
    };
    const out = new OutputBuilder();
    for (const [key, rule] of [...this.ruleList]) {
      if (rule.kind === 'derived' || incoming.get(key)?.enabled === true) continue;
      // Gone, or disabled now: back to normal, recorded as a configuration change.
      const live = this.slots.get(key);
      if (live !== undefined) {
        // A copy: store() replaces slot.record, and the undo must find the old slot untouched.
        const slot: Slot = { ...live };
        const normal: AlarmStatus = {
          state: 'normal',
          active: false,
          level: 0,
          shelve: null,
          outOfService: null,
          suppressedBy: null,
        };
        this.store(slot, normal, 'config', null, now, out, null);
        this.slots.delete(key);
        this.dormant.set(key, slot.record);
        this.chatter.forget(key);
      }
      if (!incoming.has(key)) this.ruleList.delete(key);
    }
    for (const [key, rule] of incoming) {
      const slot = this.slots.get(key);
      if (slot === undefined) {
        this.ruleList.set(key, rule);
        const persisted = this.dormant.get(key);
        this.dormant.delete(key);
        if (!rule.enabled) {
          if (persisted !== undefined) this.dormant.set(key, persisted);
          continue;
        }
        const record = persisted === undefined ? initialRecord(rule) : restoredRecord(persisted, rule);
        this.slots.set(key, {
          rule,
          record,
          tracker: newTracker(record.level, record.lastValue),
          baselineMs: null,
        });
      } else {
        // Same key: the state stays; a new Slot object so the undo can restore the old one.
        this.slots.set(key, { ...slot, rule, tracker: structuredClone(slot.tracker) });
        this.ruleList.set(key, rule);
      }
    }
    this.reindex();
    const undo = (): void => {
      this.ruleList = before.ruleList;
      this.slots = before.slots;
      this.dormant = before.dormant;
      this.devices = before.devices;
    };
    return { output: out.build(), undo };
  }

  /** Rebuilds each device's alarm index (points, stale, comm) from the slots, as addRule does. */
  private reindex(): void {
    for (const device of this.devices.values()) {
      device.alarmKeys = [];
      device.pointRules = new Map();
      device.staleKeys = [];
      device.commKey = null;
      device.appliedDevice = undefined;
      device.appliedComm = undefined;
    }
    for (const { rule } of this.slots.values()) this.indexRule(rule);
  }

  // --- operations (ISA-18.2 operator actions) ----------------------------------------------------

  acknowledge(alarmKey: string, action: OperatorAction, now: Instant): EngineOutput {
    return this.operate(alarmKey, { kind: 'acknowledge' }, action, now);
  }

  shelve(alarmKey: string, options: ShelveOptions, action: OperatorAction, now: Instant): EngineOutput {
    const slot = this.slot(alarmKey);
    requireWho(action);
    requireReason(action, 'shelve');
    let untilMonoMs: number | null = null;
    if (options.mode === 'timed') {
      const duration = options.durationMs;
      if (duration === undefined || !Number.isFinite(duration) || duration <= 0) {
        throw new AlarmError(
          'ALARM_ILLEGAL_OPERATION',
          `${alarmKey}: a timed shelve needs durationMs > 0 (alarm state '${slot.record.state}')`,
        );
      }
      if (duration > this.options.maxShelveMs) {
        throw new AlarmError(
          'ALARM_SHELVE_TOO_LONG',
          `${alarmKey}: shelving for ${duration} ms exceeds the maximum of ${this.options.maxShelveMs} ms`,
        );
      }
      untilMonoMs = now.monoMs + duration;
    }
    const shelve = { mode: options.mode, untilMonoMs, by: action.by, reason: action.reason };
    return this.operate(alarmKey, { kind: 'shelve', shelve }, action, now);
  }

  unshelve(alarmKey: string, action: OperatorAction, now: Instant): EngineOutput {
    return this.operate(alarmKey, { kind: 'unshelve' }, action, now);
  }

  reset(alarmKey: string, action: OperatorAction, now: Instant): EngineOutput {
    return this.operate(alarmKey, { kind: 'reset' }, action, now);
  }

  removeFromService(alarmKey: string, action: OperatorAction, now: Instant): EngineOutput {
    this.slot(alarmKey);
    requireWho(action);
    requireReason(action, 'remove from service');
    const outOfService = { by: action.by, reason: action.reason };
    return this.operate(alarmKey, { kind: 'remove_from_service', outOfService }, action, now);
  }

  returnToService(alarmKey: string, action: OperatorAction, now: Instant): EngineOutput {
    return this.operate(alarmKey, { kind: 'return_to_service' }, action, now);
  }

  // --- queries -----------------------------------------------------------------------------------

  /** Every alarm in evaluation, by alarmKey. */
  records(): AlarmRecord[] {
    return [...this.slots.values()]
      .map((s) => cloneRecord(s.record))
      .sort((a, b) => (a.alarmKey < b.alarmKey ? -1 : a.alarmKey > b.alarmKey ? 1 : 0));
  }

  record(alarmKey: string): AlarmRecord | undefined {
    const slot = this.slots.get(alarmKey);
    return slot === undefined ? undefined : cloneRecord(slot.record);
  }

  /** Every rule the engine knows, including disabled ones, the bus rules and registered derived rules. */
  rules(): AlarmRule[] {
    return [...this.ruleList.values()].map((r) => structuredClone(r));
  }

  // --- the pass ----------------------------------------------------------------------------------

  private run(now: Instant, evaluate: (pass: Pass) => void): EngineOutput {
    const pass: Pass = { now, conditions: new Map(), shelveExpired: new Set(), touched: new Set() };
    evaluate(pass);
    const suppressors = this.group(pass);
    return this.commit(pass, suppressors);
  }

  private levelAfter(pass: Pass, alarmKey: string): number {
    return pass.conditions.get(alarmKey)?.level ?? this.slots.get(alarmKey)?.record.level ?? 0;
  }

  /**
   * Feeds a raw level (or none: only time passed) and notes the alarm's new level, if it changed.
   * `value` undefined keeps the tracker's last value.
   */
  private settleSlot(
    pass: Pass,
    slot: Slot,
    raw: number | null,
    value: number | boolean | null | undefined,
    cause: Cause,
  ): void {
    const ms = pass.now.monoMs;
    if (raw !== null) observe(slot.tracker, raw, ms);
    if (value !== undefined) slot.tracker.lastValue = value;
    const current = this.levelAfter(pass, slot.rule.alarmKey);
    const level = settle(slot.tracker, current, slot.rule.onDelayMs, slot.rule.offDelayMs, ms);
    if (level === current) return;
    if (level === slot.record.level) pass.conditions.delete(slot.rule.alarmKey);
    else pass.conditions.set(slot.rule.alarmKey, { level, value: slot.tracker.lastValue, cause });
  }

  private evaluatePointRule(pass: Pass, slot: Slot, value: PointValue, track: PointTrack): void {
    const rule = slot.rule;
    switch (rule.kind) {
      case 'high':
      case 'low':
        if (typeof value !== 'number') return;
        this.settleSlot(pass, slot, setpointLevel(rule, slot.tracker, value), value, 'reading');
        return;
      case 'boolean':
        this.settleSlot(pass, slot, binaryLevel(slot.tracker, booleanOn(rule, value)), value, 'reading');
        return;
      case 'rate':
        if (track.rate === null) return;
        this.settleSlot(pass, slot, rateLevel(rule, slot.tracker, track.rate), track.rate, 'reading');
        return;
      default:
        return;
    }
  }

  /** Stale: no good reading (or, with staleWhenUnchanged, no new value) for staleAfterMs. */
  private evaluateStale(pass: Pass, slot: Slot): void {
    const ms = pass.now.monoMs;
    const pointKey = slot.rule.pointKey;
    const track =
      pointKey === undefined ? undefined : this.points.get(pointTrackKey(slot.rule.deviceId, pointKey));
    const lastFresh = (slot.rule.staleWhenUnchanged ? track?.lastNewMs : track?.lastReadMs) ?? null;
    const silence = this.silence(slot, lastFresh, ms);
    this.settleSlot(pass, slot, binaryLevel(slot.tracker, silence), null, silence ? 'timer' : 'reading');
  }

  private evaluateComm(pass: Pass, slot: Slot, device: DeviceEntry): void {
    const lost = this.silence(slot, device.lastOkMs, pass.now.monoMs);
    this.settleSlot(pass, slot, binaryLevel(slot.tracker, lost), null, lost ? 'timer' : 'reading');
  }

  /**
   * Whether staleAfterMs has passed since `lastMs`. Before the first value the clock starts when the
   * engine first looks; an alarm that was active when the gateway stopped stays active until data
   * arrives (a restart is not evidence that the device came back).
   */
  private silence(slot: Slot, lastMs: number | null, nowMs: number): boolean {
    const limit = slot.rule.staleAfterMs ?? DEFAULT_COMM_LOSS_S * 1000;
    slot.baselineMs ??= nowMs;
    if (lastMs !== null) return nowMs - lastMs >= limit;
    if (slot.record.active) return true;
    return nowMs - slot.baselineMs >= limit;
  }

  private contact(pass: Pass, device: DeviceEntry, ok: boolean): void {
    if (ok) device.lastOkMs = pass.now.monoMs;
    device.failing = !ok;
    const slot = device.commKey === null ? undefined : this.slots.get(device.commKey);
    if (slot !== undefined) this.evaluateComm(pass, slot, device);
  }

  private checkShelve(pass: Pass, slot: Slot): void {
    const shelve = slot.record.shelve;
    if (shelve?.mode !== 'timed' || shelve.untilMonoMs === null) return;
    const ms = pass.now.monoMs;
    // A shelve never outlives its maximum from now: after a restart on a monotonic clock that
    // started again, a persisted end could otherwise lie far in the future.
    if (shelve.untilMonoMs - ms > this.options.maxShelveMs) {
      slot.record = { ...slot.record, shelve: { ...shelve, untilMonoMs: ms + this.options.maxShelveMs } };
      pass.touched.add(slot.rule.alarmKey);
    }
    if (ms >= (slot.record.shelve?.untilMonoMs ?? Number.POSITIVE_INFINITY))
      pass.shelveExpired.add(slot.rule.alarmKey);
  }

  /** Grouping: updates the bus alarms' conditions and returns the suppression changes. */
  private group(pass: Pass): Map<string, string | null> {
    const view = new Map<string, GroupingDevice>();
    for (const device of this.devices.values()) {
      const comm = device.commKey === null ? undefined : this.slots.get(device.commKey);
      view.set(device.deviceId, {
        deviceId: device.deviceId,
        busId: device.busId,
        parentId: device.parentId,
        commKey: comm === undefined ? null : comm.rule.alarmKey,
        commActive: comm !== undefined && this.levelAfter(pass, comm.rule.alarmKey) > 0,
        failing: device.failing,
        staleAfterMs: comm?.rule.staleAfterMs ?? 0,
      });
    }
    const buses = this.buses.map((bus) => ({
      busId: bus.busId,
      alarmKey: bus.alarmKey,
      deviceIds: bus.deviceIds,
      wasDark: this.levelAfter(pass, bus.alarmKey) > 0,
      recoveredAtMs: bus.recoveredAtMs,
    }));
    const result = resolveGrouping(view, buses, pass.now.monoMs);

    for (const bus of this.buses) {
      const outcome = result.buses.get(bus.busId);
      const slot = this.slots.get(bus.alarmKey);
      if (outcome === undefined || slot === undefined) continue;
      bus.recoveredAtMs = outcome.recoveredAtMs;
      this.settleSlot(pass, slot, outcome.dark ? 1 : 0, null, 'dependency');
    }

    const changes = new Map<string, string | null>();
    for (const device of this.devices.values()) {
      const bySelf = result.deviceSuppressor.get(device.deviceId) ?? null;
      const byComm = result.commSuppressor.get(device.deviceId) ?? null;
      if (device.appliedDevice === bySelf && device.appliedComm === byComm) continue;
      for (const key of device.alarmKeys) {
        const slot = this.slots.get(key);
        if (slot === undefined) continue;
        const wanted = slot.rule.suppressedByDesign ? 'design' : key === device.commKey ? byComm : bySelf;
        if (wanted !== slot.record.suppressedBy) changes.set(key, wanted);
      }
      device.appliedDevice = bySelf;
      device.appliedComm = byComm;
    }
    return changes;
  }

  /** Takes every affected alarm through the state machine once and builds the output. */
  private commit(pass: Pass, suppressors: Map<string, string | null>): EngineOutput {
    const out = new OutputBuilder();
    const keys = new Set([
      ...pass.conditions.keys(),
      ...pass.shelveExpired,
      ...suppressors.keys(),
      ...pass.touched,
    ]);
    for (const key of keys) {
      const slot = this.slots.get(key);
      if (slot === undefined) continue;
      const rule = slot.rule;
      const before = slot.record;
      let status = statusOf(before);
      let cause: Cause | null = null;
      const change = pass.conditions.get(key);
      if (change !== undefined) {
        status = applyProcessEvent(
          status,
          { kind: 'condition', active: change.level > 0, level: change.level },
          rule,
        );
        cause = change.cause;
      }
      if (pass.shelveExpired.has(key)) {
        status = applyProcessEvent(status, { kind: 'shelve_expired' }, rule);
        cause ??= 'timer';
      }
      const by = suppressors.get(key);
      if (by !== undefined) {
        status = applyProcessEvent(status, { kind: 'suppression', by }, rule);
        cause ??= by === 'design' || before.suppressedBy === 'design' ? 'config' : 'dependency';
      }
      if (change !== undefined && !before.active && status.active) {
        const activations = this.chatter.activation(key, pass.now.monoMs);
        if (activations !== null) {
          out.chattering.push({
            kind: 'alarm_chattering',
            alarmKey: key,
            deviceId: rule.deviceId,
            activations,
            windowS: this.options.chatterWindowMs / 1000,
          });
        }
      }
      this.store(
        slot,
        status,
        cause ?? 'timer',
        change?.value ?? null,
        pass.now,
        out,
        null,
        pass.touched.has(key),
      );
    }
    return out.build();
  }

  /** Writes the new status into the record; emits a transition for a state or condition change. */
  private store(
    slot: Slot,
    status: AlarmStatus,
    cause: Cause,
    value: number | boolean | null,
    now: Instant,
    out: OutputBuilder,
    action: OperatorAction | null,
    force = false,
  ): void {
    const before = slot.record;
    const stateChanged = status.state !== before.state;
    const conditionChanged = status.active !== before.active || status.level !== before.level;
    const masksChanged =
      status.shelve !== before.shelve ||
      status.outOfService !== before.outOfService ||
      status.suppressedBy !== before.suppressedBy;
    if (!stateChanged && !conditionChanged && !masksChanged && !force) return;
    const moved = stateChanged || conditionChanged;
    const record: AlarmRecord = {
      ...before,
      state: status.state,
      active: status.active,
      level: status.level,
      acknowledged: status.state === 'acknowledged' || status.state === 'latched',
      shelve: status.shelve,
      outOfService: status.outOfService,
      suppressedBy: status.suppressedBy,
      lastValue: conditionChanged ? value : before.lastValue,
      lastChangeMonoMs: moved ? now.monoMs : before.lastChangeMonoMs,
      lastChangeWallMs: moved ? now.wallMs : before.lastChangeWallMs,
    };
    slot.record = record;
    out.record(record);
    if (!moved) return;
    const rule = slot.rule;
    // The set point crossed: on a level change the higher of the two levels (rising into it or
    // falling out of it); otherwise the current level's.
    const crossed = conditionChanged ? Math.max(before.level, record.level) : record.level;
    const priorityLevel = record.level > 0 ? record.level : conditionChanged ? before.level : 0;
    out.transitions.push({
      kind: 'alarm_transition',
      alarmKey: rule.alarmKey,
      deviceId: rule.deviceId,
      ruleKey: rule.ruleKey,
      condition: rule.kind === 'derived' ? (rule.derivedKind ?? 'derived') : rule.kind,
      from: before.state,
      to: record.state,
      level: record.level,
      priority: priorityFor(rule, priorityLevel),
      active: record.active,
      value: conditionChanged ? value : null,
      setpoint: setpointFor(rule, crossed),
      cause,
      by: action === null ? null : action.by,
      reason: action === null || action.reason.trim() === '' ? null : action.reason,
      message: rule.message === null ? null : { ...rule.message },
      ...(rule.family === undefined ? {} : { family: rule.family }),
    });
  }

  private operate(
    alarmKey: string,
    event: OperationEvent,
    action: OperatorAction,
    now: Instant,
  ): EngineOutput {
    const slot = this.slot(alarmKey);
    requireWho(action);
    const result = applyOperation(statusOf(slot.record), event, slot.rule);
    if (!result.ok) throw new AlarmError('ALARM_ILLEGAL_OPERATION', `${alarmKey}: ${result.why}`);
    const out = new OutputBuilder();
    this.store(slot, result.status, 'operation', null, now, out, action);
    return out.build();
  }

  // --- bookkeeping -------------------------------------------------------------------------------

  private slot(alarmKey: string): Slot {
    const slot = this.slots.get(alarmKey);
    if (slot !== undefined) return slot;
    const rule = this.ruleList.get(alarmKey);
    if (rule !== undefined && !rule.enabled) {
      throw new AlarmError('ALARM_UNKNOWN', `alarm '${alarmKey}' is disabled in the configuration`);
    }
    throw new AlarmError('ALARM_UNKNOWN', `no alarm '${alarmKey}'`);
  }

  private device(deviceId: string): DeviceEntry {
    let device = this.devices.get(deviceId);
    if (device === undefined) {
      device = {
        deviceId,
        busId: null,
        parentId: null,
        alarmKeys: [],
        pointRules: new Map(),
        staleKeys: [],
        commKey: null,
        lastOkMs: null,
        failing: false,
        appliedDevice: undefined,
        appliedComm: undefined,
      };
      this.devices.set(deviceId, device);
    }
    return device;
  }

  private point(deviceId: string, pointKey: string): PointTrack {
    const key = pointTrackKey(deviceId, pointKey);
    let track = this.points.get(key);
    if (track === undefined) {
      track = { lastValue: undefined, lastReadMs: null, lastNewMs: null, previous: null, rate: null };
      this.points.set(key, track);
    }
    return track;
  }

  /** Adds a rule; an enabled one enters evaluation with its persisted record, or in normal. */
  private addRule(rule: AlarmRule): void {
    if (rule.alarmKey !== alarmKeyOf(rule.deviceId, rule.ruleKey)) {
      throw new AlarmError(
        'ALARM_RULE_INVALID',
        `rule key '${rule.alarmKey}' must be '${alarmKeyOf(rule.deviceId, rule.ruleKey)}'`,
      );
    }
    this.ruleList.set(rule.alarmKey, rule);
    const persisted = this.dormant.get(rule.alarmKey);
    this.dormant.delete(rule.alarmKey);
    if (!rule.enabled) {
      if (persisted !== undefined) this.dormant.set(rule.alarmKey, persisted);
      return;
    }
    const record = persisted === undefined ? initialRecord(rule) : restoredRecord(persisted, rule);
    this.slots.set(rule.alarmKey, {
      rule,
      record,
      tracker: newTracker(record.level, record.lastValue),
      baselineMs: null,
    });
    this.indexRule(rule);
  }

  /** Enters an enabled rule into its device's index. */
  private indexRule(rule: AlarmRule): void {
    const device = this.device(rule.deviceId);
    device.alarmKeys.push(rule.alarmKey);
    device.appliedDevice = undefined;
    device.appliedComm = undefined;
    if (rule.kind === 'comm_loss' && rule.child === null && device.commKey === null)
      device.commKey = rule.alarmKey;
    if (rule.kind === 'stale') device.staleKeys.push(rule.alarmKey);
    if (
      rule.pointKey !== undefined &&
      (rule.kind === 'high' || rule.kind === 'low' || rule.kind === 'boolean' || rule.kind === 'rate')
    ) {
      const list = device.pointRules.get(rule.pointKey) ?? [];
      list.push(rule.alarmKey);
      device.pointRules.set(rule.pointKey, list);
    }
  }

  /** Removes a derived alarm from evaluation (its rule is replaced or disabled). */
  private removeSlot(slot: Slot): void {
    const key = slot.rule.alarmKey;
    this.slots.delete(key);
    this.dormant.set(key, slot.record);
    this.chatter.forget(key);
    const device = this.devices.get(slot.rule.deviceId);
    if (device !== undefined) device.alarmKeys = device.alarmKeys.filter((k) => k !== key);
  }
}

// --- helpers -------------------------------------------------------------------------------------

function requireWho(action: OperatorAction): void {
  if (typeof action.by !== 'string' || action.by.trim() === '') {
    throw new AlarmError('ALARM_REASON_REQUIRED', 'an alarm operation needs who did it (by)');
  }
}

/** ISA-18.2 asks that shelving and removal from service be authorised and recorded with a reason. */
function requireReason(action: OperatorAction, what: string): void {
  if (typeof action.reason !== 'string' || action.reason.trim() === '') {
    throw new AlarmError('ALARM_REASON_REQUIRED', `a reason is required to ${what} an alarm`);
  }
}

function pointTrackKey(deviceId: string, pointKey: string): string {
  return `${deviceId}\u0000${pointKey}`;
}

function statusOf(record: AlarmRecord): AlarmStatus {
  return {
    state: record.state,
    active: record.active,
    level: record.level,
    shelve: record.shelve,
    outOfService: record.outOfService,
    suppressedBy: record.suppressedBy,
  };
}

function cloneDevice(device: DeviceEntry): DeviceEntry {
  return {
    ...device,
    alarmKeys: [...device.alarmKeys],
    pointRules: new Map([...device.pointRules].map(([k, v]) => [k, [...v]])),
    staleKeys: [...device.staleKeys],
  };
}

function cloneRecord(record: AlarmRecord): AlarmRecord {
  return {
    ...record,
    shelve: record.shelve === null ? null : { ...record.shelve },
    outOfService: record.outOfService === null ? null : { ...record.outOfService },
  };
}

/** A rule that never ran: normal, or suppressed from the start if suppressed by design. */
function initialRecord(rule: AlarmRule): AlarmRecord {
  return {
    alarmKey: rule.alarmKey,
    deviceId: rule.deviceId,
    ruleKey: rule.ruleKey,
    state: rule.suppressedByDesign ? 'suppressed' : 'normal',
    active: false,
    level: 0,
    acknowledged: false,
    shelve: null,
    outOfService: null,
    suppressedBy: rule.suppressedByDesign ? 'design' : null,
    lastValue: null,
    lastChangeMonoMs: 0,
    lastChangeWallMs: 0,
  };
}

/** A persisted record, made consistent with the rule as it is now (levels may have been removed). */
function restoredRecord(persisted: AlarmRecord, rule: AlarmRule): AlarmRecord {
  const maxLevel =
    rule.kind === 'high' || rule.kind === 'low'
      ? Math.max(1, rule.levels.length)
      : rule.kind === 'derived'
        ? 3
        : 1;
  const level = persisted.active ? Math.min(maxLevel, Math.max(1, persisted.level)) : 0;
  return cloneRecord({ ...persisted, deviceId: rule.deviceId, ruleKey: rule.ruleKey, level });
}

/**
 * Buses with two or more devices of their own. A device listed as another's child depends on that
 * device, not directly on the bus: its silence is its parent's, so it does not count.
 */
function busesOf(topology: AlarmTopology): Array<{ busId: string; deviceIds: string[] }> {
  const children = new Set(topology.devices.flatMap((d) => d.children));
  const byBus = new Map<string, string[]>();
  for (const device of topology.devices) {
    if (children.has(device.deviceId)) continue;
    const list = byBus.get(device.busId) ?? [];
    list.push(device.deviceId);
    byBus.set(device.busId, list);
  }
  return [...byBus.entries()]
    .filter(([, deviceIds]) => deviceIds.length >= 2)
    .map(([busId, deviceIds]) => ({ busId, deviceIds }));
}

/** The grouped alarm of a dark bus: engine-owned, derived kind bus_dark. */
export function busRule(busId: string): AlarmRule {
  return derivedRule({
    deviceId: busDeviceId(busId),
    ruleKey: BUS_DARK_RULE_KEY,
    derivedKind: 'bus_dark',
    child: null,
    priority: 'high',
    message: { 'zh-CN': '总线通信中断', en: 'Bus communication lost: no device on the bus answers' },
    source: 'docs/alarms.md: a bus going dark raises one grouped alarm, not one per device',
  });
}
