/**
 * Thresholds (issue 13, part 4; docs/config-downlink.md, "Local changes by a technician"): a
 * device's alarm set points, deadband and on/off delays in a validated form. Each changed setting
 * becomes one local override (PUT /api/overrides with a pointer in the configuration document's
 * shape, e.g. `/alarms/gas-1/h2s_high/levels`), validated by the gateway like a document, applied
 * atomically and reported upstream; it stays an override, shown here with who and when, until
 * cleared.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type {
  AlarmRuleView,
  DeviceDetail,
  OverrideList,
  OverrideView,
  Overview,
} from '../../../gateway/web/api-types.js';
import { PriorityBadge } from '../../kit/alarm.js';
import { api, path, pointerOf } from '../../kit/api.js';
import { Async, Card, DataTable, DateTime, Field, useResource, type Column } from '../../kit/components.js';
import { ConfirmDialog } from '../../kit/confirm.js';
import { formatWithUnit } from '../../kit/format.js';
import { lang, localName } from '../../kit/i18n.js';
import { settingValueText } from '../audit-words.js';
import { auditWording, DeviceSelect, originLabel, ReasonField } from '../common.js';
import { t } from '../i18n.js';
import { router, timeZone } from '../state.js';

/** The gateway's limits on delays (gateway/config/schema.json, alarmOverride). */
const MAX_DELAY_S = 86_400;

export default function ThresholdsPage(): JSX.Element {
  const devices = useResource(
    (signal) => api.get<Overview>('/api/overview', { signal }).then((o) => o.devices),
    [],
  );
  const overrides = useResource((signal) => api.get<OverrideList>('/api/overrides', { signal }), []);
  const [chosen, setChosen] = useState(router.route.value.query['device'] ?? '');
  // Clearing an override changes the rules in force: the forms reload with it.
  const [cleared, setCleared] = useState(0);
  return (
    <div data-testid="page-thresholds">
      <h1>{t('thresholds.title')}</h1>
      <p class="muted small">{t('thresholds.intro')}</p>
      <Async resource={devices}>
        {(list) => {
          const deviceId = list.some((d) => d.id === chosen) ? chosen : (list[0]?.id ?? '');
          return (
            <div class="stack">
              <div class="card">
                <DeviceSelect
                  devices={list}
                  value={deviceId}
                  onChange={setChosen}
                  testid="threshold-device"
                />
              </div>
              {deviceId !== '' && (
                <DeviceRules
                  key={deviceId}
                  deviceId={deviceId}
                  version={cleared}
                  onApplied={() => overrides.reload(true)}
                />
              )}
            </div>
          );
        }}
      </Async>
      <Card title={t('thresholds.overrides')} testid="overrides">
        <Async resource={overrides}>
          {(data) => (
            <OverridesList
              data={data}
              onCleared={() => {
                overrides.reload(true);
                setCleared(cleared + 1);
              }}
            />
          )}
        </Async>
      </Card>
    </div>
  );
}

function DeviceRules(props: { deviceId: string; version: number; onApplied: () => void }): JSX.Element {
  const detail = useResource(
    (signal) => api.get<DeviceDetail>(path`/api/devices/${props.deviceId}`, { signal }),
    [props.deviceId, props.version],
  );
  return (
    <Async resource={detail}>
      {(data) => {
        const editable = data.rules;
        if (editable.length === 0) return <p class="notice">{t('thresholds.noRules')}</p>;
        return (
          <>
            {editable.map((rule) => (
              <RuleForm
                key={`${rule.ruleKey}-${JSON.stringify(rule.levels)}-${rule.deadband}-${rule.onDelayS}-${rule.offDelayS}`}
                deviceId={data.device.id}
                rule={rule}
                onApplied={() => {
                  detail.reload(true);
                  props.onApplied();
                }}
              />
            ))}
          </>
        );
      }}
    </Async>
  );
}

interface Change {
  pointer: string;
  value: unknown;
  label: string;
}

function parseNumber(text: string): number | null {
  if (text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** A number typed as text (a decimal keypad on a phone), checked by the form, not by the browser. */
function NumberField(props: {
  label: string;
  value: string;
  error: string | null;
  testid: string;
  onInput: (value: string) => void;
}): JSX.Element {
  return (
    <Field label={props.label} error={props.error}>
      <input
        type="text"
        inputMode="decimal"
        value={props.value}
        aria-invalid={props.error !== null}
        data-testid={props.testid}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </Field>
  );
}

function RuleForm(props: { deviceId: string; rule: AlarmRuleView; onApplied: () => void }): JSX.Element {
  const { rule } = props;
  const unit = rule.unit;
  const hasLevels = (rule.kind === 'high' || rule.kind === 'low') && rule.levels.length > 0;
  const hasDeadband = rule.kind === 'high' || rule.kind === 'low' || rule.kind === 'rate';
  const [setpoints, setSetpoints] = useState(rule.levels.map((l) => String(l.setpoint)));
  const [deadband, setDeadband] = useState(String(rule.deadband));
  const [onDelay, setOnDelay] = useState(String(rule.onDelayS));
  const [offDelay, setOffDelay] = useState(String(rule.offDelayS));
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState<Change[] | null>(null);

  // Validation mirrors the gateway's (gateway/config/schema.json and its semantic checks): the
  // server checks again and its issues are shown if it disagrees.
  const setpointNumbers = setpoints.map(parseNumber);
  const setpointErrors = setpointNumbers.map((n, i) => {
    if (n === null) return t('form.number');
    const previous = i > 0 ? setpointNumbers[i - 1] : null;
    if (previous !== null && previous !== undefined) {
      if (rule.kind === 'high' && n <= previous) return t('thresholds.levelsRise');
      if (rule.kind === 'low' && n >= previous) return t('thresholds.levelsFall');
    }
    return null;
  });
  const deadbandNumber = parseNumber(deadband);
  const deadbandError = deadbandNumber === null || deadbandNumber < 0 ? t('thresholds.deadbandRange') : null;
  const delayError = (text: string): string | null => {
    const n = parseNumber(text);
    return n === null || n < 0 || n > MAX_DELAY_S ? t('thresholds.delayRange', { max: MAX_DELAY_S }) : null;
  };
  const onDelayError = delayError(onDelay);
  const offDelayError = delayError(offDelay);
  const reasonError = reason.trim() === '' ? t('form.reasonRequired') : null;

  const changes: Change[] = [];
  const base = ['alarms', props.deviceId, rule.ruleKey];
  if (hasLevels && setpointNumbers.some((n, i) => n !== rule.levels[i]?.setpoint)) {
    changes.push({
      pointer: pointerOf(...base, 'levels'),
      value: rule.levels.map((l, i) => ({
        level: l.level,
        setpoint: setpointNumbers[i] ?? l.setpoint,
        priority: l.priority,
      })),
      label: rule.levels
        .filter((l, i) => setpointNumbers[i] !== l.setpoint)
        .map((l) => ({ l, i: rule.levels.indexOf(l) }))
        .map(
          ({ l, i }) =>
            `${t('alarm.level', { level: l.level })} ${formatWithUnit(l.setpoint, unit, lang.value, 3)} → ${formatWithUnit(setpointNumbers[i] ?? l.setpoint, unit, lang.value, 3)}`,
        )
        .join(', '),
    });
  }
  if (hasDeadband && deadbandNumber !== null && deadbandNumber !== rule.deadband) {
    changes.push({
      pointer: pointerOf(...base, 'deadband'),
      value: deadbandNumber,
      label: `${t('rule.deadband')} ${formatWithUnit(rule.deadband, unit, lang.value, 3)} → ${formatWithUnit(deadbandNumber, unit, lang.value, 3)}`,
    });
  }
  const onDelayNumber = parseNumber(onDelay);
  if (onDelayNumber !== null && onDelayNumber !== rule.onDelayS) {
    changes.push({
      pointer: pointerOf(...base, 'onDelayS'),
      value: onDelayNumber,
      label: `${t('rule.onDelay')} ${rule.onDelayS} → ${onDelayNumber} s`,
    });
  }
  const offDelayNumber = parseNumber(offDelay);
  if (offDelayNumber !== null && offDelayNumber !== rule.offDelayS) {
    changes.push({
      pointer: pointerOf(...base, 'offDelayS'),
      value: offDelayNumber,
      label: `${t('rule.offDelay')} ${rule.offDelayS} → ${offDelayNumber} s`,
    });
  }
  const valid =
    setpointErrors.every((e) => e === null || !hasLevels) &&
    (!hasDeadband || deadbandError === null) &&
    onDelayError === null &&
    offDelayError === null &&
    reasonError === null &&
    changes.length > 0;
  const id = rule.ruleKey;
  const unitSuffix = unit !== null && unit !== '1' ? ` (${unit})` : '';

  return (
    <Card
      testid={`rule-form-${id}`}
      title={
        <>
          {rule.message !== null ? localName(rule.message) : id} <span class="muted small mono">{id}</span>
        </>
      }
      aside={
        <span class="actions">
          <PriorityBadge priority={rule.priority} />
          <span class="tag">{originLabel(rule)}</span>
          {rule.override !== null && rule.origin !== 'technician' && (
            <span class="tag warn">{t('rule.override')}</span>
          )}
        </span>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) setConfirming(changes);
        }}
      >
        <div class="form-row">
          {hasLevels &&
            rule.levels.map((level, i) => (
              <NumberField
                key={level.level}
                label={`${t('chart.setpoint')} ${t('alarm.level', { level: level.level })}${unitSuffix}`}
                value={setpoints[i] ?? ''}
                error={setpointErrors[i] ?? null}
                testid={`setpoint-${id}-${level.level}`}
                onInput={(value) => {
                  const next = [...setpoints];
                  next[i] = value;
                  setSetpoints(next);
                }}
              />
            ))}
          {hasDeadband && (
            <NumberField
              label={`${t('rule.deadband')}${unitSuffix}`}
              value={deadband}
              error={deadbandError}
              testid={`deadband-${id}`}
              onInput={setDeadband}
            />
          )}
          <NumberField
            label={t('thresholds.onDelayS')}
            value={onDelay}
            error={onDelayError}
            testid={`ondelay-${id}`}
            onInput={setOnDelay}
          />
          <NumberField
            label={t('thresholds.offDelayS')}
            value={offDelay}
            error={offDelayError}
            testid={`offdelay-${id}`}
            onInput={setOffDelay}
          />
        </div>
        <div class="form-row">
          <ReasonField value={reason} onInput={setReason} testid={`reason-${id}`} class="grow" />
          <button type="submit" class="primary" disabled={!valid} data-testid={`apply-${id}`}>
            {t('thresholds.apply')}
          </button>
        </div>
        {changes.length === 0 && <p class="small muted">{t('thresholds.noChange')}</p>}
      </form>
      {confirming !== null && (
        <ConfirmDialog
          testid="threshold-dialog"
          title={t('thresholds.confirmTitle')}
          what={
            <>
              {t('thresholds.confirmWhat', { device: props.deviceId, rule: id })}
              <ul>
                {confirming.map((c) => (
                  <li key={c.pointer}>
                    {c.label} <span class="muted small mono">{c.pointer}</span>
                  </li>
                ))}
              </ul>
            </>
          }
          onClose={(succeeded) => {
            setConfirming(null);
            if (succeeded) props.onApplied();
          }}
          onConfirm={async () => {
            // One override per setting, in order; a refusal stops here (those before it stay).
            for (const change of confirming) {
              await api.put<unknown>('/api/overrides', {
                pointer: change.pointer,
                value: change.value,
                reason: reason.trim(),
              });
            }
            return t('thresholds.applied', { n: confirming.length });
          }}
        />
      )}
    </Card>
  );
}

function OverridesList(props: { data: OverrideList; onCleared: () => void }): JSX.Element {
  const [clearing, setClearing] = useState<OverrideView | null>(null);
  const [reason, setReason] = useState('');
  const tz = timeZone();
  const words = auditWording();
  const valueText = (value: unknown, pointer: string): string => settingValueText(value, pointer, words);
  if (props.data.overrides.length === 0) return <p class="muted">{t('thresholds.noOverrides')}</p>;
  const columns: Column<OverrideView>[] = [
    { label: t('thresholds.setting'), class: 'mono wrap-anywhere', cell: (o) => o.pointer },
    { label: t('thresholds.value'), cell: (o) => valueText(o.value, o.pointer) },
    { label: t('thresholds.previous'), cell: (o) => valueText(o.previous, o.pointer) },
    {
      label: t('history.by'),
      cell: (o) => (
        <>
          {o.by}
          {o.reason !== null && o.reason !== '' && <div class="small muted">{o.reason}</div>}
        </>
      ),
    },
    { label: t('history.when'), cell: (o) => <DateTime wallMs={o.wallMs} timeZone={tz} /> },
    {
      label: '',
      cell: (o) => (
        <button
          type="button"
          class="danger"
          data-testid={`clear-override-${o.pointer}`}
          onClick={() => setClearing(o)}
        >
          {t('thresholds.clear')}
        </button>
      ),
    },
  ];
  return (
    <>
      <DataTable
        columns={columns}
        rows={props.data.overrides}
        rowKey={(o) => o.pointer}
        row={(o) => ({ testid: `override-${o.pointer}` })}
      />
      {clearing !== null && (
        <ConfirmDialog
          testid="clear-override-dialog"
          title={t('thresholds.clearTitle')}
          what={t('thresholds.clearWhat', { pointer: clearing.pointer })}
          canConfirm={reason.trim() !== ''}
          onClose={(succeeded) => {
            setClearing(null);
            setReason('');
            if (succeeded) props.onCleared();
          }}
          onConfirm={async () => {
            await api.delete<unknown>('/api/overrides', { pointer: clearing.pointer, reason: reason.trim() });
            return null;
          }}
        >
          <ReasonField value={reason} onInput={setReason} />
        </ConfirmDialog>
      )}
    </>
  );
}
