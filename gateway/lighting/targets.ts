/**
 * What can be switched, resolved once from the configuration and the device profiles: each
 * lighting device's loops (contactor coils) and single-lamp controllers, with the profile point
 * keys the controller writes and the checks read. Point names follow the lamp-concentrator
 * profiles (device-profiles/lamp-concentrator/*.json and templates/single-lamp-controller.json):
 * loop_N_command / loop_N_state, phase_X_current, lamp_NN.lamp_switch / dim_level / lamp_power /
 * lamp_voltage / lamp_failure / comm_status. A point a profile lacks is null and its check is skipped.
 */
import type { LoadedProfile } from '../profiles/types.js';
import { LightingError, type LightingConfig, type Phase, type RoadClass } from './types.js';

export interface LoopTarget {
  kind: 'loop';
  /** `${deviceId}:loop_N` */
  id: string;
  deviceId: string;
  /** `loop_N`: the target name in events and alarm keys. */
  name: string;
  commandPoint: string;
  statePoint: string | null;
  phase: Phase | null;
  /** Current point of the phase, when the phase is known and the profile has it. */
  currentPoint: string | null;
  /** Lamp target ids on this loop. */
  lamps: string[];
}

export interface LampTarget {
  kind: 'lamp';
  /** `${deviceId}:lamp_NN` */
  id: string;
  deviceId: string;
  /** Child id, `lamp_NN`. */
  name: string;
  /** Loop target id feeding this lamp, or null when not configured. */
  loop: string | null;
  switchPoint: string;
  dimPoint: string | null;
  powerPoint: string | null;
  voltagePoint: string | null;
  failurePoint: string | null;
  commPoint: string | null;
  maintenance: boolean;
}

export interface LightingDevicePlan {
  deviceId: string;
  roadClass: RoadClass;
  loops: LoopTarget[];
  lamps: LampTarget[];
}

export interface LightingPlan {
  devices: LightingDevicePlan[];
  /** Every loop and lamp target by id. */
  targets: Map<string, LoopTarget | LampTarget>;
}

/** Loop numbers n for which the profile has a loop_n_command coil, ascending. */
export function profileLoops(profile: LoadedProfile): number[] {
  return profile.points
    .map((p) => /^loop_(\d+)_command$/.exec(p.key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Child ids that are single-lamp controllers (they have a lamp_switch point), in profile order. */
export function profileLamps(profile: LoadedProfile): string[] {
  const keys = new Set(profile.points.map((p) => p.key));
  return profile.children.map((c) => c.id).filter((child) => keys.has(`${child}.lamp_switch`));
}

/**
 * Builds the plan. The configuration has been validated against these profiles, so a mismatch
 * here is a programming error and throws LightingError('LIGHTING_BAD_CONFIG').
 */
export function buildPlan(
  config: LightingConfig,
  profiles: ReadonlyMap<string, LoadedProfile>,
): LightingPlan {
  const targets = new Map<string, LoopTarget | LampTarget>();
  const maintenance = new Set(config.maintenance);
  const devices = config.devices.map((device): LightingDevicePlan => {
    const profile = profiles.get(device.device);
    if (!profile)
      throw new LightingError('LIGHTING_BAD_CONFIG', `no profile for lighting device ${device.device}`);
    const keys = new Set(profile.points.map((p) => p.key));
    const has = (key: string): string | null => (keys.has(key) ? key : null);

    const loopOfLamp = new Map<string, string>();
    const loops = device.loops.map((loop): LoopTarget => {
      const name = `loop_${loop.loop}`;
      const commandPoint = has(`${name}_command`);
      if (commandPoint === null)
        throw new LightingError(
          'LIGHTING_BAD_CONFIG',
          `device ${device.device} has no point ${name}_command`,
        );
      const id = `${device.device}:${name}`;
      for (const lamp of loop.lamps) loopOfLamp.set(lamp, id);
      return {
        kind: 'loop',
        id,
        deviceId: device.device,
        name,
        commandPoint,
        statePoint: has(`${name}_state`),
        phase: loop.phase,
        currentPoint: loop.phase === null ? null : has(`phase_${loop.phase}_current`),
        lamps: loop.lamps.map((lamp) => `${device.device}:${lamp}`),
      };
    });

    const lamps = profileLamps(profile).map((child): LampTarget => {
      const id = `${device.device}:${child}`;
      return {
        kind: 'lamp',
        id,
        deviceId: device.device,
        name: child,
        loop: loopOfLamp.get(child) ?? null,
        switchPoint: `${child}.lamp_switch`,
        dimPoint: has(`${child}.dim_level`),
        powerPoint: has(`${child}.lamp_power`),
        voltagePoint: has(`${child}.lamp_voltage`),
        failurePoint: has(`${child}.lamp_failure`),
        commPoint: has(`${child}.comm_status`),
        maintenance: maintenance.has(id),
      };
    });
    for (const target of [...loops, ...lamps]) targets.set(target.id, target);
    return { deviceId: device.device, roadClass: device.roadClass, loops, lamps };
  });
  return { devices, targets };
}
