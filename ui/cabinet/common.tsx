/**
 * Helpers the cabinet's pages share: names of families, sources and tables, a point's value with
 * its unit, refreshing a snapshot when the live stream says something changed, and the small
 * pieces of markup several pages repeat (a point's name, a forbidden range, the device picker,
 * the reason field, the new-password fields).
 */
import type { Signal } from '@preact/signals';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type {
  AlarmRuleView,
  DeviceDetail,
  DeviceSummary,
  PointDefinition,
  PointValueView,
} from '../../gateway/web/api-types.js';
import { Field } from '../kit/components.js';
import { formatAddress, formatWithUnit } from '../kit/format.js';
import { hasKey, lang, localName, translate } from '../kit/i18n.js';
import type { AuditWording } from './audit-words.js';
import { t, type CabinetKey } from './i18n.js';
import { timeZone } from './state.js';

/** A value's word from a small table of keys, or the value as written when this UI does not know it. */
export function wordOf(keys: Readonly<Record<string, CabinetKey>>, value: string): string {
  const key = keys[value];
  return key !== undefined ? t(key) : value;
}

/** The dictionaries, the language and the cabinet's zone, as the pure audit-words.ts takes them. */
export function auditWording(): AuditWording {
  return { t: translate, has: hasKey, lang: lang.value, timeZone: timeZone() };
}

/** A possibly unknown value formatted, or a dash. */
export function orNone<V>(value: V | null, format: (value: V) => string): string {
  return value === null ? t('value.none') : format(value);
}

const FAMILY_KEYS: Record<string, CabinetKey> = {
  'gas-detector': 'family.gas-detector',
  'manhole-cover': 'family.manhole-cover',
  'bridge-strain': 'family.bridge-strain',
  'lamp-concentrator': 'family.lamp-concentrator',
  'single-lamp': 'family.single-lamp',
};

/** A profile family in words; a family this UI does not know yet shows its id. */
export function familyLabel(family: string): string {
  return wordOf(FAMILY_KEYS, family);
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
  return wordOf(TABLE_KEYS, table);
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

/** A point's name in the current language with its key beside it. */
export function PointName(props: { point: Pick<PointDefinition, 'key' | 'name'> }): JSX.Element {
  return (
    <>
      {localName(props.point.name)} <span class="muted small mono">{props.point.key}</span>
    </>
  );
}

/** A profile's forbidden register range: "Holding registers 256 (0x0100) – 511 (0x01FF): reason". */
export function ForbiddenRangeText(props: { range: DeviceDetail['forbiddenRanges'][number] }): JSX.Element {
  const { range } = props;
  return (
    <>
      {tableLabel(range.table)} <span class="mono">{formatAddress(range.start)}</span> –{' '}
      <span class="mono">{formatAddress(range.end)}</span>
      {range.reason !== null && <>: {localName(range.reason)}</>}
    </>
  );
}

/** The device picker of the alarms filter, the thresholds and the strain page. */
export function DeviceSelect(props: {
  devices: readonly Pick<DeviceSummary, 'id' | 'label' | 'name'>[];
  value: string;
  onChange: (deviceId: string) => void;
  testid: string;
  /** The choice of no device in particular (a filter), if any. */
  anyLabel?: string;
}): JSX.Element {
  return (
    <Field label={t('alarms.device')}>
      <select
        value={props.value}
        data-testid={props.testid}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        {props.anyLabel !== undefined && <option value="">{props.anyLabel}</option>}
        {props.devices.map((d) => (
          <option key={d.id} value={d.id}>
            {deviceTitle(d)} ({d.id})
          </option>
        ))}
      </select>
    </Field>
  );
}

/** The audited reason of an action (at most 500 characters, as the server accepts). */
export function ReasonField(props: {
  value: string;
  onInput: (reason: string) => void;
  testid?: string;
  label?: string;
  error?: string | null;
  class?: string;
}): JSX.Element {
  return (
    <Field label={props.label ?? t('form.reason')} error={props.error} class={props.class}>
      <input
        type="text"
        maxLength={500}
        value={props.value}
        aria-invalid={props.error !== undefined && props.error !== null}
        data-testid={props.testid ?? 'op-reason'}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

/** A new password being typed twice, checked as the server will (gateway/web accounts). */
export interface NewPassword {
  password: string;
  /** Typed twice alike and within the rules. */
  ok: boolean;
  /** The two fields, with test ids `<testidPrefix>-password` and `<testidPrefix>-password-repeat`. */
  fields: (testidPrefix: string) => JSX.Element;
}

/** The new-password fields of the setup, a new user and a reset, checked against `username`. */
export function useNewPassword(username: string): NewPassword {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const passwordError = password !== '' ? passwordProblem(password, username) : null;
  const repeatError = repeat !== '' && repeat !== password ? t('users.passwordsDiffer') : null;
  return {
    password,
    ok: password !== '' && passwordError === null && password === repeat,
    fields: (testidPrefix) => (
      <>
        <Field label={t('users.newPassword')} hint={t('users.passwordHint')} error={passwordError}>
          <input
            type="password"
            autocomplete="new-password"
            value={password}
            aria-invalid={passwordError !== null}
            data-testid={`${testidPrefix}-password`}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        <Field label={t('users.repeatPassword')} error={repeatError}>
          <input
            type="password"
            autocomplete="new-password"
            value={repeat}
            aria-invalid={repeatError !== null}
            data-testid={`${testidPrefix}-password-repeat`}
            onInput={(e) => setRepeat(e.currentTarget.value)}
          />
        </Field>
      </>
    ),
  };
}
