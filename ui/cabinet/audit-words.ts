/**
 * The audit log in words (docs/ui.md, "Pages"): an action code the gateway writes (`alarm.shelve`,
 * `lighting.switch`, `bus.read`, `config.override_set`, `web.login` ...) as a phrase, and an
 * entry's detail as labelled values: known keys translated, times in the cabinet's zone, numbers
 * rounded, durations as durations, empty values left out. An unknown code or key is shown as it
 * is written, so a newer gateway's actions still read.
 *
 * Pure (no DOM, no signal): test/ui/audit-words.test.ts runs it under Node with the dictionaries.
 */
import { formatAddress, formatDateTime, formatDuration, formatNumber } from '../kit/format.js';
import type { Lang, Translate } from '../kit/i18n/core.js';

/** What the wording needs: the translator, whether a key exists, the language and the zone. */
export interface AuditWording {
  t: Translate;
  has: (key: string) => boolean;
  lang: Lang;
  timeZone: string;
}

export interface AuditItem {
  /** The detail's key as written (a stable handle for tests and styling). */
  key: string;
  label: string;
  value: string;
  /**
   * A message the server wrote in English (an error): shown behind a disclosure, so the visible
   * page stays in one language.
   */
  serverText: boolean;
}

/** The action in words, or the code itself when this UI does not know it. */
export function auditActionText(action: string, w: AuditWording): string {
  const key = `audit.action.${action}`;
  return w.has(key) ? w.t(key) : action;
}

/** A word of a small set (`state.shelved`, `table.holding`), or the value as written. */
function word(prefix: string, value: unknown, w: AuditWording): string {
  const text = String(value);
  return w.has(`${prefix}${text}`) ? w.t(`${prefix}${text}`) : text;
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

function isAlarmLevel(value: object): value is { level: number; setpoint: number; priority?: string } {
  const v = value as Record<string, unknown>;
  return typeof v['level'] === 'number' && typeof v['setpoint'] === 'number';
}

/** Any JSON value, short: numbers rounded, words translated, an alarm level as "Level 1 15 (High)". */
function compact(value: unknown, w: AuditWording): string {
  if (value === null || value === undefined) return w.t('value.none');
  if (typeof value === 'number') return formatNumber(value, w.lang, 3);
  if (typeof value === 'boolean') return w.t(value ? 'value.true' : 'value.false');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => compact(v, w)).join(' · ');
  if (typeof value === 'object') {
    if (isAlarmLevel(value)) {
      const level = w.t('alarm.level', { level: value.level });
      const setpoint = formatNumber(value.setpoint, w.lang, 3);
      if (value.priority === undefined) return `${level} ${setpoint}`;
      return w.t('audit.alarmLevel', { level, setpoint, priority: word('priority.', value.priority, w) });
    }
    return Object.entries(value)
      .filter(([, v]) => !isEmpty(v))
      .map(([k, v]) => `${labelOf(k, w)}: ${compact(v, w)}`)
      .join(', ');
  }
  return JSON.stringify(value);
}

function labelOf(key: string, w: AuditWording): string {
  return w.has(`audit.key.${key}`) ? w.t(`audit.key.${key}`) : key;
}

function milliseconds(value: unknown, w: AuditWording): string {
  return typeof value === 'number' ? `${formatNumber(value, w.lang, 1)} ms` : compact(value, w);
}

function seconds(value: unknown, w: AuditWording): string {
  return typeof value === 'number' ? formatDuration(value, w.t) : compact(value, w);
}

function wallTime(value: unknown, w: AuditWording): string {
  return typeof value === 'number' ? formatDateTime(value, w.timeZone) : compact(value, w);
}

/** An alarm's shelve options (gateway/alarms/engine.ts ShelveOptions): for how long. */
function shelveText(value: unknown, w: AuditWording): string {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (v['mode'] === 'one-shot') return w.t('op.shelve.untilNormal');
  const ms = v['durationMs'];
  return typeof ms === 'number' ? formatDuration(ms / 1000, w.t) : compact(value, w);
}

type Formatter = (value: unknown, w: AuditWording, target: string) => string;

/**
 * The keys the gateway writes (gateway/pipeline/pipeline.ts operate, gateway/lighting/local-command.ts,
 * gateway/web/cabinet-adapter.ts, gateway/web/accounts/ and routes/accounts.ts).
 */
const FORMATTERS: Record<string, Formatter> = {
  result: (v, w) => word('audit.result.', v, w),
  state: (v, w) => word('state.', v, w),
  role: (v, w) => word('layout.role.', v, w),
  action: (v, w) => word('lighting.action.', v, w),
  level: (v, w) => (typeof v === 'number' ? `${formatNumber(v, w.lang, 0)} %` : compact(v, w)),
  table: (v, w) => word('table.', v, w),
  start: (v, w) => (typeof v === 'number' ? formatAddress(v) : compact(v, w)),
  shelve: shelveText,
  disabled: (v, w) => (typeof v === 'boolean' ? w.t(v ? 'users.disabled' : 'users.enabled') : compact(v, w)),
  // A local override's new value; the target is the setting's pointer.
  value: (v, w, target) => settingValueText(v, target, w),
};

/**
 * A configuration setting's value (a local override, docs/config-downlink.md) in words: alarm levels
 * as "Level 1 15 (High)", a delay (`…/onDelayS`) as a duration, other values compactly.
 */
export function settingValueText(value: unknown, pointer: string, w: AuditWording): string {
  if (value === null || value === undefined) return w.t('value.none');
  return /DelayS$/.test(pointer) ? seconds(value, w) : compact(value, w);
}

function formatterOf(key: string): Formatter {
  const known = FORMATTERS[key];
  if (known !== undefined) return known;
  // The naming of the whole code base (docs/ui.md, "The cabinet API"): …WallMs is a time, …Ms a
  // span in milliseconds, …S a duration in seconds.
  if (key.endsWith('WallMs')) return wallTime;
  if (key.endsWith('Ms')) return milliseconds;
  if (key.endsWith('S')) return seconds;
  return compact;
}

/**
 * An entry's detail as labelled values in the order written, without the client's address (it has
 * its own column) and without empty values (`reason: ''`, `level: null`).
 */
export function auditDetailItems(
  detail: Record<string, unknown>,
  target: string,
  w: AuditWording,
): AuditItem[] {
  return Object.entries(detail)
    .filter(([key, value]) => key !== 'address' && !isEmpty(value))
    .map(([key, value]) => ({
      key,
      label: labelOf(key, w),
      value: formatterOf(key)(value, w, target),
      serverText: key === 'error',
    }));
}
