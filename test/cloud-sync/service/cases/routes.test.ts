/**
 * The case API (cloud-sync/service/cases/routes.ts) over app.inject behind the real auth plugin,
 * with real operators and sessions on SQLite: the whole cycle from an auto-filed alarm to closure
 * with one rework, refusals with their reasons (role, unit, state, stale revision, bad input),
 * owner units confined to their own cases, suspension moving the deadline, opening by hand.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import type { CaseView, HistoryView } from '../../../../cloud-sync/service/cases/case-view.js';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import { caseFilingHook } from '../../../../cloud-sync/service/cases/filing.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import { buildTestApi } from '../api/harness.js';
import { signIn, type SignedIn } from '../auth/harness.js';
import {
  alarmEvent,
  at,
  Feeder,
  GW,
  memoryLogger,
  openSqlite,
  plusMinutes,
  registerComponent,
  type OpenedDatabase,
} from './case-helpers.js';

const T = at('2026-03-02T02:00:00.000Z');
const config = DEFAULT_CASES_CONFIG;
const calendar = new WorkingCalendar(config.calendar);

interface Detail {
  case: CaseView;
  evidence: { alarm: { id: string } | null; trend: unknown[]; openedBy?: { username: string } };
  history: HistoryView[];
  activations: Array<{ eventId: string; level: number }>;
  allowedActions: string[];
}

describe('case API', () => {
  let opened: OpenedDatabase;
  let db: Kysely<CloudSchema>;
  let app: FastifyInstance;
  let clock: Date;
  let feeder: Feeder;
  let mona: SignedIn; // monitoring centre
  let dirk: SignedIn; // dispatcher
  let olga: SignedIn; // owner unit drainage-co
  let otto: SignedIn; // owner unit of another unit
  let ines: SignedIn; // inspector

  beforeEach(async () => {
    opened = await openSqlite();
    db = opened.db;
    clock = T;
    app = await buildTestApi(db, { cases: { config, calendar, logger: memoryLogger() }, now: () => clock });
    await app.ready();
    feeder = new Feeder(db, [caseFilingHook({ config, calendar, logger: memoryLogger() })]);
    await registerComponent(db, {
      component_id: '1101010120000001',
      device_id: 'gas-1',
      family: 'gas-detector',
      class_code: '0120',
      owner_unit: 'drainage-co',
    });
    mona = await signIn(db, { username: 'mona', roles: ['monitoring'] });
    dirk = await signIn(db, { username: 'dirk', roles: ['dispatcher'] });
    olga = await signIn(db, { username: 'olga', roles: ['owner_unit'], unit: 'drainage-co' });
    otto = await signIn(db, { username: 'otto', roles: ['owner_unit'], unit: 'lighting-co' });
    ines = await signIn(db, { username: 'ines', roles: ['inspector'] });
  });
  afterEach(async () => {
    await app.close();
    await opened.close();
  });

  async function fileFromAlarm(deviceId = 'gas-1'): Promise<string> {
    await feeder.send(clock, [
      alarmEvent({
        deviceId,
        ruleKey: 'h2s_high',
        condition: 'high',
        to: 'unacknowledged',
        active: true,
        level: 1,
      }),
    ]);
    const row = await db
      .selectFrom('cases')
      .select('id')
      .where('device_id', '=', deviceId)
      .executeTakeFirstOrThrow();
    return row.id;
  }

  function post(
    who: SignedIn,
    url: string,
    payload?: Record<string, unknown>,
  ): Promise<LightMyRequestResponse> {
    return app.inject({
      method: 'POST',
      url,
      headers: who.headers,
      ...(payload === undefined ? {} : { payload }),
    });
  }

  async function act(
    who: SignedIn,
    id: string,
    action: string,
    payload: Record<string, unknown> = {},
  ): Promise<CaseView> {
    const response = await post(who, `/api/v1/cases/${id}/${action}`, payload);
    assert.equal(response.statusCode, 200, `${action}: ${response.body}`);
    return response.json<CaseView>();
  }

  async function refused(
    who: SignedIn,
    id: string,
    action: string,
    payload: Record<string, unknown>,
    status: number,
    error: string,
  ): Promise<string> {
    const response = await post(who, `/api/v1/cases/${id}/${action}`, payload);
    assert.equal(response.statusCode, status, `${action}: ${response.body}`);
    const body = response.json<{ error: string; message: string }>();
    assert.equal(body.error, error);
    return body.message;
  }

  async function detail(who: SignedIn, id: string): Promise<Detail> {
    const response = await app.inject({ method: 'GET', url: `/api/v1/cases/${id}`, headers: who.headers });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<Detail>();
  }

  it('works a case from the alarm through rework to closure', async () => {
    const id = await fileFromAlarm();
    let view = (await detail(mona, id)).case;
    assert.equal(view.state, 'filed');
    assert.equal(view.revision, 1);

    // Wrong role: the guard refuses before the handler.
    await refused(olga, id, 'dispatch', {}, 403, 'AUTH_FORBIDDEN');
    // Right role, wrong state: the reason says what must happen first.
    const reason = await refused(olga, id, 'accept', {}, 409, 'CASE_ILLEGAL_TRANSITION');
    assert.equal(reason, 'cannot accept a case in state filed: the dispatcher must dispatch it first');

    clock = plusMinutes(T, 5);
    view = await act(dirk, id, 'dispatch', { revision: 1, note: 'gas team' });
    assert.equal(view.state, 'dispatched');
    assert.equal(view.dispatchedAt, clock.toISOString());
    assert.equal(view.handleDeadline, plusMinutes(T, 245).toISOString());
    assert.equal(view.ownerUnit, 'drainage-co');
    assert.equal(view.revision, 2);
    // Someone acting on what they saw before the dispatch is told to reload.
    await refused(mona, id, 'cancel', { revision: 1, note: 'dup' }, 409, 'CASE_STALE');

    // Another unit can neither act on nor see the case: to it the case does not exist, the same
    // 404 as a missing id, with no case number in the answer (issue 12, finding 9).
    const caseNo = (await detail(mona, id)).case.caseNo;
    const otherUnit = await post(otto, `/api/v1/cases/${id}/accept`, {});
    const missing = await post(otto, `/api/v1/cases/00000000-0000-4000-8000-000000000000/accept`, {});
    assert.equal(otherUnit.statusCode, 404, otherUnit.body);
    assert.equal(otherUnit.json<{ error: string }>().error, 'CASE_NOT_FOUND');
    assert.equal(missing.statusCode, 404, missing.body);
    assert.ok(!otherUnit.body.includes(caseNo), `no case number in ${otherUnit.body}`);
    assert.deepEqual(
      Object.keys(otherUnit.json<Record<string, unknown>>()).sort(),
      Object.keys(missing.json<Record<string, unknown>>()).sort(),
    );
    const hidden = await app.inject({ method: 'GET', url: `/api/v1/cases/${id}`, headers: otto.headers });
    assert.equal(hidden.statusCode, 404);

    clock = plusMinutes(T, 20);
    assert.equal((await act(olga, id, 'accept')).state, 'in_progress');
    clock = plusMinutes(T, 90);
    assert.equal((await act(olga, id, 'feedback', { note: 'ventilated, valve replaced' })).state, 'feedback');
    clock = plusMinutes(T, 100);
    assert.equal((await act(ines, id, 'inspect', { passed: false, note: 'still smells' })).state, 'feedback');
    clock = plusMinutes(T, 110);
    view = await act(mona, id, 'verify', { passed: false, note: 'inspector found gas' });
    assert.equal(view.state, 'dispatched');
    assert.equal(view.reworkCount, 1);
    assert.equal(view.feedbackAt, null);
    assert.equal(view.acceptedAt, null);
    assert.equal(view.handleDeadline, plusMinutes(T, 245).toISOString(), 'rework does not buy time');

    clock = plusMinutes(T, 120);
    await act(olga, id, 'accept');
    clock = plusMinutes(T, 200);
    await act(olga, id, 'feedback', { note: 'second valve replaced' });
    clock = plusMinutes(T, 210);
    await act(ines, id, 'inspect', { passed: true });
    assert.equal((await act(mona, id, 'verify', { passed: true })).state, 'verified');
    clock = plusMinutes(T, 215);
    view = await act(mona, id, 'close', { note: 'done' });
    assert.equal(view.state, 'closed');
    assert.equal(view.closedAt, clock.toISOString());
    assert.equal(view.closedOnTime, true, 'second feedback at +200 before the deadline at +245');
    await refused(mona, id, 'close', {}, 409, 'CASE_ILLEGAL_TRANSITION');

    const full = await detail(olga, id);
    assert.deepEqual(
      full.history.map((h) => [h.action, h.actor, h.fromState, h.toState]),
      [
        ['report', 'system', null, 'reported'],
        ['file', 'system', 'reported', 'filed'],
        ['dispatch', 'dirk', 'filed', 'dispatched'],
        ['accept', 'olga', 'dispatched', 'in_progress'],
        ['feedback', 'olga', 'in_progress', 'feedback'],
        ['inspect', 'ines', 'feedback', 'feedback'],
        ['rework', 'mona', 'feedback', 'dispatched'],
        ['accept', 'olga', 'dispatched', 'in_progress'],
        ['feedback', 'olga', 'in_progress', 'feedback'],
        ['inspect', 'ines', 'feedback', 'feedback'],
        ['verify', 'mona', 'feedback', 'verified'],
        ['close', 'mona', 'verified', 'closed'],
      ],
    );
    assert.deepEqual(full.history[5]?.detail, { passed: false });
    assert.equal(full.history[4]?.note, 'ventilated, valve replaced');
    assert.equal(full.activations.length, 1);
    assert.equal(full.evidence.alarm?.id, full.activations[0]?.eventId);
    assert.deepEqual(full.allowedActions, []);
    assert.equal(full.case.revision, 11, 'file, then 10 operator transitions');

    // The auth plugin audits every action with the case as its target.
    const audit = await db.selectFrom('admin_audit').selectAll().where('target', '=', id).execute();
    assert.ok(audit.length >= 12, `audit rows: ${audit.length}`);
    assert.ok(audit.some((row) => row.action === 'POST /api/v1/cases/:id/close'));
  });

  it('shows owner units only their own cases', async () => {
    const ours = await fileFromAlarm('gas-1');
    await registerComponent(db, {
      component_id: '1101010110000002',
      device_id: 'gas-2',
      family: 'gas-detector',
      class_code: '0110',
      owner_unit: 'lighting-co',
    });
    const theirs = await fileFromAlarm('gas-2');
    const list = async (who: SignedIn, query = '') => {
      const response = await app.inject({
        method: 'GET',
        url: `/api/v1/cases${query}`,
        headers: who.headers,
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json<{ cases: CaseView[] }>().cases.map((c) => c.id);
    };
    assert.deepEqual(await list(olga), [ours]);
    assert.deepEqual(await list(otto), [theirs]);
    assert.deepEqual(await list(olga, '?ownerUnit=lighting-co'), []);
    assert.deepEqual((await list(mona)).sort(), [ours, theirs].sort());
    assert.deepEqual(await list(mona, '?ownerUnit=lighting-co'), [theirs]);
    assert.deepEqual(await list(mona, '?deviceId=gas-1&state=filed'), [ours]);
    assert.deepEqual(await list(mona, '?state=closed'), []);
    const bad = await app.inject({
      method: 'GET',
      url: '/api/v1/cases?state=nonsense',
      headers: mona.headers,
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json<{ error: string }>().error, 'REQUEST_INVALID');
  });

  it('finds a case by the number printed in logs and messages, under the same rules as by id', async () => {
    const id = await fileFromAlarm();
    const byId = await detail(mona, id);
    assert.match(byId.case.caseNo, /^\d{8}-[0-9A-F]{6}$/);
    const byNumber = (who: SignedIn, caseNo: string) =>
      app.inject({ method: 'GET', url: `/api/v1/cases/by-number/${caseNo}`, headers: who.headers });

    const found = await byNumber(mona, byId.case.caseNo);
    assert.equal(found.statusCode, 200, found.body);
    assert.deepEqual(found.json<Detail>(), byId);
    // The actions offered are the caller's, as by id.
    assert.deepEqual((await byNumber(dirk, byId.case.caseNo)).json<Detail>(), await detail(dirk, id));
    assert.equal((await byNumber(olga, byId.case.caseNo)).statusCode, 200, 'its own unit sees it');

    // Another unit's case is "not found", like a number that does not exist.
    const hidden = await byNumber(otto, byId.case.caseNo);
    assert.equal(hidden.statusCode, 404);
    assert.deepEqual(hidden.json(), { error: 'CASE_NOT_FOUND', message: `no case ${byId.case.caseNo}` });
    const missing = await byNumber(mona, '20260302-000000');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'CASE_NOT_FOUND', message: 'no case 20260302-000000' });
    // A case id is not a case number.
    assert.equal((await byNumber(mona, id)).statusCode, 404);
  });

  it('suspension moves the handling deadline; the overdue list follows it', async () => {
    const id = await fileFromAlarm();
    clock = plusMinutes(T, 5);
    await act(dirk, id, 'dispatch');
    clock = plusMinutes(T, 65);
    const parked = await act(dirk, id, 'suspend', { note: 'road closed by police' });
    assert.equal(parked.suspended, true);
    assert.equal(parked.suspendedAt, clock.toISOString());
    const reason = await refused(olga, id, 'accept', {}, 409, 'CASE_ILLEGAL_TRANSITION');
    assert.match(reason, /suspended/);
    await refused(dirk, id, 'suspend', { note: 'again' }, 409, 'CASE_ILLEGAL_TRANSITION');

    // Past the original deadline (+245) while parked: not overdue.
    clock = plusMinutes(T, 300);
    const overdueWhileParked = await app.inject({
      method: 'GET',
      url: '/api/v1/cases/overdue',
      headers: mona.headers,
    });
    assert.deepEqual(overdueWhileParked.json(), { overdue: [] });
    // 180 minutes were left at +65: resumed at +300, due at +480.
    const resumed = await act(dirk, id, 'resume');
    assert.equal(resumed.suspended, false);
    assert.equal(resumed.handleDeadline, plusMinutes(T, 480).toISOString());

    clock = plusMinutes(T, 490);
    const overdue = await app.inject({ method: 'GET', url: '/api/v1/cases/overdue', headers: olga.headers });
    const body = overdue.json<{ overdue: Array<{ case: CaseView; kind: string; overdueMinutes: number }> }>();
    assert.equal(body.overdue.length, 1);
    assert.equal(body.overdue[0]?.case.id, id);
    assert.equal(body.overdue[0]?.kind, 'handle');
    assert.equal(body.overdue[0]?.overdueMinutes, 10);
    const notTheirs = await app.inject({
      method: 'GET',
      url: '/api/v1/cases/overdue',
      headers: otto.headers,
    });
    assert.deepEqual(notTheirs.json(), { overdue: [] });
    const listed = await app.inject({
      method: 'GET',
      url: '/api/v1/cases?overdue=true',
      headers: mona.headers,
    });
    assert.deepEqual(
      listed.json<{ cases: CaseView[] }>().cases.map((c) => [c.id, c.overdue]),
      [[id, true]],
    );

    const history = (await detail(mona, id)).history.filter(
      (h) => h.action === 'suspend' || h.action === 'resume',
    );
    assert.deepEqual(
      history.map((h) => [h.action, h.role]),
      [
        ['suspend', 'dispatcher'],
        ['resume', 'dispatcher'],
      ],
    );
  });

  it('extension: the owner unit asks, the dispatcher grants', async () => {
    const id = await fileFromAlarm();
    await act(dirk, id, 'dispatch');
    const asked = await act(olga, id, 'request-extension', { minutes: 60, note: 'waiting for a part' });
    assert.equal(asked.handleDeadline, plusMinutes(T, 240).toISOString());
    const granted = await act(dirk, id, 'extend', { minutes: 60, note: 'granted' });
    assert.equal(granted.handleDeadline, plusMinutes(T, 300).toISOString());
    await refused(dirk, id, 'extend', { minutes: 'soon', note: 'x' }, 400, 'REQUEST_INVALID');
    await refused(dirk, id, 'extend', { note: 'how long?' }, 400, 'REQUEST_INVALID');
  });

  it('return to the dispatcher and cancellation need a reason', async () => {
    const id = await fileFromAlarm();
    await act(dirk, id, 'dispatch');
    await refused(olga, id, 'request-return', {}, 400, 'REQUEST_INVALID');
    await act(olga, id, 'request-return', { note: 'this is a water-supply cover' });
    const returned = await act(dirk, id, 'return', { note: 'wrong unit' });
    assert.equal(returned.state, 'filed');
    assert.equal(returned.handleDeadline, null);
    await refused(mona, id, 'cancel', {}, 400, 'REQUEST_INVALID');
    assert.equal((await act(mona, id, 'cancel', { note: 'duplicate of another case' })).state, 'cancelled');
    // An action with no body at all is fine where nothing is required.
    const missing = await post(dirk, `/api/v1/cases/${id}/dispatch`);
    assert.equal(missing.statusCode, 409);
    const unknown = await post(dirk, '/api/v1/cases/no-such-case/dispatch', {});
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ error: string }>().error, 'CASE_NOT_FOUND');
  });

  it('dispatch of a case without an owner unit needs one', async () => {
    await feeder.send(clock, [
      alarmEvent({
        deviceId: 'stray-1',
        ruleKey: 'comm',
        condition: 'comm_loss',
        to: 'unacknowledged',
        active: true,
        level: 1,
        value: null,
      }),
    ]);
    const { id } = await db.selectFrom('cases').select('id').executeTakeFirstOrThrow();
    assert.equal((await act(mona, id, 'file')).state, 'filed');
    const reason = await refused(dirk, id, 'dispatch', {}, 409, 'CASE_NO_OWNER_UNIT');
    assert.match(reason, /no owner unit/);
    const dispatched = await act(dirk, id, 'dispatch', { ownerUnit: 'telecom-co' });
    assert.equal(dispatched.ownerUnit, 'telecom-co');
  });

  it('opens a case by hand', async () => {
    const body = {
      gatewayId: GW,
      deviceId: 'gas-1',
      category: 'hazardous_gas',
      severity: 'urgent',
      note: 'resident called: smell of gas',
    };
    const forbidden = await post(dirk, '/api/v1/cases', body);
    assert.equal(forbidden.statusCode, 403);
    const created = await post(mona, '/api/v1/cases', body);
    assert.equal(created.statusCode, 201, created.body);
    const view = created.json<CaseView>();
    assert.equal(view.state, 'reported');
    assert.equal(view.ruleId, null);
    assert.equal(view.ownerUnit, 'drainage-co');
    assert.equal(view.componentId, '1101010120000001');
    assert.equal(view.dispatchDeadline, plusMinutes(T, 10).toISOString());
    const full = await detail(mona, view.id);
    assert.equal(full.evidence.openedBy?.username, 'mona');
    assert.deepEqual(
      full.history.map((h) => [h.action, h.actor, h.note]),
      [['report', 'mona', 'resident called: smell of gas']],
    );

    // One open case per alarm: the auto-filed one holds gas-1:h2s_high.
    await fileFromAlarm();
    const duplicate = await post(mona, '/api/v1/cases', { ...body, alarmKey: 'gas-1:h2s_high' });
    assert.equal(duplicate.statusCode, 409);
    assert.equal(duplicate.json<{ error: string }>().error, 'CASE_CONFLICT');
    const unknownCategory = await post(mona, '/api/v1/cases', { ...body, category: 'weather' });
    assert.equal(unknownCategory.statusCode, 400);
  });
});
