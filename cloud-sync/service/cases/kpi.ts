/**
 * Case KPIs of the digital city-management evaluation step (docs/domain.md "KPIs"; docs/cases.md;
 * docs/cases-kpi.md gives every formula). Pure: kpi-query.ts reads the rows, this module counts,
 * so the figures are tested against a hand-computed fixture without a database.
 *
 * Every figure is for a period [from, to):
 *   due               cases whose handle_deadline (as extended) lies in [from, to)
 *   dueSuspended      due cases suspended at `to` (the last suspend/resume at or before `to` is suspend)
 *   dueClosed         due cases closed before `to`; dueClosedOnTime: of those, closed_on_time = 1
 *   closureRate       dueClosed / (due - dueSuspended)        (null when the denominator is 0)
 *   onTimeClosureRate dueClosedOnTime / (due - dueSuspended)  (null when the denominator is 0)
 *   reworkRate        closed in the period with rework_count >= 1 / closed in the period
 *   meanTimeToDispatchMin  mean(dispatched_at - reported_at) over cases dispatched in the period
 *   meanTimeToCloseMin     mean(closed_at - reported_at) over cases closed in the period
 * plus the counts reported, filed, dispatched, closed, cancelled in the period and overdueNow.
 */
import { DateTime } from 'luxon';
import type { WorkingCalendar } from './calendar.js';

/** What the KPIs need of one case (kpi-query.ts maps a cases row and its suspend/resume history). */
export interface KpiCase {
  id: string;
  category: string;
  ownerUnit: string | null;
  state: string;
  /** The case's current suspended flag (overdue now ignores parked cases). */
  suspended: boolean;
  reportedAt: Date;
  filedAt: Date | null;
  dispatchedAt: Date | null;
  closedAt: Date | null;
  cancelledAt: Date | null;
  dispatchDeadline: Date;
  handleDeadline: Date | null;
  closedOnTime: boolean | null;
  reworkCount: number;
  /** The case's suspend and resume history steps (any order; sorted here). */
  suspensions: ReadonlyArray<{ at: Date; action: 'suspend' | 'resume' }>;
}

export interface KpiPeriod {
  from: Date;
  to: Date;
}

export interface KpiFigures {
  /** Counts of steps taken in the period. */
  reported: number;
  filed: number;
  dispatched: number;
  closed: number;
  cancelled: number;
  /** Formula inputs of the closure rates. */
  due: number;
  dueSuspended: number;
  dueClosed: number;
  dueClosedOnTime: number;
  closureRate: number | null;
  onTimeClosureRate: number | null;
  /** Formula inputs of the rework rate: `closed` above and those of them reworked at least once. */
  closedReworked: number;
  reworkRate: number | null;
  meanTimeToDispatchMin: number | null;
  meanTimeToCloseMin: number | null;
  /** Open, not suspended cases past their current deadline at `now` (a snapshot, not the period). */
  overdueNow: number;
}

export type KpiGroupBy = 'none' | 'unit' | 'category';
export type KpiBucket = 'day' | 'week' | 'month';

export interface KpiGroup {
  /** The owner unit or category id; null for groupBy 'none' and for cases without an owner unit. */
  key: string | null;
  figures: KpiFigures;
}

const MS_PER_MINUTE = 60_000;

const within = (at: Date | null, period: KpiPeriod): at is Date =>
  at !== null && at.getTime() >= period.from.getTime() && at.getTime() < period.to.getTime();

const ratio = (numerator: number, denominator: number): number | null =>
  denominator > 0 ? numerator / denominator : null;

const mean = (values: number[]): number | null =>
  values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;

/** docs/cases-kpi.md: suspended at `to` = the last suspend/resume at or before `to` is a suspend. */
export function suspendedAt(kpiCase: KpiCase, at: Date): boolean {
  let last: { at: Date; action: 'suspend' | 'resume' } | null = null;
  for (const step of kpiCase.suspensions) {
    if (step.at.getTime() > at.getTime()) continue;
    // Ties: a resume recorded at the same instant as a suspend ends it (it can only follow it).
    if (
      last === null ||
      step.at.getTime() > last.at.getTime() ||
      (step.at.getTime() === last.at.getTime() && step.action === 'resume')
    ) {
      last = step;
    }
  }
  return last?.action === 'suspend';
}

/**
 * Past its current deadline at `now` (the rule of the overdue list, cases/case-view.ts): before
 * dispatch the dispatch deadline counts, while dispatched or in progress the handling deadline;
 * closed, cancelled, suspended cases and cases in feedback or verification are never overdue.
 */
export function isOverdueAt(kpiCase: KpiCase, now: Date): boolean {
  if (kpiCase.suspended) return false;
  if (kpiCase.state === 'reported' || kpiCase.state === 'filed') {
    return now.getTime() > kpiCase.dispatchDeadline.getTime();
  }
  if (kpiCase.state === 'dispatched' || kpiCase.state === 'in_progress') {
    return kpiCase.handleDeadline !== null && now.getTime() > kpiCase.handleDeadline.getTime();
  }
  return false;
}

export function computeKpis(
  cases: readonly KpiCase[],
  period: KpiPeriod,
  now: Date = new Date(),
): KpiFigures {
  const to = period.to.getTime();
  const due = cases.filter((c) => within(c.handleDeadline, period));
  const dueSuspended = due.filter((c) => suspendedAt(c, period.to)).length;
  const dueClosedCases = due.filter((c) => c.closedAt !== null && c.closedAt.getTime() < to);
  const dueClosed = dueClosedCases.length;
  const dueClosedOnTime = dueClosedCases.filter((c) => c.closedOnTime === true).length;
  const denominator = due.length - dueSuspended;

  const closedInPeriod = cases.filter((c) => within(c.closedAt, period));
  const closedReworked = closedInPeriod.filter((c) => c.reworkCount >= 1).length;
  const dispatchedInPeriod = cases.filter((c) => within(c.dispatchedAt, period));

  return {
    reported: cases.filter((c) => within(c.reportedAt, period)).length,
    filed: cases.filter((c) => within(c.filedAt, period)).length,
    dispatched: dispatchedInPeriod.length,
    closed: closedInPeriod.length,
    cancelled: cases.filter((c) => within(c.cancelledAt, period)).length,
    due: due.length,
    dueSuspended,
    dueClosed,
    dueClosedOnTime,
    closureRate: ratio(dueClosed, denominator),
    onTimeClosureRate: ratio(dueClosedOnTime, denominator),
    closedReworked,
    reworkRate: ratio(closedReworked, closedInPeriod.length),
    meanTimeToDispatchMin: mean(
      dispatchedInPeriod.map(
        (c) => ((c.dispatchedAt as Date).getTime() - c.reportedAt.getTime()) / MS_PER_MINUTE,
      ),
    ),
    meanTimeToCloseMin: mean(
      closedInPeriod.map((c) => ((c.closedAt as Date).getTime() - c.reportedAt.getTime()) / MS_PER_MINUTE),
    ),
    overdueNow: cases.filter((c) => isOverdueAt(c, now)).length,
  };
}

/** The figures per owner unit or category (sorted by key, cases without a unit last), or one row. */
export function groupKpis(
  cases: readonly KpiCase[],
  period: KpiPeriod,
  by: KpiGroupBy,
  now: Date = new Date(),
): KpiGroup[] {
  if (by === 'none') return [{ key: null, figures: computeKpis(cases, period, now) }];
  const groups = new Map<string | null, KpiCase[]>();
  for (const kpiCase of cases) {
    const key = by === 'unit' ? kpiCase.ownerUnit : kpiCase.category;
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [kpiCase]);
    else members.push(kpiCase);
  }
  return [...groups.keys()]
    .sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0))
    .map((key) => ({ key, figures: computeKpis(groups.get(key) ?? [], period, now) }));
}

export interface KpiBucketPeriod extends KpiPeriod {
  /** Local label: "2024-06-03" (day), "2024-W23" (ISO week), "2024-06" (month). */
  label: string;
}

/**
 * [from, to) cut at the local midnights, Mondays or month starts of the calendar's zone. The first
 * and last bucket are clipped to [from, to), so the buckets cover exactly the asked period.
 */
export function periods(
  from: Date,
  to: Date,
  bucket: KpiBucket,
  calendar: WorkingCalendar,
): KpiBucketPeriod[] {
  const result: KpiBucketPeriod[] = [];
  if (to.getTime() <= from.getTime()) return result;
  const unit = bucket === 'week' ? 'week' : bucket; // luxon's week starts on Monday (ISO 8601)
  let start = DateTime.fromMillis(from.getTime(), { zone: calendar.timeZone }).startOf(unit);
  while (start.toMillis() < to.getTime()) {
    const next = start.plus({ [`${unit}s`]: 1 });
    const label =
      bucket === 'day'
        ? start.toISODate()
        : bucket === 'week'
          ? start.toFormat("kkkk-'W'WW")
          : start.toFormat('yyyy-MM');
    result.push({
      from: new Date(Math.max(start.toMillis(), from.getTime())),
      to: new Date(Math.min(next.toMillis(), to.getTime())),
      label: label ?? '',
    });
    start = next;
  }
  return result;
}
