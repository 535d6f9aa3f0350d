/**
 * Writing the lighting points (loop_N_command coils, lamp_NN.lamp_switch and lamp_NN.dim_level
 * registers) and knowing what each one holds. The controller (controller.ts) decides what each
 * point should be; this module makes the device hold it:
 *
 * - A point is written when its desired value differs from what the device is known to hold:
 *   after a restart nothing is known (forgetConfirmed), so the first tick asserts every point (the
 *   schedule may have moved on while the gateway was down).
 * - A poll that started after our last write and shows another value means the device lost it
 *   (power cycle, a hand switch): it is written again with reason 'restore'.
 * - A failed write is retried with exponential backoff (2 s doubling to 60 s), and at once when
 *   the device answers polls again after failing them (retryNow). The first failure of an intent
 *   is reported as a failed action; later attempts are logged, and the eventual success reported.
 * - Someone may wait for the device's answer to one value (expectAnswer, for a cloud command).
 * - Each completed write becomes a LightingActionEvent (takeActions), and a batch of writes one
 *   log line, not one per point.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { LightingActionEvent } from '../../cloud-sync/contract/events.js';
import type { PointValue } from '../bus/types.js';
import type { CommandState, PointSnapshot } from './conditions.js';
import type { LightingReason } from './types.js';

/** BusScheduler.write has this shape (gateway/bus/scheduler.ts). */
export type PointWriter = (deviceId: string, pointKey: string, value: PointValue) => Promise<void>;

/** One writable point of the lighting plan: where it is and what it does, by name in events. */
export interface PointSpec {
  deviceId: string;
  pointKey: string;
  /** Name in events: loop_2 or lamp_03. */
  target: string;
  action: 'switch' | 'dim';
}

export interface LightingWriterOptions {
  writer: PointWriter;
  logger: Logger;
  /** Monotonic clock for write completion times; default performance.now (tests inject one). */
  monoNow?: () => number;
  /** Backoff of failed writes. */
  retry?: { initialMs: number; maxMs: number };
}

/** What the schedule (or an override) wants of a point, and why. */
export interface PointIntent {
  value: PointValue;
  reason: LightingReason;
}

/** A wait for the device's answer to the write of one value (LightingWriter.expectAnswer). */
export interface ExpectedAnswer {
  /** Resolves when the device answered the write of the value; rejects with the write's error. */
  answered: Promise<void>;
  /** Stops waiting (whether answered or not). */
  release(): void;
}

const DEFAULT_RETRY = { initialMs: 2_000, maxMs: 60_000 };

/** Someone waiting for the answer to the write of one value on one point. */
interface WriteWaiter {
  value: PointValue;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Write state of one writable point. */
interface PointControl extends PointSpec {
  /** What the schedule wants now; null = leave the point alone. */
  intent: PointIntent | null;
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

export class LightingWriter {
  private controls = new Map<string, PointControl>();
  private readonly waiters = new Map<string, WriteWaiter[]>();
  private readonly pending = new Set<Promise<void>>();
  private completed: LightingActionEvent[] = [];
  /** Writes since the bus had none of ours in flight: logged as one line when they are all done. */
  private applied: { ok: number; failed: number; reasons: Set<LightingReason> } | undefined;
  private readonly monoNow: () => number;
  private readonly retry: { initialMs: number; maxMs: number };

  constructor(private readonly options: LightingWriterOptions) {
    this.monoNow = options.monoNow ?? (() => performance.now());
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /**
   * The points of a (new) lighting plan, keeping the state of every point that still exists (no
   * needless rewrites after a configuration change). Returns the undo that restores the previous
   * table exactly (a rolled-back change).
   */
  reindex(points: readonly PointSpec[]): () => void {
    const before = this.controls;
    const controls = new Map<string, PointControl>();
    for (const point of points) {
      const key = controlKey(point.deviceId, point.pointKey);
      controls.set(key, before.get(key) ?? newControl(point));
    }
    this.controls = controls;
    return () => {
      this.controls = before;
    };
  }

  has(deviceId: string, pointKey: string): boolean {
    return this.controls.has(controlKey(deviceId, pointKey));
  }

  /** What the point is being driven to; null when it is left alone (or unknown). */
  intent(deviceId: string, pointKey: string): PointIntent | null {
    return this.controls.get(controlKey(deviceId, pointKey))?.intent ?? null;
  }

  /** What the device holds (read back, else our last successful write) and since when. */
  held(deviceId: string, pointKey: string): CommandState | undefined {
    return this.controls.get(controlKey(deviceId, pointKey))?.held;
  }

  /** After a (re)start nothing is known about the devices: every point is asserted once. */
  forgetConfirmed(): void {
    for (const control of this.controls.values()) control.confirmed = undefined;
  }

  /** The device answers polls again after failing them: retry its failed writes now. */
  retryNow(deviceId: string): void {
    for (const control of this.controls.values())
      if (control.deviceId === deviceId && control.failures > 0) control.retryAtMonoMs = 0;
  }

  /** A polled value of a point; a poll that started before our last write may show the old value. */
  readBack(deviceId: string, pointKey: string, value: PointValue, polledMonoMs: number): void {
    const control = this.controls.get(controlKey(deviceId, pointKey));
    if (control && polledMonoMs >= control.lastWriteMonoMs) {
      control.readback = { value, monoMs: polledMonoMs };
      this.hold(control, value, polledMonoMs);
    }
  }

  /** Sets the point's intent (null: leave it alone) and writes when the device does not hold it. */
  want(
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

  /**
   * Waits for the device's answer to a write of `value` on the point, and forgets what the device
   * is believed to hold, so that write is made (and answered) even when it would be a repeat.
   */
  expectAnswer(deviceId: string, pointKey: string, value: PointValue): ExpectedAnswer {
    const key = controlKey(deviceId, pointKey);
    const control = this.controls.get(key);
    if (control !== undefined) {
      control.confirmed = undefined;
      control.readback = undefined;
    }
    let waiter: WriteWaiter | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      waiter = { value, resolve, reject };
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), waiter]);
    });
    return {
      answered,
      release: () => {
        const left = (this.waiters.get(key) ?? []).filter((w) => w !== waiter);
        if (left.length === 0) this.waiters.delete(key);
        else this.waiters.set(key, left);
      },
    };
  }

  /** Rejects whoever waits for `value` on the point: it will not be written (the error says why). */
  refuse(deviceId: string, pointKey: string, value: PointValue, error: Error): void {
    this.settleWaiters(controlKey(deviceId, pointKey), value, error);
  }

  /** The writes completed since the last call, as lighting_action events for the outbox. */
  takeActions(): LightingActionEvent[] {
    const actions = this.completed;
    this.completed = [];
    return actions;
  }

  /** Waits for the writes on the bus now (a stop). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Resolves when no write is in flight (tests; a graceful stop). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private write(control: PointControl, value: PointValue, reason: LightingReason): void {
    control.inFlight = true;
    const { deviceId, pointKey } = control;
    const action = control.action;
    const key = controlKey(deviceId, pointKey);
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
        this.settleWaiters(key, value, null);
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
        this.settleWaiters(key, value, error instanceof Error ? error : new Error(message));
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

  /** Resolves (error null) or rejects the waiters of the point `key` for `value`. */
  private settleWaiters(key: string, value: PointValue, error: Error | null): void {
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

function newControl(point: PointSpec): PointControl {
  return {
    ...point,
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
export function sameValue(a: PointValue, b: PointValue): boolean {
  if (typeof a === typeof b) return a === b;
  return Number(a) === Number(b);
}
