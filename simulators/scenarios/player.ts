/**
 * Runs a scenario plan on one device: at each step the baseline drift, then the overlays of the
 * plan step active at that time, then the device's behaviour (see types.ts for why in that order).
 * Time comes from the device's clock, read by refresh(); a sampled device (a strain logger) is
 * stepped at its sample interval so peaks between two reads are not lost, other devices once per
 * refresh (the drift is exact for any step length).
 */
import { SimulatorError } from '../errors.js';
import type { SimulatedDevice } from '../simulated-device.js';
import { Baseline } from './drift.js';
import { familyModel } from './registry.js';
import { formatPlan, parsePlan, type ScenarioPlan } from './plan.js';
import type { DeviceBehaviour, FamilyModel, Overlay, ScenarioDefinition, ScenarioOptions } from './types.js';

/** A sampled device idle for longer than this jumps ahead and samples only the last stretch. */
const MAX_CATCH_UP_MS = 5000;

interface ResolvedStep {
  items: Array<{ definition: ScenarioDefinition; options: ScenarioOptions }>;
  /** null: runs until the plan is replaced. */
  lengthMs: number | null;
}

interface ActiveStep {
  index: number;
  cycle: number;
  startedAt: number;
  overlays: Overlay[];
}

export const NORMAL: ScenarioDefinition = {
  name: 'normal',
  description:
    'Baseline only: every measured value drifts slowly around its nominal value with noise; the device answers writes.',
  durationMs: null,
  create: () => ({ update: () => undefined }),
};

export class ScenarioPlayer {
  private readonly model: FamilyModel;
  private readonly behaviour: DeviceBehaviour | null;
  private readonly baseline: Baseline;
  private plan: ScenarioPlan = { steps: [] };
  private steps: ResolvedStep[] = [];
  private planStartedAt: number | undefined;
  private active: ActiveStep | null = null;
  private lastTime: number | undefined;

  constructor(
    private readonly device: SimulatedDevice,
    plan: string | ScenarioPlan,
  ) {
    this.model = familyModel(device.profile.family);
    for (const point of device.allPoints()) {
      if (!point.writable) continue;
      const value = this.model.initial(point) ?? point.min ?? (point.type === 'bool' ? false : 0);
      device.set(point.key, value);
    }
    this.behaviour = this.model.createBehaviour(device);
    this.baseline = new Baseline(device, this.model, this.behaviour?.derived ?? new Set());
    if (this.baseline.generic.length > 0) {
      device.logger.debug(
        { points: this.baseline.generic },
        'no nominal value known for these points: generic drift',
      );
    }
    this.setPlan(plan);
  }

  /** Replaces the plan; the current values stay and the new plan starts from now. */
  setPlan(plan: string | ScenarioPlan): void {
    const parsed = typeof plan === 'string' ? parsePlan(plan) : plan;
    const steps = this.resolve(parsed);
    if (this.lastTime !== undefined) this.advanceTo(this.device.clock.now());
    this.plan = parsed;
    this.steps = steps;
    this.active = null;
    this.planStartedAt = this.lastTime;
  }

  describe(): string {
    return formatPlan(this.plan);
  }

  /**
   * Steps the device up to `now`. `force` makes a step even when no time has passed, so that the
   * behaviour sees a write at the moment it happened (a contactor's delay counts from the write).
   */
  advanceTo(now: number, force = false): void {
    if (this.lastTime === undefined) {
      this.planStartedAt ??= now;
      this.stepAt(now, 0);
      return;
    }
    const interval = this.behaviour?.sampleIntervalMs();
    if (interval === undefined || !(interval > 0)) {
      if (now > this.lastTime || force)
        this.stepAt(Math.max(now, this.lastTime), Math.max(0, now - this.lastTime));
      return;
    }
    if (force && now - this.lastTime < interval) {
      this.stepAt(this.lastTime, 0);
      return;
    }
    let t = this.lastTime;
    if (now - t > MAX_CATCH_UP_MS) {
      const jumpTo = now - MAX_CATCH_UP_MS;
      this.stepAt(jumpTo, jumpTo - t);
      t = jumpTo;
    }
    while (t + interval <= now) {
      t += interval;
      this.stepAt(t, interval);
    }
  }

  private stepAt(t: number, dtMs: number): void {
    this.behaviour?.beginStep();
    this.baseline.update(dtMs);
    const active = this.activeAt(t);
    if (active) for (const overlay of active.overlays) overlay.update(t - active.startedAt);
    this.device.reapplyHeld();
    this.behaviour?.update(t, dtMs);
    this.device.reapplyHeld();
    this.lastTime = t;
  }

  /** The plan step running at time t, creating its overlays when it begins. */
  private activeAt(t: number): ActiveStep | null {
    const start = this.planStartedAt ?? t;
    const total = this.steps.reduce((sum, s) => sum + (s.lengthMs ?? Infinity), 0);
    let elapsed = t - start;
    let cycle = 0;
    if (this.plan.loop && Number.isFinite(total) && total > 0) {
      cycle = Math.floor(elapsed / total);
      elapsed -= cycle * total;
    }
    let offset = 0;
    let index = this.steps.length - 1;
    for (let i = 0; i < this.steps.length; i++) {
      const length = this.steps[i]?.lengthMs ?? Infinity;
      if (elapsed < offset + length) {
        index = i;
        break;
      }
      if (i < this.steps.length - 1) offset += length;
    }
    const step = this.steps[index];
    if (!step) return null;
    if (!this.active || this.active.index !== index || this.active.cycle !== cycle) {
      const startedAt = start + cycle * (Number.isFinite(total) ? total : 0) + offset;
      const overlays = step.items.map(({ definition, options }) =>
        definition.create(this.device, this.behaviour, options),
      );
      this.active = { index, cycle, startedAt, overlays };
      this.device.logger.info(
        { scenario: step.items.map((i) => i.definition.name).join('+') },
        'scenario step begins',
      );
    }
    return this.active;
  }

  /** Checks names, options and points of every step now, so a bad plan fails at once, not in a minute. */
  private resolve(plan: ScenarioPlan): ResolvedStep[] {
    const family = this.device.profile.family;
    if (plan.steps.length === 0)
      throw new SimulatorError('SIM_CONFIG_INVALID', 'a scenario plan needs at least one step');
    const steps = plan.steps.map((step, i): ResolvedStep => {
      if (step.scenarios.length === 0)
        throw new SimulatorError('SIM_CONFIG_INVALID', `scenario step ${i + 1} names no scenario`);
      const items = step.scenarios.map((item) => {
        const definition =
          item.name === NORMAL.name ? NORMAL : this.model.scenarios.find((s) => s.name === item.name);
        if (!definition) {
          const known = [NORMAL.name, ...this.model.scenarios.map((s) => s.name)].join(', ');
          throw new SimulatorError(
            'SIM_SCENARIO_UNKNOWN',
            `no scenario "${item.name}" for ${family} devices (known: ${known})`,
          );
        }
        const options = item.options ?? {};
        const allowed = Object.keys(definition.options ?? {});
        for (const key of Object.keys(options)) {
          if (!allowed.includes(key)) {
            throw new SimulatorError(
              'SIM_CONFIG_INVALID',
              `scenario ${definition.name} has no option "${key}" (options: ${allowed.join(', ') || 'none'})`,
            );
          }
        }
        definition.create(this.device, this.behaviour, options); // validation: throws on missing points
        return { definition, options };
      });
      const lengths = items.map((it) => it.definition.durationMs);
      const natural = lengths.some((l) => l === null) ? null : Math.max(...lengths.map((l) => l ?? 0));
      return { items, lengthMs: step.forMs ?? natural };
    });
    steps.forEach((step, i) => {
      const last = i === steps.length - 1;
      if (step.lengthMs === null && (!last || plan.loop)) {
        throw new SimulatorError(
          'SIM_CONFIG_INVALID',
          `scenario step ${i + 1} runs forever; give it a length with @seconds when another step follows or the plan loops`,
        );
      }
    });
    return steps;
  }
}
