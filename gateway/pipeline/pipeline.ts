/**
 * The cabinet's decision loop (ARCHITECTURE.md, "The path of one reading"): poll results in, ONE
 * SQLite transaction out.
 *
 * Polls are buffered as the buses deliver them. Every flush (default 250 ms) the pipeline runs, in
 * order: communication and readings through the alarm engine, report-by-exception telemetry,
 * strain analysis and lighting feedback for each buffered poll; then the timers (alarm delays,
 * stale data, shelve expiry, telemetry aggregates, lighting schedule and verification). Everything
 * that produced is committed with the polls' readings in one store transaction (through the
 * gateway's one Committer, store/committer.ts), so an alarm transition, its history row and its
 * outbox event are durable together with the reading that caused it, or not at all
 * (docs/alarms.md).
 *
 * If a commit fails (disk full, I/O error) the computed cycle is held and committed later, in
 * order, each held cycle with its own time: the in-memory state already moved on, so the effects
 * must not be recomputed, the store guarantees a failed commit left nothing behind, and a decision
 * keeps the time it was made (wall and monotonic), never the time it was finally stored. A cycle
 * without events joins the last held one (its readings carry their own times). Readings are
 * dropped first if that backlog grows too large; decisions (events, alarm records) are never
 * dropped while the process runs.
 *
 * Storage short (GatewayStore.checkStorage not `ok`: low or full, docs/storage.md "A full disk"):
 * decisions only. Readings are dropped and telemetry events too, reported by a gap record, so the
 * database stops growing; the storage alarm (derived rule `derived.storage`) says so.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { GatewayEventBody } from '../../cloud-sync/contract/events.js';
import type { AlarmEngine, ShelveOptions } from '../alarms/engine.js';
import type { AlarmRecord, AlarmRule, EngineOutput, Instant, OperatorAction } from '../alarms/types.js';
import { EVENT_CLASS } from '../../cloud-sync/contract/events.js';
import type { HeldMarker } from '../store/held-marker.js';
import type { StorageState } from '../store/storage-guard.js';
import type { DevicePollResult } from '../bus/types.js';
import type { EventBus } from '../events/event-bus.js';
import type { DerivedCondition } from '../lighting/types.js';
import { isStoreError } from '../store/errors.js';
import type { Committer, StoreReader } from '../store/committer.js';
import type { CommitResult, DroppedTelemetry } from '../store/event-store.js';
import type { RawWindowRequest } from '../store/raw-windows.js';
import type { StrainOutput } from '../strain/types.js';
import type { TelemetryReporter } from '../telemetry/reporter.js';
import type { LightingActionEvent } from '../../cloud-sync/contract/events.js';

/** What the pipeline needs of a strain analyzer (StrainAnalyzer implements it). */
export interface StrainStage {
  onPoll(result: DevicePollResult, now: Instant): StrainOutput;
}

/** What the pipeline needs of the lighting controller (LightingController implements it). */
export interface LightingStage {
  onPoll(result: DevicePollResult): void;
  tick(now: Instant): { actions: LightingActionEvent[]; conditions: DerivedCondition[] };
}

export interface PipelineOptions {
  /** Read side of the store (clocks, storage state); writes go through `committer` only. */
  store: StoreReader;
  /** The gateway's one commit path: commits a cycle, then announces `store:committed`. */
  committer: Committer;
  engine: AlarmEngine;
  telemetry: TelemetryReporter;
  /** Strain analyzers by device id. */
  strain: ReadonlyMap<string, StrainStage>;
  lighting: LightingStage | null;
  events: EventBus;
  logger: Logger;
  flushIntervalMs?: number;
  /** Most polls held while commits fail; older readings are dropped beyond this (decisions never are). */
  maxPendingPolls?: number;
  /** The storage alarm (derived, levels 1 low and 2 full); none: storage trouble is logged only. */
  storageRule?: AlarmRule;
  /** Notes held decisions outside SQLite, for the next start after a crash (held-marker.ts). */
  heldMarker?: Pick<HeldMarker, 'note' | 'clear'>;
}

/** What a stop could not store: every decision it had to leave behind, by kind, with alarm keys. */
export interface StopOutcome {
  /** True when everything decided was stored. */
  stored: boolean;
  lostEvents: number;
  lostByKind: Record<string, number>;
  /** Alarm keys whose transitions or records were lost (at most 50). */
  lostAlarms: string[];
  /** Why the last commit failed, when one did. */
  error: string | null;
}

/** A computed cycle waiting for its commit, with the time its decisions were made. */
interface PendingCycle {
  at: Instant;
  polls: DevicePollResult[];
  events: GatewayEventBody[];
  records: Map<string, AlarmRecord>;
  windows: RawWindowRequest[];
}

const emptyCycle = (at: Instant): PendingCycle => ({
  at,
  polls: [],
  events: [],
  records: new Map(),
  windows: [],
});

const isEmpty = (cycle: PendingCycle): boolean =>
  cycle.polls.length === 0 &&
  cycle.events.length === 0 &&
  cycle.records.size === 0 &&
  cycle.windows.length === 0;

/** Storage state -> storage alarm level (storage-guard.ts). */
const STORAGE_LEVEL = { ok: 0, low: 1, full: 2 } as const;

export type AlarmOperationName =
  'acknowledge' | 'shelve' | 'unshelve' | 'reset' | 'remove_from_service' | 'return_to_service';

/** Where an operator action came from, recorded in its audit event's detail. */
export interface OperationContext {
  /** The client's network address, when the action came through the cabinet web UI. */
  address?: string;
}

export class Pipeline {
  private buffer: DevicePollResult[] = [];
  /** Cycles computed but not yet committed, oldest first. */
  private held: PendingCycle[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly maxPendingPolls: number;
  private droppedPolls = 0;
  private droppedCycles = 0;
  private droppedReadingPolls = 0;
  private droppedTelemetryEvents = 0;
  /** Telemetry dropped while storage was short, not yet reported by a gap event. */
  private unreportedTelemetry: DroppedTelemetry | null = null;
  private lastStorage: StorageState | null = null;
  private stageFailures = 0;
  private readonly lastStageLogMs = new Map<string, number>();
  private failingSinceMs: number | null = null;
  private lastFailureLogMs = 0;

  constructor(private readonly options: PipelineOptions) {
    this.maxPendingPolls = options.maxPendingPolls ?? 20_000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch (error) {
        // flush() guards its stages and its commit; this is the last line before a crash.
        this.options.logger.error({ err: error }, 'cycle failed');
      }
    }, this.options.flushIntervalMs ?? 250);
  }

  /**
   * Stops the timer and commits what is buffered and held. While a commit fails it tries again
   * (the store releases its reserve on a full disk) until `timeoutMs` has passed; whatever decided
   * could still not be stored is described in the outcome, never dropped in silence.
   */
  async stop(timeoutMs = 5_000): Promise<StopOutcome> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
    const deadline = performance.now() + timeoutMs;
    let lastError: string | null = null;
    while (this.held.length > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      lastError = this.commitHeld() ?? lastError;
    }
    const outcome = this.outcomeOfStop(lastError);
    // A clean stop that lost decisions says so in its log and exit code; the marker is for a
    // crash, which could say nothing.
    if (outcome.stored) this.noteHeld();
    else this.options.heldMarker?.clear();
    return outcome;
  }

  /** Called by every bus for every poll (cheap: buffers only). */
  onPoll(result: DevicePollResult): void {
    this.buffer.push(result);
  }

  /** Processes the buffered polls and the timers, then commits; returns the commit or null. */
  flush(): CommitResult | null {
    const { store, engine, telemetry, strain, lighting } = this.options;
    const polls = this.buffer;
    this.buffer = [];
    const now = store.now();
    const cycle = emptyCycle(now);

    // Each stage is guarded: a stage that throws on one poll is logged and skipped for it; the
    // others, and above all alarm evaluation and storing the readings, go on (ARCHITECTURE.md,
    // "Invariants").
    for (const poll of polls) {
      const at: Instant = { monoMs: store.uptime(poll.monotonicMs), wallMs: poll.wallTimeMs };
      this.guard('alarms', poll.deviceId, () => {
        this.collect(cycle, engine.evaluateCommunication(poll.deviceId, poll.quality !== 'failed', at));
        if (poll.readings.length > 0)
          this.collect(cycle, engine.evaluateReadings(poll.deviceId, poll.readings, at));
      });
      this.guard('telemetry', poll.deviceId, () => cycle.events.push(...telemetry.onPoll(poll, at)));
      const analyzer = strain.get(poll.deviceId);
      if (analyzer)
        this.guard('strain', poll.deviceId, () => {
          const out = analyzer.onPoll(poll, at);
          cycle.events.push(...out.events);
          for (const w of out.windows) {
            cycle.windows.push({
              id: w.windowId,
              deviceId: w.deviceId,
              reason: w.reason,
              fromMonoMs: store.uptime(w.fromMonoMs),
              toMonoMs: store.uptime(w.toMonoMs),
            });
          }
        });
      if (lighting) this.guard('lighting', poll.deviceId, () => lighting.onPoll(poll));
      cycle.polls.push(poll);
    }

    this.guard('alarms', null, () => this.collect(cycle, engine.tick(now)));
    this.guard('telemetry', null, () => cycle.events.push(...telemetry.tick(now)));
    if (lighting) {
      this.guard('lighting', null, () => {
        // The controller compares tick times with poll and write times, which are on the process
        // clock (DevicePollResult.monotonicMs, performance.now()), not on the store's uptime clock:
        // after a restart the two are apart by the previous runs' uptime (gateway/lighting/controller.ts).
        const out = lighting.tick({ monoMs: performance.now(), wallMs: now.wallMs });
        cycle.events.push(...out.actions);
        for (const c of out.conditions)
          this.collect(cycle, engine.setDerivedCondition(c.rule, c.active, c.level, c.value, now));
      });
    }
    this.guard('storage', null, () => this.checkStorage(cycle, now));
    this.hold(cycle);
    this.commitHeld();
    this.noteHeld();
    return this.lastCommit;
  }

  /** Keeps the held-decisions marker in step: what waits, since when (guarded: never throws). */
  private noteHeld(): void {
    const marker = this.options.heldMarker;
    if (marker === undefined) return;
    this.guard('held-marker', null, () => {
      const events = this.held.reduce((sum, c) => sum + c.events.length, 0);
      const first = this.held[0];
      const last = this.held.at(-1);
      if (events === 0 || first === undefined || last === undefined) marker.clear();
      else marker.note({ sinceWallMs: first.at.wallMs, untilWallMs: last.at.wallMs, events });
    });
  }

  /** The storage state, once per cycle: the storage alarm follows it (docs/storage.md). */
  private checkStorage(cycle: PendingCycle, now: Instant): void {
    const { store, engine, storageRule } = this.options;
    const storage = store.checkStorage();
    const previous = this.lastStorage;
    this.lastStorage = storage;
    if (previous?.state !== storage.state) {
      this.options.events.emit('storage:changed', storage);
      const fields = {
        storage: storage.state,
        freeBytes: storage.freeBytes,
        reserveHeld: storage.reserveHeld,
      };
      if (storage.state === 'ok') {
        // The first check at start is no news; a return from low or full is.
        if (previous !== null)
          this.options.logger.info(fields, 'storage is fine again: readings and telemetry are stored');
      } else
        this.options.logger.error(
          { ...fields, reason: storage.reason },
          'storage short: only decisions are stored',
        );
    }
    if (storageRule === undefined) return;
    const level = STORAGE_LEVEL[storage.state];
    const freeMiB = storage.freeBytes === null ? null : Math.round((storage.freeBytes / 1048576) * 10) / 10;
    this.collect(cycle, engine.setDerivedCondition(storageRule, level > 0, level, freeMiB, now));
  }

  /**
   * Queues a computed cycle. One without events joins the last held cycle: its readings and
   * records carry their own times, and the queue stays as long as there are decisions.
   */
  private hold(cycle: PendingCycle): void {
    if (isEmpty(cycle)) return;
    const last = this.held.at(-1);
    if (last !== undefined && cycle.events.length === 0) {
      last.polls.push(...cycle.polls);
      for (const [key, record] of cycle.records) last.records.set(key, record);
      last.windows.push(...cycle.windows);
    } else {
      this.held.push(cycle);
    }
    this.boundHeldPolls();
  }

  /** Beyond maxPendingPolls held, the oldest readings go (decisions never do). */
  private boundHeldPolls(): void {
    let total = this.held.reduce((sum, c) => sum + c.polls.length, 0);
    for (const cycle of this.held) {
      if (total <= this.maxPendingPolls) break;
      const excess = Math.min(cycle.polls.length, total - this.maxPendingPolls);
      cycle.polls.splice(0, excess);
      this.droppedPolls += excess;
      total -= excess;
    }
  }

  /**
   * Decisions only (storage short): readings and windows go, telemetry events go and are counted
   * for one gap record; alarm transitions, records, audit and results stay.
   */
  private stripToDecisions(cycle: PendingCycle, reason: string): void {
    if (cycle.polls.length > 0) {
      this.droppedReadingPolls += cycle.polls.length;
      cycle.polls = [];
    }
    cycle.windows = [];
    const telemetry = cycle.events.filter((event) => EVENT_CLASS[event.kind] === 'telemetry').length;
    if (telemetry === 0) return;
    cycle.events = cycle.events.filter((event) => EVENT_CLASS[event.kind] !== 'telemetry');
    this.droppedTelemetryEvents += telemetry;
    // Counted across cycles and reported by ONE gap event once storage is fine again: a gap per
    // cycle would itself be the growth a full disk cannot take.
    const previous = this.unreportedTelemetry;
    const count = (previous?.count ?? 0) + telemetry;
    this.unreportedTelemetry = {
      count,
      fromWallMs: previous?.fromWallMs ?? cycle.at.wallMs,
      toWallMs: cycle.at.wallMs,
      reason: `${count} telemetry events not stored while storage was short: ${reason}`,
    };
  }

  /** Runs one stage; a throw is logged (at most every 30 s per stage) and the cycle goes on. */
  private guard(stage: string, deviceId: string | null, run: () => unknown): void {
    try {
      run();
    } catch (error) {
      this.stageFailures++;
      const nowMs = Date.now();
      if (nowMs - (this.lastStageLogMs.get(stage) ?? 0) >= 30_000) {
        this.lastStageLogMs.set(stage, nowMs);
        this.options.logger.error(
          { err: error, stage, deviceId, stageFailures: this.stageFailures },
          `${stage} failed on a cycle; the other stages go on`,
        );
      }
    }
  }

  /**
   * Runs an operator operation on an alarm and commits its transitions with an audit record,
   * immediately. `context` (the web client's address) goes into the audit record's detail. Throws
   * AlarmError for an illegal operation (nothing is recorded then).
   */
  operate(
    operation: AlarmOperationName,
    alarmKey: string,
    action: OperatorAction,
    shelve?: ShelveOptions,
    context: OperationContext = {},
  ): EngineOutput {
    const { engine, store } = this.options;
    const now = store.now();
    const output = this.runOperation(operation, alarmKey, action, shelve, now);
    const cycle = emptyCycle(now);
    this.collect(cycle, output);
    cycle.events.push({
      kind: 'audit',
      actor: action.by,
      action: `alarm.${operation}`,
      target: alarmKey,
      detail: {
        reason: action.reason,
        ...(shelve ? { shelve } : {}),
        state: engine.record(alarmKey)?.state ?? null,
        ...(context.address === undefined ? {} : { address: context.address }),
      },
    });
    this.hold(cycle);
    this.commitHeld();
    return output;
  }

  stats(): {
    bufferedPolls: number;
    pendingEvents: number;
    heldCycles: number;
    droppedPolls: number;
    droppedCycles: number;
    droppedReadingPolls: number;
    droppedTelemetryEvents: number;
    storage: StorageState | null;
  } {
    return {
      bufferedPolls: this.buffer.length,
      pendingEvents: this.held.reduce((sum, c) => sum + c.events.length, 0),
      heldCycles: this.held.length,
      droppedPolls: this.droppedPolls,
      droppedCycles: this.droppedCycles,
      droppedReadingPolls: this.droppedReadingPolls,
      droppedTelemetryEvents: this.droppedTelemetryEvents,
      storage: this.lastStorage,
    };
  }

  private runOperation(
    operation: AlarmOperationName,
    alarmKey: string,
    action: OperatorAction,
    shelve: ShelveOptions | undefined,
    now: Instant,
  ): EngineOutput {
    const { engine } = this.options;
    switch (operation) {
      case 'acknowledge':
        return engine.acknowledge(alarmKey, action, now);
      case 'shelve':
        return engine.shelve(alarmKey, shelve ?? { mode: 'one-shot' }, action, now);
      case 'unshelve':
        return engine.unshelve(alarmKey, action, now);
      case 'reset':
        return engine.reset(alarmKey, action, now);
      case 'remove_from_service':
        return engine.removeFromService(alarmKey, action, now);
      case 'return_to_service':
        return engine.returnToService(alarmKey, action, now);
    }
  }

  private collect(cycle: PendingCycle, output: EngineOutput): void {
    cycle.events.push(...output.transitions, ...output.chattering);
    for (const record of output.records) cycle.records.set(record.alarmKey, record);
  }

  private lastCommit: CommitResult | null = null;

  /**
   * Commits the held cycles in order, each with its own time, until one fails; returns the
   * failure's message, or null when every held cycle is stored.
   */
  private commitHeld(): string | null {
    this.lastCommit = null;
    let retried: PendingCycle | null = null;
    while (this.held.length > 0) {
      const cycle = this.held[0] as PendingCycle;
      const storage = this.options.store.storageState();
      if (storage.state !== 'ok') this.stripToDecisions(cycle, storage.reason ?? 'storage is short');
      if (isEmpty(cycle)) {
        this.held.shift();
        continue;
      }
      // Storage fine again: the first cycle stored reports what was dropped meanwhile.
      const report = storage.state === 'ok' ? this.unreportedTelemetry : null;
      try {
        this.options.committer.commit(
          {
            polls: cycle.polls,
            events: cycle.events,
            alarmRecords: [...cycle.records.values()],
            windows: cycle.windows,
            at: cycle.at,
            ...(report === null ? {} : { droppedTelemetry: report }),
          },
          (result) => {
            // The books first, then the announcement: a listener may act at once (an operator
            // action calls operate(), which commits what is held) and must not find this cycle
            // still held.
            this.held.shift();
            if (report !== null) this.unreportedTelemetry = null;
            this.lastCommit = result;
            this.announce(cycle);
          },
        );
      } catch (error) {
        if (isStoreError(error) && error.code === 'STORE_INVALID_INPUT') {
          // A value the schema refuses is a bug, and retrying it would block every later commit:
          // drop this cycle, loudly, with what it held, and keep the cabinet running.
          this.held.shift();
          this.droppedCycles++;
          this.options.logger.fatal(
            { err: error, events: cycle.events.length, polls: cycle.polls.length },
            'the store refused a cycle as invalid; it was dropped (a bug: report it)',
          );
          continue;
        }
        if (isStoreError(error) && error.code === 'STORE_DISK_FULL' && retried !== cycle) {
          // The store is `full` now: the next pass strips this cycle to its decisions and tries
          // once more before giving up until the next flush.
          retried = cycle;
          continue;
        }
        this.logFailure(error);
        return error instanceof Error ? error.message : String(error);
      }
    }
    this.reportDroppedTelemetry();
    if (this.failingSinceMs !== null) {
      this.options.logger.info(
        { failedForMs: Date.now() - this.failingSinceMs },
        'commits succeed again; the held cycles are stored with their own times',
      );
      this.failingSinceMs = null;
      this.lastFailureLogMs = 0;
    }
    return null;
  }

  /** Nothing held, storage fine again, telemetry still unreported: one commit for its gap event. */
  private reportDroppedTelemetry(): void {
    const report = this.unreportedTelemetry;
    if (report === null || this.options.store.storageState().state !== 'ok') return;
    try {
      const at = this.options.store.now();
      // A gap event only: nothing to announce but the commit itself, which the committer does.
      this.options.committer.commit({ droppedTelemetry: report, at }, (result) => {
        this.unreportedTelemetry = null;
        this.lastCommit = result;
      });
    } catch (error) {
      this.logFailure(error);
    }
  }

  /** The first failure and then one line every 30 s, not one per flush. */
  private logFailure(error: unknown): void {
    const nowMs = Date.now();
    this.failingSinceMs ??= nowMs;
    if (nowMs - this.lastFailureLogMs < 30_000) return;
    this.lastFailureLogMs = nowMs;
    this.options.logger.error(
      {
        err: error,
        failingForMs: nowMs - this.failingSinceMs,
        heldCycles: this.held.length,
        heldEvents: this.held.reduce((sum, c) => sum + c.events.length, 0),
        heldPolls: this.held.reduce((sum, c) => sum + c.polls.length, 0),
        droppedPolls: this.droppedPolls,
      },
      'commit failed; the decisions are held and stored with their own times once a commit succeeds',
    );
  }

  private outcomeOfStop(error: string | null): StopOutcome {
    const lostByKind: Record<string, number> = {};
    const lostAlarms = new Set<string>();
    let lostEvents = 0;
    for (const cycle of this.held) {
      for (const event of cycle.events) {
        lostEvents++;
        lostByKind[event.kind] = (lostByKind[event.kind] ?? 0) + 1;
        if (event.kind === 'alarm_transition') lostAlarms.add(event.alarmKey);
      }
      for (const key of cycle.records.keys()) lostAlarms.add(key);
    }
    const stored = this.held.every((cycle) => cycle.events.length === 0 && cycle.records.size === 0);
    return { stored, lostEvents, lostByKind, lostAlarms: [...lostAlarms].slice(0, 50), error };
  }

  /**
   * After a commit: tell the rest of the gateway (the cabinet web UI) what is now durable. The
   * committer announces `store:committed` (the uplink's wake-up) right after this.
   */
  private announce(cycle: PendingCycle): void {
    const { events } = this.options;
    const now = cycle.at;
    for (const event of cycle.events) {
      if (event.kind === 'alarm_transition')
        events.emit('alarm:changed', { ...event, wallTimeMs: now.wallMs, monotonicMs: now.monoMs });
      else if (event.kind === 'alarm_chattering') events.emit('alarm:chattering', event);
      else if (event.kind === 'overweight') events.emit('strain:overweight', event);
      else if (event.kind === 'vehicle') events.emit('strain:vehicle', event);
      else if (event.kind === 'strain_statistics') events.emit('strain:statistics', event);
      else if (event.kind === 'lighting_action') events.emit('lighting:action', event);
    }
    for (const poll of cycle.polls) events.emit('poll:result', poll);
  }
}
