/**
 * Alarms (issue 13, part 4; ISA-18.2 clause 11 and 12): filters by state, priority and device;
 * acknowledge, shelve with a duration (the engine's maximum enforced by the form and by the
 * server) and a reason, unshelve, reset a latched alarm, remove from service and return, each after
 * a confirmation that names what will happen, with the server's answer shown; history per alarm.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type {
  AlarmHistory,
  AlarmList,
  AlarmOperationPath,
  AlarmOperationRequest,
  AlarmView,
  Overview,
} from '../../../gateway/web/api-types.js';
import type { AlarmPriority, AlarmStateName } from '../../../cloud-sync/contract/events.js';
import {
  ALARM_STATE_NAMES,
  AlarmItem,
  needsAck,
  PRIORITIES,
  PRIORITY_KEYS,
  STATE_KEYS,
} from '../../kit/alarm.js';
import { api, path } from '../../kit/api.js';
import { Async, Choice, DataTable, DateTime, Field, useResource, type Column } from '../../kit/components.js';
import { ConfirmDialog } from '../../kit/confirm.js';
import { formatDuration } from '../../kit/format.js';
import { localName, translate } from '../../kit/i18n.js';
import { hrefOf } from '../../kit/route.js';
import { DeviceSelect, formatPointValue, ReasonField, useRefreshOn, wordOf } from '../common.js';
import { t, type CabinetKey } from '../i18n.js';
import { live, ROUTES, router, timeZone } from '../state.js';

interface Filters {
  state: AlarmStateName | '';
  priority: AlarmPriority | '';
  device: string;
}

export function AlarmsPage(): JSX.Element {
  const [filters, setFilters] = useState<Filters>({
    state: '',
    priority: '',
    device: router.route.value.query['device'] ?? '',
  });
  const list = useResource(
    (signal) => {
      const query = new URLSearchParams();
      if (filters.state !== '') query.set('state', filters.state);
      if (filters.priority !== '') query.set('priority', filters.priority);
      if (filters.device !== '') query.set('device', filters.device);
      const qs = query.toString();
      return api.get<AlarmList>(`/api/alarms${qs === '' ? '' : `?${qs}`}`, { signal });
    },
    [filters.state, filters.priority, filters.device],
  );
  useRefreshOn(live.alarmChanges, list.reload);
  const devices = useResource(
    (signal) => api.get<Overview>('/api/overview', { signal }).then((o) => o.devices),
    [],
  );

  return (
    <div data-testid="page-alarms">
      <h1>{t('alarms.title')}</h1>
      <div class="card">
        <div class="form-row">
          <Field label={t('state.label')}>
            <select
              value={filters.state}
              data-testid="filter-state"
              onChange={(e) => setFilters({ ...filters, state: e.currentTarget.value as Filters['state'] })}
            >
              <option value="">{t('alarms.anyState')}</option>
              {ALARM_STATE_NAMES.map((s) => (
                <option key={s} value={s}>
                  {t(STATE_KEYS[s])}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('priority.label')}>
            <select
              value={filters.priority}
              data-testid="filter-priority"
              onChange={(e) =>
                setFilters({ ...filters, priority: e.currentTarget.value as Filters['priority'] })
              }
            >
              <option value="">{t('alarms.anyPriority')}</option>
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {t(PRIORITY_KEYS[p])}
                </option>
              ))}
            </select>
          </Field>
          <DeviceSelect
            devices={devices.data ?? []}
            value={filters.device}
            onChange={(device) => setFilters({ ...filters, device })}
            testid="filter-device"
            anyLabel={t('alarms.anyDevice')}
          />
        </div>
      </div>
      <div class="card">
        <Async resource={list}>
          {(data) => (
            <AlarmRows
              data={data}
              isDevice={(id) => (devices.data ?? []).some((d) => d.id === id)}
              onChanged={() => list.reload(true)}
            />
          )}
        </Async>
      </div>
    </div>
  );
}

interface Pending {
  alarm: AlarmView;
  operation: AlarmOperationPath;
}

const OPERATION_KEYS: Record<
  AlarmOperationPath,
  { button: CabinetKey; title: CabinetKey; what: CabinetKey; testid: string }
> = {
  acknowledge: {
    button: 'op.acknowledge',
    title: 'op.acknowledge.title',
    what: 'op.acknowledge.what',
    testid: 'ack',
  },
  shelve: { button: 'op.shelve', title: 'op.shelve.title', what: 'op.shelve.what', testid: 'shelve' },
  unshelve: {
    button: 'op.unshelve',
    title: 'op.unshelve.title',
    what: 'op.unshelve.what',
    testid: 'unshelve',
  },
  reset: { button: 'op.reset', title: 'op.reset.title', what: 'op.reset.what', testid: 'reset' },
  'remove-from-service': {
    button: 'op.remove',
    title: 'op.remove.title',
    what: 'op.remove.what',
    testid: 'remove',
  },
  'return-to-service': {
    button: 'op.return',
    title: 'op.return.title',
    what: 'op.return.what',
    testid: 'return',
  },
};

/** The operations that apply in an alarm's state (the engine refuses the others anyway). */
function operationsFor(alarm: AlarmView): AlarmOperationPath[] {
  const ops: AlarmOperationPath[] = [];
  if (needsAck(alarm)) ops.push('acknowledge');
  if (alarm.state === 'latched') ops.push('reset');
  if (alarm.shelve !== null || alarm.state === 'shelved') ops.push('unshelve');
  else if (alarm.outOfService === null) ops.push('shelve');
  if (alarm.outOfService !== null) ops.push('return-to-service');
  else ops.push('remove-from-service');
  return ops;
}

function AlarmRows(props: {
  data: AlarmList;
  /** Whether a device page exists (the gateway's own alarms, derived rates, have none). */
  isDevice: (id: string) => boolean;
  onChanged: () => void;
}): JSX.Element {
  const [pending, setPending] = useState<Pending | null>(null);
  const [historyOf, setHistoryOf] = useState<string | null>(null);
  const tz = timeZone();
  if (props.data.alarms.length === 0) {
    return (
      <p class="notice ok" data-testid="no-alarms">
        {t('alarms.none')}
      </p>
    );
  }
  return (
    <>
      <ul class="alarm-list" data-testid="alarm-list">
        {props.data.alarms.map((alarm) => (
          <AlarmItem
            key={alarm.alarmKey}
            alarm={alarm}
            timeZone={tz}
            deviceHref={
              props.isDevice(alarm.deviceId) ? hrefOf(ROUTES.device, { id: alarm.deviceId }) : undefined
            }
            actions={
              <>
                {operationsFor(alarm).map((operation) => (
                  <button
                    key={operation}
                    type="button"
                    class={operation === 'acknowledge' ? 'primary' : ''}
                    data-testid={`${OPERATION_KEYS[operation].testid}-${alarm.alarmKey}`}
                    onClick={() => setPending({ alarm, operation })}
                  >
                    {t(OPERATION_KEYS[operation].button)}
                  </button>
                ))}
                <button
                  type="button"
                  aria-expanded={historyOf === alarm.alarmKey}
                  data-testid={`history-${alarm.alarmKey}`}
                  onClick={() => setHistoryOf(historyOf === alarm.alarmKey ? null : alarm.alarmKey)}
                >
                  {t('alarms.history')}
                </button>
              </>
            }
          >
            {historyOf === alarm.alarmKey ? <HistoryList alarmKey={alarm.alarmKey} /> : undefined}
          </AlarmItem>
        ))}
      </ul>
      {pending !== null && (
        <OperationDialog
          pending={pending}
          maxShelveS={props.data.maxShelveS}
          onClose={(succeeded) => {
            setPending(null);
            if (succeeded) props.onChanged();
          }}
        />
      )}
    </>
  );
}

function OperationDialog(props: {
  pending: Pending;
  maxShelveS: number;
  onClose: (succeeded: boolean) => void;
}): JSX.Element {
  const { alarm, operation } = props.pending;
  const keys = OPERATION_KEYS[operation];
  const reasonRequired = operation === 'shelve' || operation === 'remove-from-service';
  const maxMinutes = Math.max(1, Math.floor(props.maxShelveS / 60));
  const [reason, setReason] = useState('');
  const [timed, setTimed] = useState(true);
  const [minutes, setMinutes] = useState(String(Math.min(60, maxMinutes)));

  const minutesNumber = Number(minutes);
  const minutesError =
    operation === 'shelve' &&
    timed &&
    (!Number.isInteger(minutesNumber) || minutesNumber < 1 || minutesNumber > maxMinutes)
      ? t('op.shelve.minutesRange', { max: maxMinutes })
      : null;
  const reasonError = reasonRequired && reason.trim() === '' ? t('form.reasonRequired') : null;

  const message = alarm.message !== null ? localName(alarm.message) : alarm.ruleKey;
  const what = t(keys.what, {
    alarm: message,
    device: localName(alarm.deviceName),
    duration: timed ? formatDuration(minutesNumber * 60, translate) : t('op.shelve.untilNormal'),
  });

  return (
    <ConfirmDialog
      testid={`${keys.testid}-dialog`}
      title={t(keys.title)}
      what={what}
      confirmLabel={t(keys.button)}
      canConfirm={minutesError === null && reasonError === null}
      danger={operation === 'remove-from-service'}
      onClose={props.onClose}
      onConfirm={async () => {
        const body: AlarmOperationRequest = {};
        if (reason.trim() !== '') body.reason = reason.trim();
        if (operation === 'shelve' && timed) body.durationS = minutesNumber * 60;
        await api.post<unknown>(path`/api/alarms/${alarm.alarmKey}/${operation}`, body);
        return null;
      }}
    >
      {operation === 'shelve' && (
        <>
          <Choice
            name="shelve-mode"
            label={t('op.shelve.duration')}
            value={timed ? 'timed' : 'one-shot'}
            onChange={(mode) => setTimed(mode === 'timed')}
            options={[
              { value: 'timed', label: t('op.shelve.timed'), testid: 'shelve-timed' },
              { value: 'one-shot', label: t('op.shelve.oneShot'), testid: 'shelve-oneshot' },
            ]}
          />
          {timed && (
            <Field
              label={t('op.shelve.minutes')}
              hint={t('op.shelve.max', { max: formatDuration(props.maxShelveS, translate) })}
              error={minutesError}
            >
              <input
                type="number"
                inputMode="numeric"
                min={1}
                max={maxMinutes}
                step={1}
                value={minutes}
                aria-invalid={minutesError !== null}
                data-testid="shelve-minutes"
                onInput={(e) => setMinutes(e.currentTarget.value)}
              />
            </Field>
          )}
        </>
      )}
      <ReasonField
        label={reasonRequired ? t('form.reason') : t('form.reasonOptional')}
        value={reason}
        onInput={setReason}
        error={reason !== '' ? reasonError : null}
      />
    </ConfirmDialog>
  );
}

const CAUSE_KEYS: Record<string, CabinetKey> = {
  reading: 'cause.reading',
  timer: 'cause.timer',
  operation: 'cause.operation',
  dependency: 'cause.dependency',
  config: 'cause.config',
};

function historyColumns(unit: string | null, tz: string): Column<AlarmHistory['entries'][number]>[] {
  return [
    { label: t('history.when'), cell: (entry) => <DateTime wallMs={entry.wallMs} timeZone={tz} /> },
    {
      label: t('history.change'),
      cell: (entry) => (
        <>
          {entry.fromState !== null && <>{t(STATE_KEYS[entry.fromState])} → </>}
          <strong>{t(STATE_KEYS[entry.toState])}</strong>
        </>
      ),
    },
    {
      label: t('history.cause'),
      cell: (entry) => (
        <>
          {wordOf(CAUSE_KEYS, entry.cause)}
          {entry.value !== null && <span class="muted"> · {formatPointValue(entry.value, { unit })}</span>}
        </>
      ),
    },
    {
      label: t('history.by'),
      cell: (entry) => (
        <>
          {entry.by ?? t('value.none')}
          {entry.reason !== null && entry.reason !== '' && <div class="muted small">{entry.reason}</div>}
        </>
      ),
    },
  ];
}

function HistoryList(props: { alarmKey: string }): JSX.Element {
  const history = useResource(
    (signal) => api.get<AlarmHistory>(path`/api/alarms/${props.alarmKey}/history`, { signal }),
    [props.alarmKey],
  );
  useRefreshOn(live.alarmChanges, history.reload);
  const tz = timeZone();
  return (
    <div data-testid={`history-list-${props.alarmKey}`}>
      <Async resource={history}>
        {(data) => (
          <DataTable
            columns={historyColumns(data.alarm.unit, tz)}
            rows={data.entries}
            rowKey={(_entry, i) => i}
          />
        )}
      </Async>
    </div>
  );
}
