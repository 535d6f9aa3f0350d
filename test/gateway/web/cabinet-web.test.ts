/**
 * startCabinetWeb (gateway/web/cabinet-web.ts): the web UI over a running gateway is an optional
 * module. When it cannot start (its port taken) the gateway runs on without it and keeps no part
 * of it: the port's subscriptions to the gateway's events are let go.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { GatewayEventName } from '../../../gateway/events/event-bus.js';
import { startCabinetWeb } from '../../../gateway/web/cabinet-web.js';
import { startScenario, tcpEndpoint, type ScenarioHarness } from '../../helpers/gateway-harness.js';

const EVENTS: readonly GatewayEventName[] = [
  'poll:result',
  'alarm:changed',
  'lighting:action',
  'strain:vehicle',
  'strain:overweight',
  'strain:statistics',
];
const silent = pino({ level: 'silent' });

describe('startCabinetWeb', () => {
  let site: ScenarioHarness;
  before(async () => {
    site = await startScenario({
      name: 'cabinet-web',
      buses: [tcpEndpoint('lan')],
      devices: [{ id: 'gas-1', bus: 'lan', unitId: 1, profile: 'anqi-gd300' }],
    });
  });
  after(() => site.stop());

  const listeners = (): number[] => EVENTS.map((name) => site.gateway.events.listenerCount(name));

  it('returns null when its port is taken, and lets go of the gateway events it had subscribed to', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (taken.address() as AddressInfo).port;
    const before = listeners();
    try {
      const config = { ...site.config, web: { ...site.config.web, host: '127.0.0.1', port, tls: false } };
      assert.equal(await startCabinetWeb(site.gateway, config, silent), null);
      assert.deepEqual(listeners(), before);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('serves on a free port, subscribed while it runs, and lets go when closed', async () => {
    const before = listeners();
    const config = { ...site.config, web: { ...site.config.web, host: '127.0.0.1', port: 0, tls: false } };
    const web = await startCabinetWeb(site.gateway, config, silent);
    assert.ok(web !== null);
    assert.ok(
      listeners().some((n, i) => n > (before[i] ?? 0)),
      'the web UI listens to the gateway',
    );
    await web.close();
    assert.deepEqual(listeners(), before);
  });
});
