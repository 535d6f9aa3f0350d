/**
 * The `strain` section of the gateway configuration: schema defaults, and the rules that relate it
 * to the devices and their profiles (gateway/config/strain.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewayConfig } from '../../../gateway/config/types.js';
import type { LoadedProfile } from '../../../gateway/profiles/types.js';
import { assertIssue, fakeProfile, refusedConfig, validConfig } from '../config/fixtures.js';
import { profile } from '../../helpers/bus-harness.js';
import type { Issue } from '../../../cloud-sync/contract/errors.js';

const PROFILES: ReadonlyMap<string, LoadedProfile> = new Map([
  ['qiaoce-vw8', profile('qiaoce-vw8')],
  ['test-gd1', fakeProfile('test-gd1')],
]);
const valid = (doc: unknown): GatewayConfig => validConfig(doc, PROFILES);
const issuesOf = (doc: unknown): Issue[] => refusedConfig(doc, PROFILES, process.cwd());

function documentWith(strain: unknown): Record<string, unknown> {
  return {
    gatewayId: 'gw-test-1',
    site: { name: 'Test bench' },
    buses: [{ id: 'pier', kind: 'rtu-over-tcp', host: '10.0.0.20', port: 4001 }],
    devices: [
      { id: 'pier-3-strain', bus: 'pier', unitId: 1, profile: 'qiaoce-vw8' },
      { id: 'gas-1', bus: 'pier', unitId: 2, profile: 'test-gd1' },
    ],
    strain,
  };
}

describe('strain configuration', () => {
  it('is optional: no section means no strain analysis', () => {
    const doc = documentWith(undefined);
    delete doc['strain'];
    assert.deepEqual(valid(doc).strain, []);
  });

  it('applies every default; the load factor has none', () => {
    const config = valid(
      documentWith([{ device: 'pier-3-strain', material: 'concrete', loadFactorTonnesPerMicrostrain: 0.35 }]),
    );
    assert.deepEqual(config.strain, [
      {
        device: 'pier-3-strain',
        material: 'concrete',
        loadFactorTonnesPerMicrostrain: 0.35,
        channels: {},
        detection: 'max',
        triggerMicrostrain: 10,
        releaseMicrostrain: 5,
        holdMs: 1000,
        maxEventS: 120,
        baselineTauS: 60,
        overweightTonnes: [85, 95],
        windowBeforeS: 5,
        windowAfterS: 5,
      },
    ]);
    assertIssue(
      issuesOf(documentWith([{ device: 'pier-3-strain', material: 'concrete' }])),
      '/strain/0/loadFactorTonnesPerMicrostrain',
      /is required/,
    );
  });

  it('accepts per-channel coefficients instead of a material, and every field set', () => {
    const channels: Record<string, Record<string, unknown>> = Object.fromEntries(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => [`strain_${n}`, { coefficient: 10 + n / 10, zeroOffset: n }]),
    );
    channels['strain_8'] = { coefficient: 11, detect: false, referenceTemperatureC: 14 };
    const config = valid(
      documentWith([
        {
          device: 'pier-3-strain',
          referenceTemperatureC: 15.5,
          channels,
          detection: 'sum',
          triggerMicrostrain: 20,
          releaseMicrostrain: 8,
          holdMs: 2000,
          maxEventS: 300,
          baselineTauS: 120,
          loadFactorTonnesPerMicrostrain: 0.2,
          overweightTonnes: [49, 55, 70],
          windowBeforeS: 10,
          windowAfterS: 20,
        },
      ]),
    );
    assert.equal(config.strain[0]?.channels['strain_8']?.detect, false);
    assert.deepEqual(config.strain[0]?.overweightTonnes, [49, 55, 70]);
  });

  it('reports every problem of the section at once', () => {
    const issues = issuesOf(
      documentWith([
        {
          device: 'pier-3-strain',
          loadFactorTonnesPerMicrostrain: 0.35,
          channels: { strain_1: { coefficient: 10 }, strain_9: { coefficient: 10 } },
          triggerMicrostrain: 5,
          releaseMicrostrain: 5,
          overweightTonnes: [95, 85],
        },
        { device: 'pier-3-strain', material: 'steel', loadFactorTonnesPerMicrostrain: 0.35 },
        { device: 'ghost', material: 'steel', loadFactorTonnesPerMicrostrain: 0.35 },
        { device: 'gas-1', material: 'steel', loadFactorTonnesPerMicrostrain: 0.35 },
        { device: 'pier-3-strain', material: 'wood', loadFactorTonnesPerMicrostrain: 0, holdMs: -1 },
      ]),
    );
    assertIssue(issues, '/strain/0/channels/strain_9', /no strain point 'strain_9'.*strain_1, strain_2/);
    assertIssue(issues, '/strain/0', /give 'material' \(steel or concrete\) or a coefficient.*strain_2/);
    assertIssue(issues, '/strain/0/releaseMicrostrain', /must be below triggerMicrostrain \(5\), not 5/);
    assertIssue(issues, '/strain/0/overweightTonnes/1', /level 2 must be above level 1 \(95 t\), not 85 t/);
    assertIssue(issues, '/strain/1/device', /already analysed by \/strain\/0/);
    assertIssue(issues, '/strain/2/device', /no device 'ghost'/);
    assertIssue(issues, '/strain/3/device', /profile 'test-gd1', which has no strain_N points/);
    assertIssue(issues, '/strain/4/material', /must be one of "steel", "concrete"/);
    assertIssue(issues, '/strain/4/loadFactorTonnesPerMicrostrain', /must be > 0/);
    assertIssue(issues, '/strain/4/holdMs', /must be >= 0/);
  });

  it('refuses a section where no channel may detect vehicles', () => {
    const channels = Object.fromEntries(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => [`strain_${n}`, { detect: false }]),
    );
    assertIssue(
      issuesOf(
        documentWith([
          { device: 'pier-3-strain', material: 'steel', loadFactorTonnesPerMicrostrain: 1, channels },
        ]),
      ),
      '/strain/0/channels',
      /no vehicle could be detected/,
    );
  });
});
