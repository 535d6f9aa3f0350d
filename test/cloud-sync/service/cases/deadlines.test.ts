/**
 * Deadlines from allowances (cases/deadlines.ts): calendar time runs around the clock, working time
 * on the calendar; minutesBetween is signed so a resumed case that was overdue when suspended stays
 * overdue by the same amount (the resume rule of cases/workflow.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkingCalendar } from '../../../../cloud-sync/service/cases/calendar.js';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import { deadlineAfter, minutesBetween } from '../../../../cloud-sync/service/cases/deadlines.js';

const calendar = new WorkingCalendar(DEFAULT_CASES_CONFIG.calendar);
const sh = (local: string): Date => new Date(`${local}:00+08:00`);

describe('deadlines', () => {
  it('adds calendar minutes around the clock, nights and weekends included', () => {
    // Friday 23:55 + 10 (urgent dispatch) -> Saturday 00:05.
    assert.equal(
      deadlineAfter(sh('2024-06-07T23:55'), { minutes: 10, workingTime: false }, calendar).toISOString(),
      sh('2024-06-08T00:05').toISOString(),
    );
  });

  it('adds working minutes on the calendar', () => {
    // Friday 17:00 + one working day (480) -> Monday 17:30 (calendar.test.ts derives it).
    assert.equal(
      deadlineAfter(sh('2024-06-07T17:00'), { minutes: 480, workingTime: true }, calendar).toISOString(),
      sh('2024-06-10T17:30').toISOString(),
    );
  });

  it('measures minutes in either mode, signed', () => {
    const friday = sh('2024-06-07T17:00');
    const monday = sh('2024-06-10T09:00');
    assert.equal(minutesBetween(friday, monday, false, calendar), 64 * 60);
    assert.equal(minutesBetween(monday, friday, false, calendar), -64 * 60);
    // Friday 17:00-17:30 and Monday 08:30-09:00.
    assert.equal(minutesBetween(friday, monday, true, calendar), 60);
    assert.equal(minutesBetween(monday, friday, true, calendar), -60);
  });

  it('resumes a suspended case with the working time it had left, or still overdue', () => {
    // Suspended Friday 17:00 with the deadline Monday 09:00: 60 working minutes left. Resumed
    // Wednesday 11:30 -> 30 to 12:00, 30 from 13:30 -> 14:00.
    const left = minutesBetween(sh('2024-06-07T17:00'), sh('2024-06-10T09:00'), true, calendar);
    assert.equal(
      deadlineAfter(sh('2024-06-12T11:30'), { minutes: left, workingTime: true }, calendar).toISOString(),
      sh('2024-06-12T14:00').toISOString(),
    );
    // Suspended Monday 10:00 when the deadline was Monday 09:30: 30 working minutes overdue.
    // Resumed Tuesday 09:00 -> the deadline is Tuesday 08:30, still 30 minutes behind.
    const overdue = minutesBetween(sh('2024-06-10T10:00'), sh('2024-06-10T09:30'), true, calendar);
    assert.equal(overdue, -30);
    assert.equal(
      deadlineAfter(sh('2024-06-11T09:00'), { minutes: overdue, workingTime: true }, calendar).toISOString(),
      sh('2024-06-11T08:30').toISOString(),
    );
  });

  it('refuses a non-finite allowance', () => {
    assert.throws(
      () => deadlineAfter(new Date(), { minutes: Number.NaN, workingTime: false }, calendar),
      RangeError,
    );
    assert.throws(
      () => deadlineAfter(new Date(), { minutes: Infinity, workingTime: true }, calendar),
      RangeError,
    );
  });
});
