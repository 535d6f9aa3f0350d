/**
 * Maps the validated configuration onto what the bus module takes: one BusConfig with its
 * BusDeviceConfig list per bus (gateway/bus/types.ts).
 */
import type { BusConfig, BusDeviceConfig } from '../bus/types.js';
import type { LoadedProfile } from '../profiles/types.js';
import { ConfigError } from './errors.js';
import type { GatewayConfig } from './types.js';

export interface BusPlan {
  bus: BusConfig;
  devices: BusDeviceConfig[];
}

/** Buses in configuration order, each with its devices in configuration order. */
export function planBuses(config: GatewayConfig, profiles: ReadonlyMap<string, LoadedProfile>): BusPlan[] {
  const plans = new Map<string, BusPlan>(config.buses.map((bus) => [bus.id, { bus, devices: [] }]));
  config.devices.forEach((device, index) => {
    const plan = plans.get(device.bus);
    const profile = profiles.get(device.profile);
    // validateGatewayConfig rules both out; a config built by hand may not have been validated.
    if (plan === undefined || profile === undefined) {
      const pointer = plan === undefined ? `/devices/${index}/bus` : `/devices/${index}/profile`;
      const what = plan === undefined ? `bus '${device.bus}'` : `profile '${device.profile}'`;
      throw new ConfigError('CONFIG_INVALID', [{ pointer, message: `unknown ${what}` }]);
    }
    plan.devices.push({
      id: device.id,
      unitId: device.unitId,
      profile,
      pollIntervalMs: device.pollIntervalMs,
      timeoutMs: device.timeoutMs,
      retries: device.retries,
    });
  });
  return [...plans.values()];
}
