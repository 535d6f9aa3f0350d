/**
 * Case deadlines from an allowance (cases/config.ts Allowance): around the clock, or in working
 * time on the working calendar (docs/domain.md "The case workflow": filing and dispatch within
 * 10/30 minutes, handling within hours or working days; the handling clock starts at dispatch).
 *
 * Both functions accept negative amounts and give signed results, so a suspension that began after
 * the deadline had passed resumes still overdue by the same amount (cases/workflow.ts, resume:
 * deadline = deadlineAfter(now, minutesBetween(suspended_at, old deadline))).
 */
import type { Allowance } from './config.js';
import type { WorkingCalendar } from './calendar.js';

const MS_PER_MINUTE = 60_000;

/** The deadline `allowance` after `start`: start + minutes, or that many working minutes later. */
export function deadlineAfter(start: Date, allowance: Allowance, calendar: WorkingCalendar): Date {
  if (!Number.isFinite(allowance.minutes)) {
    throw new RangeError(`an allowance needs a finite number of minutes, got ${allowance.minutes}`);
  }
  if (allowance.workingTime) return calendar.addWorkingMinutes(start, allowance.minutes);
  return new Date(start.getTime() + allowance.minutes * MS_PER_MINUTE);
}

/**
 * Minutes from `from` to `to`, in calendar time or in working time; negative when `to` is before
 * `from` (working time: minus the working minutes of [to, from)). May be fractional.
 */
export function minutesBetween(
  from: Date,
  to: Date,
  workingTime: boolean,
  calendar: WorkingCalendar,
): number {
  if (!workingTime) return (to.getTime() - from.getTime()) / MS_PER_MINUTE;
  if (to.getTime() >= from.getTime()) return calendar.workingMinutesBetween(from, to);
  return -calendar.workingMinutesBetween(to, from);
}
