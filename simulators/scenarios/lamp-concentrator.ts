/**
 * Lighting-cabinet concentrator: loop contactors, a three-phase meter, an RCD monitor and the
 * single-lamp controllers behind it. The simulator's model of the cabinet (the profile only says
 * which registers exist):
 * - loop n is fed from phase A, B, C, A ... ((n-1) mod 3); the lamps (block children, in order)
 *   are split over the loops in contiguous runs, as a loop is one stretch of street;
 * - a contactor's feedback (loop_n_state) follows its command (loop_n_command) after
 *   CONTACTOR_DELAY_MS, unless the loop has tripped;
 * - a lamp is lit when its loop is energised, its switch is on, its dim level above 0 and it has
 *   not failed; it then draws RATED_LAMP_W x dim% at a power factor of 0.95;
 * - phase currents, active power, power factor, energy and burning hours follow from the lamps.
 * Scenarios do not write these registers: they set conditions (a tripped loop, a failed lamp, a
 * cut cable) that this plant turns into register values at every step.
 */
import type { ResolvedPoint } from '../../gateway/profiles/types.js';
import { SimulatorError } from '../errors.js';
import type { SimulatedDevice } from '../simulated-device.js';
import type { DriftSpec } from './drift.js';
import { trapezoid } from './shapes.js';
import type { DeviceBehaviour, FamilyModel, ScenarioDefinition } from './types.js';

export const CONTACTOR_DELAY_MS = 300;
const RATED_LAMP_W = 150; // an LED street lamp
const LAMP_PF = 0.95;
const STANDBY_W = 0.5; // a controller's own draw with the lamp off
const CABINET_BASE_W = 20; // concentrator, meter, modem
const PHASES = ['a', 'b', 'c'] as const;
type Phase = (typeof PHASES)[number];

/** Points of a single-lamp controller the plant needs; the others are optional. */
const LAMP_POINTS = [
  'lamp_switch',
  'dim_level',
  'lamp_voltage',
  'lamp_current',
  'lamp_power',
  'lamp_failure',
  'comm_status',
];

function nominal(point: ResolvedPoint): DriftSpec | undefined {
  if (/^phase_[abc]_voltage$/.test(point.id)) return { mean: 230, sd: 2, tauS: 600, noise: 0.3 };
  switch (point.id) {
    case 'leakage_current': // mA; RCD monitor alarms at 15 / 30
      return { mean: 3, sd: 0.5, tauS: 1800, noise: 0.1, min: 0 };
    case 'frequency':
      return { mean: 50, sd: 0.02, tauS: 120, noise: 0.005 };
    case 'cabinet_temperature':
      return { mean: 25, sd: 3, tauS: 3600, noise: 0.05 };
    default:
      return undefined;
  }
}

function initial(point: ResolvedPoint): number | boolean | undefined {
  // Power-up state of the demo cabinet: night, every loop on, every lamp on at full level.
  if (/^loop_\d+_command$/.test(point.id) || point.id === 'lamp_switch') return true;
  if (point.id === 'dim_level') return 100;
  if (point.id === 'default_dim_level') return 80;
  return undefined;
}

interface Loop {
  n: number;
  command: string;
  state: string;
  phase: Phase;
  actual: boolean;
  lastCommand: boolean | undefined;
  changedAt: number;
  lamps: string[];
}

/** Conditions scenarios set for one step; cleared at the start of every step. */
export interface PlantConditions {
  trippedLoops: Set<number>;
  /** Loops whose cable is cut past the cabinet: contactor closed, no load, controllers unreachable. */
  cutLoops: Set<number>;
  failedLamps: Set<string>;
  offlineLamps: Set<string>;
}

export class LightingPlant implements DeviceBehaviour {
  readonly derived: ReadonlySet<string>;
  readonly loops: Loop[];
  /** Child ids of the single-lamp controllers, in profile order. */
  readonly lamps: string[];
  conditions: PlantConditions = LightingPlant.noConditions();
  private energyKwh = 1234.5;
  private readonly burningHours = new Map<string, number>();

  constructor(private readonly device: SimulatedDevice) {
    const missing: string[] = [];
    const need = (key: string): string => {
      if (!device.hasPoint(key)) missing.push(key);
      return key;
    };
    const loopNumbers = device
      .allPoints()
      .map((p) => /^loop_(\d+)_command$/.exec(p.key))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    this.lamps = device.profile.children.map((c) => c.id);
    if (loopNumbers.length === 0) missing.push('loop_N_command');
    this.loops = loopNumbers.map((n, i) => ({
      n,
      command: `loop_${n}_command`,
      state: need(`loop_${n}_state`),
      phase: PHASES[i % PHASES.length] ?? 'a',
      actual: true,
      lastCommand: undefined,
      changedAt: 0,
      lamps: [],
    }));
    this.lamps.forEach((lamp, i) => {
      for (const id of LAMP_POINTS) need(`${lamp}.${id}`);
      const loop = this.loops[Math.floor((i * this.loops.length) / this.lamps.length)];
      loop?.lamps.push(lamp);
    });
    for (const phase of PHASES) {
      need(`phase_${phase}_voltage`);
      need(`phase_${phase}_current`);
    }
    need('active_power');
    if (missing.length > 0) {
      throw new SimulatorError(
        'SIM_POINT_MISSING',
        `profile ${device.profile.id} lacks points the lamp-concentrator model needs: ${missing.join(', ')}`,
      );
    }
    const derived = [
      'active_power',
      ...PHASES.map((p) => `phase_${p}_current`),
      ...this.loops.map((l) => l.state),
    ];
    for (const key of ['energy', 'power_factor']) if (device.hasPoint(key)) derived.push(key);
    for (const lamp of this.lamps) {
      for (const id of [
        'lamp_voltage',
        'lamp_current',
        'lamp_power',
        'lamp_failure',
        'comm_status',
        'over_voltage',
        'under_voltage',
        'burning_hours',
      ]) {
        if (device.hasPoint(`${lamp}.${id}`)) derived.push(`${lamp}.${id}`);
      }
    }
    this.derived = new Set(derived);
  }

  static noConditions(): PlantConditions {
    return { trippedLoops: new Set(), cutLoops: new Set(), failedLamps: new Set(), offlineLamps: new Set() };
  }

  loop(n: number): Loop {
    const loop = this.loops.find((l) => l.n === n);
    if (!loop)
      throw new SimulatorError(
        'SIM_CONFIG_INVALID',
        `profile ${this.device.profile.id} has no loop ${n} (loops: ${this.loops.map((l) => l.n).join(', ')})`,
      );
    return loop;
  }

  lamp(id: string): string {
    if (!this.lamps.includes(id))
      throw new SimulatorError(
        'SIM_CONFIG_INVALID',
        `profile ${this.device.profile.id} has no lamp "${id}" (lamps: ${this.lamps.join(', ')})`,
      );
    return id;
  }

  sampleIntervalMs(): undefined {
    return undefined;
  }

  beginStep(): void {
    this.conditions = LightingPlant.noConditions();
  }

  update(now: number, dtMs: number): void {
    const d = this.device;
    const c = this.conditions;
    const phaseAmps: Record<Phase, number> = { a: 0, b: 0, c: 0 };
    let totalW = CABINET_BASE_W;
    let lampW = 0;
    for (const loop of this.loops) {
      // Contactor feedback follows the command after the contactor's operating time.
      const command = d.get(loop.command) === true;
      if (command !== loop.lastCommand) {
        if (loop.lastCommand === undefined) loop.actual = command; // power-up: already settled
        loop.lastCommand = command;
        loop.changedAt = now;
      }
      if (now - loop.changedAt >= CONTACTOR_DELAY_MS) loop.actual = command;
      const closed = loop.actual && !c.trippedLoops.has(loop.n);
      d.set(loop.state, closed);
      const supplyV = closed && !c.cutLoops.has(loop.n) ? d.num(`phase_${loop.phase}_voltage`) : 0;
      for (const lamp of loop.lamps) {
        const w = this.updateLamp(
          lamp,
          supplyV,
          c.cutLoops.has(loop.n) || c.offlineLamps.has(lamp),
          c.failedLamps.has(lamp),
          dtMs,
        );
        if (supplyV > 0) phaseAmps[loop.phase] += w / (supplyV * LAMP_PF);
        totalW += w;
        lampW += w;
      }
    }
    for (const phase of PHASES) d.set(`phase_${phase}_current`, phaseAmps[phase]);
    d.set('active_power', totalW);
    this.energyKwh += (totalW * dtMs) / 3.6e9;
    if (this.derived.has('energy')) d.set('energy', this.energyKwh);
    if (this.derived.has('power_factor'))
      d.set('power_factor', lampW > 0 ? LAMP_PF - 0.005 * d.rng.next() : 0.5);
  }

  /** Sets one controller's registers; returns the power lamp and controller draw from the loop. */
  private updateLamp(lamp: string, supplyV: number, offline: boolean, failed: boolean, dtMs: number): number {
    const d = this.device;
    const on = d.get(`${lamp}.lamp_switch`) === true;
    const dim = d.num(`${lamp}.dim_level`);
    const lit = supplyV > 0 && on && dim > 0 && !failed;
    const watts = lit ? RATED_LAMP_W * (dim / 100) * (1 + 0.005 * d.rng.gaussian()) : 0;
    const lampV = supplyV > 0 ? supplyV * 0.985 : 0; // cable drop to the pole
    const set = (id: string, value: number | boolean): void => {
      if (d.hasPoint(`${lamp}.${id}`)) d.set(`${lamp}.${id}`, value);
    };
    set('comm_status', !offline);
    if (offline) {
      // The concentrator keeps nothing fresh for an unreachable controller: it reports zeros.
      for (const id of ['lamp_voltage', 'lamp_current', 'lamp_power']) set(id, 0);
      set('lamp_failure', false);
    } else {
      set('lamp_voltage', lampV);
      set('lamp_current', lampV > 0 ? watts / (lampV * LAMP_PF) : 0);
      set('lamp_power', watts);
      // TALQ lampFailure: commanded on (switch on, loop energised) but the lamp draws nothing.
      set('lamp_failure', failed && on && supplyV > 0);
      set('over_voltage', lampV > 242);
      set('under_voltage', lampV > 0 && lampV < 198);
    }
    const hours = (this.burningHours.get(lamp) ?? 1000) + (lit ? dtMs / 3.6e6 : 0);
    this.burningHours.set(lamp, hours);
    set('burning_hours', Math.floor(hours));
    // The controller's own draw is on the cabinet meter, not in the lamp's power reading.
    return watts + (supplyV > 0 ? STANDBY_W : 0);
  }
}

function plantOf(behaviour: DeviceBehaviour | null, scenario: string): LightingPlant {
  if (!(behaviour instanceof LightingPlant))
    throw new SimulatorError('SIM_CONFIG_INVALID', `${scenario} needs a lamp-concentrator device`);
  return behaviour;
}

function loopOption(plant: LightingPlant, value: string | number | undefined, fallback: number): number {
  return plant.loop(Number(value ?? Math.min(fallback, plant.loops.length))).n;
}

const lampFailure: ScenarioDefinition = {
  name: 'lamp-failure',
  description:
    '0-5 s normal; from 5 s one lamp (option lamp, default the third) has failed: while it is commanded on its power is 0 and its lamp_failure bit is set; lasts until the scenario is replaced.',
  durationMs: null,
  options: { lamp: 'child id of the failed lamp (default the third lamp, e.g. lamp_03)' },
  create(_device, behaviour, options) {
    const plant = plantOf(behaviour, 'lamp-failure');
    const lamp = plant.lamp(String(options.lamp ?? plant.lamps[Math.min(2, plant.lamps.length - 1)] ?? ''));
    return {
      update(elapsedMs) {
        if (elapsedMs >= 5000) plant.conditions.failedLamps.add(lamp);
      },
    };
  },
};

const loopTrip: ScenarioDefinition = {
  name: 'loop-trip',
  description:
    "0-5 s normal; from 5 s one loop's breaker has tripped (option loop, default 2): its contactor feedback drops though commanded on, its lamps go dark and its phase current contribution goes to 0; lasts until the scenario is replaced.",
  durationMs: null,
  options: { loop: 'loop number (default 2)' },
  create(_device, behaviour, options) {
    const plant = plantOf(behaviour, 'loop-trip');
    const loop = loopOption(plant, options.loop, 2);
    return {
      update(elapsedMs) {
        if (elapsedMs >= 5000) plant.conditions.trippedLoops.add(loop);
      },
    };
  },
};

const cableTheft: ScenarioDefinition = {
  name: 'cable-theft',
  description:
    "0-5 s normal; 5-8 s the cable of one loop (option loop, default 3) is being cut: its phase voltage sags to about 180 V and leakage current jumps to about 45 mA; from 8 s the cable is gone: the loop's current is 0 though its contactor stays closed, its phase voltage sits 6 V high (load lost), and every lamp on that loop is offline (comm_status 0); lasts until the scenario is replaced.",
  durationMs: null,
  options: { loop: 'loop number (default 3)' },
  create(device, behaviour, options) {
    const plant = plantOf(behaviour, 'cable-theft');
    const loop = plant.loop(loopOption(plant, options.loop, 3));
    const voltage = `phase_${loop.phase}_voltage`;
    const leakage = device.hasPoint('leakage_current') ? 'leakage_current' : null;
    return {
      update(elapsedMs) {
        const t = elapsedMs / 1000;
        const cutting = trapezoid(t, 5, 0.2, 2.6, 0.2);
        if (cutting > 0) {
          device.set(voltage, device.num(voltage) - 50 * cutting);
          if (leakage) device.set(leakage, device.num(leakage) + 42 * cutting);
        }
        if (t >= 8) {
          plant.conditions.cutLoops.add(loop.n);
          device.set(voltage, device.num(voltage) + 6);
        }
      },
    };
  },
};

export const lampConcentrator: FamilyModel = {
  family: 'lamp-concentrator',
  nominal,
  initial,
  createBehaviour: (device) => new LightingPlant(device),
  scenarios: [lampFailure, loopTrip, cableTheft],
};
