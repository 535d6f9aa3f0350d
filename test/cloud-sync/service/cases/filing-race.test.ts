/**
 * One open case per alarm holds under concurrency (migration 0004 `cases_one_open_per_alarm`):
 * two ingest transactions filing the same alarm at once, as two cloud instances on PostgreSQL
 * can when a gateway's old and new database (two epochs) both deliver an activation. Both commit;
 * the loser meets the unique constraint, is run again by ingest and finds the winner's case.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import { caseFilingHook } from '../../../../cloud-sync/service/cases/filing.js';
import {
  alarmEvent,
  BACKENDS,
  Feeder,
  memoryLogger,
  registerComponent,
  type OpenedDatabase,
} from './case-helpers.js';

const OTHER_EPOCH = '9b2d0f31-4c5e-4f70-9bac-1d2e3f4a5b6c';
const calendar = new WorkingCalendar(DEFAULT_CASES_CONFIG.calendar);
const postgres = BACKENDS.find((b) => b.name === 'PostgreSQL');

describe('one open case per alarm under concurrent filing (PostgreSQL)', () => {
  const opened: OpenedDatabase[] = [];
  after(async () => {
    for (const o of opened) await o.close();
  });

  it('files one case, never two, in every one of 10 races', async () => {
    assert.ok(postgres);
    const database = await postgres.open();
    opened.push(database);
    const { db } = database;
    await registerComponent(db, {
      component_id: '1101010120000001',
      device_id: 'gas-1',
      family: 'gas-detector',
      class_code: '0120',
      owner_unit: 'drainage-co',
    });
    const hooks = [caseFilingHook({ config: DEFAULT_CASES_CONFIG, calendar, logger: memoryLogger() })];
    const a = new Feeder(db, hooks);
    const b = new Feeder(db, hooks, OTHER_EPOCH);
    for (let round = 0; round < 10; round++) {
      const key = `h2s_high_${round}`;
      const activation = alarmEvent({
        deviceId: 'gas-1',
        ruleKey: key,
        condition: 'high',
        to: 'unacknowledged',
        active: true,
        level: 1,
      });
      await Promise.all([a.send(new Date(), [activation]), b.send(new Date(), [activation])]);
      const cases = await db
        .selectFrom('cases')
        .select(['id', 'activations'])
        .where('alarm_key', '=', `gas-1:${key}`)
        .execute();
      assert.equal(cases.length, 1, `round ${round}: ${cases.length} cases for one alarm`);
      // The loser found the case's alarm already active: the same activation, not a second one.
      assert.equal(cases[0]?.activations, 1, `round ${round}`);
    }
  });
});
