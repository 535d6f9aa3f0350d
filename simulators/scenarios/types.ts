/**
 * Shapes shared by the scenario modules. A device's values come from three layers, applied in this
 * order at every simulation step (see player.ts):
 *   1. baseline: slow drift with noise for every measured numeric point (drift.ts), and every
 *      measured flag back to its resting value;
 *   2. overlays: the named scenarios active at that moment (gas leak, cover open ...), each writing
 *      over the baseline for the points it concerns;
 *   3. behaviour: the device's own logic (a contactor's feedback following its command, a lamp
 *      drawing power when switched on, totals and derived values).
 * Overlays are stateless with respect to the registers (they recompute their effect from the
 * elapsed time each step), so they combine and sequence freely.
 */
import type { DeviceFamily, ResolvedPoint } from '../../gateway/profiles/types.js';
import type { SimulatedDevice } from '../simulated-device.js';
import type { DriftSpec } from './drift.js';

export type ScenarioOptions = Readonly<Record<string, string | number>>;

/** One running instance of a named scenario on one device. */
export interface Overlay {
  /** Writes the scenario's effect for `elapsedMs` since it started (called every step, increasing). */
  update(elapsedMs: number): void;
}

export interface ScenarioDefinition {
  name: string;
  /** What happens when: the documented timeline. */
  description: string;
  /** How long the event lasts; null when it lasts until the scenario is replaced. */
  durationMs: number | null;
  /** Options this scenario reads (name -> meaning), for --list. */
  options?: Readonly<Record<string, string>>;
  /** Creates the overlay; throws SIM_POINT_MISSING when the profile lacks a point it needs. */
  create(device: SimulatedDevice, behaviour: DeviceBehaviour | null, options: ScenarioOptions): Overlay;
}

/** The device's own logic, run after the overlays at every step. */
export interface DeviceBehaviour {
  /** Point keys this behaviour computes; the baseline leaves them alone. */
  readonly derived: ReadonlySet<string>;
  /** Step length the device samples at (e.g. a strain logger at 20 Hz); undefined: one step per refresh. */
  sampleIntervalMs(): number | undefined;
  /** Called first in each step, before the baseline: reset per-step conditions set by overlays. */
  beginStep(): void;
  update(now: number, dtMs: number): void;
}

export interface FamilyModel {
  family: DeviceFamily;
  /** Baseline drift for a measured numeric point, by its point id; undefined: a generic drift. */
  nominal(point: ResolvedPoint): DriftSpec | undefined;
  /** Value of a writable point at power-up, or of a flag at rest; undefined: min, else 0/false. */
  initial(point: ResolvedPoint): number | boolean | undefined;
  createBehaviour(device: SimulatedDevice): DeviceBehaviour | null;
  /** Named scenarios besides 'normal' (which is the baseline alone). */
  scenarios: readonly ScenarioDefinition[];
}
