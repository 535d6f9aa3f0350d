/**
 * Sunrise and sunset for the cabinet's coordinates: the NOAA Solar Calculator equations (NOAA
 * Global Monitoring Laboratory, "Solar Calculation Details", gml.noaa.gov/grad/solcalc/calcdetails.html,
 * and the spreadsheet NOAA_Solar_Calculations_day.xls; the equations come from Jean Meeus,
 * Astronomical Algorithms). NOAA states the results are accurate to within a minute between
 * ±72° latitude, which is far better than street lighting needs.
 *
 * Official sunrise/sunset is the solar zenith 90.833°: 0.833° below the geometric horizon for
 * atmospheric refraction (~34') plus the Sun's semi-diameter (~16'), so it is the upper limb on
 * the horizon. Civil twilight ends (dusk) or begins (dawn) at zenith 96° (Sun's centre 6° below).
 * docs/domain.md "Astronomical switching" names both.
 *
 * Everything here is pure: a local calendar date and coordinates in, UTC instants (ms) out.
 */
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';

/** Zenith of official sunrise/sunset, degrees (NOAA; docs/domain.md Astronomical switching). */
export const OFFICIAL_ZENITH_DEG = 90.833;
/** Zenith of civil twilight, degrees (NOAA; docs/domain.md Astronomical switching). */
export const CIVIL_ZENITH_DEG = 96;

/**
 * The day's events, or the polar markers when the Sun never crosses the zenith on that date:
 * polar_day = it stays above (midnight sun), polar_night = it stays below.
 */
export type SunTimes =
  | { type: 'normal'; sunriseUtcMs: number; sunsetUtcMs: number; solarNoonUtcMs: number }
  | { type: 'polar_day'; solarNoonUtcMs: number }
  | { type: 'polar_night'; solarNoonUtcMs: number };

export const SUN_ERRORS = {
  SUN_BAD_DATE: { means: 'A date that is not a calendar date (YYYY-MM-DD).' },
  SUN_BAD_COORDINATES: { means: 'A latitude outside ±90° or a longitude outside ±180°.' },
} as const satisfies ErrorCatalogue<string>;

export class SunError extends errorClass('SunError', SUN_ERRORS) {}

const MS_PER_DAY = 86_400_000;
/** Julian Day of the Unix epoch (1970-01-01T00:00Z). */
const JD_UNIX_EPOCH = 2_440_587.5;

const rad = (deg: number): number => (deg * Math.PI) / 180;
const deg = (r: number): number => (r * 180) / Math.PI;

/** Parses 'YYYY-MM-DD' (a calendar date, no zone) into year, month, day; throws SunError if invalid. */
export function parseCalendarDate(date: string): { year: number; month: number; day: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (match) {
    const year = Number(match[1]);
    const month = Number(match[2]);
    const day = Number(match[3]);
    const check = new Date(Date.UTC(year, month - 1, day));
    if (check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day)
      return { year, month, day };
  }
  throw new SunError('SUN_BAD_DATE', `"${date}" is not a calendar date (YYYY-MM-DD)`);
}

/** The Sun's declination and the equation of time at one instant (Julian Day). */
export interface SolarPosition {
  declinationDeg: number;
  /** Apparent minus mean solar time, minutes. */
  equationOfTimeMin: number;
}

/**
 * NOAA spreadsheet columns G..V, in order, for one Julian Day. Column names are the
 * spreadsheet's, so this can be checked line by line against it.
 */
export function solarPosition(julianDay: number): SolarPosition {
  // G: Julian Century (J2000.0 epoch)
  const jc = (julianDay - 2_451_545) / 36_525;
  // I: Geom Mean Long Sun (deg)
  const meanLong = mod360(280.46646 + jc * (36_000.76983 + jc * 0.0003032));
  // J: Geom Mean Anom Sun (deg)
  const meanAnom = 357.52911 + jc * (35_999.05029 - 0.0001537 * jc);
  // K: Eccent Earth Orbit
  const ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc);
  // L: Sun Eq of Ctr
  const center =
    Math.sin(rad(meanAnom)) * (1.914602 - jc * (0.004817 + 0.000014 * jc)) +
    Math.sin(rad(2 * meanAnom)) * (0.019993 - 0.000101 * jc) +
    Math.sin(rad(3 * meanAnom)) * 0.000289;
  // M: Sun True Long (deg)
  const trueLong = meanLong + center;
  // P: Sun App Long (deg): corrected for nutation and aberration
  const omega = 125.04 - 1934.136 * jc;
  const appLong = trueLong - 0.00569 - 0.00478 * Math.sin(rad(omega));
  // Q: Mean Obliq Ecliptic (deg)
  const meanObliq = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60;
  // R: Obliq Corr (deg)
  const obliq = meanObliq + 0.00256 * Math.cos(rad(omega));
  // T: Sun Declin (deg)
  const declinationDeg = deg(Math.asin(Math.sin(rad(obliq)) * Math.sin(rad(appLong))));
  // U: var y
  const y = Math.tan(rad(obliq / 2)) ** 2;
  // V: Eq of Time (minutes)
  const l0 = rad(meanLong);
  const m = rad(meanAnom);
  const equationOfTimeMin =
    4 *
    deg(
      y * Math.sin(2 * l0) -
        2 * ecc * Math.sin(m) +
        4 * ecc * y * Math.sin(m) * Math.cos(2 * l0) -
        0.5 * y * y * Math.sin(4 * l0) -
        1.25 * ecc * ecc * Math.sin(2 * m),
    );
  return { declinationDeg, equationOfTimeMin };
}

/**
 * W: HA Sunrise (deg) for a zenith: the hour angle at which the Sun's centre reaches the zenith
 * angle. Returns 'always_above' / 'always_below' when the acos argument leaves [-1, 1].
 */
export function hourAngleDeg(
  latitudeDeg: number,
  declinationDeg: number,
  zenithDeg: number,
): number | 'always_above' | 'always_below' {
  const cosHa =
    Math.cos(rad(zenithDeg)) / (Math.cos(rad(latitudeDeg)) * Math.cos(rad(declinationDeg))) -
    Math.tan(rad(latitudeDeg)) * Math.tan(rad(declinationDeg));
  if (cosHa > 1) return 'always_below';
  if (cosHa < -1) return 'always_above';
  return deg(Math.acos(cosHa));
}

/**
 * Sunrise and sunset (or dawn and dusk for another zenith) on a local calendar date.
 *
 * `date` is the date in the cabinet's time zone. Times are minutes after 0h UTC of that date,
 * as in the NOAA web calculator: solar noon = 720 - 4·longitude - EoT (longitude east positive),
 * which lands on the solar day nearest the local date for any zone that roughly follows its
 * longitude (China Standard Time at 73..135° E included). The spreadsheet evaluates the Sun
 * once per day; we evaluate it at the event itself and iterate (as the NOAA web calculator
 * does), which keeps the error well under a minute.
 */
export function sunTimes(
  date: string,
  latitudeDeg: number,
  longitudeDeg: number,
  zenithDeg: number = OFFICIAL_ZENITH_DEG,
): SunTimes {
  if (!(latitudeDeg >= -90 && latitudeDeg <= 90 && longitudeDeg >= -180 && longitudeDeg <= 180)) {
    throw new SunError(
      'SUN_BAD_COORDINATES',
      `latitude ${latitudeDeg}, longitude ${longitudeDeg} out of range`,
    );
  }
  const { year, month, day } = parseCalendarDate(date);
  const midnightUtcMs = Date.UTC(year, month - 1, day);
  const jd0 = midnightUtcMs / MS_PER_DAY + JD_UNIX_EPOCH;

  // X: Solar Noon, refined once with the equation of time at noon itself.
  let noonMin = 720 - 4 * longitudeDeg;
  noonMin = 720 - 4 * longitudeDeg - solarPosition(jd0 + noonMin / 1440).equationOfTimeMin;
  const solarNoonUtcMs = midnightUtcMs + noonMin * 60_000;

  // Polar markers are decided at solar noon: the Sun's declination hardly changes within a day.
  const atNoon = hourAngleDeg(latitudeDeg, solarPosition(jd0 + noonMin / 1440).declinationDeg, zenithDeg);
  if (atNoon === 'always_above') return { type: 'polar_day', solarNoonUtcMs };
  if (atNoon === 'always_below') return { type: 'polar_night', solarNoonUtcMs };

  const rise = eventMinutes(jd0, latitudeDeg, longitudeDeg, zenithDeg, -1, noonMin - 4 * atNoon);
  const set = eventMinutes(jd0, latitudeDeg, longitudeDeg, zenithDeg, +1, noonMin + 4 * atNoon);
  return {
    type: 'normal',
    sunriseUtcMs: midnightUtcMs + rise * 60_000,
    sunsetUtcMs: midnightUtcMs + set * 60_000,
    solarNoonUtcMs,
  };
}

/**
 * Y/Z: Sunrise = noon - 4·HA, Sunset = noon + 4·HA (minutes), with declination and equation of
 * time re-evaluated at the event's own time. Two refinements converge to well under a second.
 * Near the polar transitions the refined hour angle can leave [-1, 1]; then the noon-based
 * estimate stands.
 */
function eventMinutes(
  jd0: number,
  latitudeDeg: number,
  longitudeDeg: number,
  zenithDeg: number,
  sign: -1 | 1,
  estimateMin: number,
): number {
  let minutes = estimateMin;
  for (let i = 0; i < 2; i++) {
    const position = solarPosition(jd0 + minutes / 1440);
    const ha = hourAngleDeg(latitudeDeg, position.declinationDeg, zenithDeg);
    if (typeof ha !== 'number') return minutes;
    minutes = 720 - 4 * (longitudeDeg - sign * ha) - position.equationOfTimeMin;
  }
  return minutes;
}

function mod360(x: number): number {
  return ((x % 360) + 360) % 360;
}
