/**
 * Lighting overrides: a technician's or a cloud command's "this lamp, loop or cabinet on, off or
 * dimmed until then", which wins over every schedule (schedule.ts) until it expires or is
 * cancelled. One per target; a new one replaces the old.
 *
 * They live in memory on the monotonic clock: cabinets boot without a trusted wall clock
 * (docs/storage.md, "Clocks"), and a restart ends them, so the schedule resumes rather than an
 * old override surviving a power cut nobody remembers. They last at most 7 days by default: an
 * override is for work, not a new schedule.
 */
import type { Logger } from 'pino';
import { LightingError, type Override, type OverrideCommand } from './types.js';

export interface LightingOverridesOptions {
  logger: Logger;
  /** The monotonic clock expiry is measured on (the controller's). */
  monoNow: () => number;
  /** Longest override accepted, ms (default 7 days). */
  maxOverrideMs?: number;
}

const DEFAULT_MAX_OVERRIDE_MS = 7 * 24 * 3_600_000;

export class LightingOverrides {
  private byTarget = new Map<string, Override>();

  constructor(private readonly options: LightingOverridesOptions) {}

  /**
   * Checks `cmd` and sets it, replacing any earlier override of its target. `targets` are the
   * lamps, loops and cabinets there are. Throws LightingError: LIGHTING_UNKNOWN_TARGET,
   * LIGHTING_BAD_OVERRIDE (nothing is set then).
   */
  set(cmd: OverrideCommand, targets: readonly string[]): Override {
    const bad = (message: string): LightingError => new LightingError('LIGHTING_BAD_OVERRIDE', message);
    if (!targets.includes(cmd.target))
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
    const now = this.options.monoNow();
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
    this.byTarget.set(cmd.target, override);
    // `level` would collide with pino's own field; in the log it is the dim level it is.
    const { level: dimLevel, ...logged } = override;
    this.options.logger.info(
      { ...logged, dimLevel, remainingMs: expiresAtMonoMs - now },
      'lighting override set',
    );
    return override;
  }

  /** Ends the override of a target; false if there was none. */
  cancel(target: string, by: string): boolean {
    const existing = this.byTarget.get(target);
    if (!existing) return false;
    this.byTarget.delete(target);
    this.options.logger.info({ target, by, override: existing }, 'lighting override cancelled');
    return true;
  }

  list(): Override[] {
    return [...this.byTarget.values()];
  }

  /** Ends the overrides whose time is up at `nowMonoMs`. */
  expire(nowMonoMs: number): void {
    for (const [target, o] of this.byTarget) {
      if (nowMonoMs >= o.expiresAtMonoMs) {
        this.byTarget.delete(target);
        this.options.logger.info({ override: o }, 'lighting override expired');
      }
    }
  }

  /**
   * A configuration change: overrides of targets that still exist stay, the others are dropped
   * (and logged). Returns the undo that brings every one of them back (a rolled-back change).
   */
  retain(targets: ReadonlySet<string>): () => void {
    const before = this.byTarget;
    this.byTarget = new Map([...before].filter(([target]) => targets.has(target)));
    for (const target of before.keys())
      if (!targets.has(target))
        this.options.logger.warn({ target }, 'lighting override dropped: its target is no longer configured');
    return () => {
      this.byTarget = before;
    };
  }
}
