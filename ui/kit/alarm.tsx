/**
 * Alarm display (docs/ui.md, "Alarm priorities"; ISA-18.2 / IEC 62682, EEMUA 191): the priority
 * colours are fixed (critical red, high orange, medium yellow, low cyan) and ALWAYS paired with a
 * shape (diamond, triangle, square, circle) and the word, so a colour-blind technician or a
 * grey-scale screenshot reads the same. An unacknowledged alarm carries a solid marker that blinks
 * once when it appears, never endlessly. Shelved, suppressed and out-of-service alarms stay
 * visible, greyed, with who and until.
 */
import type { ComponentChildren, JSX } from 'preact';
import type { AlarmView } from '../../gateway/web/api-types.js';
import type { AlarmPriority, AlarmStateName } from '../../cloud-sync/contract/events.js';
import { Age } from './components.js';
import { formatDateTime, formatWithUnit } from './format.js';
import { kt, lang, localName } from './i18n.js';
import type { KitKey } from './i18n/kit-messages.js';

export const PRIORITIES: readonly AlarmPriority[] = ['critical', 'high', 'medium', 'low'];

export const PRIORITY_KEYS: Record<AlarmPriority, KitKey> = {
  critical: 'priority.critical',
  high: 'priority.high',
  medium: 'priority.medium',
  low: 'priority.low',
};

export const ALARM_STATE_NAMES: readonly AlarmStateName[] = [
  'unacknowledged',
  'acknowledged',
  'rtn_unacknowledged',
  'latched',
  'shelved',
  'suppressed',
  'out_of_service',
  'normal',
];

export const STATE_KEYS: Record<AlarmStateName, KitKey> = {
  normal: 'state.normal',
  unacknowledged: 'state.unacknowledged',
  acknowledged: 'state.acknowledged',
  rtn_unacknowledged: 'state.rtn_unacknowledged',
  latched: 'state.latched',
  shelved: 'state.shelved',
  suppressed: 'state.suppressed',
  out_of_service: 'state.out_of_service',
};

/** States whose alarm is not annunciated: shown greyed (ISA-18.2 clause 11, "shelving" ...). */
export function isGreyed(alarm: Pick<AlarmView, 'state'>): boolean {
  return alarm.state === 'shelved' || alarm.state === 'suppressed' || alarm.state === 'out_of_service';
}

/** Waiting for a person: unacknowledged, or returned to normal but still unacknowledged. */
export function needsAck(alarm: Pick<AlarmView, 'state' | 'acknowledged'>): boolean {
  return !alarm.acknowledged && (alarm.state === 'unacknowledged' || alarm.state === 'rtn_unacknowledged');
}

export function PriorityBadge(props: {
  priority: AlarmPriority;
  greyed?: boolean;
  count?: number;
}): JSX.Element {
  return (
    <span
      class={`prio ${props.priority}${props.greyed === true ? ' greyed' : ''}`}
      data-priority={props.priority}
      title={kt('priority.label')}
    >
      <span class="shape" aria-hidden="true" />
      {kt(PRIORITY_KEYS[props.priority])}
      {props.count !== undefined && <span class="num"> {props.count}</span>}
    </span>
  );
}

export function AlarmStateBadge(props: { state: AlarmStateName; acknowledged: boolean }): JSX.Element {
  const unack = needsAck({ state: props.state, acknowledged: props.acknowledged });
  return (
    <span class="alarm-state" data-state={props.state}>
      {unack && <span class="unack-marker" role="img" aria-label={kt('alarm.unackMarker')} />}
      {kt(STATE_KEYS[props.state])}
    </span>
  );
}

/** Who took the alarm out of annunciation, and until when. */
export function AlarmHold(props: { alarm: AlarmView; timeZone: string }): JSX.Element | null {
  const { alarm } = props;
  if (alarm.shelve !== null) {
    const text =
      alarm.shelve.untilWallMs === null
        ? kt('alarm.shelvedOneShotBy', { by: alarm.shelve.by })
        : kt('alarm.shelvedBy', {
            by: alarm.shelve.by,
            until: formatDateTime(alarm.shelve.untilWallMs, props.timeZone),
          });
    return (
      <div class="sub">
        {text}
        {alarm.shelve.reason !== '' && <> · {alarm.shelve.reason}</>}
      </div>
    );
  }
  if (alarm.outOfService !== null) {
    return (
      <div class="sub">
        {kt('alarm.outOfServiceBy', { by: alarm.outOfService.by, reason: alarm.outOfService.reason })}
      </div>
    );
  }
  // 'design': ISA-18.2 suppressed by design; otherwise the key of the alarm it depends on (a dark
  // device or bus suppresses its own alarms).
  if (alarm.suppressedBy === 'design') return <div class="sub">{kt('alarm.suppressedByDesign')}</div>;
  if (alarm.suppressedBy !== null)
    return <div class="sub">{kt('alarm.suppressedBy', { by: alarm.suppressedBy })}</div>;
  return null;
}

function alarmValue(alarm: AlarmView): string | null {
  if (typeof alarm.lastValue === 'number') return formatWithUnit(alarm.lastValue, alarm.unit, lang.value);
  if (typeof alarm.lastValue === 'boolean') return kt(alarm.lastValue ? 'value.true' : 'value.false');
  return null;
}

/**
 * One alarm as a list item: priority, device and message, state, value, since when; `actions`
 * below (the alarms page's buttons). Works as a row on a desktop and a card on a phone.
 */
export function AlarmItem(props: {
  alarm: AlarmView;
  timeZone: string;
  deviceHref?: string;
  actions?: ComponentChildren;
  children?: ComponentChildren;
}): JSX.Element {
  const { alarm } = props;
  const greyed = isGreyed(alarm);
  const value = alarmValue(alarm);
  const message = alarm.message !== null ? localName(alarm.message) : alarm.ruleKey;
  return (
    <li
      class={`alarm-item${greyed ? ' greyed' : ''}${needsAck(alarm) ? ' unack' : ''}`}
      data-testid={`alarm-${alarm.alarmKey}`}
      data-state={alarm.state}
    >
      <PriorityBadge priority={alarm.priority} greyed={greyed} />
      <div class="what">
        <div>
          <strong>{message}</strong>
          {alarm.level > 0 && <span class="muted small"> · {kt('alarm.level', { level: alarm.level })}</span>}
        </div>
        <div class="sub">
          {props.deviceHref !== undefined ? (
            <a href={props.deviceHref}>{localName(alarm.deviceName)}</a>
          ) : (
            localName(alarm.deviceName)
          )}
          {value !== null && (
            <>
              {' '}
              · <span class="num">{value}</span>
            </>
          )}
        </div>
        <AlarmHold alarm={alarm} timeZone={props.timeZone} />
      </div>
      <div class="when">
        <AlarmStateBadge state={alarm.state} acknowledged={alarm.acknowledged} />
        <div class="muted">
          <Age wallMs={alarm.sinceWallMs} timeZone={props.timeZone} />
        </div>
      </div>
      {props.actions !== undefined && <div class="row-actions actions">{props.actions}</div>}
      {props.children !== undefined && <div class="row-actions">{props.children}</div>}
    </li>
  );
}

/** A priority's colour as the stylesheet defines it (canvas drawings cannot use CSS classes). */
export function priorityColour(priority: AlarmPriority): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(`--p-${priority}`).trim();
  return value !== '' ? value : '#000000';
}
