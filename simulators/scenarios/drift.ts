/**
 * The baseline of every scenario: each measured numeric point wanders slowly around a nominal
 * value (an Ornstein-Uhlenbeck process: mean-reverting random walk, updated exactly for any step
 * length, so a test may jump a minute at once) plus white measurement noise; each measured flag
 * returns to its resting value. A point may follow another (strain follows temperature through the
 * gauge's thermal coefficient, docs/domain.md: 10.4 µε/°C in concrete).
 */
import type { ResolvedPoint } from '../../gateway/profiles/types.js';
import type { Rng } from '../random.js';
import type { SimulatedDevice } from '../simulated-device.js';
import type { FamilyModel } from './types.js';

export interface DriftSpec {
  /** Value the point wanders around. */
  mean: number;
  /** Standard deviation of the slow wander. */
  sd: number;
  /** Correlation time of the wander in seconds (how slowly it moves). */
  tauS: number;
  /** Standard deviation of the white noise added to each sample. */
  noise: number;
  min?: number;
  max?: number;
  /** value += gain * (other - ref), where other is another point's value this step. */
  follows?: { key: string; gain: number; ref: number };
}

/** Engineering limits of what a point's raw type can carry (scale may be negative). */
export function engineeringRange(point: ResolvedPoint): [number, number] {
  const raw: Record<string, [number, number]> = {
    bool: [0, 1],
    u16: [0, 0xffff],
    i16: [-0x8000, 0x7fff],
    u32: [0, 0xffffffff],
    i32: [-0x80000000, 0x7fffffff],
    f32: [-3.4e38, 3.4e38],
  };
  const [lo, hi] = raw[point.type] ?? [0, 0];
  const a = lo * point.scale + point.offset;
  const b = hi * point.scale + point.offset;
  return a <= b ? [a, b] : [b, a];
}

class Wander {
  private x: number;

  constructor(
    private readonly spec: DriftSpec,
    private readonly rng: Rng,
  ) {
    this.x = spec.mean + spec.sd * rng.gaussian() * 0.5;
  }

  /** Exact OU update over dtMs: x' = mean + (x - mean) e^(-dt/tau) + sd sqrt(1 - e^(-2dt/tau)) N. */
  step(dtMs: number): number {
    const { mean, sd, tauS, noise } = this.spec;
    if (dtMs > 0 && sd > 0) {
      const decay = Math.exp(-dtMs / 1000 / tauS);
      this.x = mean + (this.x - mean) * decay + sd * Math.sqrt(1 - decay * decay) * this.rng.gaussian();
    }
    return this.x + (noise > 0 ? noise * this.rng.gaussian() : 0);
  }
}

interface Drifting {
  point: ResolvedPoint;
  spec: DriftSpec;
  wander: Wander;
  depth: number;
}

/** A drift for a point no family table knows: small wander around its range's middle or zero. */
function genericSpec(point: ResolvedPoint): DriftSpec {
  const mean = point.min !== null && point.max !== null ? (point.min + point.max) / 2 : 0;
  const step = Math.abs(point.scale) * 10;
  return { mean, sd: step, tauS: 600, noise: step / 10 };
}

export class Baseline {
  private readonly drifting: Drifting[] = [];
  private readonly resting: Array<{ key: string; value: boolean | number }> = [];
  /** Points that fell back to a generic drift (logged once, so a profile author can add a nominal). */
  readonly generic: string[] = [];

  constructor(
    private readonly device: SimulatedDevice,
    model: FamilyModel,
    derived: ReadonlySet<string>,
  ) {
    const specs = new Map<string, DriftSpec>();
    for (const point of device.allPoints()) {
      if (point.writable || derived.has(point.key)) continue;
      if (point.type === 'bool') {
        const rest = model.initial(point);
        this.resting.push({ key: point.key, value: rest ?? false });
        continue;
      }
      let spec = model.nominal(point);
      if (!spec) {
        spec = genericSpec(point);
        this.generic.push(point.key);
      }
      if (spec.follows) device.point(spec.follows.key); // fail loudly on a missing leader
      specs.set(point.key, spec);
    }
    const depthOf = (key: string, seen: Set<string>): number => {
      const leader = specs.get(key)?.follows?.key;
      if (leader === undefined || !specs.has(leader) || seen.has(leader)) return 0;
      return 1 + depthOf(leader, new Set([...seen, key]));
    };
    for (const [key, spec] of specs) {
      this.drifting.push({
        point: device.point(key),
        spec,
        wander: new Wander(spec, device.rng),
        depth: depthOf(key, new Set()),
      });
    }
    this.drifting.sort((a, b) => a.depth - b.depth); // leaders before followers
  }

  update(dtMs: number): void {
    for (const { key, value } of this.resting) if (!this.device.isHeld(key)) this.device.set(key, value);
    for (const { point, spec, wander } of this.drifting) {
      let value = wander.step(dtMs);
      if (this.device.isHeld(point.key)) continue; // pinned: followers must see the held value
      if (spec.follows) value += spec.follows.gain * (this.device.num(spec.follows.key) - spec.follows.ref);
      const [lo, hi] = engineeringRange(point);
      value = Math.min(Math.max(value, spec.min ?? lo, lo), spec.max ?? hi, hi);
      this.device.set(point.key, value);
    }
  }
}
