/**
 * Configuration documents and local overrides end to end (docs/uplink-contract.md, delivery rule 7;
 * docs/config-downlink.md): the cloud's consumer publishes retained `down/config` documents over
 * the real embedded broker to a real gateway polling a simulated anqi-gd300 gas detector over
 * Modbus TCP. What is checked is what the alarm does on the simulator's readings, and what
 * reaches the cloud: applied / rejected results with pointers, the version surviving a restart, a
 * rollback, local overrides winning over documents until a document clears them, and a re-read
 * configuration file turned into overrides.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CloudService } from '../../../cloud-sync/service/service.js';
import { isDownlinkError } from '../../../gateway/downlink/errors.js';
import { tcpEndpoint, tempDataDir } from '../../helpers/gateway-harness.js';
import {
  cloudEvent,
  configMessage,
  sendConfig,
  startCloud,
  startDownlinkGateway,
  uplinkTo,
  waitUntil,
  type DownlinkHarness,
} from '../../helpers/system-harness.js';

const GAS = 'gas';
const KEY = `${GAS}:h2s_high`;

const levels = (one: number, two = 40): unknown[] => [
  { level: 1, setpoint: one },
  { level: 2, setpoint: two },
];

describe('configuration documents and local overrides', () => {
  let cloud: CloudService;
  let h: DownlinkHarness;

  /** Holds H2S at `value` and returns whether the alarm is active once a poll with it committed. */
  async function tripsAt(value: number): Promise<boolean> {
    h.simulation.device(GAS).hold('h2s', value);
    await h.committedPoll(GAS, (p) => p.readings.some((r) => r.key === 'h2s' && r.value === value));
    await h.committedPoll(GAS);
    return h.db.alarm(KEY)?.active ?? false;
  }

  /** Back to clean air and an acknowledged, normal alarm. */
  async function clear(): Promise<void> {
    h.simulation.device(GAS).hold('h2s', 0);
    await waitUntil('the H2S alarm cleared', () => (h.db.alarm(KEY)?.active ?? false) === false);
    const state = h.db.alarm(KEY)?.state;
    if (state === 'rtn_unacknowledged')
      h.gateway.operateAlarm('acknowledge', KEY, { by: 'test', reason: '' });
  }

  before(async () => {
    cloud = await startCloud(tempDataDir('downlink-config-cloud'));
    h = await startDownlinkGateway({
      name: 'downlink-config',
      buses: [tcpEndpoint('lan')],
      devices: [
        {
          id: GAS,
          bus: 'lan',
          unitId: 1,
          profile: 'anqi-gd300',
          gateway: { pollIntervalMs: 150, timeoutMs: 300 },
        },
      ],
      gatewayOptions: { uplink: uplinkTo(cloud) },
    });
    await waitUntil('the uplink connected', () => h.gateway.metricsSnapshot().uplink?.connected === true);
  });

  after(async () => {
    await h?.stop();
    await cloud?.close();
  });

  it('applies a valid document, rejects a broken one with pointers, keeps it over a restart, rolls back', async () => {
    assert.equal(await tripsAt(7), false, 'the profile default trips at 10 mg/m³, not 7');
    await clear();

    const v1 = configMessage(1, { alarms: { [GAS]: { h2s_high: { levels: levels(5) } } } });
    await sendConfig(cloud, v1);
    const applied = await cloudEvent(cloud, 'config_result', (e) => e.version === 1, 'the v1 result');
    assert.deepEqual([applied.status, applied.activeVersion, applied.errors], ['applied', 1, []]);
    assert.equal(h.gateway.configVersion(), 1);
    assert.equal(await tripsAt(7), true, 'the new set point of 5 is in force');
    await clear();

    const v2 = configMessage(2, {
      alarms: { [GAS]: { h2s_high: { levels: levels(30, 20) }, no_such_rule: { onDelayS: 1 } } },
    });
    await sendConfig(cloud, v2);
    const rejected = await cloudEvent(cloud, 'config_result', (e) => e.version === 2, 'the v2 result');
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.activeVersion, 1);
    const pointers = rejected.errors.map((e) => e.pointer);
    assert.ok(
      pointers.some((p) => p.startsWith(`/alarms/${GAS}/h2s_high/levels`)),
      JSON.stringify(rejected.errors),
    );
    assert.ok(pointers.includes(`/alarms/${GAS}/no_such_rule`), JSON.stringify(rejected.errors));
    assert.equal(h.gateway.configVersion(), 1);
    assert.equal(await tripsAt(7), true, 'the previous version (set point 5) stays in force');
    await clear();

    await h.restart({ uplink: uplinkTo(cloud) });
    assert.equal(h.gateway.configVersion(), 1, 'the applied version survives a restart');
    assert.equal(await tripsAt(7), true, 'and its set point with it');
    await clear();

    // The rollback: a new version carrying the earlier (empty) document.
    await sendConfig(cloud, configMessage(3, {}));
    const rolledBack = await cloudEvent(cloud, 'config_result', (e) => e.version === 3, 'the v3 result');
    assert.equal(rolledBack.status, 'applied');
    assert.equal(await tripsAt(7), false, 'the default set point is back');
    assert.equal(await tripsAt(12), true);
    await clear();
    const versions = h.db.all<{ version: number; status: string; previous_version: number | null }>(
      'SELECT version, status, previous_version FROM config_versions ORDER BY version',
    );
    assert.deepEqual(
      versions.map((v) => [v.version, v.status, v.previous_version]),
      [
        [1, 'applied', null],
        [2, 'rejected', 1],
        [3, 'applied', 1],
      ],
    );
  });

  it('a local override is reported, wins over a later document, and is cleared by clearLocalOverrides', async () => {
    h.gateway.setLocalOverride(`/alarms/${GAS}/h2s_high/levels`, levels(3), 'tech-li', 'sensor recalibrated');
    const set = await cloudEvent(cloud, 'config_override', (e) => e.action === 'set', 'the set event');
    assert.deepEqual(
      [set.pointer, set.value, set.previous, set.by],
      [`/alarms/${GAS}/h2s_high/levels`, levels(3), null, 'tech-li'],
    );
    await sendConfig(cloud, configMessage(4, { alarms: { [GAS]: { h2s_high: { levels: levels(8) } } } }));
    await cloudEvent(
      cloud,
      'config_result',
      (e) => e.version === 4 && e.status === 'applied',
      'the v4 result',
    );
    assert.equal(await tripsAt(5), true, "the local set point of 3 wins over the document's 8");
    await clear();

    assert.throws(
      () => h.gateway.setLocalOverride(`/alarms/${GAS}/h2s_high/onDelayS`, -5, 'tech-li', 'typo'),
      (error: unknown) =>
        isDownlinkError(error, 'DOWNLINK_INVALID') && /onDelayS/.test(error.issues[0]?.pointer ?? ''),
    );
    assert.throws(
      () => h.gateway.setLocalOverride('/buses/0/host', 'x', 'tech-li', null),
      (e: unknown) => isDownlinkError(e, 'DOWNLINK_BAD_POINTER'),
    );

    await sendConfig(
      cloud,
      configMessage(5, { alarms: { [GAS]: { h2s_high: { levels: levels(8) } } }, clearLocalOverrides: true }),
    );
    const cleared = await cloudEvent(
      cloud,
      'config_override',
      (e) => e.action === 'clear',
      'the clear event',
    );
    assert.deepEqual([cleared.pointer, cleared.previous], [`/alarms/${GAS}/h2s_high/levels`, levels(8)]);
    assert.deepEqual(h.gateway.localOverrides(), []);
    assert.equal(await tripsAt(5), false, "the document's set point of 8 is in force again");
    await clear();
  });

  it('a re-read configuration file (SIGHUP) turns changed settings into local overrides', async () => {
    const changed = structuredClone(h.document) as {
      devices: Array<Record<string, unknown>>;
      buses: unknown[];
    };
    const device = changed.devices[0];
    assert.ok(device);
    device['pollIntervalMs'] = 400;
    device['name'] = 'Vault gas detector';
    changed.buses = [...changed.buses, { id: 'extra', kind: 'tcp', host: '127.0.0.1', port: 1 }];
    const summary = h.gateway.reloadConfigFile(changed);
    assert.deepEqual(summary.overrides.sort(), [`/devices/${GAS}/name`, `/devices/${GAS}/pollIntervalMs`]);
    assert.deepEqual(summary.restartNeeded, ['buses']);
    const gas = h.gateway.effectiveConfig().devices.find((d) => d.id === GAS);
    assert.deepEqual([gas?.pollIntervalMs, gas?.name], [400, 'Vault gas detector']);
    const event = await cloudEvent(
      cloud,
      'config_override',
      (e) => e.pointer === `/devices/${GAS}/pollIntervalMs`,
      'the file change reported',
    );
    assert.deepEqual(
      [event.value, event.by, event.reason],
      [400, 'local-file', 'configuration file changed'],
    );
  });
});
