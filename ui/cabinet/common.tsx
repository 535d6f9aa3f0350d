/**
 * Helpers the cabinet's pages share: names of families and sources, a point's value with its unit,
 * refreshing a snapshot when the live stream says something changed.
 */
import type { Signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import type {
  AlarmRuleView,
  DeviceSummary,
  PointDefinition,
  PointValueView,
} from '../../gateway/web/api-types.js';
import { formatWithUnit } from '../kit/format.js';
import { lang, localName } from '../kit/i18n.js';
import { t, type CabinetKey } from './i18n.js';

const FAMILY_KEYS: Record<string, CabinetKey> = {
  'gas-detector': 'family.gas-detector',
  'manhole-cover': 'family.manhole-cover',
  'bridge-strain': 'family.bridge-strain',
  'lamp-concentrator': 'family.lamp-concentrator',
  'single-lamp': 'family.single-lamp',
};

/** A profile family in words; a family this UI does not know yet shows its id. */
export function familyLabel(family: string): string {
  const key = FAMILY_KEYS[family];
  return key !== undefined ? t(key) : family;
}

const ORIGIN_KEYS: Record<AlarmRuleView['origin'], CabinetKey> = {
  profile: 'source.profile',
  file: 'source.file',
  document: 'source.cloud',
  technician: 'source.technician',
};

/** Where an alarm rule's settings in force come from, in words (with the cloud document's version). */
export function originLabel(rule: Pick<AlarmRuleView, 'origin' | 'documentVersion'>): string {
  return rule.origin === 'document' && rule.documentVersion !== null
    ? t('source.cloudVersion', { version: rule.documentVersion })
    : t(ORIGIN_KEYS[rule.origin]);
}

/** A device's name: the site's own label when it has one, else the profile's model name. */
export function deviceTitle(device: Pick<DeviceSummary, 'label' | 'name'>): string {
  return device.label ?? localName(device.name);
}

/** A value as read: a number with the point's unit, a boolean in words, or a dash. */
export function formatPointValue(
  value: PointValueView['value'],
  point: Pick<PointDefinition, 'unit'> | undefined,
): string {
  if (value === null) return t('value.none');
  if (typeof value === 'boolean') return t(value ? 'value.true' : 'value.false');
  return formatWithUnit(value, point?.unit ?? null, lang.value, 3);
}

/**
 * Reloads (quietly, keeping the rows on screen) shortly after `counter` moves: a burst of live
 * changes (an alarm flood) costs one fetch, not one per change.
 */
export function useRefreshOn(
  counter: Signal<number>,
  reload: (quiet?: boolean) => void,
  delayMs = 300,
): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let first = true;
    const stop = counter.subscribe(() => {
      if (first) {
        first = false;
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => reload(true), delayMs);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, [counter, reload, delayMs]);
}

const TABLE_KEYS: Record<string, CabinetKey> = {
  coil: 'table.coil',
  discrete: 'table.discrete',
  input: 'table.input',
  holding: 'table.holding',
};

/** A Modbus table in words (Modbus Application Protocol V1.1b3, 4.3). */
export function tableLabel(table: string): string {
  const key = TABLE_KEYS[table];
  return key !== undefined ? t(key) : table;
}

/** Numbers can be trended; bits and booleans cannot. */
export function isNumeric(point: PointDefinition): boolean {
  return point.dataType !== 'bool' && point.table !== 'coil' && point.table !== 'discrete';
}

/** The server's rules (gateway/web accounts, WEB_INVALID_ARGUMENT), checked early for a clear message. */
export const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;
const MIN_PASSWORD = 12;

export function passwordProblem(password: string, username: string): string | null {
  if ([...password].length < MIN_PASSWORD) return t('users.passwordTooShort', { n: MIN_PASSWORD });
  if (username !== '' && password.toLowerCase() === username.toLowerCase())
    return t('users.passwordIsUsername');
  return null;
}
