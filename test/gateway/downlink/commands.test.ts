/**
 * Cloud commands end to end (docs/uplink-contract.md, delivery rule 7; docs/commands.md): the cloud
 * service's consumer publishes on `down/cmd` over the real embedded broker; a real gateway polls a
 * simulated kerbtek-lc3200 lamp concentrator and an anqi-gd300 gas detector over Modbus TCP. A lamp
 * command reaches the concentrator's coil and a 'succeeded' command_result reaches the cloud; the
 * same id again is a 'duplicate' and not run again; an expired command changes nothing; an invalid
 * one is 'rejected'; alarm.acknowledge acknowledges a real active alarm. And a command row left
 * 'running' by a crash is reported 'failed' at the next start.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CloudService } from '../../../cloud-sync/service/service.js';
import type { CommandResultEvent } from '../../../cloud-sync/contract/events.js';
import { openGatewayStore } from '../../../gateway/store/event-store.js';
import { tcpEndpoint, tempDataDir } from '../../helpers/gateway-harness.js';
import {
  cloudEvent,
  cloudEvents,
  sendCommand,
  startCloud,
  startDownlinkGateway,
  uplinkTo,
  waitUntil,
  type DownlinkHarness,
} from '../../helpers/system-harness.js';

const LC = 'lighting';
const GAS = 'gas';

function command(action: string, target: string, params: Record<string, unknown>, expiresInMs = 60_000) {
  const issued = Date.now();
  return {
    id: randomUUID(),
    issuedAt: new Date(issued).toISOString(),
    expiresAt: new Date(issued + expiresInMs).toISOString(),
    target,
    action,
    params,
  };
}

function resultOf(id: string) {
  return (e: CommandResultEvent): boolean => e.commandId === id;
}

describe('cloud commands through the real broker to the simulated devices', () => {
  let cloud: CloudService;
  let h: DownlinkHarness;

  before(async () => {
    cloud = await startCloud(tempDataDir('downlink-cloud'));
    h = await startDownlinkGateway({
      name: 'downlink-cmd',
      buses: [tcpEndpoint('lan')],
      devices: [
        {
          id: LC,
          bus: 'lan',
          unitId: 1,
          profile: 'kerbtek-lc3200',
          gateway: { pollIntervalMs: 200, timeoutMs: 300 },
        },
        {
          id: GAS,
          bus: 'lan',
          unitId: 2,
          profile: 'anqi-gd300',
          gateway: { pollIntervalMs: 200, timeoutMs: 300 },
        },
      ],
      config: {
        site: { name: 'downlink cabinet', latitude: 31.2304, longitude: 121.4737 },
        lighting: { rules: [{ id: 'all-day-on', from: '00:00', to: '00:00', action: 'on' }] },
      },
      gatewayOptions: { uplink: uplinkTo(cloud) },
    });
    const lc = h.simulation.device(LC);
    // The schedule switches every loop on first (the all-day rule).
    await waitUntil(
      'the schedule switched loop 1 and loop 2 on',
      () => lc.get('loop_1_command') === true && lc.get('loop_2_command') === true,
    );
    await waitUntil('the uplink connected', () => h.gateway.metricsSnapshot().uplink?.connected === true);
  });

  after(async () => {
    await h?.stop();
    await cloud?.close();
  });

  it('lamp and loop commands reach the concentrator; duplicate, expired and invalid ones do not', async () => {
    const lc = h.simulation.device(LC);
    const off = command('loop.switch', `${LC}:loop_1`, {
      on: false,
      durationS: 600,
      by: 'ops',
      reason: 'cable repair',
    });
    await sendCommand(cloud, off);
    const done = await cloudEvent(cloud, 'command_result', resultOf(off.id), 'the loop.switch result');
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.action, 'loop.switch');
    assert.equal(lc.get('loop_1_command'), false, 'the concentrator coil was switched off');
    const writes = async (): Promise<number> =>
      (await cloudEvents(cloud, 'lighting_action')).filter(
        (e) => e.target === 'loop_1' && e.reason === 'command' && e.ok,
      ).length;
    await cloudEvent(
      cloud,
      'lighting_action',
      (e) => e.target === 'loop_1' && e.reason === 'command',
      'the write',
    );

    // The same id again: answered 'duplicate', not run again.
    await sendCommand(cloud, off);
    const dup = await cloudEvent(
      cloud,
      'command_result',
      (e) => e.commandId === off.id && e.status === 'duplicate',
      'the duplicate result',
    );
    assert.match(dup.error ?? '', /already received/);
    assert.equal(
      await writes(),
      1,
      'no second write for the duplicate (events before the result have arrived)',
    );
    assert.equal(h.db.all('SELECT id FROM commands WHERE id = ?', off.id).length, 1);

    // Expired on arrival: recorded and answered, the coil untouched.
    const expired = {
      ...command('loop.switch', `${LC}:loop_2`, { on: false, durationS: 600, by: 'ops', reason: 'late' }),
    };
    expired.issuedAt = new Date(Date.now() - 120_000).toISOString();
    expired.expiresAt = new Date(Date.now() - 60_000).toISOString();
    await sendCommand(cloud, expired);
    const late = await cloudEvent(cloud, 'command_result', resultOf(expired.id), 'the expired result');
    assert.equal(late.status, 'expired');
    assert.equal(lc.get('loop_2_command'), true, 'an expired command changes nothing');

    // Invalid with a readable id: rejected with the issues.
    const invalidId = randomUUID();
    await sendCommand(cloud, { id: invalidId, action: 'lamp.dim', target: `${LC}:lamp_01` });
    const rejected = await cloudEvent(cloud, 'command_result', resultOf(invalidId), 'the rejected result');
    assert.equal(rejected.status, 'rejected');
    assert.match(rejected.error ?? '', /issuedAt/);

    // An unknown target fails with the reason.
    const unknown = command('loop.switch', `${LC}:loop_9`, {
      on: true,
      durationS: 60,
      by: 'ops',
      reason: 'test',
    });
    await sendCommand(cloud, unknown);
    const failed = await cloudEvent(
      cloud,
      'command_result',
      resultOf(unknown.id),
      'the unknown-target result',
    );
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /loop_9/);

    // Unreadable: counted, nothing answered.
    await sendCommand(cloud, '{"not": "a command"}');
    await waitUntil(
      'the unreadable command counted',
      () => h.gateway.downlinkStats().commands?.unreadable === 1,
    );
    const stats = h.gateway.downlinkStats().commands?.results ?? {};
    assert.equal(stats['loop.switch succeeded'], 1);
    assert.equal(stats['loop.switch duplicate'], 1);
    assert.equal(stats['loop.switch expired'], 1);
  });

  it('alarm.acknowledge acknowledges a real active alarm; an illegal one is rejected', async () => {
    const gas = h.simulation.device(GAS);
    gas.hold('h2s', 15);
    const key = `${GAS}:h2s_high`;
    await waitUntil(
      'the H2S alarm is active and unacknowledged',
      () => h.db.alarm(key)?.state === 'unacknowledged',
    );
    const ack = command('alarm.acknowledge', key, { by: 'ops-desk', reason: 'crew dispatched' });
    await sendCommand(cloud, ack);
    const done = await cloudEvent(cloud, 'command_result', resultOf(ack.id), 'the acknowledge result');
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(h.db.alarm(key)?.state, 'acknowledged');
    const transition = await cloudEvent(
      cloud,
      'alarm_transition',
      (e) => e.alarmKey === key && e.to === 'acknowledged',
      'the acknowledge transition in the cloud',
    );
    assert.deepEqual(
      [transition.cause, transition.by, transition.reason],
      ['operation', 'ops-desk', 'crew dispatched'],
    );

    const shelve = command('alarm.shelve', `${GAS}:no_such_rule`, {
      by: 'ops',
      reason: 'x',
      mode: 'one-shot',
    });
    await sendCommand(cloud, shelve);
    const refused = await cloudEvent(cloud, 'command_result', resultOf(shelve.id), 'the refused shelve');
    assert.equal(refused.status, 'rejected');
    assert.match(refused.error ?? '', /no_such_rule/);
    gas.release('h2s');
  });
});

describe('a command interrupted by a crash', () => {
  it('is reported failed at the next start, not run again', async () => {
    const id = randomUUID();
    const h = await startDownlinkGateway({
      name: 'downlink-crash',
      buses: [tcpEndpoint('lan')],
      devices: [{ id: GAS, bus: 'lan', unitId: 2, profile: 'anqi-gd300', gateway: { pollIntervalMs: 200 } }],
      beforeStart: (dataDir) => {
        // What a crash mid-command leaves: the row committed 'running', no result.
        const store = openGatewayStore(dataDir, { logger: pino({ level: 'silent' }) });
        const now = store.now();
        store.commitCycle({
          downlink: [
            {
              kind: 'command',
              row: {
                id,
                issuedAt: new Date().toISOString(),
                expiresAt: new Date(Date.now() + 60_000).toISOString(),
                target: `${GAS}:h2s_high`,
                action: 'alarm.acknowledge',
                params: '{"by":"ops"}',
                status: 'running',
                error: null,
                receivedMonoMs: now.monoMs,
                receivedWallMs: now.wallMs,
                finishedMonoMs: null,
                finishedWallMs: null,
              },
            },
          ],
        });
        store.close();
      },
    });
    try {
      const results = h.db.outbox<CommandResultEvent>('command_result').map((r) => r.body);
      assert.deepEqual(
        results.map((r) => [r.commandId, r.status, r.error]),
        [[id, 'failed', 'interrupted by a restart; outcome unknown']],
      );
      const row = h.db.all<{ status: string }>('SELECT status FROM commands WHERE id = ?', id)[0];
      assert.equal(row?.status, 'failed');
    } finally {
      await h.stop();
    }
  });
});
