/**
 * An owner unit's view of the downlink (issue 12, finding 9): an operator confined to an owner
 * unit reads the commands and configuration of its own gateways only, those with a component of
 * the registry owned by the unit (downlink/routes.ts gatewayVisibleTo). Another unit's gateway is
 * the same 404 as one that does not exist. Through the real API assembly, on SQLite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import { CommandService } from '../../../../cloud-sync/service/downlink/commands.js';
import { ConfigDocumentService } from '../../../../cloud-sync/service/downlink/config-documents.js';
import { upsertComponent } from '../../../../cloud-sync/service/registry/registry.js';
import { buildTestApi } from '../api/harness.js';
import { openTempDb, signIn, type SignedIn, type TempDb } from '../auth/harness.js';
import { enrollGateway, GW, OTHER_GW, RecordingPublisher, silentLogger, testSigner } from './helpers.js';

const DOC = { alarms: { 'gas-1': { h2s: { levels: [{ setpoint: 10 }] } } } };
const SWITCH = { on: false, durationS: 900, reason: 'lamp post knocked over' };

describe("an owner unit sees only its own gateways' commands and configuration", () => {
  let temp: TempDb;
  let app: FastifyInstance;
  let owner: SignedIn;
  let dispatcher: SignedIn;
  const commandOf: Record<string, string> = {};

  before(async () => {
    temp = await openTempDb();
    const { db } = temp;
    const publisher = new RecordingPublisher();
    const commands = new CommandService({ db, publisher, signer: testSigner, logger: silentLogger });
    const configs = new ConfigDocumentService({ db, publisher, signer: testSigner, logger: silentLogger });
    app = await buildTestApi(db, { authLogger: silentLogger, downlink: { commands, configs } });
    // GW carries a drainage company's gas detector; OTHER_GW only the lighting company's lamps.
    const units: Array<[string, string, string]> = [
      [GW, '3301060120000001', 'drainage-co'],
      [OTHER_GW, '3301060111000001', 'lighting-co'],
    ];
    for (const [gatewayId, componentId, ownerUnit] of units) {
      await enrollGateway(db, gatewayId);
      await upsertComponent(db, DEFAULT_CASES_CONFIG, componentId, {
        gatewayId,
        deviceId: 'dev-1',
        family: ownerUnit === 'drainage-co' ? 'gas-detector' : 'lamp-concentrator',
        name: `device of ${ownerUnit}`,
        competentDepartment: 'city-management',
        ownerUnit,
        maintenanceUnit: ownerUnit,
      });
    }
    owner = await signIn(db, { username: 'owner.drain', roles: ['owner_unit'], unit: 'drainage-co' });
    dispatcher = await signIn(db, { username: 'disp.chen', roles: ['dispatcher'] });
    const admin = await signIn(db, { username: 'admin.li', roles: ['admin'] });
    for (const gatewayId of [GW, OTHER_GW]) {
      const issued = await app.inject({
        method: 'POST',
        url: `/api/v1/gateways/${gatewayId}/commands`,
        headers: dispatcher.headers,
        payload: { action: 'lamp.switch', target: 'dev-1:lamp_01', params: SWITCH },
      });
      assert.equal(issued.statusCode, 201, issued.body);
      commandOf[gatewayId] = issued.json<{ id: string }>().id;
      const proposed = await app.inject({
        method: 'POST',
        url: `/api/v1/gateways/${gatewayId}/config`,
        headers: admin.headers,
        payload: { document: DOC },
      });
      assert.equal(proposed.statusCode, 201, proposed.body);
    }
  });
  after(async () => {
    await app.close();
    await temp.close();
  });

  const get = (who: SignedIn, url: string): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'GET', url, headers: who.headers });

  const readsOf = (gatewayId: string): string[] => [
    `/api/v1/gateways/${gatewayId}/commands`,
    `/api/v1/gateways/${gatewayId}/config`,
    `/api/v1/gateways/${gatewayId}/config/versions`,
    `/api/v1/gateways/${gatewayId}/config/overrides`,
  ];

  it('answers its own gateway, and 404 for another unit’s as for one that does not exist', async () => {
    for (const url of readsOf(GW)) assert.equal((await get(owner, url)).statusCode, 200, url);
    const own = await get(owner, `/api/v1/gateways/${GW}/commands`);
    assert.deepEqual(
      own.json<Array<{ id: string }>>().map((command) => command.id),
      [commandOf[GW]],
    );
    assert.equal((await get(owner, `/api/v1/commands/${commandOf[GW]}`)).statusCode, 200);

    for (const url of readsOf(OTHER_GW)) {
      const hidden = await get(owner, url);
      const missing = await get(owner, url.replace(OTHER_GW, 'cab-99'));
      assert.equal(hidden.statusCode, 404, `${url}: ${hidden.body}`);
      assert.equal(missing.statusCode, 404);
      assert.equal(hidden.json<{ error: string }>().error, missing.json<{ error: string }>().error);
      assert.equal(hidden.json<{ error: string }>().error, 'DOWNLINK_UNKNOWN_GATEWAY');
    }
    const otherCommand = await get(owner, `/api/v1/commands/${commandOf[OTHER_GW]}`);
    assert.equal(otherCommand.statusCode, 404, otherCommand.body);
    assert.equal(otherCommand.json<{ error: string }>().error, 'DOWNLINK_NOT_FOUND');
  });

  it('leaves every other role reading every gateway', async () => {
    for (const url of [...readsOf(GW), ...readsOf(OTHER_GW)]) {
      assert.equal((await get(dispatcher, url)).statusCode, 200, url);
    }
    assert.equal((await get(dispatcher, `/api/v1/commands/${commandOf[OTHER_GW]}`)).statusCode, 200);
  });
});
