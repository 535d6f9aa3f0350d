/**
 * Hand-made profiles for config tests: the config rules are about ids and references, so the
 * tests should not change when a shipped profile does.
 */
import type { LoadedProfile } from '../../../gateway/profiles/types.js';

export function fakeProfile(id: string, pollIntervalMs = 5_000, responseTimeoutMs = 500): LoadedProfile {
  return {
    id,
    family: 'gas-detector',
    vendor: 'Test',
    model: id,
    name: { 'zh-CN': id, en: id },
    file: `/profiles/gas-detector/${id}.json`,
    pollIntervalMs,
    quirks: {
      wordOrder: 'ABCD',
      maxRegistersPerRead: 125,
      maxBitsPerRead: 2000,
      noFc16: false,
      interFrameDelayMs: 0,
      forbiddenRanges: [],
      responseTimeoutMs,
    },
    points: [],
    children: [],
    alarms: [],
  };
}

export const PROFILES: ReadonlyMap<string, LoadedProfile> = new Map([
  ['test-gd1', fakeProfile('test-gd1', 2_000, 300)],
  ['test-lc1', fakeProfile('test-lc1', 5_000, 500)],
]);

/** A small valid document; tests copy it and break one thing at a time. */
export function validDocument(): Record<string, unknown> {
  return {
    gatewayId: 'gw-test-1',
    site: { name: 'Test bench' },
    buses: [
      { id: 'line-1', kind: 'rtu', path: '/dev/ttyUSB0' },
      { id: 'server', kind: 'rtu-over-tcp', host: '10.0.0.20', port: 4001 },
      { id: 'tcp', kind: 'tcp', host: 'gas.local' },
    ],
    devices: [
      { id: 'gas-1', bus: 'line-1', unitId: 1, profile: 'test-gd1' },
      { id: 'lamps', bus: 'line-1', unitId: 2, profile: 'test-lc1', pollIntervalMs: 1000, retries: 3 },
      { id: 'gas-2', bus: 'server', unitId: 1, profile: 'test-gd1', timeoutMs: 900 },
      { id: 'gas-3', bus: 'tcp', unitId: 255, profile: 'test-gd1' },
    ],
  };
}
