/**
 * Case KPIs (cases/kpi.ts, kpi-query.ts, kpi-routes.ts) against a HAND-COMPUTED fixture: fourteen
 * cases written out below, the period June 2024 [2024-06-01T00:00Z, 2024-07-01T00:00Z), "now"
 * 2024-07-05T00:00Z. Every expected number is a literal with its derivation beside it, checked on
 * the pure functions, through kpi-query on a real SQLite database, and through the HTTP route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import {
  computeKpis,
  groupKpis,
  periods,
  suspendedAt,
  type KpiCase,
  type KpiFigures,
} from '../../../../cloud-sync/service/cases/kpi.js';
import { loadKpiCases } from '../../../../cloud-sync/service/cases/kpi-query.js';
import type { CaseHistoryTable, CasesTable } from '../../../../cloud-sync/service/db/case-tables.js';
import { buildTestApi } from '../api/harness.js';
import { openTempDb, signIn, type TempDb } from '../auth/harness.js';

const FROM = new Date('2024-06-01T00:00:00.000Z');
const TO = new Date('2024-07-01T00:00:00.000Z');
const NOW = new Date('2024-07-05T00:00:00.000Z');
const JUNE = { from: FROM, to: TO };

interface Fixture {
  id: string;
  unit: string | null;
  category: string;
  state: string;
  suspended?: boolean;
  reported: string;
  filed?: string;
  dispatched?: string;
  closed?: string;
  cancelled?: string;
  /** Dispatch deadline; 30 min after the report unless given. */
  dispatchDeadline?: string;
  deadline?: string;
  onTime?: boolean;
  rework?: number;
  history?: Array<[at: string, action: 'suspend' | 'resume']>;
}

// Times are UTC ('2024-06-02T00:20' = 2024-06-02T00:20:00.000Z).
const FIXTURE: Fixture[] = [
  // C1: due in June, closed on time. Dispatch 20 min after report; closed 300 min after report.
  {
    id: 'c01',
    unit: 'A',
    category: 'manhole_cover',
    state: 'closed',
    reported: '2024-06-02T00:00',
    filed: '2024-06-02T00:05',
    dispatched: '2024-06-02T00:20',
    deadline: '2024-06-02T06:20',
    closed: '2024-06-02T05:00',
    onTime: true,
  },
  // C2: due in June, closed late. Dispatch 30 min; close 600 min.
  {
    id: 'c02',
    unit: 'A',
    category: 'manhole_cover',
    state: 'closed',
    reported: '2024-06-03T00:00',
    filed: '2024-06-03T00:10',
    dispatched: '2024-06-03T00:30',
    deadline: '2024-06-03T06:30',
    closed: '2024-06-03T10:00',
    onTime: false,
  },
  // C3: reworked once, closed on time. Dispatch 10 min; close 1200 min.
  {
    id: 'c03',
    unit: 'B',
    category: 'lighting_fault',
    state: 'closed',
    reported: '2024-06-05T00:00',
    filed: '2024-06-05T00:00',
    dispatched: '2024-06-05T00:10',
    deadline: '2024-06-06T00:10',
    closed: '2024-06-05T20:00',
    onTime: true,
    rework: 1,
  },
  // C4: due in June, suspended on 06-15 and still suspended at the end. Dispatch 15 min.
  {
    id: 'c04',
    unit: 'B',
    category: 'device_fault',
    state: 'in_progress',
    suspended: true,
    reported: '2024-06-10T00:00',
    filed: '2024-06-10T00:05',
    dispatched: '2024-06-10T00:15',
    deadline: '2024-06-20T00:00',
    history: [['2024-06-15T00:00', 'suspend']],
  },
  // C5: suspended 06-12, resumed 06-13 (not suspended at the end), still open: overdue now. Dispatch 25 min.
  {
    id: 'c05',
    unit: 'A',
    category: 'manhole_cover',
    state: 'in_progress',
    reported: '2024-06-11T00:00',
    filed: '2024-06-11T00:05',
    dispatched: '2024-06-11T00:25',
    deadline: '2024-06-25T00:00',
    history: [
      ['2024-06-12T00:00', 'suspend'],
      ['2024-06-13T00:00', 'resume'],
    ],
  },
  // C6: cancelled before dispatch.
  {
    id: 'c06',
    unit: 'A',
    category: 'device_fault',
    state: 'cancelled',
    reported: '2024-06-14T00:00',
    filed: '2024-06-14T00:05',
    cancelled: '2024-06-14T01:00',
  },
  // C7: entirely in May: in no figure of June.
  {
    id: 'c07',
    unit: 'A',
    category: 'manhole_cover',
    state: 'closed',
    reported: '2024-05-01T00:00',
    filed: '2024-05-01T00:05',
    dispatched: '2024-05-01T00:10',
    deadline: '2024-05-02T00:00',
    closed: '2024-05-01T12:00',
    onTime: true,
  },
  // C8: reported and dispatched in May, due and closed (on time) in June. Close 120 min.
  {
    id: 'c08',
    unit: 'B',
    category: 'lighting_fault',
    state: 'closed',
    reported: '2024-05-31T23:00',
    filed: '2024-05-31T23:05',
    dispatched: '2024-05-31T23:30',
    deadline: '2024-06-01T02:00',
    closed: '2024-06-01T01:00',
    onTime: true,
  },
  // C9: dispatched in June (60 min), due in July (not due in June), open: overdue now.
  {
    id: 'c09',
    unit: 'A',
    category: 'manhole_cover',
    state: 'in_progress',
    reported: '2024-06-30T18:00',
    filed: '2024-06-30T18:05',
    dispatched: '2024-06-30T19:00',
    deadline: '2024-07-01T01:00',
  },
  // C10: due in June, closed after the period (counts as due, not as closed). Dispatch 60 min.
  {
    id: 'c10',
    unit: 'B',
    category: 'structure',
    state: 'closed',
    reported: '2024-06-28T00:00',
    filed: '2024-06-28T00:05',
    dispatched: '2024-06-28T01:00',
    deadline: '2024-06-29T00:00',
    closed: '2024-07-02T00:00',
    onTime: false,
  },
  // C11: reported, never filed, no owner unit; past its dispatch deadline: overdue now.
  {
    id: 'c11',
    unit: null,
    category: 'device_fault',
    state: 'reported',
    reported: '2024-06-20T00:00',
    dispatchDeadline: '2024-06-20T00:30',
  },
  // C12: reworked twice, closed late. Dispatch 10 min; close 3 days = 4320 min.
  {
    id: 'c12',
    unit: 'A',
    category: 'manhole_cover',
    state: 'closed',
    reported: '2024-06-15T00:00',
    filed: '2024-06-15T00:05',
    dispatched: '2024-06-15T00:10',
    deadline: '2024-06-16T00:10',
    closed: '2024-06-18T00:00',
    onTime: false,
    rework: 2,
  },
  // C13: due in June, suspended exactly at `to` (at or before `to`: suspended). Dispatch 60 min.
  {
    id: 'c13',
    unit: 'B',
    category: 'lighting_fault',
    state: 'dispatched',
    suspended: true,
    reported: '2024-06-25T00:00',
    filed: '2024-06-25T00:10',
    dispatched: '2024-06-25T01:00',
    deadline: '2024-06-29T00:00',
    history: [['2024-07-01T00:00', 'suspend']],
  },
  // C14: due in June, suspended only after the period (not suspended at `to`). Dispatch 60 min.
  {
    id: 'c14',
    unit: 'A',
    category: 'structure',
    state: 'in_progress',
    suspended: true,
    reported: '2024-06-26T00:00',
    filed: '2024-06-26T00:10',
    dispatched: '2024-06-26T01:00',
    deadline: '2024-06-30T12:00',
    history: [['2024-07-02T00:00', 'suspend']],
  },
];

const utc = (text: string): Date => new Date(`${text}:00.000Z`);
const utcOrNull = (text: string | undefined): Date | null => (text === undefined ? null : utc(text));

function toKpiCase(f: Fixture): KpiCase {
  return {
    id: f.id,
    category: f.category,
    ownerUnit: f.unit,
    state: f.state,
    suspended: f.suspended === true,
    reportedAt: utc(f.reported),
    filedAt: utcOrNull(f.filed),
    dispatchedAt: utcOrNull(f.dispatched),
    closedAt: utcOrNull(f.closed),
    cancelledAt: utcOrNull(f.cancelled),
    dispatchDeadline:
      f.dispatchDeadline === undefined
        ? new Date(utc(f.reported).getTime() + 30 * 60_000)
        : utc(f.dispatchDeadline),
    handleDeadline: utcOrNull(f.deadline),
    closedOnTime: f.onTime === undefined ? null : f.onTime,
    reworkCount: f.rework ?? 0,
    suspensions: (f.history ?? []).map(([at, action]) => ({ at: utc(at), action })),
  };
}

const CASES = FIXTURE.map(toKpiCase);

/** June, all units. */
const EXPECTED_ALL: KpiFigures = {
  // Reported in June: all but C7, C8 (May) = 12.
  reported: 12,
  // Filed in June: the 12 above but C11 (never filed) = 11.
  filed: 11,
  // Dispatched in June: C1-C5, C9, C10, C12, C13, C14 = 10 (C6 cancelled, C7/C8 in May, C11 not).
  dispatched: 10,
  // Closed in June: C1, C2, C3, C8, C12 = 5 (C7 in May, C10 in July).
  closed: 5,
  cancelled: 1, // C6
  // Deadline in June: C1, C2, C3, C4, C5, C8, C10, C12, C13, C14 = 10 (C9 due in July).
  due: 10,
  // Due and suspended at `to`: C4 (since 06-15), C13 (at `to` exactly) = 2; C5 resumed, C14 later.
  dueSuspended: 2,
  // Due and closed before `to`: C1, C2, C3, C8, C12 = 5.
  dueClosed: 5,
  // Of those on time: C1, C3, C8 = 3.
  dueClosedOnTime: 3,
  closureRate: 5 / 8, // 5 / (10 - 2)
  onTimeClosureRate: 3 / 8, // 3 / (10 - 2)
  // Closed in June and reworked: C3 (1), C12 (2) = 2.
  closedReworked: 2,
  reworkRate: 2 / 5,
  // (20 + 30 + 10 + 15 + 25 + 60 [C9] + 60 [C10] + 10 [C12] + 60 [C13] + 60 [C14]) / 10 = 350 / 10.
  meanTimeToDispatchMin: 35,
  // (300 [C1] + 600 [C2] + 1200 [C3] + 120 [C8] + 4320 [C12]) / 5 = 6540 / 5.
  meanTimeToCloseMin: 1308,
  // Open and not suspended, past the deadline on 07-05: C5 (06-25), C9 (07-01 01:00), C11
  // (dispatch deadline 06-20 00:30) = 3; C4, C13, C14 are suspended.
  overdueNow: 3,
};

/** Unit A: C1, C2, C5, C6, C7, C9, C12, C14. */
const EXPECTED_A: KpiFigures = {
  reported: 7, // C1, C2, C5, C6, C9, C12, C14
  filed: 7,
  dispatched: 6, // C1, C2, C5, C9, C12, C14
  closed: 3, // C1, C2, C12
  cancelled: 1, // C6
  due: 5, // C1, C2, C5, C12, C14
  dueSuspended: 0,
  dueClosed: 3, // C1, C2, C12
  dueClosedOnTime: 1, // C1
  closureRate: 3 / 5,
  onTimeClosureRate: 1 / 5,
  closedReworked: 1, // C12
  reworkRate: 1 / 3,
  meanTimeToDispatchMin: (20 + 30 + 25 + 60 + 10 + 60) / 6, // 205 / 6
  meanTimeToCloseMin: (300 + 600 + 4320) / 3, // 1740
  overdueNow: 2, // C5, C9
};

/** Unit B: C3, C4, C8, C10, C13. */
const EXPECTED_B: KpiFigures = {
  reported: 4, // C3, C4, C10, C13
  filed: 4,
  dispatched: 4, // C3, C4, C10, C13
  closed: 2, // C3, C8
  cancelled: 0,
  due: 5, // C3, C4, C8, C10, C13
  dueSuspended: 2, // C4, C13
  dueClosed: 2, // C3, C8
  dueClosedOnTime: 2,
  closureRate: 2 / 3, // 2 / (5 - 2)
  onTimeClosureRate: 2 / 3,
  closedReworked: 1, // C3
  reworkRate: 1 / 2,
  meanTimeToDispatchMin: (10 + 15 + 60 + 60) / 4, // 36.25
  meanTimeToCloseMin: (1200 + 120) / 2, // 660
  overdueNow: 0,
};

/** No owner unit: C11 only. */
const EXPECTED_NO_UNIT: KpiFigures = {
  reported: 1,
  filed: 0,
  dispatched: 0,
  closed: 0,
  cancelled: 0,
  due: 0,
  dueSuspended: 0,
  dueClosed: 0,
  dueClosedOnTime: 0,
  closureRate: null, // 0 / 0
  onTimeClosureRate: null,
  closedReworked: 0,
  reworkRate: null,
  meanTimeToDispatchMin: null,
  meanTimeToCloseMin: null,
  overdueNow: 1,
};

const iso = (text: string | undefined): string | null => (text === undefined ? null : `${text}:00.000Z`);

function toRow(f: Fixture): CasesTable {
  const reportedAt = `${f.reported}:00.000Z`;
  return {
    id: f.id,
    case_no: `20240601-${f.id.toUpperCase()}`,
    state: f.state,
    suspended: f.suspended === true ? 1 : 0,
    suspended_at: f.suspended === true ? iso(f.history?.at(-1)?.[0]) : null,
    hold_reason: null,
    category: f.category,
    severity: 'normal',
    rule_id: null,
    gateway_id: 'gw-1',
    device_id: `dev-${f.id}`,
    alarm_key: `dev-${f.id}:rule`,
    open_alarm_key: ['closed', 'cancelled'].includes(f.state) ? null : `dev-${f.id}:rule`,
    condition: 'high',
    component_id: null,
    grid_cell: null,
    location: null,
    competent_department: null,
    owner_unit: f.unit,
    maintenance_unit: null,
    evidence: '{}',
    max_level: 1,
    activations: 1,
    alarm_active: 0,
    alarm_normal_since: null,
    sensor_verified_at: null,
    reported_at: reportedAt,
    filed_at: iso(f.filed),
    dispatched_at: iso(f.dispatched),
    accepted_at: null,
    feedback_at: null,
    closed_at: iso(f.closed),
    cancelled_at: iso(f.cancelled),
    dispatch_deadline:
      iso(f.dispatchDeadline) ?? new Date(Date.parse(reportedAt) + 30 * 60_000).toISOString(),
    handle_deadline: iso(f.deadline),
    rework_count: f.rework ?? 0,
    escalation_level: 0,
    closed_on_time: f.onTime === undefined ? null : f.onTime ? 1 : 0,
    revision: 1,
    updated_at: reportedAt,
  };
}

describe('case KPIs (pure)', () => {
  it('computes every figure of the hand-computed fixture', () => {
    assert.deepEqual(computeKpis(CASES, JUNE, NOW), EXPECTED_ALL);
  });

  it('groups by owner unit, cases without one last', () => {
    assert.deepEqual(groupKpis(CASES, JUNE, 'unit', NOW), [
      { key: 'A', figures: EXPECTED_A },
      { key: 'B', figures: EXPECTED_B },
      { key: null, figures: EXPECTED_NO_UNIT },
    ]);
  });

  it('groups by category and as one row', () => {
    const byCategory = groupKpis(CASES, JUNE, 'category', NOW);
    assert.deepEqual(
      byCategory.map((group) => [group.key, group.figures.due, group.figures.dueClosed]),
      [
        ['device_fault', 1, 0], // C4 due (suspended); C6, C11 not due
        ['lighting_fault', 3, 2], // C3, C8, C13 due; C3, C8 closed
        ['manhole_cover', 4, 3], // C1, C2, C5, C12 due (C7 May, C9 July); C1, C2, C12 closed
        ['structure', 2, 0], // C10, C14 due; C10 closed after the period
      ],
    );
    assert.deepEqual(groupKpis(CASES, JUNE, 'none', NOW), [{ key: null, figures: EXPECTED_ALL }]);
  });

  it('reads suspension at the end of the period from the last suspend or resume at or before it', () => {
    const [c4, c5, c13, c14] = ['c04', 'c05', 'c13', 'c14'].map(
      (id) => CASES.find((c) => c.id === id) as KpiCase,
    ) as [KpiCase, KpiCase, KpiCase, KpiCase];
    assert.equal(suspendedAt(c4, TO), true);
    assert.equal(suspendedAt(c4, utc('2024-06-14T23:59')), false, 'before the suspension');
    assert.equal(suspendedAt(c5, utc('2024-06-12T12:00')), true, 'between suspend and resume');
    assert.equal(suspendedAt(c5, TO), false);
    assert.equal(suspendedAt(c13, TO), true, 'suspended exactly at `to`');
    assert.equal(suspendedAt(c14, TO), false, 'suspended after `to`');
  });

  it('cuts a period into local days, ISO weeks (Monday) and months of the calendar zone', () => {
    const calendar = new WorkingCalendar(DEFAULT_CASES_CONFIG.calendar); // Asia/Shanghai, UTC+8
    // FROM is Saturday 06-01 08:00 local; TO is Monday 07-01 08:00 local.
    const weeks = periods(FROM, TO, 'week', calendar);
    assert.deepEqual(
      weeks.map((w) => [w.label, w.from.toISOString(), w.to.toISOString()]),
      [
        ['2024-W22', '2024-06-01T00:00:00.000Z', '2024-06-02T16:00:00.000Z'], // clipped at FROM; Monday 06-03 00:00 local
        ['2024-W23', '2024-06-02T16:00:00.000Z', '2024-06-09T16:00:00.000Z'],
        ['2024-W24', '2024-06-09T16:00:00.000Z', '2024-06-16T16:00:00.000Z'],
        ['2024-W25', '2024-06-16T16:00:00.000Z', '2024-06-23T16:00:00.000Z'],
        ['2024-W26', '2024-06-23T16:00:00.000Z', '2024-06-30T16:00:00.000Z'],
        ['2024-W27', '2024-06-30T16:00:00.000Z', '2024-07-01T00:00:00.000Z'], // clipped at TO
      ],
    );
    const months = periods(FROM, TO, 'month', calendar);
    assert.deepEqual(
      months.map((m) => [m.label, m.from.toISOString(), m.to.toISOString()]),
      [
        ['2024-06', '2024-06-01T00:00:00.000Z', '2024-06-30T16:00:00.000Z'],
        ['2024-07', '2024-06-30T16:00:00.000Z', '2024-07-01T00:00:00.000Z'],
      ],
    );
    const days = periods(FROM, TO, 'day', calendar);
    assert.equal(days.length, 31); // local dates 06-01 .. 07-01
    assert.equal(days[0]?.label, '2024-06-01');
    assert.equal(days[30]?.label, '2024-07-01');
    // The buckets tile [FROM, TO) without gaps, so bucket counts add up to the whole period's.
    const dayTotals = days.map((d) => computeKpis(CASES, d, NOW));
    assert.equal(
      dayTotals.reduce((sum, f) => sum + f.reported, 0),
      EXPECTED_ALL.reported,
    );
    assert.equal(
      dayTotals.reduce((sum, f) => sum + f.due, 0),
      EXPECTED_ALL.due,
    );
  });
});

describe('case KPIs (SQLite and HTTP)', () => {
  let temp: TempDb;
  let app: FastifyInstance;

  before(async () => {
    temp = await openTempDb('kerbside-kpi-');
    await temp.db.insertInto('cases').values(FIXTURE.map(toRow)).execute();
    const history: CaseHistoryTable[] = FIXTURE.flatMap((f) =>
      (f.history ?? []).map(([at, action], index) => ({
        id: `${f.id}-h${index}`,
        case_id: f.id,
        at: `${at}:00.000Z`,
        actor: 'disp.wang',
        role: 'dispatcher',
        action,
        from_state: f.state,
        to_state: f.state,
        note: 'fixture',
        detail: null,
      })),
    );
    // Steps the KPI query must ignore.
    history.push({
      id: 'c05-file',
      case_id: 'c05',
      at: '2024-06-11T00:05:00.000Z',
      actor: 'system',
      role: 'monitoring',
      action: 'file',
      from_state: 'reported',
      to_state: 'filed',
      note: null,
      detail: null,
    });
    await temp.db.insertInto('case_history').values(history).execute();
    app = await buildTestApi(temp.db, { now: () => NOW });
  });

  after(async () => {
    await app.close();
    await temp.close();
  });

  it('loads the same figures from the database', async () => {
    const loaded = await loadKpiCases(temp.db, JUNE);
    // C7 is in no figure of June and not open, so it is not read.
    assert.deepEqual(
      loaded.map((c) => c.id).sort(),
      FIXTURE.map((f) => f.id).filter((id) => id !== 'c07'),
    );
    assert.deepEqual(computeKpis(loaded, JUNE, NOW), EXPECTED_ALL);
    assert.deepEqual(groupKpis(loaded, JUNE, 'unit', NOW), [
      { key: 'A', figures: EXPECTED_A },
      { key: 'B', figures: EXPECTED_B },
      { key: null, figures: EXPECTED_NO_UNIT },
    ]);
    assert.deepEqual(
      computeKpis(await loadKpiCases(temp.db, JUNE, { ownerUnit: 'B' }), JUNE, NOW),
      EXPECTED_B,
    );
  });

  it('answers GET /api/v1/kpis with the figures, grouped and bucketed', async () => {
    const { headers } = await signIn(temp.db, { username: 'mon.li', roles: ['monitoring'] });
    const url = `/api/v1/kpis?from=${FROM.toISOString()}&to=${TO.toISOString()}`;
    const whole = await app.inject({ method: 'GET', url, headers });
    assert.equal(whole.statusCode, 200, whole.body);
    assert.deepEqual(whole.json(), {
      from: FROM.toISOString(),
      to: TO.toISOString(),
      now: NOW.toISOString(),
      groupBy: 'none',
      bucket: 'none',
      ownerUnit: null,
      rows: [
        { from: FROM.toISOString(), to: TO.toISOString(), label: null, group: null, figures: EXPECTED_ALL },
      ],
    });

    const byUnit = await app.inject({ method: 'GET', url: `${url}&groupBy=unit`, headers });
    assert.deepEqual(
      byUnit
        .json()
        .rows.map((row: { group: string | null; figures: KpiFigures }) => [row.group, row.figures]),
      [
        ['A', EXPECTED_A],
        ['B', EXPECTED_B],
        [null, EXPECTED_NO_UNIT],
      ],
    );

    const monthly = await app.inject({ method: 'GET', url: `${url}&bucket=month`, headers });
    const rows = monthly.json().rows as Array<{ label: string; figures: KpiFigures }>;
    assert.deepEqual(
      rows.map((row) => row.label),
      ['2024-06', '2024-07'],
    );
    // 06-30T16:00Z-07-01T00:00Z (July 1st local morning) holds no step of the fixture except C9's
    // report (06-30 18:00Z) and dispatch (19:00Z).
    assert.equal(rows[1]?.figures.reported, 1);
    assert.equal(rows[1]?.figures.dispatched, 1);
  });

  it('restricts an owner-unit operator to its own unit', async () => {
    const { headers } = await signIn(temp.db, { username: 'unit.b', roles: ['owner_unit'], unit: 'B' });
    const response = await app.inject({
      method: 'GET',
      url: `/api/v1/kpis?from=${FROM.toISOString()}&to=${TO.toISOString()}&groupBy=unit`,
      headers,
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json();
    assert.equal(body.ownerUnit, 'B');
    assert.deepEqual(body.rows, [
      { from: FROM.toISOString(), to: TO.toISOString(), label: null, group: 'B', figures: EXPECTED_B },
    ]);
  });

  it('refuses bad input and anonymous callers', async () => {
    const { headers } = await signIn(temp.db, { username: 'disp.zhao', roles: ['dispatcher'] });
    const backwards = await app.inject({
      method: 'GET',
      url: `/api/v1/kpis?from=${TO.toISOString()}&to=${FROM.toISOString()}`,
      headers,
    });
    assert.equal(backwards.statusCode, 400);
    assert.equal(backwards.json().error, 'KPI_INVALID');
    const badGroup = await app.inject({
      method: 'GET',
      url: `/api/v1/kpis?from=${FROM.toISOString()}&to=${TO.toISOString()}&groupBy=colour`,
      headers,
    });
    assert.equal(badGroup.statusCode, 400);
    assert.equal(badGroup.json().error, 'REQUEST_INVALID');
    const tooMany = await app.inject({
      method: 'GET',
      url: `/api/v1/kpis?from=2020-01-01T00:00:00.000Z&to=2024-01-01T00:00:00.000Z&bucket=day`,
      headers,
    });
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.json().error, 'KPI_TOO_MANY_BUCKETS');
    const anonymous = await app.inject({
      method: 'GET',
      url: `/api/v1/kpis?from=${FROM.toISOString()}&to=${TO.toISOString()}`,
    });
    assert.equal(anonymous.statusCode, 401);
  });
});
