/**
 * Manhole-cover monitor: tilt, cover-open flag, water level, battery, heartbeat. docs/domain.md:
 * alarm at 10° (default), ignore excursions shorter than 2 s (passing vehicles), always alarm
 * beyond 90° (cover off).
 */
import type { ResolvedPoint } from '../../gateway/profiles/types.js';
import type { SimulatedDevice } from '../simulated-device.js';
import type { DriftSpec } from './drift.js';
import { trapezoid } from './shapes.js';
import type { DeviceBehaviour, FamilyModel, ScenarioDefinition } from './types.js';

const DEFAULT_HEARTBEAT_S = 600; // the profile's alarm note: the sensor reports every 10 min

function nominal(point: ResolvedPoint): DriftSpec | undefined {
  switch (point.id) {
    case 'tilt_x':
      return { mean: 0.4, sd: 0.15, tauS: 3600, noise: 0.05 };
    case 'tilt_y':
      return { mean: -0.3, sd: 0.15, tauS: 3600, noise: 0.05 };
    case 'tilt_angle':
      return { mean: 0.5, sd: 0.15, tauS: 3600, noise: 0.05, min: 0 };
    case 'water_level': // cm relative to the cover; alarms at -30 and 0
      return { mean: -80, sd: 4, tauS: 3600, noise: 0.4 };
    case 'battery_voltage':
      return { mean: 3.62, sd: 0.01, tauS: 86_400, noise: 0.002 };
    case 'battery_level':
      return { mean: 86, sd: 0.5, tauS: 86_400, noise: 0, min: 0, max: 100 };
    case 'signal_strength':
      return { mean: -87, sd: 3, tauS: 600, noise: 1.5 };
    default:
      return undefined;
  }
}

function initial(point: ResolvedPoint): number | undefined {
  if (point.id === 'tilt_threshold') return 10; // docs/domain.md default 10°
  if (point.id === 'heartbeat_interval') return DEFAULT_HEARTBEAT_S;
  return undefined;
}

/** Total tilt from its two axes (small-angle sum, exact enough for a display), and the heartbeat. */
class CoverBehaviour implements DeviceBehaviour {
  readonly derived: ReadonlySet<string>;
  private sinceBeatMs = 0;
  private beats = 0;

  constructor(private readonly device: SimulatedDevice) {
    const derived: string[] = [];
    if (device.hasPoint('tilt_angle') && device.hasPoint('tilt_x') && device.hasPoint('tilt_y'))
      derived.push('tilt_angle');
    if (device.hasPoint('heartbeat_counter')) derived.push('heartbeat_counter');
    this.derived = new Set(derived);
  }

  sampleIntervalMs(): undefined {
    return undefined;
  }

  beginStep(): void {}

  update(_now: number, dtMs: number): void {
    const d = this.device;
    if (this.derived.has('tilt_angle')) d.set('tilt_angle', Math.hypot(d.num('tilt_x'), d.num('tilt_y')));
    if (this.derived.has('heartbeat_counter')) {
      const intervalMs =
        (d.hasPoint('heartbeat_interval') ? d.num('heartbeat_interval') : DEFAULT_HEARTBEAT_S) * 1000;
      this.sinceBeatMs += dtMs;
      if (intervalMs > 0 && this.sinceBeatMs >= intervalMs) {
        this.beats += Math.floor(this.sinceBeatMs / intervalMs);
        this.sinceBeatMs %= intervalMs;
      }
      d.set('heartbeat_counter', this.beats % 0x10000);
    }
  }
}

/** Adds `degrees` of tilt on the X axis when there is one, otherwise on the total angle. */
function tiltBy(device: SimulatedDevice, degrees: number): void {
  const key = device.hasPoint('tilt_x') ? 'tilt_x' : 'tilt_angle';
  device.set(key, device.num(key) + degrees);
}

function checkTiltPoints(device: SimulatedDevice): void {
  if (!device.hasPoint('tilt_x')) device.point('tilt_angle'); // throws SIM_POINT_MISSING naming the profile
}

const coverOpen: ScenarioDefinition = {
  name: 'cover-open',
  description:
    '0-5 s normal; 5-6 s the cover is lifted and flipped: tilt rises to about 120° and cover_open sets halfway; open for openS (default 120 s); then put back within 1 s; normal afterwards.',
  durationMs: 130_000,
  options: { openS: 'seconds the cover stays open (default 120)' },
  create(device, _behaviour, options) {
    checkTiltPoints(device);
    device.point('cover_open');
    const openS = Number(options.openS ?? 120);
    return {
      update(elapsedMs) {
        const k = trapezoid(elapsedMs / 1000, 5, 1, openS, 1);
        if (k === 0) return;
        tiltBy(device, 119.5 * k);
        if (k >= 0.5) device.set('cover_open', true);
      },
    };
  },
};

const vehicleBump: ScenarioDefinition = {
  name: 'vehicle-bump',
  description:
    '0-5 s normal; at 5 s a passing vehicle rocks the cover: tilt rises over 0.15 s to peak (default 14°), holds 0.9 s, falls over 0.15 s, so it is above 10° for about 1 s; normal afterwards (10 s in all; use ",loop" to repeat).',
  durationMs: 10_000,
  options: { peak: 'peak tilt added, degrees (default 14)' },
  create(device, _behaviour, options) {
    checkTiltPoints(device);
    const peak = Number(options.peak ?? 14);
    return {
      update(elapsedMs) {
        const k = trapezoid(elapsedMs / 1000, 5, 0.15, 0.9, 0.15);
        if (k > 0) tiltBy(device, peak * k);
      },
    };
  },
};

export const manholeCover: FamilyModel = {
  family: 'manhole-cover',
  nominal,
  initial,
  createBehaviour: (device) => new CoverBehaviour(device),
  scenarios: [coverOpen, vehicleBump],
};
