/**
 * GET /api/v1/kpis: the evaluation figures of the case workflow (docs/domain.md, "KPIs";
 * docs/cases.md; formulas in cases/kpi.ts and docs/cases-kpi.md), for [from, to), optionally per
 * owner unit or category and cut into local days, ISO weeks or months of the working calendar's
 * zone. Each row carries the formula inputs beside the rates, so a reader can check every number.
 *
 * Any signed-in operator may ask; an operator whose only role is owner_unit sees the figures of its
 * own unit (docs/auth.md: a responsible unit sees only its own cases), whatever it asks for.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { operatorOf, type AuthenticatedOperator } from '../auth/roles.js';
import type { CloudSchema } from '../db/schema.js';
import { errorAnswerSchema } from '../http.js';
import type { WorkingCalendar } from './calendar.js';
import { CaseError } from './errors.js';
import { groupKpis, periods, type KpiBucket, type KpiGroupBy, type KpiPeriod } from './kpi.js';
import { loadKpiCases } from './kpi-query.js';

export interface KpiRoutesOptions {
  db: Kysely<CloudSchema>;
  calendar: WorkingCalendar;
  /** The clock of "overdue now" (tests). */
  now?: () => Date;
}

/** At most this many period buckets per request (a year of days, or 33 years of months). */
export const MAX_KPI_BUCKETS = 400;

/** `issues` included: a request failing the querystring schema is answered with them (http.ts). */
const errorSchema = errorAnswerSchema;

const count = { type: 'integer', minimum: 0 } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

const figuresSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'reported',
    'filed',
    'dispatched',
    'closed',
    'cancelled',
    'due',
    'dueSuspended',
    'dueClosed',
    'dueClosedOnTime',
    'closureRate',
    'onTimeClosureRate',
    'closedReworked',
    'reworkRate',
    'meanTimeToDispatchMin',
    'meanTimeToCloseMin',
    'overdueNow',
  ],
  properties: {
    reported: count,
    filed: count,
    dispatched: count,
    closed: { ...count, description: 'cases closed in the period' },
    cancelled: count,
    due: { ...count, description: 'cases whose handling deadline (as extended) lies in the period' },
    dueSuspended: { ...count, description: 'due cases suspended at the end of the period' },
    dueClosed: { ...count, description: 'due cases closed before the end of the period' },
    dueClosedOnTime: { ...count, description: 'due cases closed, at or before their deadline' },
    closureRate: { ...nullableNumber, description: 'dueClosed / (due - dueSuspended); null when 0/0' },
    onTimeClosureRate: { ...nullableNumber, description: 'dueClosedOnTime / (due - dueSuspended)' },
    closedReworked: { ...count, description: 'cases closed in the period that were reworked at least once' },
    reworkRate: { ...nullableNumber, description: 'closedReworked / closed' },
    meanTimeToDispatchMin: {
      ...nullableNumber,
      description: 'mean report-to-dispatch minutes of cases dispatched in the period',
    },
    meanTimeToCloseMin: {
      ...nullableNumber,
      description: 'mean report-to-closure minutes of cases closed in the period',
    },
    overdueNow: { ...count, description: 'open, not suspended cases past their current deadline now' },
  },
} as const;

const responseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to', 'now', 'groupBy', 'bucket', 'ownerUnit', 'rows'],
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    now: { type: 'string', format: 'date-time' },
    groupBy: { type: 'string', enum: ['none', 'unit', 'category'] },
    bucket: { type: 'string', enum: ['none', 'day', 'week', 'month'] },
    ownerUnit: { type: ['string', 'null'], description: 'the unit the figures are restricted to, if any' },
    rows: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to', 'label', 'group', 'figures'],
        properties: {
          from: { type: 'string', format: 'date-time' },
          to: { type: 'string', format: 'date-time' },
          label: { type: ['string', 'null'], description: 'local day, ISO week or month of the bucket' },
          group: { type: ['string', 'null'], description: 'owner unit or category id' },
          figures: figuresSchema,
        },
      },
    },
  },
} as const;

interface KpiQuerystring {
  from: string;
  to: string;
  groupBy?: 'none' | KpiGroupBy;
  bucket?: 'none' | KpiBucket;
}

/** The unit an operator is restricted to: set only for one whose every role is owner_unit. */
function restrictedUnit(operator: AuthenticatedOperator): string | null | undefined {
  const onlyOwnerUnit = operator.roles.length > 0 && operator.roles.every((role) => role === 'owner_unit');
  return onlyOwnerUnit ? operator.unit : undefined;
}

export async function kpiRoutes(app: FastifyInstance, opts: KpiRoutesOptions): Promise<void> {
  const now = opts.now ?? (() => new Date());

  app.get<{ Querystring: KpiQuerystring }>(
    '/api/v1/kpis',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'Case KPIs for [from, to): closure, on-time closure and rework rates, mean times, counts',
        tags: ['cases'],
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            from: { type: 'string', format: 'date-time', description: 'start of the period, inclusive' },
            to: { type: 'string', format: 'date-time', description: 'end of the period, exclusive' },
            groupBy: { type: 'string', enum: ['none', 'unit', 'category'], default: 'none' },
            bucket: { type: 'string', enum: ['none', 'day', 'week', 'month'], default: 'none' },
          },
        },
        response: { 200: responseSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const from = new Date(request.query.from);
      const to = new Date(request.query.to);
      const groupBy = request.query.groupBy ?? 'none';
      const bucket = request.query.bucket ?? 'none';
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to.getTime() <= from.getTime()) {
        throw new CaseError('KPI_INVALID', '`from` and `to` must be instants with `from` before `to`');
      }
      const buckets: Array<KpiPeriod & { label: string | null }> =
        bucket === 'none' ? [{ from, to, label: null }] : periods(from, to, bucket, opts.calendar);
      if (buckets.length > MAX_KPI_BUCKETS) {
        throw new CaseError(
          'KPI_TOO_MANY_BUCKETS',
          `the period holds ${buckets.length} ${bucket} buckets; at most ${MAX_KPI_BUCKETS} per request`,
        );
      }
      const ownerUnit = restrictedUnit(operatorOf(request));
      const at = now();
      // An owner_unit operator without a unit (operators.ts forbids it) sees nothing, not the unassigned.
      const cases =
        ownerUnit === null
          ? []
          : await loadKpiCases(opts.db, { from, to }, ownerUnit === undefined ? {} : { ownerUnit });
      const rows = buckets.flatMap((period) =>
        groupKpis(cases, period, groupBy, at).map((group) => ({
          from: period.from.toISOString(),
          to: period.to.toISOString(),
          label: period.label,
          group: group.key,
          figures: group.figures,
        })),
      );
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        now: at.toISOString(),
        groupBy,
        bucket,
        ownerUnit: ownerUnit ?? null,
        rows,
      };
    },
  );
}
