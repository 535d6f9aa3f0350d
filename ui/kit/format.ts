/**
 * Formatters (docs/ui.md, "Numbers and times"): pure functions of a value, a language and a
 * translator, with no DOM, so test/ui/format.test.ts runs them under Node.
 *
 * Times follow docs/ui.md, "Numbers and times": a 24-hour clock and ISO-like dates (2026-12-07 16:24:31) in the
 * cabinet's IANA time zone (Session.timeZone), whatever the browser's own zone is; relative ages
 * ("12 秒前" / "12 s ago") say how fresh a value is.
 */
import type { Lang, Translate } from './i18n/core.js';

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** One cached formatter per zone: building an Intl.DateTimeFormat is slow, tables call this often. */
function partsFormat(timeZone: string): Intl.DateTimeFormat {
  let format = dateTimeFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    dateTimeFormats.set(timeZone, format);
  }
  return format;
}

interface WallParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

function wallParts(wallMs: number, timeZone: string): WallParts {
  const parts: Record<string, string> = {};
  for (const part of partsFormat(timeZone).formatToParts(new Date(wallMs))) parts[part.type] = part.value;
  return {
    year: parts['year'] ?? '',
    month: parts['month'] ?? '',
    day: parts['day'] ?? '',
    hour: parts['hour'] ?? '',
    minute: parts['minute'] ?? '',
    second: parts['second'] ?? '',
  };
}

/** "2026-12-07 16:24:31" in the given zone. */
export function formatDateTime(wallMs: number, timeZone: string): string {
  const p = wallParts(wallMs, timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** "2026-12-07" in the given zone. */
export function formatDate(wallMs: number, timeZone: string): string {
  const p = wallParts(wallMs, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** "16:24" in the given zone (switching times, sunset). */
export function formatTimeOfDay(wallMs: number, timeZone: string): string {
  const p = wallParts(wallMs, timeZone);
  return `${p.hour}:${p.minute}`;
}

/** "16:24:31" in the given zone. */
export function formatClock(wallMs: number, timeZone: string): string {
  const p = wallParts(wallMs, timeZone);
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** How long ago, in whole units: "just now", "12 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function formatAge(ageS: number, t: Translate): string {
  const s = Math.max(0, Math.floor(ageS));
  if (s < 2) return t('age.now');
  if (s < 60) return t('age.s', { n: s });
  if (s < 3600) return t('age.min', { n: Math.floor(s / 60) });
  if (s < 86_400) return t('age.h', { n: Math.floor(s / 3600) });
  return t('age.d', { n: Math.floor(s / 86_400) });
}

/** A duration in its two largest units: "45 s", "12 min", "2 h 5 min", "3 d 4 h". */
export function formatDuration(durationS: number, t: Translate): string {
  const s = Math.max(0, Math.round(durationS));
  if (s < 60) return t('duration.s', { n: s });
  if (s < 3600) return t('duration.min', { n: Math.floor(s / 60) });
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const min = Math.floor((s % 3600) / 60);
    return min === 0 ? t('duration.h', { n: h }) : t('duration.hmin', { h, min });
  }
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  return h === 0 ? t('duration.d', { n: d }) : t('duration.dh', { d, h });
}

const numberFormats = new Map<string, Intl.NumberFormat>();

/** A number in the language's digits grouping, with at most `digits` decimals. */
export function formatNumber(value: number, lang: Lang, digits = 2): string {
  const id = `${lang}|${digits}`;
  let format = numberFormats.get(id);
  if (format === undefined) {
    format = new Intl.NumberFormat(lang, { maximumFractionDigits: digits, useGrouping: true });
    numberFormats.set(id, format);
  }
  return format.format(value);
}

/**
 * A measured value with its unit: "12.5 mg/m³", "87 %", "21.3 °C". Profiles write "1" for a
 * dimensionless quantity (power factor, counters): no unit is shown then.
 */
export function formatWithUnit(value: number, unit: string | null, lang: Lang, digits = 2): string {
  const number = formatNumber(value, lang, digits);
  if (unit === null || unit === '' || unit === '1') return number;
  // SI writes a space before every unit but the plane angle's degree (BIPM SI Brochure 5.4.3).
  return unit === '°' ? `${number}°` : `${number} ${unit}`;
}

/** A ratio 0..1 as a percentage: "98.5 %". */
export function formatPercent(ratio: number, lang: Lang, digits = 1): string {
  return `${formatNumber(ratio * 100, lang, digits)} %`;
}

/** Bytes in binary multiples (disk, database): "1.2 GiB". */
export function formatBytes(bytes: number, lang: Lang): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value, lang, unit === 0 ? 0 : 1)} ${units[unit] ?? 'B'}`;
}

/** A register address as the profiles and vendor manuals write it: "40 (0x0028)". */
export function formatAddress(address: number): string {
  return `${address} (0x${address.toString(16).toUpperCase().padStart(4, '0')})`;
}
