/**
 * Per-device alarm overrides in the gateway configuration (`devices[].alarms`): schema, rule keys
 * checked against the device's profile, fields that fit the rule's kind, level order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveAlarmRules } from '../../../gateway/alarms/rules.js';
import { validateGatewayConfig } from '../../../gateway/config/validate.js';
import { loadProfileDirectory } from '../../../gateway/profiles/loader.js';
import type { LoadedProfile } from '../../../gateway/profiles/types.js';
import { fakeProfile, validDocument } from './fixtures.js';
import type { Issue } from '../../../cloud-sync/contract/errors.js';

function gasProfile(): LoadedProfile {
  return {
    ...fakeProfile('test-gd1', 2_000, 300),
    children: [{ id: 'head_01', blockId: 'head', index: 1, template: 't', name: { 'zh-CN': 'h', en: 'h' } }],
    alarms: [
      {
        id: 'h2s_high',
        key: 'h2s_high',
        child: null,
        kind: 'high',
        point: 'h2s',
        pointKey: 'h2s',
        levels: [
          { level: 1, setpoint: 10 },
          { level: 2, setpoint: 20 },
        ],
        deadband: 1,
        source: 'test',
      },
      {
        id: 'o2_low',
        key: 'o2_low',
        child: null,
        kind: 'low',
        point: 'o2',
        pointKey: 'o2',
        levels: [{ level: 1, setpoint: 19.5 }],
        source: 'test',
      },
      {
        id: 'fault',
        key: 'head_01.fault',
        child: 'head_01',
        kind: 'boolean',
        point: 'fault',
        pointKey: 'head_01.fault',
        source: 'test',
      },
    ],
  };
}

const PROFILES: ReadonlyMap<string, LoadedProfile> = new Map([
  ['test-gd1', gasProfile()],
  ['test-lc1', fakeProfile('test-lc1', 5_000, 500)],
]);

function withAlarms(alarms: unknown, device = 0): Record<string, unknown> {
  const doc = validDocument();
  const devices = doc['devices'] as Array<Record<string, unknown>>;
  const entry = devices[device];
  assert.ok(entry);
  entry['alarms'] = alarms;
  return doc;
}

function issuesOf(doc: unknown): string[] {
  const result = validateGatewayConfig(doc, PROFILES, { baseDir: '/srv' });
  return result.ok ? [] : result.issues.map((i: Issue) => `${i.pointer}: ${i.message}`);
}

describe('device alarm overrides in the gateway config', () => {
  it('accepts overrides of profile rules, child rules and the implicit comm_loss, and passes them through', () => {
    const alarms = {
      h2s_high: {
        levels: [
          { level: 1, setpoint: 5, priority: 'high' },
          { level: 2, setpoint: 10 },
        ],
        deadband: 0.5,
        onDelayS: 2,
        offDelayS: 5,
        latched: true,
        priority: 'critical',
      },
      'head_01.fault': { enabled: false },
      o2_low: { suppressedByDesign: true },
      comm_loss: { staleAfterS: 120 },
    };
    const result = validateGatewayConfig(withAlarms(alarms), PROFILES, { baseDir: '/srv' });
    assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => `${i.pointer}: ${i.message}`).join('\n'));
    if (!result.ok) return;
    const device = result.config.devices[0];
    assert.deepEqual(device?.alarms, alarms);
    assert.equal(result.config.devices[1]?.alarms, undefined, 'absent when not configured');
    // What the config accepts, the engine resolves.
    const profile = PROFILES.get('test-gd1');
    assert.ok(profile && device?.alarms);
    const rules = resolveAlarmRules(device.id, profile, device.alarms);
    assert.equal(rules.find((r) => r.ruleKey === 'comm_loss')?.staleAfterMs, 120_000);
  });

  it('reports an unknown rule key with its JSON pointer and the rules there are', () => {
    const issues = issuesOf(withAlarms({ nh3_high: { deadband: 1 }, 'head_02.fault': {} }));
    assert.deepEqual(issues, [
      "/devices/0/alarms/nh3_high: no alarm rule 'nh3_high' in profile 'test-gd1' (rules: 'h2s_high', 'o2_low', 'head_01.fault', 'comm_loss')",
      "/devices/0/alarms/head_02.fault: no alarm rule 'head_02.fault' in profile 'test-gd1' (rules: 'h2s_high', 'o2_low', 'head_01.fault', 'comm_loss')",
    ]);
  });

  it('escapes a rule key with / or ~ in the pointer (RFC 6901)', () => {
    const issues = issuesOf(withAlarms({ 'a/b~c': {} }));
    assert.match(issues[0] ?? '', /^\/devices\/0\/alarms\/a~1b~0c: no alarm rule/);
  });

  it('checks the levels order and that setpoints get more severe', () => {
    const issues = issuesOf(
      withAlarms({
        h2s_high: {
          levels: [
            { level: 1, setpoint: 20 },
            { level: 3, setpoint: 10 },
          ],
        },
        o2_low: {
          levels: [
            { level: 1, setpoint: 19.5 },
            { level: 2, setpoint: 21 },
          ],
        },
      }),
    );
    assert.deepEqual(issues, [
      '/devices/0/alarms/h2s_high/levels/1/level: expected level 2: list levels as 1, 2, 3',
      '/devices/0/alarms/h2s_high/levels/1/setpoint: high rule setpoints must rise with the level: 10 is not above 20',
      '/devices/0/alarms/o2_low/levels/1/setpoint: low rule setpoints must fall with the level: 21 is not below 19.5',
    ]);
  });

  it('reports fields that do not apply to the rule kind', () => {
    const issues = issuesOf(
      withAlarms({
        'head_01.fault': { levels: [{ level: 1, setpoint: 1 }], deadband: 1 },
        h2s_high: { staleAfterS: 10, rateLimit: 1 },
      }),
    );
    assert.deepEqual(issues, [
      "/devices/0/alarms/head_01.fault/levels: 'levels' applies only to high and low rules, this one is boolean",
      "/devices/0/alarms/head_01.fault/deadband: 'deadband' applies only to high, low and rate rules, this one is boolean",
      "/devices/0/alarms/h2s_high/rateLimit: 'rateLimit' applies only to rate rules, this one is high",
      "/devices/0/alarms/h2s_high/staleAfterS: 'staleAfterS' applies only to stale and comm_loss rules, this one is high",
    ]);
  });

  it('reports schema problems in an override with their pointers', () => {
    const issues = issuesOf(
      withAlarms({
        h2s_high: { deadband: -1, priority: 'urgent', levels: [{ level: 4, setpoint: 'x' }], colour: 'red' },
        comm_loss: { staleAfterS: 0, enabled: 'no' },
      }),
    );
    for (const expected of [
      /^\/devices\/0\/alarms\/h2s_high\/deadband: must be >= 0, not -1$/,
      /^\/devices\/0\/alarms\/h2s_high\/priority: must be one of "low", "medium", "high", "critical", not "urgent"$/,
      /^\/devices\/0\/alarms\/h2s_high\/levels\/0\/level: must be one of 1, 2, 3, not 4$/,
      /^\/devices\/0\/alarms\/h2s_high\/levels\/0\/setpoint: must be a number, not "x"$/,
      /^\/devices\/0\/alarms\/h2s_high\/colour: unknown property 'colour'$/,
      /^\/devices\/0\/alarms\/comm_loss\/staleAfterS: must be > 0, not 0$/,
      /^\/devices\/0\/alarms\/comm_loss\/enabled: must be a boolean, not "no"$/,
    ]) {
      assert.ok(
        issues.some((i) => expected.test(i)),
        `missing ${expected}; got:\n  ${issues.join('\n  ')}`,
      );
    }
  });

  it('skips the rule-key check when the profile itself is unknown (reported once, at /profile)', () => {
    const doc = withAlarms({ anything: {} });
    const devices = doc['devices'] as Array<Record<string, unknown>>;
    if (devices[0]) devices[0]['profile'] = 'no-such-profile';
    const issues = issuesOf(doc);
    assert.equal(issues.length, 1);
    assert.match(issues[0] ?? '', /^\/devices\/0\/profile: unknown profile/);
  });

  it('checks against the shipped profiles: lamp child rules of the concentrator by key', () => {
    const { profiles } = loadProfileDirectory();
    const doc = {
      gatewayId: 'gw-1',
      site: { name: 'Harbour Road cabinet 7' },
      buses: [{ id: 'line-1', kind: 'rtu', path: '/dev/ttyUSB0' }],
      devices: [
        {
          id: 'lc-1',
          bus: 'line-1',
          unitId: 1,
          profile: 'kerbtek-lc3200',
          alarms: {
            'lamp_03.lamp_failure': { onDelayS: 30 },
            'lamp_04.controller_offline': { levels: [{ level: 1, setpoint: 1 }] },
            leakage_high: {
              levels: [
                { level: 1, setpoint: 10 },
                { level: 2, setpoint: 30 },
              ],
            },
          },
        },
      ],
    };
    const result = validateGatewayConfig(doc, profiles, { baseDir: '/srv' });
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.issues.map((i) => `${i.pointer}: ${i.message}`), [
      "/devices/0/alarms/lamp_04.controller_offline/levels: 'levels' applies only to high and low rules, this one is boolean",
    ]);
  });
});
