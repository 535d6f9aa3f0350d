/**
 * The case monitor (cloud-sync/service/cases/monitor.ts) with a fake clock on SQLite and
 * PostgreSQL: escalation levels past the dispatch and handling deadlines (once each, also with two
 * monitors), none while suspended; sensor verification only after the alarm stayed normal for the
 * category's time after feedback, restarted by a re-activation.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { applyCaseAction } from '../../../../cloud-sync/service/cases/case-store.js';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import { caseFilingHook } from '../../../../cloud-sync/service/cases/filing.js';
import {
  CaseMonitor,
  listOverdue,
  type CaseEscalation,
} from '../../../../cloud-sync/service/cases/monitor.js';
import type { ActionInput, CaseAction } from '../../../../cloud-sync/service/cases/workflow.js';
import type { Role } from '../../../../cloud-sync/service/auth/roles.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import {
  alarmEvent,
  at,
  BACKENDS,
  Feeder,
  memoryLogger,
  plusMinutes,
  registerComponent,
  type OpenedDatabase,
} from './case-helpers.js';

const T = at('2026-03-02T02:00:00.000Z');
const config = DEFAULT_CASES_CONFIG;
const calendar = new WorkingCalendar(config.calendar);

const active = () =>
  alarmEvent({
    deviceId: 'gas-1',
    ruleKey: 'h2s_high',
    condition: 'high',
    to: 'unacknowledged',
    active: true,
    level: 1,
  });
const normal = () =>
  alarmEvent({
    deviceId: 'gas-1',
    ruleKey: 'h2s_high',
    condition: 'high',
    from: 'unacknowledged',
    to: 'rtn_unacknowledged',
    active: false,
    level: 0,
  });

const ROLE_USERS: Record<Role, string> = {
  monitoring: 'mona',
  dispatcher: 'dirk',
  owner_unit: 'olga',
  inspector: 'ines',
  admin: 'ada',
};

for (const backend of BACKENDS) {
  describe(`case monitor (${backend.name})`, () => {
    let opened: OpenedDatabase;
    let db: Kysely<CloudSchema>;
    let feeder: Feeder;
    let clock: Date;
    let escalations: CaseEscalation[];
    let monitor: CaseMonitor;

    function newMonitor(): CaseMonitor {
      return new CaseMonitor({
        db,
        config,
        calendar,
        logger: memoryLogger(),
        now: () => clock,
        onEscalation: (escalation) => escalations.push(escalation),
      });
    }

    async function caseId(): Promise<string> {
      const row = await db.selectFrom('cases').select('id').executeTakeFirstOrThrow();
      return row.id;
    }

    async function act(action: CaseAction, role: Role, when: Date, input: ActionInput = {}): Promise<void> {
      await applyCaseAction(db, {
        caseId: await caseId(),
        action,
        actor: {
          username: ROLE_USERS[role],
          roles: [role],
          unit: role === 'owner_unit' ? 'drainage-co' : null,
        },
        input,
        now: when,
        config,
        calendar,
      });
    }

    async function historyActions(): Promise<string[]> {
      const rows = await db.selectFrom('case_history').select('action').orderBy('at').orderBy('id').execute();
      return rows.map((row) => row.action);
    }

    beforeEach(async () => {
      opened = await backend.open();
      db = opened.db;
      escalations = [];
      feeder = new Feeder(db, [caseFilingHook({ config, calendar, logger: memoryLogger() })]);
      await registerComponent(db, {
        component_id: '1101010120000001',
        device_id: 'gas-1',
        family: 'gas-detector',
        class_code: '0120',
      });
      monitor = newMonitor();
    });
    afterEach(async () => {
      await monitor.stop();
      await opened.close();
    });

    it('escalates a case not dispatched in time, one level per 30 minutes, up to 3', async () => {
      await feeder.send(T, [active()]); // normal severity: dispatch by T+30
      const expectations: Array<[number, number, number]> = [
        // [minutes after the report, escalations raised, escalation level after]
        [30, 0, 0], // at the deadline, not past it
        [31, 1, 1],
        [45, 0, 1],
        [60, 1, 2], // 30 minutes past: 1 + floor(30 / 30) = 2
      ];
      for (const [after, raised, level] of expectations) {
        clock = plusMinutes(T, after);
        assert.deepEqual(
          await monitor.runOnce(),
          { escalated: raised, sensorVerified: 0 },
          `at +${after} min`,
        );
        const row = await db.selectFrom('cases').select('escalation_level').executeTakeFirstOrThrow();
        assert.equal(row.escalation_level, level, `at +${after} min`);
      }
      clock = plusMinutes(T, 500);
      assert.equal((await monitor.runOnce()).escalated, 1);
      assert.equal(
        (await db.selectFrom('cases').select('escalation_level').executeTakeFirstOrThrow()).escalation_level,
        3,
      );
      clock = plusMinutes(T, 900);
      assert.equal((await monitor.runOnce()).escalated, 0, 'capped at maxEscalationLevel');

      const history = await db
        .selectFrom('case_history')
        .selectAll()
        .where('action', '=', 'escalation')
        .orderBy('at')
        .execute();
      assert.deepEqual(
        history.map((h) => JSON.parse(h.detail ?? '{}')),
        [1, 2, 3].map((level) => ({ level, deadline: plusMinutes(T, 30).toISOString(), kind: 'dispatch' })),
      );
      assert.deepEqual(
        escalations.map((e) => [e.level, e.kind]),
        [
          [1, 'dispatch'],
          [2, 'dispatch'],
          [3, 'dispatch'],
        ],
      );
    });

    it('raises each level once with two monitors on one database', async () => {
      await feeder.send(T, [active()]);
      clock = plusMinutes(T, 31);
      const other = newMonitor();
      const results = await Promise.all([monitor.runOnce(), other.runOnce()]);
      assert.equal(results[0].escalated + results[1].escalated, 1);
      assert.equal(escalations.length, 1);
      assert.equal((await historyActions()).filter((a) => a === 'escalation').length, 1);
    });

    it('escalates past the handling deadline, never while suspended, and lists overdue cases', async () => {
      await feeder.send(T, [active()]);
      await act('dispatch', 'dispatcher', plusMinutes(T, 5)); // hazardous gas: handle within 240 min
      clock = plusMinutes(T, 200);
      assert.equal((await monitor.runOnce()).escalated, 0);
      assert.deepEqual(await listOverdue(db, clock), []);

      await act('suspend', 'dispatcher', plusMinutes(T, 210), { note: 'street closed for a parade' });
      clock = plusMinutes(T, 400);
      assert.equal((await monitor.runOnce()).escalated, 0, 'a suspended case is not overdue');
      assert.deepEqual(await listOverdue(db, clock), []);

      // Resumed at +400 with the 35 minutes left at suspension: due at +435.
      await act('resume', 'dispatcher', clock);
      const row = await db.selectFrom('cases').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.handle_deadline, plusMinutes(T, 435).toISOString());
      clock = plusMinutes(T, 436);
      assert.equal((await monitor.runOnce()).escalated, 1);
      assert.deepEqual(escalations.at(-1), {
        caseId: row.id,
        caseNo: row.case_no,
        level: 1,
        kind: 'handle',
        deadline: plusMinutes(T, 435).toISOString(),
        ownerUnit: 'drainage-co',
        category: 'hazardous_gas',
      });
      const overdue = await listOverdue(db, clock);
      assert.equal(overdue.length, 1);
      assert.equal(overdue[0]?.kind, 'handle');
      assert.equal(overdue[0]?.overdueMinutes, 1);
    });

    it('sensor-verifies after the alarm stayed normal for the category time after feedback', async () => {
      await feeder.send(T, [active()]);
      await feeder.send(plusMinutes(T, 5), [normal()]); // normal before feedback: counts from feedback
      await act('dispatch', 'dispatcher', plusMinutes(T, 10));
      await act('accept', 'owner_unit', plusMinutes(T, 20));
      clock = plusMinutes(T, 55);
      assert.equal((await monitor.runOnce()).sensorVerified, 0, 'no feedback yet');
      await act('feedback', 'owner_unit', plusMinutes(T, 60), { note: 'ventilated and sealed the leak' });
      // hazardous_gas: 600 s after feedback.
      clock = new Date(plusMinutes(T, 70).getTime() - 1000);
      assert.equal((await monitor.runOnce()).sensorVerified, 0);
      clock = plusMinutes(T, 70);
      assert.equal((await monitor.runOnce()).sensorVerified, 1);
      assert.equal((await monitor.runOnce()).sensorVerified, 0, 'once');
      const row = await db.selectFrom('cases').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.sensor_verified_at, plusMinutes(T, 70).toISOString());
      assert.equal(row.state, 'feedback');
      const last = await db
        .selectFrom('case_history')
        .selectAll()
        .where('action', '=', 'sensor_verified')
        .executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(last.detail ?? '{}'), {
        feedbackAt: plusMinutes(T, 60).toISOString(),
        alarmNormalSince: plusMinutes(T, 5).toISOString(),
        normalForS: 600,
      });
    });

    it('counts from the return to normal when that comes after feedback; a re-activation restarts it', async () => {
      await feeder.send(T, [active()]);
      await act('dispatch', 'dispatcher', plusMinutes(T, 10));
      await act('accept', 'owner_unit', plusMinutes(T, 20));
      await act('feedback', 'owner_unit', plusMinutes(T, 60), { note: 'done' });
      clock = plusMinutes(T, 75);
      assert.equal((await monitor.runOnce()).sensorVerified, 0, 'alarm still active');

      await feeder.send(plusMinutes(T, 76), [normal()]);
      await feeder.send(plusMinutes(T, 80), [active()]); // back before 10 minutes passed
      await feeder.send(plusMinutes(T, 82), [normal()]);
      clock = plusMinutes(T, 87); // 11 min after the first return, 5 after the second
      assert.equal((await monitor.runOnce()).sensorVerified, 0);
      clock = plusMinutes(T, 92);
      assert.equal((await monitor.runOnce()).sensorVerified, 1);
      assert.deepEqual(await historyActions(), [
        'report',
        'file',
        'dispatch',
        'accept',
        'feedback',
        'alarm_normal',
        'activation',
        'alarm_normal',
        'sensor_verified',
      ]);
    });

    it('withdraws a sensor verification when the alarm comes back', async () => {
      await feeder.send(T, [active()]);
      await feeder.send(plusMinutes(T, 5), [normal()]);
      await act('dispatch', 'dispatcher', plusMinutes(T, 10));
      await act('accept', 'owner_unit', plusMinutes(T, 20));
      await act('feedback', 'owner_unit', plusMinutes(T, 30), { note: 'done' });
      clock = plusMinutes(T, 41);
      assert.equal((await monitor.runOnce()).sensorVerified, 1);
      await feeder.send(plusMinutes(T, 42), [active()]);
      const row = await db.selectFrom('cases').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.sensor_verified_at, null);
      const activation = await db
        .selectFrom('case_history')
        .selectAll()
        .where('action', '=', 'activation')
        .executeTakeFirstOrThrow();
      assert.match(activation.note ?? '', /sensor verification .* withdrawn/);
    });
  });
}
