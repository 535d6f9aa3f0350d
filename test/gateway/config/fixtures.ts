/**
 * Hand-made profiles for config tests: the config rules are about ids and references, so the
 * tests should not change when a shipped profile does.
 */
import assert from 'node:assert/strict';
import type { Issue } from '../../../cloud-sync/contract/errors.js';
import { formatConfigIssue } from '../../../gateway/config/errors.js';
import type { GatewayConfig } from '../../../gateway/config/types.js';
import { validateGatewayConfig } from '../../../gateway/config/validate.js';
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

/** The configuration `doc` makes; fails the test with every issue when it is refused. */
export function validConfig(
  doc: unknown,
  profiles: ReadonlyMap<string, LoadedProfile> = PROFILES,
  baseDir = '/srv/kerbside',
): GatewayConfig {
  const result = validateGatewayConfig(doc, profiles, { baseDir });
  if (!result.ok)
    assert.fail(
      `expected a valid config, got:\n${result.issues.map((i) => formatConfigIssue(i)).join('\n')}`,
    );
  return result.config;
}

/** The issues of a configuration `doc` that must be refused; fails the test when it is accepted. */
export function refusedConfig(
  doc: unknown,
  profiles: ReadonlyMap<string, LoadedProfile> = PROFILES,
  baseDir = '/srv/kerbside',
): Issue[] {
  const result = validateGatewayConfig(doc, profiles, { baseDir });
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.issues;
}

/** Asserts an issue at `pointer` whose message matches `pattern`, listing them all otherwise. */
export function assertIssue(issues: readonly Issue[], pointer: string, pattern: RegExp): void {
  assert.ok(
    issues.some((i) => i.pointer === pointer && pattern.test(i.message)),
    `no issue at ${pointer} matching ${pattern}; got:\n  ${issues.map((i) => `${i.pointer}: ${i.message}`).join('\n  ')}`,
  );
}
