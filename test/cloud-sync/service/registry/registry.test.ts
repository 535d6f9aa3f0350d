/**
 * The component registry on a real SQLite database (registry/registry.ts) and over HTTP
 * (registry/routes.ts behind the real auth plugin): register, replace, look up by device, filter,
 * delete; a device held by another id is a conflict; a bulk import writes all or nothing and names
 * every bad record by index.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_CASES_CONFIG, type CasesConfig } from '../../../../cloud-sync/service/cases/config.js';
import { RegistryError } from '../../../../cloud-sync/service/registry/errors.js';
import {
  deleteComponent,
  findComponentByDevice,
  getComponent,
  importComponents,
  listComponents,
  upsertComponent,
  type ComponentInput,
} from '../../../../cloud-sync/service/registry/registry.js';
import { buildTestApi } from '../api/harness.js';
import { openTempDb, signIn, type TempDb } from '../auth/harness.js';

const CONFIG: CasesConfig = { ...structuredClone(DEFAULT_CASES_CONFIG), countyCode: '110105' };
const NOW = new Date('2024-06-03T01:00:00.000Z');

const SEWER = '1101050102000123';
const LAMP = '1101050110000001';

const cover: ComponentInput = {
  gatewayId: 'gw-chaoyang-01',
  deviceId: 'cover-7',
  family: 'manhole-cover',
  name: 'Sewer cover, Guanghua Rd 7',
  gridCell: '110105001001001',
  address: 'Guanghua Rd 7',
  latitude: 39.9139,
  longitude: 116.4554,
  competentDepartment: 'Chaoyang Water Authority',
  ownerUnit: 'Beijing Drainage Group',
  maintenanceUnit: 'Drainage Maintenance Team 3',
};

const lamp: ComponentInput = {
  gatewayId: 'gw-chaoyang-01',
  deviceId: 'concentrator-1',
  family: 'lamp-concentrator',
  name: 'Lighting concentrator 1',
  competentDepartment: 'Chaoyang City Management Committee',
  ownerUnit: 'Chaoyang Street Lighting',
  maintenanceUnit: 'Lighting Team 1',
};

function registryError(code: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof RegistryError && error.code === code;
}

describe('component registry (store)', () => {
  let temp: TempDb;
  before(async () => {
    temp = await openTempDb('kerbside-registry-');
  });
  after(async () => {
    await temp.close();
  });
  beforeEach(async () => {
    await temp.db.deleteFrom('components').execute();
    await temp.db.deleteFrom('admin_audit').execute();
  });

  it('registers, replaces, finds by device, filters and deletes', async () => {
    const first = await upsertComponent(temp.db, CONFIG, SEWER, cover, NOW);
    assert.equal(first.created, true);
    assert.equal(first.component.classCode, '0102', 'the class comes from the id');
    await upsertComponent(temp.db, CONFIG, LAMP, lamp, NOW);
    const replaced = await upsertComponent(temp.db, CONFIG, SEWER, { ...cover, name: 'Renamed' }, NOW);
    assert.equal(replaced.created, false);
    assert.equal((await getComponent(temp.db, SEWER))?.name, 'Renamed');
    assert.equal((await findComponentByDevice(temp.db, 'gw-chaoyang-01', 'cover-7'))?.componentId, SEWER);
    assert.equal(await findComponentByDevice(temp.db, 'gw-chaoyang-01', 'nobody'), null);
    assert.deepEqual(
      (await listComponents(temp.db, { classCode: '0110' })).map((c) => c.componentId),
      [LAMP],
    );
    assert.deepEqual(
      (await listComponents(temp.db, { gridCell: '110105001001001' })).map((c) => c.componentId),
      [SEWER],
    );
    assert.deepEqual(
      (await listComponents(temp.db, { gatewayId: 'gw-chaoyang-01' })).map((c) => c.componentId),
      [SEWER, LAMP],
    );
    assert.equal((await getComponent(temp.db, LAMP))?.gridCell, null);
    assert.equal(await deleteComponent(temp.db, LAMP), true);
    assert.equal(await deleteComponent(temp.db, LAMP), false);
  });

  it('refuses a device that another component id holds, and invalid components with every issue', async () => {
    await upsertComponent(temp.db, CONFIG, SEWER, cover, NOW);
    await assert.rejects(
      upsertComponent(temp.db, CONFIG, '1101050102000124', cover, NOW),
      registryError('REGISTRY_CONFLICT'),
    );
    await assert.rejects(
      upsertComponent(
        temp.db,
        CONFIG,
        '3101150999000000',
        { ...cover, gridCell: '123', latitude: 91, ownerUnit: ' ' },
        NOW,
      ),
      (error: unknown) => {
        assert.ok(error instanceof RegistryError && error.code === 'REGISTRY_INVALID');
        assert.deepEqual(
          error.issues.map((issue) => issue.pointer),
          ['/componentId', '/componentId', '/componentId', '/ownerUnit', '/gridCell', '/latitude'],
        );
        return true;
      },
    );
  });

  it('imports a clean file in one transaction with an audit row', async () => {
    await upsertComponent(temp.db, CONFIG, SEWER, cover, NOW);
    const result = await importComponents(
      temp.db,
      CONFIG,
      [
        { componentId: SEWER, ...cover, name: 'Imported name' },
        { componentId: LAMP, ...lamp },
      ],
      'admin.zhang',
      NOW,
    );
    assert.deepEqual(result, { imported: 2, created: 1, updated: 1 });
    assert.equal((await getComponent(temp.db, SEWER))?.name, 'Imported name');
    const audit = await temp.db.selectFrom('admin_audit').selectAll().execute();
    assert.deepEqual(
      audit.map((row) => [row.actor, row.action, row.target, JSON.parse(row.detail ?? 'null')]),
      [['admin.zhang', 'component.import', 'components', { imported: 2, created: 1, updated: 1 }]],
    );
  });

  it('refuses a file with bad records, naming each by a pointer into the file, and writes nothing', async () => {
    await upsertComponent(temp.db, CONFIG, SEWER, cover, NOW);
    await assert.rejects(
      importComponents(
        temp.db,
        CONFIG,
        [
          { componentId: LAMP, ...lamp }, // 0: fine
          { componentId: '1101050102000999', ...cover }, // 1: cover-7 is SEWER in the database
          { componentId: LAMP, ...lamp, deviceId: 'concentrator-2' }, // 2: LAMP twice
          { componentId: '1101050110000002', ...lamp }, // 3: concentrator-1 twice in the file
          'not a record', // 4
          { componentId: '1101050110000003', ...lamp, deviceId: 'c-3', colour: 'red' }, // 5: unknown field
        ],
        'admin.zhang',
        NOW,
      ),
      (error: unknown) => {
        assert.ok(error instanceof RegistryError && error.code === 'REGISTRY_INVALID');
        assert.deepEqual(
          error.issues.map((issue) => issue.pointer),
          ['/2/componentId', '/3/deviceId', '/4/componentId', '/4', '/5/colour', '/1/deviceId'],
        );
        return true;
      },
    );
    assert.equal(await getComponent(temp.db, LAMP), null, 'nothing written');
    assert.equal((await temp.db.selectFrom('admin_audit').selectAll().execute()).length, 0);
  });
});

describe('component registry (HTTP)', () => {
  let temp: TempDb;
  let app: FastifyInstance;
  let admin: { authorization: string };
  let dispatcher: { authorization: string };

  before(async () => {
    temp = await openTempDb('kerbside-registry-http-');
    app = await buildTestApi(temp.db, { cases: { config: CONFIG }, now: () => NOW });
    admin = (await signIn(temp.db, { username: 'admin.zhang', roles: ['admin'] })).headers;
    dispatcher = (await signIn(temp.db, { username: 'disp.wang', roles: ['dispatcher'] })).headers;
  });
  after(async () => {
    await app.close();
    await temp.close();
  });

  it('registers (201), replaces (200), reads, lists with filters and deletes', async () => {
    const created = await app.inject({
      method: 'PUT',
      url: `/api/v1/components/${SEWER}`,
      headers: admin,
      payload: cover,
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.deepEqual(created.json(), {
      componentId: SEWER,
      classCode: '0102',
      ...cover,
      updatedAt: NOW.toISOString(),
    });
    const replaced = await app.inject({
      method: 'PUT',
      url: `/api/v1/components/${SEWER}`,
      headers: admin,
      payload: { ...cover, name: 'Renamed' },
    });
    assert.equal(replaced.statusCode, 200);
    await app.inject({ method: 'PUT', url: `/api/v1/components/${LAMP}`, headers: admin, payload: lamp });

    const one = await app.inject({ method: 'GET', url: `/api/v1/components/${SEWER}`, headers: dispatcher });
    assert.equal(one.json().name, 'Renamed');
    const lamps = await app.inject({
      method: 'GET',
      url: '/api/v1/components?classCode=0110',
      headers: dispatcher,
    });
    assert.deepEqual(
      lamps.json().components.map((c: { componentId: string }) => c.componentId),
      [LAMP],
    );
    const byUnit = await app.inject({
      method: 'GET',
      url: `/api/v1/components?ownerUnit=${encodeURIComponent('Beijing Drainage Group')}`,
      headers: dispatcher,
    });
    assert.deepEqual(
      byUnit.json().components.map((c: { componentId: string }) => c.componentId),
      [SEWER],
    );

    const deleted = await app.inject({ method: 'DELETE', url: `/api/v1/components/${LAMP}`, headers: admin });
    assert.deepEqual(deleted.json(), { deleted: LAMP });
    const gone = await app.inject({ method: 'GET', url: `/api/v1/components/${LAMP}`, headers: dispatcher });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().error, 'REGISTRY_NOT_FOUND');
    const again = await app.inject({ method: 'DELETE', url: `/api/v1/components/${LAMP}`, headers: admin });
    assert.equal(again.statusCode, 404);
  });

  it('answers 400 with every issue, 409 for a device of another id, 403 for a non-admin', async () => {
    const invalid = await app.inject({
      method: 'PUT',
      url: '/api/v1/components/3101150999000000',
      headers: admin,
      payload: { ...cover, deviceId: 'cover-8', gridCell: '1', longitude: 200 },
    });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json().error, 'REGISTRY_INVALID');
    assert.deepEqual(
      invalid.json().issues.map((issue: { pointer: string }) => issue.pointer),
      ['/componentId', '/componentId', '/componentId', '/gridCell', '/longitude'],
    );
    const missing = await app.inject({
      method: 'PUT',
      url: `/api/v1/components/${SEWER}`,
      headers: admin,
      payload: { gatewayId: 'gw-chaoyang-01' },
    });
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().error, 'REQUEST_INVALID');

    const conflict = await app.inject({
      method: 'PUT',
      url: '/api/v1/components/1101050102000124',
      headers: admin,
      payload: cover,
    });
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json().error, 'REGISTRY_CONFLICT');
    assert.match(conflict.json().message, new RegExp(SEWER));

    const forbidden = await app.inject({
      method: 'PUT',
      url: '/api/v1/components/1101050102000125',
      headers: dispatcher,
      payload: { ...cover, deviceId: 'cover-9' },
    });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(await getComponent(temp.db, '1101050102000125'), null);
  });

  it('lists the configured class table', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/component-classes',
      headers: dispatcher,
    });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.countyCode, '110105');
    assert.deepEqual(body.classes[1], {
      code: '0102',
      majorClass: '01',
      subclass: '02',
      name: { 'zh-CN': '污水井盖', en: 'Sewer manhole cover' },
    });
    assert.equal(body.classes.length, DEFAULT_CASES_CONFIG.classes.length);
  });
});
