/**
 * The working calendar case deadlines are counted in (docs/domain.md "The case workflow": deadlines
 * are often in working hours, so the clock needs a working calendar; docs/cases.md).
 *
 * A local date is a working day when (its ISO weekday is in `workingDays` and it is not a holiday)
 * or it is an extra working day (调休 make-up day). Its working periods are the `hours`, read as
 * local wall-clock times in the calendar's IANA zone, turned into instants per date with luxon, so
 * a daylight-saving change (in zones that have one) shortens or lengthens that day's periods as the
 * wall clock does. Counting walks day by day over each day's few periods (never minute by minute);
 * the periods of a date are cached, so long spans and repeated deadlines stay cheap.
 *
 * Times are instants (`Date`); minutes may be fractional (they are counted in milliseconds).
 */
import { DateTime, IANAZone } from 'luxon';
import type { WorkingCalendarConfig } from './config.js';
import { CasesConfigError } from './config-error.js';
import type { Issue } from '../../contract/errors.js';

const MS_PER_MINUTE = 60_000;
const MS_PER_DAY = 86_400_000;
const MINUTES_PER_DAY = 1440;
/** Dates whose periods are kept; the cache is emptied when it grows past this (about 55 years). */
const DAY_CACHE_LIMIT = 20_000;

const HH_MM = /^(\d{2}):(\d{2})$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A working period of a day in minutes after local midnight, [from, to); `to` may be 1440 (24:00). */
interface LocalPeriod {
  from: number;
  to: number;
}

/** A working period of one date as epoch milliseconds, [start, end), start < end. */
type Span = readonly [start: number, end: number];

/** "HH:MM" -> minutes after midnight; "24:00" only when `allowEndOfDay` (a period's end). */
function parseClock(text: unknown, allowEndOfDay: boolean): number | null {
  if (typeof text !== 'string') return null;
  const match = HH_MM.exec(text);
  if (match === null) return null;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (minutes > 59) return null;
  if (hours === 24 && minutes === 0 && allowEndOfDay) return MINUTES_PER_DAY;
  if (hours > 23) return null;
  return hours * 60 + minutes;
}

/** True for a real calendar date written "YYYY-MM-DD" (2024-02-30 is not one). */
export function isIsoDate(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const match = ISO_DATE.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const utc = new Date(Date.UTC(year, month - 1, day));
  return utc.getUTCFullYear() === year && utc.getUTCMonth() === month - 1 && utc.getUTCDate() === day;
}

/** The local date `days` after (or before, when negative) an ISO date; pure date arithmetic. */
export function shiftIsoDate(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day) + days * MS_PER_DAY).toISOString().slice(0, 10);
}

/** ISO weekday (1 = Monday ... 7 = Sunday) of an ISO date. */
export function isoWeekday(date: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return weekday === 0 ? 7 : weekday;
}

/**
 * Every problem of a calendar configuration, pointers relative to the calendar object
 * (config-validate.ts places them under `/calendar`). Empty when the calendar is usable.
 */
export function calendarIssues(config: WorkingCalendarConfig): Issue[] {
  const issues: Issue[] = [];
  if (typeof config.timeZone !== 'string' || !IANAZone.isValidZone(config.timeZone)) {
    issues.push({
      pointer: '/timeZone',
      message: `${JSON.stringify(config.timeZone)} is not an IANA time zone`,
    });
  }

  if (!Array.isArray(config.workingDays)) {
    issues.push({
      pointer: '/workingDays',
      message: 'must be a list of ISO weekdays (1 = Monday ... 7 = Sunday)',
    });
  } else {
    if (config.workingDays.length === 0) {
      // Without a working weekday a working-time deadline could never be reached.
      issues.push({ pointer: '/workingDays', message: 'needs at least one working weekday' });
    }
    config.workingDays.forEach((day, index) => {
      if (!Number.isInteger(day) || day < 1 || day > 7) {
        issues.push({
          pointer: `/workingDays/${index}`,
          message: `${JSON.stringify(day)} is not an ISO weekday 1..7`,
        });
      }
    });
  }

  if (!Array.isArray(config.hours)) {
    issues.push({ pointer: '/hours', message: 'must be a list of {from, to} local times "HH:MM"' });
  } else {
    if (config.hours.length === 0) {
      issues.push({ pointer: '/hours', message: 'needs at least one working period' });
    }
    let previous: (LocalPeriod & { text: string }) | null = null;
    config.hours.forEach((period, index) => {
      const from = parseClock(period?.from, false);
      const to = parseClock(period?.to, true);
      if (from === null) {
        issues.push({
          pointer: `/hours/${index}/from`,
          message: `${JSON.stringify(period?.from)} is not a local time "HH:MM" (00:00-23:59)`,
        });
      }
      if (to === null) {
        issues.push({
          pointer: `/hours/${index}/to`,
          message: `${JSON.stringify(period?.to)} is not a local time "HH:MM" (00:01-24:00)`,
        });
      }
      if (from === null || to === null) return;
      const text = `${period.from}-${period.to}`;
      if (to <= from) {
        issues.push({
          pointer: `/hours/${index}`,
          message: `period ${text} ends before it starts (periods cannot cross midnight; split them)`,
        });
        return;
      }
      // WorkingCalendarConfig: periods "in order, not overlapping", checked as written.
      if (previous !== null && from < previous.to) {
        issues.push({
          pointer: `/hours/${index}`,
          message: `period ${text} overlaps or precedes period ${previous.text}; periods must be in order and not overlap`,
        });
      }
      previous = { from, to, text };
    });
  }

  const dateLists = ['holidays', 'extraWorkingDays'] as const;
  for (const list of dateLists) {
    const dates: unknown = config[list];
    if (!Array.isArray(dates)) {
      issues.push({ pointer: `/${list}`, message: 'must be a list of local dates "YYYY-MM-DD"' });
      continue;
    }
    dates.forEach((date: unknown, index) => {
      if (!isIsoDate(date)) {
        issues.push({
          pointer: `/${list}/${index}`,
          message: `${JSON.stringify(date)} is not a date "YYYY-MM-DD"`,
        });
      }
    });
  }
  if (Array.isArray(config.holidays) && Array.isArray(config.extraWorkingDays)) {
    const holidays = new Set(config.holidays);
    config.extraWorkingDays.forEach((date, index) => {
      if (holidays.has(date)) {
        issues.push({
          pointer: `/extraWorkingDays/${index}`,
          message: `${date} is both a holiday and an extra working day`,
        });
      }
    });
  }
  return issues;
}

export class WorkingCalendar {
  readonly timeZone: string;
  private readonly zone: IANAZone;
  private readonly workingDays: ReadonlySet<number>;
  private readonly holidays: ReadonlySet<string>;
  private readonly extraWorkingDays: ReadonlySet<string>;
  private readonly periods: readonly LocalPeriod[];
  /** Upper bound of consecutive days without working time (holidays are finite; see the guard). */
  private readonly maxIdleDays: number;
  private readonly spanCache = new Map<string, readonly Span[]>();

  /** @throws CasesConfigError (CASES_CONFIG_INVALID) listing every problem of the configuration. */
  constructor(config: WorkingCalendarConfig) {
    const issues = calendarIssues(config);
    if (issues.length > 0) throw new CasesConfigError(issues, 'working calendar');
    this.timeZone = config.timeZone;
    this.zone = IANAZone.create(config.timeZone);
    this.workingDays = new Set(config.workingDays);
    this.holidays = new Set(config.holidays);
    this.extraWorkingDays = new Set(config.extraWorkingDays);
    this.periods = config.hours.map((period) => ({
      from: parseClock(period.from, false) ?? 0,
      to: parseClock(period.to, true) ?? 0,
    }));
    // At least one weekday works (validated), so a gap longer than a week plus every holiday (plus
    // a day lost to a daylight-saving jump) cannot happen; the guard only catches a bug.
    this.maxIdleDays = this.holidays.size + 16;
  }

  /** The local date ("YYYY-MM-DD") of an instant in the calendar's zone. */
  localDate(at: Date | number): string {
    const date = DateTime.fromMillis(typeof at === 'number' ? at : at.getTime(), {
      zone: this.timeZone,
    }).toISODate();
    if (date === null) throw new RangeError(`cannot place ${String(at)} in time zone ${this.timeZone}`);
    return date;
  }

  /** The instant of local midnight starting a local date in the calendar's zone. */
  startOfLocalDate(date: string): Date {
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    return DateTime.fromObject({ year, month, day }, { zone: this.timeZone }).startOf('day').toJSDate();
  }

  /** Whether a local date is worked: a working weekday that is not a holiday, or a make-up day. */
  isWorkingDay(date: string): boolean {
    if (this.extraWorkingDays.has(date)) return true;
    return this.workingDays.has(isoWeekday(date)) && !this.holidays.has(date);
  }

  isWorkingTime(at: Date): boolean {
    const t = at.getTime();
    return this.spans(this.localDate(t)).some(([start, end]) => start <= t && t < end);
  }

  /**
   * The instant `minutes` of working time after `start`. Outside working time counting begins at
   * the next working period; an amount that ends exactly at the end of a period gives that end
   * (not the start of the next period). 0 gives `start`. A negative amount counts backwards (the
   * latest instant with that much working time before `start`), which a deadline that had already
   * passed when a case was suspended needs on resumption.
   */
  addWorkingMinutes(start: Date, minutes: number): Date {
    if (!Number.isFinite(minutes))
      throw new RangeError(`working minutes must be a finite number, got ${minutes}`);
    const t = start.getTime();
    if (Number.isNaN(t)) throw new RangeError('start is not a valid date');
    if (minutes === 0) return new Date(t);
    return new Date(
      minutes > 0 ? this.forward(t, minutes * MS_PER_MINUTE) : this.backward(t, -minutes * MS_PER_MINUTE),
    );
  }

  /** Working minutes in [from, to); 0 when `to` is not after `from`. May be fractional. */
  workingMinutesBetween(from: Date, to: Date): number {
    const a = from.getTime();
    const b = to.getTime();
    if (!(b > a)) return 0;
    let total = 0;
    const last = this.localDate(b);
    for (let date = this.localDate(a); date <= last; date = shiftIsoDate(date, 1)) {
      for (const [start, end] of this.spans(date)) {
        const overlap = Math.min(end, b) - Math.max(start, a);
        if (overlap > 0) total += overlap;
      }
    }
    return total / MS_PER_MINUTE;
  }

  private forward(t: number, amountMs: number): number {
    let remaining = amountMs;
    let idle = 0;
    for (let date = this.localDate(t); ; date = shiftIsoDate(date, 1)) {
      const spans = this.spans(date);
      idle = spans.length === 0 ? idle + 1 : 0;
      this.guard(idle);
      for (const [start, end] of spans) {
        if (end <= t) continue;
        const from = Math.max(start, t);
        const available = end - from;
        if (remaining <= available) return from + remaining;
        remaining -= available;
      }
    }
  }

  private backward(t: number, amountMs: number): number {
    let remaining = amountMs;
    let idle = 0;
    for (let date = this.localDate(t); ; date = shiftIsoDate(date, -1)) {
      const spans = this.spans(date);
      idle = spans.length === 0 ? idle + 1 : 0;
      this.guard(idle);
      for (const [start, end] of [...spans].reverse()) {
        if (start >= t) continue;
        const to = Math.min(end, t);
        const available = to - start;
        if (remaining <= available) return to - remaining;
        remaining -= available;
      }
    }
  }

  private guard(idleDays: number): void {
    if (idleDays > this.maxIdleDays) {
      throw new RangeError(`working calendar: no working time within ${idleDays} consecutive days`);
    }
  }

  /** The working periods of a local date as instants (empty on a day off), in order, disjoint. */
  private spans(date: string): readonly Span[] {
    const cached = this.spanCache.get(date);
    if (cached !== undefined) return cached;
    const spans: Span[] = [];
    if (this.isWorkingDay(date)) {
      const [year, month, day] = date.split('-').map(Number) as [number, number, number];
      const midnight = DateTime.fromObject({ year, month, day }, { zone: this.timeZone });
      const midnightMs = midnight.toMillis();
      // Most days have no daylight-saving change (every day in Asia/Shanghai): the wall clock
      // then runs evenly from midnight and a period's instant is plain arithmetic (luxon placing
      // every wall-clock time costs tens of microseconds each). Only a day whose offset changes
      // asks luxon to place each time, which handles the skipped or repeated hour.
      const even = this.zone.offset(midnightMs + MS_PER_DAY - 1) === midnight.offset;
      const instant = (minute: number): number => {
        if (even) return midnightMs + minute * MS_PER_MINUTE;
        if (minute === MINUTES_PER_DAY) return midnight.plus({ days: 1 }).toMillis();
        const wallClock = { year, month, day, hour: Math.floor(minute / 60), minute: minute % 60 };
        return DateTime.fromObject(wallClock, { zone: this.timeZone }).toMillis();
      };
      let previousEnd = -Infinity;
      for (const period of this.periods) {
        // A daylight-saving fold can make consecutive periods touch out of order; clip to keep
        // the spans disjoint and ordered, and drop one the wall-clock jump swallowed.
        const start = Math.max(instant(period.from), previousEnd);
        const end = instant(period.to);
        if (end > start) {
          spans.push([start, end]);
          previousEnd = end;
        }
      }
    }
    if (this.spanCache.size >= DAY_CACHE_LIMIT) this.spanCache.clear();
    this.spanCache.set(date, spans);
    return spans;
  }
}
