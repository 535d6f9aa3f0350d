/**
 * The working calendar (cases/calendar.ts): working time in the calendar's zone, counting across
 * lunch, midnight, weekends, holidays and 调休 make-up days, backwards counting, daylight saving,
 * long spans, and every configuration error with its pointer. Expected instants are worked out by
 * hand in the comments (Asia/Shanghai is UTC+8 all year: local 08:30 = 00:30Z).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { CasesConfigError } from '../../../../cloud-sync/service/cases/config-error.js';
import {
  DEFAULT_CASES_CONFIG,
  type WorkingCalendarConfig,
} from '../../../../cloud-sync/service/cases/config.js';

/** Default calendar: Mon-Fri 08:30-12:00 and 13:30-17:30 Asia/Shanghai (450 working minutes a day). */
const OFFICE: WorkingCalendarConfig = DEFAULT_CASES_CONFIG.calendar;

/** A Shanghai wall-clock time as an instant. */
const sh = (local: string): Date => new Date(`${local}:00+08:00`);
const iso = (date: Date): string => date.toISOString();

function issuesOf(config: WorkingCalendarConfig): { pointer: string; message: string }[] {
  try {
    new WorkingCalendar(config);
  } catch (error) {
    assert.ok(error instanceof CasesConfigError, String(error));
    assert.equal(error.code, 'CASES_CONFIG_INVALID');
    return error.issues;
  }
  return assert.fail('the calendar was accepted');
}

describe('WorkingCalendar', () => {
  const office = new WorkingCalendar(OFFICE);

  it('knows working time at the edges of each period (from inclusive, to exclusive)', () => {
    // 2024-06-03 is a Monday, 2024-06-08 a Saturday.
    assert.equal(office.isWorkingTime(sh('2024-06-03T08:29')), false);
    assert.equal(office.isWorkingTime(sh('2024-06-03T08:30')), true);
    assert.equal(office.isWorkingTime(sh('2024-06-03T11:59')), true);
    assert.equal(office.isWorkingTime(sh('2024-06-03T12:00')), false);
    assert.equal(office.isWorkingTime(sh('2024-06-03T13:30')), true);
    assert.equal(office.isWorkingTime(sh('2024-06-03T17:30')), false);
    assert.equal(office.isWorkingTime(sh('2024-06-08T10:00')), false);
    // 2024-06-03T00:30Z is 08:30 in Shanghai although the UTC date is the same: the zone counts.
    assert.equal(office.isWorkingTime(new Date('2024-06-03T00:30:00Z')), true);
    // Sunday 23:30 UTC is Monday 07:30 in Shanghai: a working day, but before the first period.
    assert.equal(office.isWorkingTime(new Date('2024-06-02T23:30:00Z')), false);
  });

  it('adds working minutes inside a period, across lunch and up to the exact end of a period', () => {
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-03T09:00'), 60)), iso(sh('2024-06-03T10:00')));
    // 11:30 + 60: 30 min to 12:00, lunch, 30 min from 13:30 -> 14:00.
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-03T11:30'), 60)), iso(sh('2024-06-03T14:00')));
    // Exactly used up at 12:00: the deadline is 12:00, not 13:30.
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-03T11:00'), 60)), iso(sh('2024-06-03T12:00')));
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-03T11:00'), 0)), iso(sh('2024-06-03T11:00')));
  });

  it('starts counting at the next working period when started outside working time', () => {
    // Saturday 10:00 + 30 -> Monday 08:30 + 30 = 09:00.
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-08T10:00'), 30)), iso(sh('2024-06-10T09:00')));
    // Lunch 12:30 + 10 -> 13:40.
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-03T12:30'), 10)), iso(sh('2024-06-03T13:40')));
    // Evening 20:00 + 10 -> next morning 08:40.
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-03T20:00'), 10)), iso(sh('2024-06-04T08:40')));
  });

  it('carries one working day (480 min) over a weekend', () => {
    // Friday 2024-06-07 17:00: 30 min to 17:30; Monday 08:30-12:00 = 210 (240 so far); 240 more
    // from 13:30 -> 17:30 Monday.
    const deadline = office.addWorkingMinutes(sh('2024-06-07T17:00'), 480);
    assert.equal(iso(deadline), iso(sh('2024-06-10T17:30')));
    assert.equal(office.workingMinutesBetween(sh('2024-06-07T17:00'), deadline), 480);
  });

  it('skips holidays and works make-up days (National Day 2024)', () => {
    const nationalDay: WorkingCalendarConfig = {
      ...OFFICE,
      holidays: ['2024-10-01', '2024-10-02', '2024-10-03', '2024-10-04', '2024-10-07'],
      extraWorkingDays: ['2024-09-29', '2024-10-12'],
    };
    const calendar = new WorkingCalendar(nationalDay);
    assert.equal(calendar.isWorkingDay('2024-09-29'), true, 'Sunday make-up day');
    assert.equal(calendar.isWorkingDay('2024-10-01'), false, 'Tuesday holiday');
    assert.equal(calendar.isWorkingDay('2024-10-05'), false, 'Saturday');
    assert.equal(calendar.isWorkingTime(sh('2024-09-29T09:00')), true);
    // Friday 09-27 17:00: 30 min; Saturday off; Sunday 09-29 (make-up) 450 -> 480 at 17:30 Sunday.
    assert.equal(iso(calendar.addWorkingMinutes(sh('2024-09-27T17:00'), 480)), iso(sh('2024-09-29T17:30')));
    // Monday 09-30 17:00: 30 min; 10-01..10-07 off (holidays and the weekend); Tuesday 10-08
    // 08:30 + 30 -> 09:00.
    assert.equal(iso(calendar.addWorkingMinutes(sh('2024-09-30T17:00'), 60)), iso(sh('2024-10-08T09:00')));
    // Saturday 10-12 is a make-up day: Friday 10-11 17:00 + 60 -> Saturday 09:00.
    assert.equal(iso(calendar.addWorkingMinutes(sh('2024-10-11T17:00'), 60)), iso(sh('2024-10-12T09:00')));
    // Whole weeks: 09-28 (Sat) .. 10-13 (Sun) holds working days 09-29, 09-30, 10-08..10-12 = 7 days.
    assert.equal(calendar.workingMinutesBetween(sh('2024-09-28T00:00'), sh('2024-10-14T00:00')), 7 * 450);
  });

  it('counts across midnight with a night shift', () => {
    const night = new WorkingCalendar({
      timeZone: 'Asia/Shanghai',
      workingDays: [1, 2, 3, 4, 5, 6, 7],
      hours: [
        { from: '00:00', to: '02:00' },
        { from: '22:00', to: '24:00' },
      ],
      holidays: [],
      extraWorkingDays: [],
    });
    assert.equal(night.isWorkingTime(sh('2024-06-03T23:59')), true);
    assert.equal(night.isWorkingTime(sh('2024-06-04T00:00')), true);
    assert.equal(night.isWorkingTime(sh('2024-06-04T02:00')), false);
    // 23:00 + 120: 60 to midnight, 60 after -> 01:00 next day.
    assert.equal(iso(night.addWorkingMinutes(sh('2024-06-03T23:00'), 120)), iso(sh('2024-06-04T01:00')));
    assert.equal(night.workingMinutesBetween(sh('2024-06-03T23:00'), sh('2024-06-04T01:00')), 120);
    // Ending exactly at 24:00.
    assert.equal(iso(night.addWorkingMinutes(sh('2024-06-03T23:00'), 60)), iso(sh('2024-06-04T00:00')));
  });

  it('counts working minutes between two instants', () => {
    assert.equal(office.workingMinutesBetween(sh('2024-06-03T08:00'), sh('2024-06-03T18:00')), 450);
    assert.equal(office.workingMinutesBetween(sh('2024-06-03T00:00'), sh('2024-06-10T00:00')), 5 * 450);
    assert.equal(office.workingMinutesBetween(sh('2024-06-03T11:00'), sh('2024-06-03T14:00')), 60 + 30);
    assert.equal(office.workingMinutesBetween(sh('2024-06-03T10:00'), sh('2024-06-03T10:00')), 0);
    assert.equal(
      office.workingMinutesBetween(sh('2024-06-03T14:00'), sh('2024-06-03T11:00')),
      0,
      'to before from',
    );
    // Fractional minutes: 90 s of working time.
    assert.equal(
      office.workingMinutesBetween(new Date('2024-06-03T01:00:00Z'), new Date('2024-06-03T01:01:30Z')),
      1.5,
    );
  });

  it('counts backwards for a negative amount (an already overdue deadline)', () => {
    // Friday 17:00 - 480: Friday 13:30-17:00 = 210, 08:30-12:00 = 210 (420), Thursday 17:30 - 60
    // -> Thursday 16:30.
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-07T17:00'), -480)), iso(sh('2024-06-06T16:30')));
    // From Saturday back 30 -> Friday 17:00.
    assert.equal(iso(office.addWorkingMinutes(sh('2024-06-08T10:00'), -30)), iso(sh('2024-06-07T17:00')));
  });

  it('is the inverse of workingMinutesBetween over many starts and long spans', () => {
    // A fixed pseudo-random walk (no Math.random: the test must repeat exactly).
    let seed = 7;
    const next = (): number => (seed = (seed * 48271) % 2147483647);
    const calendar = new WorkingCalendar({
      ...OFFICE,
      holidays: ['2024-10-01', '2024-10-02', '2025-01-01'],
      extraWorkingDays: ['2024-09-29'],
    });
    for (let i = 0; i < 200; i++) {
      const start = new Date(Date.parse('2024-06-01T00:00:00Z') + (next() % (400 * 1440)) * 60_000);
      const minutes = 1 + (next() % 20_000);
      const end = calendar.addWorkingMinutes(start, minutes);
      assert.equal(calendar.workingMinutesBetween(start, end), minutes, `${iso(start)} + ${minutes}`);
      assert.equal(
        calendar.isWorkingTime(new Date(end.getTime() - 1)),
        true,
        'the last minute counted was working time',
      );
      // Backwards from the end lands on the start, or on the start of the working period that
      // followed it when the start was outside working time.
      const back = calendar.addWorkingMinutes(end, -minutes);
      assert.equal(calendar.workingMinutesBetween(back, end), minutes);
      assert.ok(back >= start && calendar.workingMinutesBetween(start, back) === 0, `back ${iso(back)}`);
    }
    // About eight years of working time: 1 000 000 min = 2222 working days and 100 min.
    const start = sh('2024-06-03T08:30');
    const far = office.addWorkingMinutes(start, 1_000_000);
    assert.equal(office.workingMinutesBetween(start, far), 1_000_000);
    assert.ok(office.isWorkingTime(new Date(far.getTime() - 1)));
  });

  it('follows the wall clock across daylight-saving changes (Europe/Berlin)', () => {
    const berlin = new WorkingCalendar({
      timeZone: 'Europe/Berlin',
      workingDays: [1, 2, 3, 4, 5, 6, 7],
      hours: [{ from: '01:00', to: '04:00' }],
      holidays: [],
      extraWorkingDays: [],
    });
    // 2024-03-31: 02:00 jumps to 03:00, so 01:00-04:00 holds 2 real hours.
    assert.equal(
      berlin.workingMinutesBetween(new Date('2024-03-30T22:00:00Z'), new Date('2024-03-31T22:00:00Z')),
      120,
    );
    // 2024-10-27: 03:00 falls back to 02:00, so the same period holds 4 real hours.
    assert.equal(
      berlin.workingMinutesBetween(new Date('2024-10-26T22:00:00Z'), new Date('2024-10-27T23:00:00Z')),
      240,
    );
    // An ordinary summer day: 01:00+02:00 = 23:00Z the day before; + 90 -> 00:30Z.
    assert.equal(
      iso(berlin.addWorkingMinutes(new Date('2024-06-02T22:00:00Z'), 90)),
      '2024-06-03T00:30:00.000Z',
    );
    // Spring-forward day: 01:00 CET = 00:00Z; 60 min to 02:00 CET, the clock jumps to 03:00 CEST
    // = 01:00Z, 30 more -> 01:30Z (03:30 CEST).
    assert.equal(
      iso(berlin.addWorkingMinutes(new Date('2024-03-31T00:00:00Z'), 90)),
      '2024-03-31T01:30:00.000Z',
    );
  });

  it('refuses an invalid configuration with every issue and its pointer', () => {
    const issues = issuesOf({
      timeZone: 'Mars/Olympus',
      workingDays: [1, 8],
      hours: [
        { from: '8:30', to: '12:00' },
        { from: '13:30', to: '25:00' },
        { from: '14:00', to: '13:00' },
        { from: '09:00', to: '10:00' },
      ],
      holidays: ['2024-02-30', '2024-10-01'],
      extraWorkingDays: ['2024-10-01', 'tomorrow'],
    });
    assert.deepEqual(
      issues.map((issue) => issue.pointer),
      [
        '/timeZone',
        '/workingDays/1',
        '/hours/0/from',
        '/hours/1/to',
        '/hours/2',
        '/holidays/0',
        '/extraWorkingDays/1',
        '/extraWorkingDays/0',
      ],
    );
    assert.match(issues[0]?.message ?? '', /Mars\/Olympus/);
    assert.match(issues[4]?.message ?? '', /14:00-13:00 ends before it starts/);
  });

  it('refuses overlapping or out-of-order periods and a calendar without working time', () => {
    const overlap = issuesOf({
      ...OFFICE,
      hours: [
        { from: '08:30', to: '12:00' },
        { from: '11:00', to: '17:30' },
      ],
    });
    assert.deepEqual(
      overlap.map((issue) => issue.pointer),
      ['/hours/1'],
    );
    assert.match(overlap[0]?.message ?? '', /overlaps/);
    const empty = issuesOf({ ...OFFICE, workingDays: [], hours: [] });
    assert.deepEqual(
      empty.map((issue) => issue.pointer),
      ['/workingDays', '/hours'],
    );
    // Touching periods are fine.
    new WorkingCalendar({
      ...OFFICE,
      hours: [
        { from: '08:00', to: '12:00' },
        { from: '12:00', to: '24:00' },
      ],
    });
  });
});
