/**
 * Filing cases from alarms (cloud-sync/service/cases/filing.ts) through the real ingestBatch on
 * SQLite and PostgreSQL: the first activation opens one case with evidence, further activations
 * attach, return to normal is recorded, re-delivery adds nothing, silenced alarms and
 * unmatched alarms open nothing, and a rule without autoFile leaves the case reported.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { DEFAULT_CASES_CONFIG, type CasesConfig } from '../../../../cloud-sync/service/cases/config.js';
import type { CaseEvidence } from '../../../../cloud-sync/service/cases/evidence.js';
import { caseFilingHook, matchFilingRule } from '../../../../cloud-sync/service/cases/filing.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import type { GatewayEventBody } from '../../../../cloud-sync/contract/events.js';
import { upsertComponent } from '../../../../cloud-sync/service/registry/registry.js';
import {
  alarmEvent,
  at,
  BACKENDS,
  Feeder,
  GW,
  memoryLogger,
  plusMinutes,
  registerComponent,
  telemetryEvent,
  type OpenedDatabase,
} from './case-helpers.js';

/** 17:00Z is 01:00 the next day in Asia/Shanghai: the case number carries the local date. */
const T = at('2026-03-02T17:00:00.000Z');
const calendar = new WorkingCalendar(DEFAULT_CASES_CONFIG.calendar);

const gasActive = (level: number, to: 'unacknowledged' | 'acknowledged' = 'unacknowledged') =>
  alarmEvent({ deviceId: 'gas-1', ruleKey: 'h2s_high', condition: 'high', to, active: true, level });
const gasNormal = () =>
  alarmEvent({
    deviceId: 'gas-1',
    ruleKey: 'h2s_high',
    condition: 'high',
    from: 'unacknowledged',
    to: 'rtn_unacknowledged',
    active: false,
    level: 0,
  });

/** A level-2 H2S activation of `deviceId`, as a gateway without the family field sends it. */
const gasLeakAt = (deviceId: string): GatewayEventBody =>
  alarmEvent({
    deviceId,
    ruleKey: 'h2s_high',
    condition: 'high',
    to: 'unacknowledged',
    active: true,
    level: 2,
  });

async function casesOf(db: Kysely<CloudSchema>) {
  return db.selectFrom('cases').selectAll().orderBy('reported_at').execute();
}

async function historyOf(db: Kysely<CloudSchema>, caseId: string) {
  return db
    .selectFrom('case_history')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('at')
    .orderBy('id')
    .execute();
}

for (const backend of BACKENDS) {
  describe(`case filing from alarms (${backend.name})`, () => {
    let opened: OpenedDatabase;
    let db: Kysely<CloudSchema>;
    let feeder: Feeder;
    let logger: ReturnType<typeof memoryLogger>;

    function useConfig(config: CasesConfig): void {
      feeder = new Feeder(db, [caseFilingHook({ config, calendar, logger })]);
    }

    /** The default rules, with the filing counters recorded as `unfiled:reason` / `held:reason`. */
    function useCountingFeeder(): string[] {
      const counted: string[] = [];
      const counters = {
        unfiled: (reason: string) => counted.push(`unfiled:${reason}`),
        held: (reason: string) => counted.push(`held:${reason}`),
      };
      feeder = new Feeder(db, [caseFilingHook({ config: DEFAULT_CASES_CONFIG, calendar, logger, counters })]);
      return counted;
    }

    beforeEach(async () => {
      opened = await backend.open();
      db = opened.db;
      logger = memoryLogger();
      useConfig(DEFAULT_CASES_CONFIG);
      await registerComponent(db, {
        component_id: '1101010120000001',
        device_id: 'gas-1',
        family: 'gas-detector',
        class_code: '0120',
        owner_unit: 'drainage-co',
      });
    });
    afterEach(async () => {
      await opened.close();
    });

    it('files one case on the first activation, with the alarm and the recent trend as evidence', async () => {
      await feeder.send(plusMinutes(T, -40), [telemetryEvent('gas-1', { h2s: 1 })], 'telemetry');
      await feeder.send(
        plusMinutes(T, -10),
        [telemetryEvent('gas-1', { h2s: 4 }), telemetryEvent('other', { h2s: 9 })],
        'telemetry',
      );
      await feeder.send(plusMinutes(T, -5), [telemetryEvent('gas-1', { h2s: 8 })], 'telemetry');
      const { events } = await feeder.send(T, [gasActive(1)]);

      const [row, ...more] = await casesOf(db);
      assert.ok(row);
      assert.equal(more.length, 0);
      assert.match(row.case_no, /^20260303-[0-9A-F]{6}$/);
      assert.equal(row.state, 'filed');
      assert.equal(row.category, 'hazardous_gas');
      assert.equal(row.severity, 'normal');
      assert.equal(row.rule_id, 'gas-level-1');
      assert.equal(row.gateway_id, GW);
      assert.equal(row.alarm_key, 'gas-1:h2s_high');
      assert.equal(row.component_id, '1101010120000001');
      assert.equal(row.grid_cell, '110101001001001');
      assert.deepEqual(JSON.parse(row.location ?? 'null'), {
        address: 'Example Road 1',
        latitude: 39.9,
        longitude: 116.4,
      });
      assert.equal(row.owner_unit, 'drainage-co');
      assert.equal(row.competent_department, 'City Management Bureau');
      assert.equal(row.maintenance_unit, 'drainage-maint');
      assert.equal(row.reported_at, T.toISOString());
      assert.equal(row.filed_at, T.toISOString());
      // docs/domain.md: filing and dispatch within 30 min for a normal case.
      assert.equal(row.dispatch_deadline, plusMinutes(T, 30).toISOString());
      assert.equal(row.activations, 1);
      assert.equal(row.max_level, 1);
      assert.equal(row.alarm_active, 1);
      assert.equal(row.revision, 1);

      const evidence = JSON.parse(row.evidence) as CaseEvidence;
      assert.equal(evidence.alarm?.id, events[0]?.id);
      assert.equal(evidence.alarm?.seq, 1);
      assert.equal(evidence.alarm?.kind, 'alarm_transition');
      // The 30-minute window keeps -10 and -5 (oldest first), not -40 nor another device's.
      assert.deepEqual(
        evidence.trend.map((point) => [point.receivedAt, point.values]),
        [
          [plusMinutes(T, -10).toISOString(), { h2s: 4 }],
          [plusMinutes(T, -5).toISOString(), { h2s: 8 }],
        ],
      );

      const history = await historyOf(db, row.id);
      assert.deepEqual(
        history.map((h) => [h.action, h.actor, h.role, h.from_state, h.to_state]),
        [
          ['report', 'system', null, null, 'reported'],
          ['file', 'system', null, 'reported', 'filed'],
        ],
      );
      const activations = await db.selectFrom('case_activations').selectAll().execute();
      assert.deepEqual(
        activations.map((a) => [a.event_id, a.case_id, a.level]),
        [[events[0]?.id, row.id, 1]],
      );
      assert.ok(logger.lines.some((line) => line.message === 'case opened from alarm'));
    });

    it('attaches further activations to the open case and records the return to normal', async () => {
      await feeder.send(T, [gasActive(1)]);
      // Acknowledging changes nothing on the case.
      await feeder.send(plusMinutes(T, 1), [gasActive(1, 'acknowledged')]);
      await feeder.send(plusMinutes(T, 5), [gasNormal()]);
      let [row] = await casesOf(db);
      assert.ok(row);
      assert.equal(row.alarm_active, 0);
      assert.equal(row.alarm_normal_since, plusMinutes(T, 5).toISOString());

      // Back, and worse: level 2 makes the case urgent (rule gas-level-2) and its dispatch
      // deadline 10 minutes from the report.
      await feeder.send(plusMinutes(T, 8), [gasActive(2)]);
      const all = await casesOf(db);
      assert.equal(all.length, 1);
      row = all[0];
      assert.ok(row);
      assert.equal(row.activations, 2);
      assert.equal(row.max_level, 2);
      assert.equal(row.severity, 'urgent');
      assert.equal(row.dispatch_deadline, plusMinutes(T, 10).toISOString());
      assert.equal(row.alarm_active, 1);
      assert.equal(row.alarm_normal_since, null);
      assert.equal(row.revision, 1, 'system updates are not workflow transitions');

      const history = await historyOf(db, row.id);
      assert.deepEqual(
        history.map((h) => h.action),
        ['report', 'file', 'alarm_normal', 'activation'],
      );
      const activation = history[3];
      assert.deepEqual(JSON.parse(activation?.detail ?? '{}'), {
        eventId: (
          await db.selectFrom('case_activations').select('event_id').orderBy('at', 'desc').executeTakeFirst()
        )?.event_id,
        level: 2,
        value: 12.5,
        activations: 2,
        severity: 'urgent',
      });
      assert.equal((await db.selectFrom('case_activations').selectAll().execute()).length, 2);
    });

    it('adds nothing when a batch is delivered again', async () => {
      const first = await feeder.send(T, [gasActive(1), gasNormal(), gasActive(1)]);
      const before = await casesOf(db);
      assert.equal(before[0]?.activations, 2);
      const again = await feeder.resend(plusMinutes(T, 1), first.batch);
      assert.equal(again.committed, 0);
      assert.equal(again.duplicates, 3);
      assert.deepEqual(await casesOf(db), before);
      assert.equal((await db.selectFrom('case_history').selectAll().execute()).length, 4);
      assert.equal((await db.selectFrom('case_activations').selectAll().execute()).length, 2);
    });

    it('counts an activation event once even if the hook sees it twice', async () => {
      const hook = caseFilingHook({ config: DEFAULT_CASES_CONFIG, calendar, logger });
      const { events } = await feeder.send(T, [gasActive(1), gasNormal(), gasActive(1)]);
      const reactivation = events[2];
      const normal = events[1];
      assert.ok(reactivation && normal);
      // The alarm goes normal again, then the re-activation arrives a second time (a replayed hook).
      const context = {
        gatewayId: GW,
        epoch: 'e',
        lane: 'priority' as const,
        receivedAt: plusMinutes(T, 2).toISOString(),
      };
      await db.transaction().execute((trx) => hook(trx, context, [normal, reactivation]));
      const [row] = await casesOf(db);
      assert.equal(row?.activations, 2);
      assert.equal(row?.alarm_active, 0, 'the replayed activation is not attached');
    });

    it('handles an activation and its return to normal in the same batch', async () => {
      await feeder.send(T, [gasActive(1), gasNormal()]);
      const [row] = await casesOf(db);
      assert.ok(row);
      assert.equal(row.alarm_active, 0);
      assert.equal(row.alarm_normal_since, T.toISOString());
      assert.deepEqual(
        (await historyOf(db, row.id)).map((h) => h.action),
        ['report', 'file', 'alarm_normal'],
      );
    });

    it('files nothing for shelved, suppressed or out-of-service transitions', async () => {
      for (const to of ['shelved', 'suppressed', 'out_of_service'] as const) {
        await feeder.send(T, [
          alarmEvent({
            deviceId: 'gas-1',
            ruleKey: 'h2s_high',
            condition: 'high',
            to,
            active: true,
            level: 2,
          }),
        ]);
      }
      assert.deepEqual(await casesOf(db), []);
      // A silenced return to normal does not touch an open case either.
      await feeder.send(T, [gasActive(1)]);
      await feeder.send(T, [
        alarmEvent({
          deviceId: 'gas-1',
          ruleKey: 'h2s_high',
          condition: 'high',
          to: 'shelved',
          active: false,
          level: 0,
        }),
      ]);
      assert.equal((await casesOf(db))[0]?.alarm_active, 1);
    });

    it('leaves a case reported when its rule does not file automatically; unregistered devices too', async () => {
      // device-fault: conditions boolean/stale/comm_loss, no families, autoFile false.
      await feeder.send(T, [
        alarmEvent({
          deviceId: 'unknown-7',
          ruleKey: 'comm',
          condition: 'comm_loss',
          to: 'unacknowledged',
          active: true,
          level: 1,
          value: null,
        }),
      ]);
      const [row] = await casesOf(db);
      assert.ok(row);
      assert.equal(row.state, 'reported');
      assert.equal(row.filed_at, null);
      assert.equal(row.rule_id, 'device-fault');
      assert.equal(row.component_id, null);
      assert.equal(row.owner_unit, null);
      assert.equal(row.location, null);
      assert.equal(row.revision, 0);
      assert.deepEqual(
        (await historyOf(db, row.id)).map((h) => h.action),
        ['report'],
      );
    });

    it('holds an unregistered device at the monitoring desk, with the reason in words, instead of filing it', async () => {
      // Issue 9: on a fresh cloud a gas leak filed nothing because its device was not registered.
      // The gateway sends the profile family with the alarm, so the gas rule matches, and the case
      // waits, reported, where the monitoring desk sees why.
      const counted = useCountingFeeder();
      await feeder.send(T, [
        { ...gasLeakAt('gas-unregistered'), family: 'gas-detector' } as GatewayEventBody,
      ]);
      const [row, ...more] = await casesOf(db);
      assert.ok(row);
      assert.equal(more.length, 0);
      assert.equal(row.state, 'reported', 'not filed on its own: nobody could be dispatched');
      assert.equal(row.rule_id, 'gas-level-2');
      assert.equal(row.category, 'hazardous_gas');
      assert.equal(row.component_id, null);
      assert.match(
        row.hold_reason ?? '',
        /device gas-unregistered of gateway .* is not a registered component/,
      );
      assert.deepEqual(counted, ['held:unregistered_component']);
      assert.ok(logger.lines.some((l) => l.message.includes('held for the monitoring desk')));

      // Registering the component lifts the hold; the case takes its id and owners.
      await upsertComponent(
        db,
        { ...structuredClone(DEFAULT_CASES_CONFIG), countyCode: '110105' },
        '1101050120000009',
        {
          gatewayId: GW,
          deviceId: 'gas-unregistered',
          family: 'gas-detector',
          name: 'Gas vault 9',
          competentDepartment: 'City Management Bureau',
          ownerUnit: 'drainage-co',
          maintenanceUnit: 'drainage-maint',
        },
        plusMinutes(T, 3),
      );
      const [adopted] = await casesOf(db);
      assert.equal(adopted?.component_id, '1101050120000009');
      assert.equal(adopted?.owner_unit, 'drainage-co');
      assert.equal(adopted?.hold_reason, null);
      assert.equal(adopted?.state, 'reported', 'the desk still files it');
      const history = await historyOf(db, row.id);
      assert.deepEqual(
        history.map((h) => h.action),
        ['report', 'component_registered'],
      );
    });

    it('holds a case whose component has no owner unit', async () => {
      await registerComponent(db, {
        component_id: '1101010120000002',
        device_id: 'gas-ownerless',
        family: 'gas-detector',
        class_code: '0120',
        owner_unit: '',
      });
      await feeder.send(T, [gasLeakAt('gas-ownerless')]);
      const [row] = await casesOf(db);
      assert.equal(row?.state, 'reported');
      assert.match(row?.hold_reason ?? '', /component 1101010120000002 has no owner unit/);
    });

    it('an alarm of an unregistered device without a family (an older gateway) files nothing, counted and logged', async () => {
      const counted = useCountingFeeder();
      await feeder.send(T, [gasLeakAt('gas-unknown')]);
      assert.deepEqual(await casesOf(db), []);
      assert.deepEqual(counted, ['unfiled:no_rule']);
      const line = logger.lines.find((l) => l.message === 'alarm filed no case');
      assert.equal(line?.fields['reason'], 'no_rule');
      assert.match(String(line?.fields['why']), /no filing rule matches condition high.*unknown family/);
    });

    it('files nothing when no rule matches (condition, level, family)', async () => {
      // gas rules need conditions high/low; `rate` matches none. Lighting needs its family.
      await feeder.send(T, [
        alarmEvent({
          deviceId: 'gas-1',
          ruleKey: 'h2s_rate',
          condition: 'rate',
          to: 'unacknowledged',
          active: true,
          level: 3,
        }),
      ]);
      await feeder.send(T, [
        alarmEvent({
          deviceId: 'gas-1',
          ruleKey: 'lamp',
          condition: 'lamp_failure',
          to: 'unacknowledged',
          active: true,
          level: 1,
        }),
      ]);
      assert.deepEqual(await casesOf(db), []);
    });
  });
}

describe('filing rule matching', () => {
  const rules = DEFAULT_CASES_CONFIG.rules;
  const gas = { family: 'gas-detector', class_code: '0120' };
  it('takes the first matching rule at the level', () => {
    assert.equal(matchFilingRule(rules, gas, { condition: 'high', ruleKey: 'h2s' }, 1)?.id, 'gas-level-1');
    assert.equal(matchFilingRule(rules, gas, { condition: 'high', ruleKey: 'h2s' }, 2)?.id, 'gas-level-2');
    // Registry data may spell families with underscores.
    assert.equal(
      matchFilingRule(rules, { ...gas, family: 'gas_detector' }, { condition: 'low', ruleKey: 'o2' }, 2)?.id,
      'gas-level-2',
    );
    assert.equal(matchFilingRule(rules, undefined, { condition: 'high', ruleKey: 'h2s' }, 2), undefined);
  });
  it('matches rule keys exactly or by a trailing-* prefix, and class codes', () => {
    const custom = [
      {
        id: 'prefix',
        ruleKeys: ['tilt*'],
        minLevel: 1,
        category: 'manhole_cover',
        severity: 'urgent' as const,
        autoFile: true,
      },
      {
        id: 'class',
        classCodes: ['0102'],
        minLevel: 2,
        category: 'manhole_cover',
        severity: 'normal' as const,
        autoFile: true,
      },
    ];
    assert.equal(
      matchFilingRule(custom, undefined, { condition: 'high', ruleKey: 'tilt_x' }, 1)?.id,
      'prefix',
    );
    assert.equal(matchFilingRule(custom, undefined, { condition: 'high', ruleKey: 'xtilt' }, 1), undefined);
    assert.equal(
      matchFilingRule(
        custom,
        { family: 'manhole-cover', class_code: '0102' },
        { condition: 'high', ruleKey: 'water' },
        2,
      )?.id,
      'class',
    );
    assert.equal(
      matchFilingRule(
        custom,
        { family: 'manhole-cover', class_code: '0101' },
        { condition: 'high', ruleKey: 'water' },
        2,
      ),
      undefined,
    );
    assert.equal(
      matchFilingRule(
        custom,
        { family: 'manhole-cover', class_code: '0102' },
        { condition: 'high', ruleKey: 'water' },
        1,
      ),
      undefined,
    );
  });
});
