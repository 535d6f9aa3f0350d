/**
 * Shared fixtures of the lighting tests: a resolved LightingConfig for a Beijing cabinet with the
 * shipped KerbTek LC-3200 concentrator, wired the way the simulator wires it (four loops on
 * phases a, b, c, a; sixteen lamps in runs of four), and instants in China Standard Time.
 */
import type { Instant } from '../../../gateway/alarms/types.js';
import { loadProfileDirectory } from '../../../gateway/profiles/loader.js';
import type { LoadedProfile } from '../../../gateway/profiles/types.js';
import type { LightingConfig } from '../../../gateway/lighting/types.js';

let cache: Map<string, LoadedProfile> | undefined;

export function shippedProfile(id: string): LoadedProfile {
  cache ??= loadProfileDirectory().profiles;
  const found = cache.get(id);
  if (!found) throw new Error(`no profile ${id}`);
  return found;
}

export const BEIJING = { latitude: 39.9042, longitude: 116.4074 };

const lamps = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `lamp_${String(from + i).padStart(2, '0')}`);

export function lightingConfig(overrides: Partial<LightingConfig> = {}, deviceId = 'lc'): LightingConfig {
  return {
    timezone: 'Asia/Shanghai',
    ...BEIJING,
    astronomical: { twilight: 'official', onOffsetMin: 0, offOffsetMin: 0 },
    level: 100,
    holidays: [],
    workdays: [],
    rules: [],
    midnightDimming: null,
    devices: [
      {
        device: deviceId,
        roadClass: 'main',
        loops: [
          { loop: 1, phase: 'a', lamps: lamps(1, 4) },
          { loop: 2, phase: 'b', lamps: lamps(5, 8) },
          { loop: 3, phase: 'c', lamps: lamps(9, 12) },
          { loop: 4, phase: 'a', lamps: lamps(13, 16) },
        ],
      },
    ],
    maintenance: [],
    verification: { settleS: 30, minLoopCurrentA: 0.1, minLampPowerW: 5, minSupplyV: 100 },
    rates: {
      litRateMinPct: { main: 98, secondary: 96 },
      onlineRateMinPct: { concentrators: 95, controllers: 95 },
      windowS: 300,
    },
    ...overrides,
  };
}

/** Wall time of a China Standard Time (UTC+8, no daylight saving) "YYYY-MM-DDTHH:MM[:SS]". */
export function cst(local: string): number {
  const withSeconds = local.length === 16 ? `${local}:00` : local;
  return Date.parse(`${withSeconds}+08:00`);
}

export function instant(wallMs: number, monoMs = 1_000_000): Instant {
  return { wallMs, monoMs };
}
