/**
 * Reads what the KPIs need (cases/kpi.ts) with Kysely: the cases any figure of [from, to) can touch
 * and their suspend/resume history (docs/cases-kpi.md: suspended at the end of the period). Plain
 * portable queries (docs/cloud-ingest.md: the same code on SQLite and PostgreSQL); timestamps are
 * ISO 8601 UTC text written by toISOString, so comparing them as text orders them in time.
 */
import type { Kysely } from 'kysely';
import type { CloudSchema } from '../db/schema.js';
import type { KpiCase, KpiPeriod } from './kpi.js';

/** Ids per `IN (...)` list: well under SQLite's and PostgreSQL's bound-parameter limits. */
const ID_CHUNK = 500;

export interface KpiQueryOptions {
  /** Only this owner unit's cases (an owner_unit operator; docs/auth.md: a unit sees only its own cases). */
  ownerUnit?: string | null;
}

const toDate = (text: string | null): Date | null => (text === null ? null : new Date(text));

/**
 * Every case a figure of [from, to) reads: reported, filed, dispatched, closed or cancelled in the
 * period, due in it (handle_deadline), or still open (the overdue-now count).
 */
export async function loadKpiCases(
  db: Kysely<CloudSchema>,
  period: KpiPeriod,
  options: KpiQueryOptions = {},
): Promise<KpiCase[]> {
  const from = period.from.toISOString();
  const to = period.to.toISOString();
  let query = db
    .selectFrom('cases')
    .select([
      'id',
      'category',
      'owner_unit',
      'state',
      'suspended',
      'reported_at',
      'filed_at',
      'dispatched_at',
      'closed_at',
      'cancelled_at',
      'dispatch_deadline',
      'handle_deadline',
      'closed_on_time',
      'rework_count',
    ])
    .where((eb) =>
      eb.or([
        ...(
          [
            'reported_at',
            'filed_at',
            'dispatched_at',
            'closed_at',
            'cancelled_at',
            'handle_deadline',
          ] as const
        ).map((column) => eb.and([eb(column, '>=', from), eb(column, '<', to)])),
        eb.and([eb('closed_at', 'is', null), eb('cancelled_at', 'is', null)]),
      ]),
    );
  if (options.ownerUnit !== undefined) {
    query =
      options.ownerUnit === null
        ? query.where('owner_unit', 'is', null)
        : query.where('owner_unit', '=', options.ownerUnit);
  }
  const rows = await query.orderBy('reported_at').orderBy('id').execute();

  const suspensions = new Map<string, Array<{ at: Date; action: 'suspend' | 'resume' }>>();
  for (let i = 0; i < rows.length; i += ID_CHUNK) {
    const ids = rows.slice(i, i + ID_CHUNK).map((row) => row.id);
    const steps = await db
      .selectFrom('case_history')
      .select(['case_id', 'at', 'action'])
      .where('case_id', 'in', ids)
      .where('action', 'in', ['suspend', 'resume'])
      .orderBy('at')
      .execute();
    for (const step of steps) {
      const list = suspensions.get(step.case_id) ?? [];
      list.push({ at: new Date(step.at), action: step.action === 'suspend' ? 'suspend' : 'resume' });
      suspensions.set(step.case_id, list);
    }
  }

  return rows.map((row) => ({
    id: row.id,
    category: row.category,
    ownerUnit: row.owner_unit,
    state: row.state,
    suspended: row.suspended === 1,
    reportedAt: new Date(row.reported_at),
    filedAt: toDate(row.filed_at),
    dispatchedAt: toDate(row.dispatched_at),
    closedAt: toDate(row.closed_at),
    cancelledAt: toDate(row.cancelled_at),
    dispatchDeadline: new Date(row.dispatch_deadline),
    handleDeadline: toDate(row.handle_deadline),
    closedOnTime: row.closed_on_time === null ? null : row.closed_on_time === 1,
    reworkCount: row.rework_count,
    suspensions: suspensions.get(row.id) ?? [],
  }));
}
