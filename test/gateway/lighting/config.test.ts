/** The `lighting` section of the gateway configuration: defaults, resolution and every check. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadGatewayConfig } from '../../../gateway/config/load.js';
import type { GatewayConfig } from '../../../gateway/config/types.js';
import { loadProfileDirectory } from '../../../gateway/profiles/loader.js';
import type { Issue } from '../../../cloud-sync/contract/errors.js';
import { assertIssue, refusedConfig, validConfig } from '../config/fixtures.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const { profiles } = loadProfileDirectory();
const valid = (document: unknown): GatewayConfig => validConfig(document, profiles, '/srv');
const issues = (document: unknown): Issue[] => refusedConfig(document, profiles, '/srv');

function doc(
  lighting?: unknown,
  site: Record<string, unknown> = { name: 'Cabinet 7', latitude: 39.9, longitude: 116.4 },
) {
  return {
    gatewayId: 'gw-light',
    site,
    buses: [{ id: 'line-1', kind: 'rtu', path: '/dev/ttyUSB0' }],
    devices: [
      { id: 'lc', bus: 'line-1', unitId: 1, profile: 'kerbtek-lc3200' },
      { id: 'gas', bus: 'line-1', unitId: 2, profile: 'anqi-gd300' },
    ],
    ...(lighting === undefined ? {} : { lighting }),
  };
}

describe('lighting config: defaults and resolution', () => {
  it('absent section: no lighting control', () => {
    assert.equal(valid(doc()).lighting, null);
  });

  it('an empty section switches every lamp concentrator with every default, sourced from docs/domain.md', () => {
    const lighting = valid(doc({})).lighting;
    assert.deepEqual(lighting, {
      timezone: 'Asia/Shanghai',
      latitude: 39.9,
      longitude: 116.4,
      astronomical: { twilight: 'official', onOffsetMin: 0, offOffsetMin: 0 },
      level: 100,
      holidays: [],
      workdays: [],
      rules: [],
      midnightDimming: null,
      devices: [
        {
          device: 'lc',
          roadClass: 'main',
          loops: [1, 2, 3, 4].map((loop) => ({ loop, phase: null, lamps: [] })),
        },
      ],
      maintenance: [],
      verification: { settleS: 30, minLoopCurrentA: 0.1, minLampPowerW: 5, minSupplyV: 100 },
      rates: {
        litRateMinPct: { main: 98, secondary: 96 },
        onlineRateMinPct: { concentrators: 95, controllers: 95 },
        windowS: 300,
      },
    });
  });

  it('midnight dimming, rules and devices take their defaults too', () => {
    const lighting = valid(
      doc({
        roadClass: 'secondary',
        midnightDimming: {},
        rules: [{ id: 'half-night', from: '00:30', to: '05:00', action: 'off', targets: ['lc:loop_2'] }],
        devices: [{ device: 'lc', loops: [{ loop: 2, phase: 'b', lamps: ['lamp_05'] }] }],
      }),
    ).lighting;
    assert.deepEqual(lighting?.midnightDimming, {
      from: '23:00',
      to: '05:00',
      level: 50,
      days: ['weekday', 'weekend', 'holiday'],
    });
    assert.deepEqual(lighting?.rules, [
      {
        id: 'half-night',
        days: ['weekday', 'weekend', 'holiday'],
        from: '00:30',
        to: '05:00',
        action: 'off',
        level: null,
        targets: ['lc:loop_2'],
      },
    ]);
    assert.deepEqual(lighting?.devices, [
      { device: 'lc', roadClass: 'secondary', loops: [{ loop: 2, phase: 'b', lamps: ['lamp_05'] }] },
    ]);
  });

  it('the shipped example configures lighting against the shipped profiles', () => {
    const config = loadGatewayConfig(join(REPO, 'gateway/config/example.json'), profiles);
    assert.equal(config.lighting?.devices[0]?.loops.length, 4);
    assert.deepEqual(config.lighting?.maintenance, ['lighting:lamp_16']);
    assert.equal(config.lighting?.midnightDimming?.level, 50);
  });
});

describe('lighting config: every problem at once', () => {
  it('needs the site coordinates', () => {
    assertIssue(issues(doc({}, { name: 'Cabinet 7' })), '/site', /latitude and longitude/);
  });

  it('checks zone, dates and clock times', () => {
    const list = issues(
      doc({
        timezone: 'Asia/Peking',
        holidays: ['2025-02-30', '2025-10-01'],
        workdays: ['2025-10-01'],
        midnightDimming: { from: '24:00' },
        astronomical: { onOffsetMin: 500 },
      }),
    );
    assertIssue(list, '/lighting/timezone', /unknown time zone 'Asia\/Peking'/);
    assertIssue(list, '/lighting/holidays/0', /not a calendar date/);
    assertIssue(list, '/lighting/workdays/0', /both as a holiday and as a working day/);
    assertIssue(list, '/lighting/midnightDimming/from', /time of day HH:MM/);
    assertIssue(list, '/lighting/astronomical/onOffsetMin', /<= 180/);
  });

  it('checks devices, loops and lamps against the profiles', () => {
    const list = issues(
      doc({
        devices: [
          {
            device: 'lc',
            loops: [
              { loop: 9 },
              { loop: 1, lamps: ['lamp_17', 'lamp_01'] },
              { loop: 2, lamps: ['lamp_01'] },
              { loop: 1 },
            ],
          },
          { device: 'lc' },
          { device: 'gas' },
          { device: 'nowhere' },
        ],
      }),
    );
    assertIssue(list, '/lighting/devices/0/loops/0/loop', /no loop_9_command/);
    assertIssue(list, '/lighting/devices/0/loops/1/lamps/0', /no single-lamp controller 'lamp_17'/);
    assertIssue(list, '/lighting/devices/0/loops/2/lamps/0', /already on loop 1/);
    assertIssue(list, '/lighting/devices/0/loops/3/loop', /listed twice/);
    assertIssue(list, '/lighting/devices/1/device', /already controlled/);
    assertIssue(
      list,
      '/lighting/devices/2/device',
      /no loop_<n>_command coils and no single-lamp controllers/,
    );
    assertIssue(list, '/lighting/devices/3/device', /no device 'nowhere'/);
  });

  it('checks rules and the maintenance list', () => {
    const list = issues(
      doc({
        rules: [
          { id: 'dim', from: '23:00', to: '05:00', action: 'dim' },
          { id: 'dim', from: '23:00', to: '05:00', action: 'off', level: 10 },
          { id: 'x', from: '23:00', to: '05:00', action: 'on', targets: ['lc:loop_5', 'lc:lamp_03', 'lc'] },
        ],
        maintenance: ['lc:lamp_99', 'lc:lamp_02'],
      }),
    );
    assertIssue(list, '/lighting/rules/0', /needs a level/);
    assertIssue(list, '/lighting/rules/1/id', /duplicate rule id 'dim'/);
    assertIssue(list, '/lighting/rules/1/level', /takes no level/);
    assertIssue(list, '/lighting/rules/2/targets/0', /not a lighting target/);
    assertIssue(list, '/lighting/maintenance/0', /not a lamp of a lighting device/);
    assert.equal(list.filter((i) => i.pointer.startsWith('/lighting/rules/2/targets/')).length, 1);
    assert.equal(list.filter((i) => i.pointer.startsWith('/lighting/maintenance/')).length, 1);
  });

  it('rejects unknown properties and enum values with the schema', () => {
    const list = issues(doc({ roadClass: 'motorway', colour: 'warm' }));
    assertIssue(list, '/lighting/roadClass', /must be one of "main", "secondary"/);
    assertIssue(list, '/lighting/colour', /unknown property/);
  });
});
