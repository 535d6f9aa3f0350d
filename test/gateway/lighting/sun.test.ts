import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CIVIL_ZENITH_DEG,
  SunError,
  parseCalendarDate,
  solarPosition,
  sunTimes,
  type SunTimes,
} from '../../../gateway/lighting/sun.js';

/** Local clock time "HH:MM:SS" of a UTC instant in a zone. */
function local(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms));
}

/** Seconds of day of "HH:MM" or "HH:MM:SS". */
function seconds(hms: string): number {
  const [h = 0, m = 0, s = 0] = hms.split(':').map(Number);
  return h * 3600 + m * 60 + s;
}

function normal(times: SunTimes): { sunriseUtcMs: number; sunsetUtcMs: number } {
  if (times.type !== 'normal') assert.fail(`expected a sunrise and a sunset, got ${times.type}`);
  return times;
}

function assertNear(
  actualMs: number,
  expected: string,
  zone: string,
  toleranceS: number,
  what: string,
): void {
  const got = local(actualMs, zone);
  const diff = Math.abs(seconds(got) - seconds(expected));
  assert.ok(diff <= toleranceS, `${what}: computed ${got}, published ${expected} (off by ${diff} s)`);
}

interface Published {
  place: string;
  date: string;
  lat: number;
  lon: number;
  zone: string;
  rise: string;
  set: string;
  /** Tolerance in seconds: the table's own rounding plus the 1-2 minutes the brief allows. */
  toleranceS: number;
  zenith?: number;
}

// Published sun tables. Each row names its source; the coordinates are the ones the source uses.
const PUBLISHED: Published[] = [
  // Beijing 39.9042 N 116.4074 E, China Standard Time. vercalendario.info, "Sunrise and sunset in
  // Beijing, July 2026" (table with seconds): 1 July 04:49:23 / 19:46:55; 15 July 04:58:09 / 19:42:13.
  {
    place: 'Beijing',
    date: '2026-07-01',
    lat: 39.9042,
    lon: 116.4074,
    zone: 'Asia/Shanghai',
    rise: '04:49:23',
    set: '19:46:55',
    toleranceS: 60,
  },
  {
    place: 'Beijing',
    date: '2026-07-15',
    lat: 39.9042,
    lon: 116.4074,
    zone: 'Asia/Shanghai',
    rise: '04:58:09',
    set: '19:42:13',
    toleranceS: 60,
  },
  // Same source and day, civil twilight columns (zenith 96°): dawn 04:16, dusk 20:19 (minutes).
  {
    place: 'Beijing civil twilight',
    date: '2026-07-01',
    lat: 39.9042,
    lon: 116.4074,
    zone: 'Asia/Shanghai',
    rise: '04:16',
    set: '20:19',
    toleranceS: 90,
    zenith: CIVIL_ZENITH_DEG,
  },
  // Shanghai 31.23 N 121.47 E. whattime.city/shanghai/sun, "sunrise and sunset on the 1st of each
  // month" (minutes; the page does not name the year, so only months near the solstices are used,
  // where the date's times move by well under a minute from year to year).
  ...(
    [
      ['2025-01-01', '06:53', '17:03'],
      ['2025-06-01', '04:52', '18:54'],
      ['2025-07-01', '04:54', '19:03'],
      ['2025-12-01', '06:36', '16:52'],
    ] as const
  ).map(([date, rise, set]): Published => ({
    place: 'Shanghai',
    date,
    lat: 31.23,
    lon: 121.47,
    zone: 'Asia/Shanghai',
    rise,
    set,
    toleranceS: 120,
  })),
  // Cupertino, California, W121°55' N37°24', zone 8 h west of Greenwich (no daylight saving):
  // U.S. Naval Observatory, Astronomical Applications Dept., "Rise and Set for the Sun for 2008"
  // (minutes, rounded). USNO uses the same 50' (90.833°) definition.
  ...(
    [
      ['2008-01-01', '07:22', '17:00'],
      ['2008-06-01', '04:48', '19:23'],
      ['2008-07-01', '04:51', '19:32'],
      ['2008-12-01', '07:04', '16:50'],
    ] as const
  ).map(([date, rise, set]): Published => ({
    place: 'Cupertino (USNO)',
    date,
    lat: 37.4,
    lon: -(121 + 55 / 60),
    zone: 'Etc/GMT+8',
    rise,
    set,
    toleranceS: 60,
  })),
  // London, 22 December 2015: 08:04 / 15:53 GMT (Wikipedia "Template:December solstice", data from
  // the Finnish Meteorological Institute; times truncated to the minute). 51.5074 N 0.1278 W.
  {
    place: 'London',
    date: '2015-12-22',
    lat: 51.5074,
    lon: -0.1278,
    zone: 'Europe/London',
    rise: '08:04',
    set: '15:53',
    toleranceS: 120,
  },
];

describe('sunTimes: NOAA equations against published sun tables', () => {
  for (const row of PUBLISHED) {
    it(`${row.place} ${row.date}: ${row.rise} / ${row.set}`, () => {
      const times = normal(sunTimes(row.date, row.lat, row.lon, row.zenith));
      assertNear(times.sunriseUtcMs, row.rise, row.zone, row.toleranceS, 'sunrise');
      assertNear(times.sunsetUtcMs, row.set, row.zone, row.toleranceS, 'sunset');
    });
  }

  it('returns instants on the local date asked for, even when sunrise is on the previous UTC day', () => {
    // Beijing sunrise at 04:49 CST is 20:49 UTC the day before.
    const times = normal(sunTimes('2026-07-01', 39.9042, 116.4074));
    assert.equal(new Date(times.sunriseUtcMs).toISOString().slice(0, 10), '2026-06-30');
    assert.ok(times.sunriseUtcMs < times.sunsetUtcMs);
  });

  it('civil twilight (zenith 96°) starts before sunrise and ends after sunset', () => {
    const official = normal(sunTimes('2025-03-20', 39.9042, 116.4074));
    const civil = normal(sunTimes('2025-03-20', 39.9042, 116.4074, CIVIL_ZENITH_DEG));
    const dawnMin = (official.sunriseUtcMs - civil.sunriseUtcMs) / 60_000;
    const duskMin = (civil.sunsetUtcMs - official.sunsetUtcMs) / 60_000;
    // Near the equinox at 40° N civil twilight lasts about 26 minutes.
    assert.ok(dawnMin > 20 && dawnMin < 35, `dawn ${dawnMin} min before sunrise`);
    assert.ok(duskMin > 20 && duskMin < 35, `dusk ${duskMin} min after sunset`);
  });
});

describe('sunTimes: polar day and night', () => {
  // Tromsø 69.6492 N 18.9553 E: the midnight sun lasts from about 20 May to 22 July and the polar
  // night from about 27 November to 15 January (Norwegian tourist board / timeanddate.com).
  it('Tromsø has no sunset at the June solstice', () => {
    assert.equal(sunTimes('2024-06-21', 69.6492, 18.9553).type, 'polar_day');
  });

  it('Tromsø has no sunrise at the December solstice', () => {
    assert.equal(sunTimes('2024-12-21', 69.6492, 18.9553).type, 'polar_night');
  });

  it('Tromsø has both on the March equinox', () => {
    assert.equal(sunTimes('2024-03-20', 69.6492, 18.9553).type, 'normal');
  });
});

describe('solarPosition', () => {
  it('gives the Sun of New Year 2000 at noon UT: declination about -23.0°, equation of time about -3.3 min', () => {
    // A sanity check of the spreadsheet columns T and V: in early January the Sun stands about a
    // degree north of the winter-solstice declination (-23.44°) and sundials run some 3 minutes slow.
    const p = solarPosition(2_451_545);
    assert.ok(Math.abs(p.declinationDeg - -23.03) < 0.05, `declination ${p.declinationDeg}`);
    assert.ok(Math.abs(p.equationOfTimeMin - -3.3) < 0.2, `equation of time ${p.equationOfTimeMin}`);
  });
});

describe('input checks', () => {
  it('rejects dates that are not calendar dates', () => {
    assert.throws(() => parseCalendarDate('2025-02-30'), SunError);
    assert.throws(() => sunTimes('20250101', 0, 0), SunError);
  });

  it('rejects coordinates out of range', () => {
    assert.throws(
      () => sunTimes('2025-01-01', 91, 0),
      (e: unknown) => e instanceof SunError && e.code === 'SUN_BAD_COORDINATES',
    );
  });
});
