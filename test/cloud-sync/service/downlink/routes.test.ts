/**
 * The downlink HTTP API through fastify's inject, behind the real auth plugin (sessions, roles,
 * audit) on SQLite, with a recording publisher in place of the broker; and what its OpenAPI
 * document says about each command's params.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { configDocumentHash } from '../../../../cloud-sync/contract/config-document.js';
import { createOperator } from '../../../../cloud-sync/service/auth/operators.js';
import { createSession } from '../../../../cloud-sync/service/auth/sessions.js';
import { openCloudDatabase } from '../../../../cloud-sync/service/db/open.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import { CommandService } from '../../../../cloud-sync/service/downlink/commands.js';
import { ConfigDocumentService } from '../../../../cloud-sync/service/downlink/config-documents.js';
import { buildTestApi, SCRAPE_HEADERS } from '../api/harness.js';
import {
  Clock,
  enrollGateway,
  GW,
  RecordingPublisher,
  ResultUplink,
  silentLogger,
  testSigner,
} from './helpers.js';

const SWITCH = { on: false, durationS: 900, reason: 'lamp post knocked over' };
const DOC = { alarms: { 'gas-1': { h2s: { levels: [{ setpoint: 10 }] } } } };

describe('downlink routes', () => {
  let dir: string;
  let db: Kysely<CloudSchema>;
  let app: FastifyInstance;
  let publisher: RecordingPublisher;
  let uplink: ResultUplink;
  const tokens: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kerbside-downlink-routes-'));
    db = await openCloudDatabase({ sqlitePath: join(dir, 'cloud.sqlite') });
    await enrollGateway(db, GW);
    const now = new Date();
    for (const [username, roles] of [
      ['mon.wang', ['monitoring']],
      ['disp.chen', ['dispatcher']],
      ['admin.li', ['admin']],
      ['insp.zhao', ['inspector']],
    ] as const) {
      await createOperator(db, { username, roles, password: `a long password for ${username}` }, now);
      tokens[username] = (await createSession(db, username, now)).token;
    }
    publisher = new RecordingPublisher();
    const clock = new Clock(new Date());
    uplink = new ResultUplink(db, clock);
    const commands = new CommandService({ db, publisher, signer: testSigner, logger: silentLogger });
    const configs = new ConfigDocumentService({ db, publisher, signer: testSigner, logger: silentLogger });
    app = await buildTestApi(db, { authLogger: silentLogger, downlink: { commands, configs } });
    await app.ready();
  });

  after(async () => {
    await app.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  function call(method: 'GET' | 'POST', url: string, as: string | null, payload?: unknown) {
    return app.inject({
      method,
      url,
      headers: as === null ? {} : { authorization: `Bearer ${tokens[as]}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  }

  describe('commands', () => {
    it('a dispatcher switches a lamp: 201 with the stored command, params.by is the operator, audited', async () => {
      const response = await call('POST', `/api/v1/gateways/${GW}/commands`, 'disp.chen', {
        action: 'lamp.switch',
        target: 'loop-2/lamp-7',
        params: SWITCH,
        ttlS: 120,
      });
      assert.equal(response.statusCode, 201, response.body);
      const body = response.json();
      assert.equal(body.gatewayId, GW);
      assert.equal(body.status, 'sent');
      assert.equal(body.issuedBy, 'disp.chen');
      assert.deepEqual(body.params, { ...SWITCH, by: 'disp.chen' });
      assert.equal(Date.parse(body.expiresAt) - Date.parse(body.issuedAt), 120_000);
      assert.equal(JSON.parse(publisher.messages.at(-1)?.payload ?? '{}').id, body.id);

      const audit = await db
        .selectFrom('admin_audit')
        .selectAll()
        .where('action', '=', 'POST /api/v1/gateways/:gatewayId/commands')
        .execute();
      assert.equal(audit.length, 1);
      assert.equal(audit[0]?.actor, 'disp.chen');
      assert.equal(audit[0]?.target, GW);
      assert.equal(audit[0]?.outcome, 'ok');
      assert.deepEqual(JSON.parse(audit[0]?.detail ?? '{}'), {
        action: 'lamp.switch',
        target: 'loop-2/lamp-7',
        commandId: body.id,
      });

      const one = await call('GET', `/api/v1/commands/${body.id}`, 'insp.zhao');
      assert.equal(one.statusCode, 200);
      assert.deepEqual(one.json(), body);
      await uplink.send(GW, [
        {
          kind: 'command_result',
          commandId: body.id,
          action: 'lamp.switch',
          target: 'loop-2/lamp-7',
          status: 'succeeded',
          error: null,
        },
      ]);
      const list = await call('GET', `/api/v1/gateways/${GW}/commands?status=succeeded&limit=5`, 'admin.li');
      assert.equal(list.statusCode, 200);
      assert.deepEqual(
        list.json().map((c: { id: string; status: string }) => [c.id, c.status]),
        [[body.id, 'succeeded']],
      );
    });

    it('alarm operations are for the monitoring centre only', async () => {
      const payload = {
        action: 'alarm.acknowledge',
        target: 'gas-1:h2s',
        params: { reason: 'seen on CCTV' },
      };
      const refused = await call('POST', `/api/v1/gateways/${GW}/commands`, 'disp.chen', payload);
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().error, 'AUTH_FORBIDDEN');
      const accepted = await call('POST', `/api/v1/gateways/${GW}/commands`, 'mon.wang', payload);
      assert.equal(accepted.statusCode, 201, accepted.body);
      assert.equal(accepted.json().params.by, 'mon.wang');
      const inspector = await call('POST', `/api/v1/gateways/${GW}/commands`, 'insp.zhao', {
        action: 'lamp.switch',
        target: 'lamp-1',
        params: SWITCH,
      });
      assert.equal(inspector.statusCode, 403, 'the route admits monitoring and dispatcher only');
      assert.equal((await call('POST', `/api/v1/gateways/${GW}/commands`, null, payload)).statusCode, 401);
    });

    it('refuses bad commands with 400 and every issue', async () => {
      const published = publisher.messages.length;
      const bad = await call('POST', `/api/v1/gateways/${GW}/commands`, 'mon.wang', {
        action: 'lamp.dim',
        target: 'loop-1',
        params: { level: -5, durationS: 100_000 },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error, 'REQUEST_INVALID');
      assert.deepEqual(
        bad
          .json()
          .issues.map((i: { pointer: string }) => i.pointer)
          .sort(),
        ['/params/durationS', '/params/level', '/params/reason'],
      );
      const withBy = await call('POST', `/api/v1/gateways/${GW}/commands`, 'mon.wang', {
        action: 'lamp.switch',
        target: 'loop-1',
        params: { ...SWITCH, by: 'someone.else' },
      });
      assert.equal(withBy.statusCode, 400);
      assert.deepEqual(withBy.json().issues, [
        { pointer: '/params/by', message: 'is set from the signed-in operator, not from the request' },
      ]);
      const extra = await call('POST', `/api/v1/gateways/${GW}/commands`, 'mon.wang', {
        action: 'lamp.switch',
        target: 'loop-1',
        params: SWITCH,
        priority: 'now',
        ttlS: '60',
      });
      assert.equal(
        extra.statusCode,
        400,
        'unknown fields and wrong types are refused, not dropped or coerced',
      );
      assert.deepEqual(
        extra
          .json()
          .issues.map((i: { pointer: string }) => i.pointer)
          .sort(),
        ['/priority', '/ttlS'],
      );
      assert.equal(publisher.messages.length, published, 'nothing was published');
    });

    it("checks each action's params at the door and names an unknown action's choices", async () => {
      const published = publisher.messages.length;
      const unknown = await call('POST', `/api/v1/gateways/${GW}/commands`, 'mon.wang', {
        action: 'lamp.blink',
        target: 'loop-1',
        params: SWITCH,
      });
      assert.equal(unknown.statusCode, 400);
      assert.deepEqual(unknown.json().issues, [
        {
          pointer: '/action',
          message:
            'unknown action "lamp.blink": must be one of "lamp.switch", "lamp.dim", "loop.switch", "alarm.acknowledge", "alarm.shelve"',
        },
      ]);
      // lamp.dim's params on lamp.switch: the branch of the action is what checks them.
      const mixed = await call('POST', `/api/v1/gateways/${GW}/commands`, 'disp.chen', {
        action: 'lamp.switch',
        target: 'loop-1',
        params: { level: 40, durationS: 600, reason: 'dusk test' },
      });
      assert.equal(mixed.statusCode, 400);
      assert.deepEqual(
        mixed
          .json()
          .issues.map((i: { pointer: string; message: string }) => `${i.pointer} ${i.message}`)
          .sort(),
        ['/params/level is not a field of this request', '/params/on is required'],
      );
      assert.match(mixed.json().message, /\/params\/level is not a field of this request/);
      assert.equal(publisher.messages.length, published, 'nothing was published');
    });

    it('404 for an unknown gateway or command', async () => {
      const unknown = await call('POST', '/api/v1/gateways/cab-77/commands', 'mon.wang', {
        action: 'lamp.switch',
        target: 'loop-1',
        params: SWITCH,
      });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().error, 'DOWNLINK_UNKNOWN_GATEWAY');
      assert.equal((await call('GET', '/api/v1/gateways/cab-77/commands', 'mon.wang')).statusCode, 404);
      const missing = await call('GET', '/api/v1/commands/3f1d9c7e-0000-4000-8000-000000000000', 'mon.wang');
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error, 'DOWNLINK_NOT_FOUND');
    });
  });

  describe('OpenAPI document', () => {
    /** What an operator sends in `params` per action (the contract's fields without `by`). */
    const EXPECTED_PARAMS: Record<string, { fields: string[]; required: string[] }> = {
      'lamp.switch': { fields: ['on', 'durationS', 'reason'], required: ['on', 'durationS', 'reason'] },
      'lamp.dim': { fields: ['level', 'durationS', 'reason'], required: ['level', 'durationS', 'reason'] },
      'loop.switch': { fields: ['on', 'durationS', 'reason'], required: ['on', 'durationS', 'reason'] },
      'alarm.acknowledge': { fields: ['reason'], required: [] },
      'alarm.shelve': { fields: ['reason', 'mode', 'durationS'], required: ['reason', 'mode'] },
    };

    interface Schema {
      title?: string;
      description?: string;
      required?: string[];
      additionalProperties?: boolean;
      properties?: Record<string, Schema>;
      enum?: string[];
      oneOf?: Schema[];
      discriminator?: { propertyName: string };
    }

    it('describes the params of each command action, told apart by action', async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/api/v1/openapi.json',
        headers: SCRAPE_HEADERS,
      });
      assert.equal(response.statusCode, 200);
      const op = response.json<{
        paths: Record<
          string,
          Record<string, { requestBody: { content: Record<string, { schema: Schema }> } }>
        >;
      }>().paths['/api/v1/gateways/{gatewayId}/commands']?.['post'];
      const body = op?.requestBody.content['application/json']?.schema;
      assert.ok(body !== undefined, 'the command route documents its body');
      assert.deepEqual(body.discriminator, { propertyName: 'action' });
      const branches = new Map(
        (body.oneOf ?? []).map((branch) => [branch.properties?.['action']?.enum?.[0], branch]),
      );
      assert.deepEqual([...branches.keys()].sort(), Object.keys(EXPECTED_PARAMS).sort());
      for (const [action, expected] of Object.entries(EXPECTED_PARAMS)) {
        const branch = branches.get(action);
        assert.ok(
          branch?.description !== undefined && branch.description.length > 10,
          `${action} is described`,
        );
        assert.equal(branch.additionalProperties, false, action);
        const params = branch.properties?.['params'];
        assert.deepEqual(Object.keys(params?.properties ?? {}).sort(), [...expected.fields].sort(), action);
        assert.deepEqual([...(params?.required ?? [])].sort(), [...expected.required].sort(), action);
        assert.equal(params?.additionalProperties, false, `${action} params are closed`);
        for (const [field, schema] of Object.entries(params?.properties ?? {})) {
          assert.ok((schema.description ?? '').length > 0, `${action} params.${field} is described`);
        }
      }
      assert.deepEqual(branches.get('lamp.dim')?.properties?.['params']?.properties?.['level'], {
        type: 'number',
        minimum: 0,
        maximum: 100,
        description: 'dim level, percent (0 to 100)',
      });
    });
  });

  describe('configuration documents', () => {
    it('only admins publish; anyone reads; results, rollback and overrides show up', async () => {
      const empty = await call('GET', `/api/v1/gateways/${GW}/config`, 'mon.wang');
      assert.equal(empty.statusCode, 200);
      assert.deepEqual(empty.json(), { gatewayId: GW, applied: null, latest: null, overridesInForce: [] });
      const denied = await call('POST', `/api/v1/gateways/${GW}/config`, 'mon.wang', { document: DOC });
      assert.equal(denied.statusCode, 403);
      const invalid = await call('POST', `/api/v1/gateways/${GW}/config`, 'admin.li', {
        document: { devices: { 'gas-1': { pollIntervalMs: 1 } } },
      });
      assert.equal(invalid.statusCode, 400);
      assert.deepEqual(invalid.json().issues, [
        { pointer: '/devices/gas-1/pollIntervalMs', message: 'must be >= 100' },
      ]);

      const created = await call('POST', `/api/v1/gateways/${GW}/config`, 'admin.li', {
        document: DOC,
        note: 'h2s 10 ppm',
      });
      assert.equal(created.statusCode, 201, created.body);
      const v1 = created.json();
      assert.equal(v1.version, 1);
      assert.equal(v1.hash, configDocumentHash(DOC));
      assert.deepEqual(v1.document, DOC);
      assert.equal(v1.createdBy, 'admin.li');
      assert.equal(v1.status, 'pending');
      const noRollback = await call('POST', `/api/v1/gateways/${GW}/config/rollback`, 'admin.li', {
        note: 'undo',
      });
      assert.equal(noRollback.statusCode, 409);
      assert.equal(noRollback.json().error, 'DOWNLINK_CONFLICT');

      const doc2 = { devices: { 'gas-1': { pollIntervalMs: 2000 } } };
      await call('POST', `/api/v1/gateways/${GW}/config`, 'admin.li', { document: doc2 });
      await uplink.send(GW, [
        {
          kind: 'config_result',
          version: 1,
          hash: configDocumentHash(DOC),
          status: 'applied',
          activeVersion: 1,
          errors: [],
        },
        {
          kind: 'config_result',
          version: 2,
          hash: configDocumentHash(doc2),
          status: 'applied',
          activeVersion: 2,
          errors: [],
        },
        {
          kind: 'config_override',
          pointer: '/alarms/gas-1/h2s/onDelayS',
          action: 'set',
          value: 20,
          previous: null,
          by: 'tech-li',
          reason: null,
        },
      ]);
      const rolled = await call('POST', `/api/v1/gateways/${GW}/config/rollback`, 'admin.li', {
        note: 'poll too slow',
      });
      assert.equal(rolled.statusCode, 201, rolled.body);
      assert.equal(rolled.json().version, 3);
      assert.equal(rolled.json().restoresVersion, 1);
      assert.deepEqual(rolled.json().document, DOC);

      const current = await call('GET', `/api/v1/gateways/${GW}/config`, 'insp.zhao');
      assert.equal(current.statusCode, 200);
      assert.equal(current.json().applied.version, 2);
      assert.equal(current.json().latest.version, 3);
      assert.deepEqual(
        current.json().overridesInForce.map((o: { pointer: string; value: unknown }) => [o.pointer, o.value]),
        [['/alarms/gas-1/h2s/onDelayS', 20]],
      );
      const versions = await call('GET', `/api/v1/gateways/${GW}/config/versions?limit=2`, 'disp.chen');
      assert.deepEqual(
        versions.json().map((v: { version: number; status: string }) => [v.version, v.status]),
        [
          [3, 'pending'],
          [2, 'applied'],
        ],
      );
      const overrides = await call('GET', `/api/v1/gateways/${GW}/config/overrides`, 'disp.chen');
      assert.equal(overrides.statusCode, 200);
      assert.equal(overrides.json().length, 1);
      assert.equal(overrides.json()[0].actor, 'tech-li');
      assert.equal((await call('GET', `/api/v1/gateways/cab-77/config`, 'admin.li')).statusCode, 404);
      assert.equal(
        (
          await call('POST', `/api/v1/gateways/${GW}/config/rollback`, 'admin.li', {
            note: 'x',
            toVersion: 9,
          })
        ).statusCode,
        404,
      );
    });
  });
});
