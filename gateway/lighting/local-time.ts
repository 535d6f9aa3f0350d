/**
 * The cabinet's local calendar: date, time of day and weekday of an instant in an IANA time zone,
 * through Intl.DateTimeFormat (the tz database ships with Node), so no time-zone library is needed.
 * Lighting schedules are local by nature: "23:00" and "holiday" mean the cabinet's wall clock.
 */

export interface LocalCalendar {
  /** Local date, YYYY-MM-DD. */
  date: string;
  /** Minutes since local midnight, 0..1439 (fractional: seconds count). */
  minuteOfDay: number;
  /** ISO weekday: 1 = Monday .. 7 = Sunday. */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // en-US with h23 gives plain numeric parts; the locale does not matter beyond that.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** true when Intl knows the zone (RangeError otherwise). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export function localCalendar(wallMs: number, timeZone: string): LocalCalendar {
  const parts: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(wallMs))) parts[part.type] = part.value;
  const date = `${parts['year']}-${parts['month']}-${parts['day']}`;
  const minuteOfDay = Number(parts['hour']) * 60 + Number(parts['minute']) + Number(parts['second']) / 60;
  return { date, minuteOfDay, weekday: WEEKDAYS[parts['weekday'] ?? ''] ?? 1 };
}

/** The calendar date `days` after (or before, if negative) `date`; both YYYY-MM-DD. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const shifted = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days));
  return shifted.toISOString().slice(0, 10);
}

/** ISO weekday (1 = Monday .. 7 = Sunday) of a calendar date. */
export function weekdayOf(date: string): number {
  const [y, m, d] = date.split('-').map(Number);
  const day = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1)).getUTCDay();
  return day === 0 ? 7 : day;
}

/** "HH:MM" -> minutes since midnight. The schema guarantees the format. */
export function parseClock(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Minutes since midnight -> "HH:MM" (for details and logs). */
export function formatClock(minutes: number): string {
  const whole = Math.floor((((minutes % 1440) + 1440) % 1440) + 1e-9);
  return `${String(Math.floor(whole / 60)).padStart(2, '0')}:${String(whole % 60).padStart(2, '0')}`;
}
