/**
 * The cabinet's decision loop (DESIGN.md section 2): poll results in, ONE SQLite transaction out.
 *
 * Polls are buffered as the buses deliver them. Every flush (default 250 ms) the pipeline runs, in
 * order: communication and readings through the alarm engine, report-by-exception telemetry,
 * strain analysis and lighting feedback for each buffered poll; then the timers (alarm delays,
 * stale data, shelve expiry, telemetry aggregates, lighting schedule and verification). Everything
 * that produced is committed with the polls' readings by one GatewayStore.commitCycle(), so an
 * alarm transition, its history row and its outbox event are durable together with the reading
 * that caused it, or not at all (DESIGN.md section 7).
 *
 * If a commit fails (disk full, I/O error) the computed cycle is kept and merged into the next
 * one: the in-memory state already moved on, so the effects must not be recomputed, and the store
 * guarantees a failed commit left nothing behind. Readings are dropped first if that backlog
 * grows too large; decisions (events, alarm records) are never dropped.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { GatewayEventBody } from '../../cloud-sync/contract/events.js';
import type { AlarmEngine, ShelveOptions } from '../alarms/engine.js';
import type { AlarmRecord, EngineOutput, Instant, OperatorAction } from '../alarms/types.js';
import type { DevicePollResult } from '../bus/types.js';
import type { EventBus } from '../events/event-bus.js';
import type { DerivedCondition } from '../lighting/types.js';
import { isStoreError } from '../store/errors.js';
import type { GatewayStore, CommitResult } from '../store/event-store.js';
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
  store: GatewayStore;
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
}

/** A computed cycle waiting for its commit. */
interface PendingCycle {
  polls: DevicePollResult[];
  events: GatewayEventBody[];
  records: Map<string, AlarmRecord>;
  windows: RawWindowRequest[];
}

const emptyCycle = (): PendingCycle => ({ polls: [], events: [], records: new Map(), windows: [] });

export type AlarmOperationName =
  'acknowledge' | 'shelve' | 'unshelve' | 'reset' | 'remove_from_service' | 'return_to_service';

export class Pipeline {
  private buffer: DevicePollResult[] = [];
  private pending: PendingCycle = emptyCycle();
  private timer: NodeJS.Timeout | undefined;
  private readonly maxPendingPolls: number;
  private droppedPolls = 0;
  private droppedCycles = 0;
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

  /** Stops the timer and commits what is buffered. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** Called by every bus for every poll (cheap: buffers only). */
  onPoll(result: DevicePollResult): void {
    this.buffer.push(result);
  }

  /** Processes the buffered polls and the timers, then commits; returns the commit or null. */
  flush(): CommitResult | null {
    const { store, engine, telemetry, strain, lighting } = this.options;
    const cycle = this.pending;
    const polls = this.buffer;
    this.buffer = [];
    const now = store.now();

    // Each stage is guarded: a stage that throws on one poll is logged and skipped for it; the
    // others, and above all alarm evaluation and storing the readings, go on (DESIGN.md section 3).
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
    return this.commit(cycle, now);
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
   * immediately. Throws AlarmError for an illegal operation (nothing is recorded then).
   */
  operate(
    operation: AlarmOperationName,
    alarmKey: string,
    action: OperatorAction,
    shelve?: ShelveOptions,
  ): EngineOutput {
    const { engine, store } = this.options;
    const now = store.now();
    const output = this.runOperation(operation, alarmKey, action, shelve, now);
    const cycle = this.pending;
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
      },
    });
    this.commit(cycle, now);
    return output;
  }

  stats(): { bufferedPolls: number; pendingEvents: number; droppedPolls: number; droppedCycles: number } {
    return {
      bufferedPolls: this.buffer.length,
      pendingEvents: this.pending.events.length,
      droppedPolls: this.droppedPolls,
      droppedCycles: this.droppedCycles,
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

  private commit(cycle: PendingCycle, now: Instant): CommitResult | null {
    if (
      cycle.polls.length === 0 &&
      cycle.events.length === 0 &&
      cycle.records.size === 0 &&
      cycle.windows.length === 0
    )
      return null;
    try {
      const result = this.options.store.commitCycle({
        polls: cycle.polls,
        events: cycle.events,
        alarmRecords: [...cycle.records.values()],
        windows: cycle.windows,
        at: now,
      });
      this.pending = emptyCycle();
      if (this.failingSinceMs !== null) {
        this.options.logger.info(
          { failedForMs: Date.now() - this.failingSinceMs },
          'commits succeed again; the held cycles are stored',
        );
        this.failingSinceMs = null;
        this.lastFailureLogMs = 0;
      }
      this.announce(cycle, result, now);
      return result;
    } catch (error) {
      const nowMs = Date.now();
      if (isStoreError(error) && error.code === 'STORE_INVALID_INPUT') {
        // A value the schema refuses is a bug, and retrying it would block every later commit:
        // drop this cycle, loudly, with what it held, and keep the cabinet running.
        this.pending = emptyCycle();
        this.droppedCycles++;
        this.options.logger.fatal(
          { err: error, events: cycle.events.length, polls: cycle.polls.length },
          'the store refused a cycle as invalid; it was dropped (a bug: report it)',
        );
        return null;
      }
      // Keep the whole computed cycle for the next attempt; only old readings may go.
      this.pending = cycle;
      if (cycle.polls.length > this.maxPendingPolls) {
        const excess = cycle.polls.length - this.maxPendingPolls;
        cycle.polls.splice(0, excess);
        this.droppedPolls += excess;
      }
      // Log the first failure and then every 30 s, not every flush.
      this.failingSinceMs ??= nowMs;
      if (nowMs - this.lastFailureLogMs >= 30_000) {
        this.lastFailureLogMs = nowMs;
        this.options.logger.error(
          {
            err: error,
            failingForMs: nowMs - this.failingSinceMs,
            pendingEvents: cycle.events.length,
            pendingPolls: cycle.polls.length,
            droppedPolls: this.droppedPolls,
          },
          'commit failed; the cycle is kept and retried with the next one',
        );
      }
      return null;
    }
  }

  /** After a commit: tell the rest of the gateway (web UI, uplink) what is now durable. */
  private announce(cycle: PendingCycle, result: CommitResult, now: Instant): void {
    const { events } = this.options;
    for (const event of cycle.events) {
      if (event.kind === 'alarm_transition')
        events.emit('alarm:changed', { ...event, wallTimeMs: now.wallMs, monotonicMs: now.monoMs });
      else if (event.kind === 'alarm_chattering') events.emit('alarm:chattering', event);
      else if (event.kind === 'overweight') events.emit('strain:overweight', event);
      else if (event.kind === 'vehicle') events.emit('strain:vehicle', event);
      else if (event.kind === 'lighting_action') events.emit('lighting:action', event);
    }
    for (const poll of cycle.polls) events.emit('poll:result', poll);
    if (result.firstSeq !== null && result.lastSeq !== null) {
      events.emit('store:committed', {
        fromSeq: result.firstSeq,
        toSeq: result.lastSeq,
        count: result.count,
      });
    }
  }
}
