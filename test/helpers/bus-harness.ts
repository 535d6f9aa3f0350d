/**
 * The integration harness for the field bus: real simulators (RTU on a socat pseudo-terminal pair,
 * or Modbus TCP on a loopback port) and a real BusScheduler polling them, with helpers to wait
 * for poll results. Tests of the gateway and the benchmark build on this.
 */
import pino from 'pino';
import type { SerialSettings } from '../../drivers/transport/transport.js';
import { BusScheduler, type BusSchedulerOptions } from '../../gateway/bus/scheduler.js';
import type { BusConfig, BusDeviceConfig, DevicePollResult } from '../../gateway/bus/types.js';
import { loadProfileDirectory } from '../../gateway/profiles/loader.js';
import type { LoadedProfile } from '../../gateway/profiles/types.js';
import {
  startSimulation,
  type BusHandle,
  type Simulation,
  type SimulationConfig,
} from '../../simulators/index.js';
import { requireCommand } from './peers.js';

export const FAST_SERIAL: SerialSettings = { baudRate: 115200, dataBits: 8, parity: 'even', stopBits: 1 };

let profileCache: Map<string, LoadedProfile> | undefined;

export function profile(id: string): LoadedProfile {
  profileCache ??= loadProfileDirectory().profiles;
  const found = profileCache.get(id);
  if (!found) throw new Error(`no profile ${id}`);
  return found;
}

export function busConfigFor(handle: BusHandle, id = handle.id): BusConfig {
  if (handle.endpoint === 'tcp') return { id, kind: 'tcp', host: '127.0.0.1', port: handle.port ?? 0 };
  if (handle.endpoint === 'rtu-over-tcp') {
    return {
      id,
      kind: 'rtu-over-tcp',
      host: '127.0.0.1',
      port: handle.port ?? 0,
      serial: handle.serial ?? FAST_SERIAL,
    };
  }
  return { id, kind: 'rtu', path: handle.gatewayPath, serial: handle.serial ?? FAST_SERIAL };
}

export function deviceConfig(
  id: string,
  unitId: number,
  profileId: string,
  overrides: Partial<BusDeviceConfig> = {},
): BusDeviceConfig {
  return {
    id,
    unitId,
    profile: profile(profileId),
    pollIntervalMs: 100,
    timeoutMs: 300,
    retries: 1,
    ...overrides,
  };
}

export interface BusHarness {
  simulation: Simulation;
  bus: BusScheduler;
  results: DevicePollResult[];
  /** Resolves with the first poll result of `deviceId` (after now) that satisfies `predicate`. */
  nextPoll(
    deviceId: string,
    predicate?: (r: DevicePollResult) => boolean,
    timeoutMs?: number,
  ): Promise<DevicePollResult>;
  stop(): Promise<void>;
}

/** Starts simulators and one scheduler on the simulation's first bus. Requires socat for RTU. */
export async function startBusHarness(
  simulation: SimulationConfig,
  devices: BusDeviceConfig[],
  options: Partial<Omit<BusSchedulerOptions, 'config' | 'devices' | 'logger'>> = {},
): Promise<BusHarness> {
  if (simulation.buses.some((b) => b.kind === 'rtu')) requireCommand('socat', 'socat');
  const sim = await startSimulation(simulation);
  const handle = sim.buses[0];
  if (!handle) throw new Error('the simulation has no bus');
  const bus = new BusScheduler({
    config: busConfigFor(handle),
    devices,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  const results: DevicePollResult[] = [];
  const waiters = new Set<(r: DevicePollResult) => void>();
  bus.onPoll((result) => {
    results.push(result);
    for (const waiter of [...waiters]) waiter(result);
  });
  await bus.start();
  return {
    simulation: sim,
    bus,
    results,
    nextPoll(deviceId, predicate = () => true, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching poll of ${deviceId} within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (result: DevicePollResult): void => {
          if (result.deviceId !== deviceId || !predicate(result)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(result);
        };
        waiters.add(waiter);
      });
    },
    async stop() {
      await bus.stop();
      await sim.stop();
    },
  };
}
