/**
 * Device (issue 13, part 4): live values with unit, quality and age; trends over 1 h / 24 h / 7 d
 * (the raw window and the 1-minute and 1-hour aggregates, chosen by the server) with zoom and the
 * set points drawn; the alarm rules in force with their source and override; the profile's
 * register map and its forbidden ranges.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { AlarmRuleView, DeviceDetail, Trend, TrendRange } from '../../../gateway/web/api-types.js';
import { PriorityBadge, priorityColour } from '../../kit/alarm.js';
import { api, path } from '../../kit/api.js';
import { Chart, type ChartLine } from '../../kit/chart.js';
import { Age, Async, Card, DateTime, OnlineState, QualityTag, useResource } from '../../kit/components.js';
import { formatAddress, formatDuration, formatWithUnit } from '../../kit/format.js';
import { hasKey, lang, localName, translate } from '../../kit/i18n.js';
import { hrefOf } from '../../kit/route.js';
import { deviceTitle, familyLabel, formatPointValue, isNumeric, originLabel, tableLabel } from '../common.js';
import { t, type CabinetKey } from '../i18n.js';
import { live, ROUTES, router, timeZone } from '../state.js';

const RANGES: readonly TrendRange[] = ['1h', '24h', '7d'];
const RANGE_KEYS: Record<TrendRange, CabinetKey> = { '1h': 'trend.1h', '24h': 'trend.24h', '7d': 'trend.7d' };
const RESOLUTION_KEYS = { raw: 'trend.raw', '1m': 'trend.1m', '1h': 'trend.1hAgg' } as const;
export default function DevicePage(): JSX.Element {
  const id = router.route.value.params['id'] ?? '';
  return <DeviceView key={id} id={id} />;
}

function DeviceView(props: { id: string }): JSX.Element {
  const detail = useResource(
    (signal) => api.get<DeviceDetail>(path`/api/devices/${props.id}`, { signal }),
    [props.id],
  );
  return (
    <div data-testid="page-device">
      <Async resource={detail}>{(data) => <DeviceBody data={data} />}</Async>
    </div>
  );
}

function DeviceBody(props: { data: DeviceDetail }): JSX.Element {
  const { device } = props.data;
  const tz = timeZone();
  const liveDevice = live.devices.value[device.id];
  return (
    <>
      <h1>
        {deviceTitle(device)} <span class="muted small mono">{device.id}</span>
      </h1>
      {(device.label !== null || device.location !== null) && (
        <p class="muted small">
          {device.label !== null && localName(device.name)}
          {device.label !== null && device.location !== null && ' · '}
          {device.location}
        </p>
      )}
      <p class="actions small">
        <OnlineState
          online={liveDevice?.online ?? device.online}
          onLabel={t('device.online')}
          offLabel={t('device.offline')}
        />
        <span class="tag">{familyLabel(device.family)}</span>
        <span class="tag mono">{device.profileId}</span>
        <span class="tag">{t('device.bus', { bus: device.busId })}</span>
        <span class="muted">
          {t('device.lastPoll')} <Age wallMs={device.lastPollWallMs} timeZone={tz} />
        </span>
        <a
          href={`${hrefOf(ROUTES.thresholds)}?device=${encodeURIComponent(device.id)}`}
          data-testid="device-thresholds"
        >
          {t('nav.thresholds')}
        </a>
      </p>
      <div class="stack">
        <ValuesCard data={props.data} tz={tz} />
        <TrendCard data={props.data} tz={tz} />
        <RulesCard data={props.data} tz={tz} />
        <RegisterMapCard data={props.data} />
      </div>
    </>
  );
}

function ValuesCard(props: { data: DeviceDetail; tz: string }): JSX.Element {
  const { points, values, device } = props.data;
  const liveValues = live.devices.value[device.id]?.values ?? {};
  return (
    <Card title={t('device.values')} testid="device-values">
      <div class="table-wrap">
        <table class="data cards">
          <thead>
            <tr>
              <th>{t('device.point')}</th>
              <th class="num">{t('device.value')}</th>
              <th>{t('device.quality')}</th>
              <th>{t('device.age')}</th>
            </tr>
          </thead>
          <tbody>
            {points.map((point) => {
              const v = liveValues[point.key] ?? values.find((x) => x.key === point.key);
              return (
                <tr key={point.key} data-testid={`value-${point.key}`}>
                  <td data-label={t('device.point')}>
                    {localName(point.name)} <span class="muted small mono">{point.key}</span>
                    {point.child !== null && <span class="tag">{point.child}</span>}
                  </td>
                  <td class="num" data-label={t('device.value')} data-testid={`value-${point.key}-value`}>
                    <strong>{formatPointValue(v?.value ?? null, point)}</strong>
                  </td>
                  <td data-label={t('device.quality')}>
                    {v !== undefined ? <QualityTag quality={v.quality} /> : t('value.none')}
                  </td>
                  <td data-label={t('device.age')}>
                    <Age wallMs={v?.wallMs ?? null} timeZone={props.tz} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

/** Set point lines (and their deadband, dashed) of the rules on one point. */
function ruleLines(rules: readonly AlarmRuleView[], pointKey: string): ChartLine[] {
  const lines: ChartLine[] = [];
  for (const rule of rules) {
    if (rule.pointKey !== pointKey || !rule.enabled) continue;
    for (const level of rule.levels) {
      const colour = priorityColour(level.priority);
      lines.push({
        value: level.setpoint,
        label: `${t('chart.setpoint')} ${t('alarm.level', { level: level.level })}`,
        color: colour,
      });
      if (rule.deadband > 0 && (rule.kind === 'high' || rule.kind === 'low')) {
        const back = rule.kind === 'high' ? level.setpoint - rule.deadband : level.setpoint + rule.deadband;
        lines.push({ value: back, label: t('chart.deadband'), color: colour, dashed: true });
      }
    }
  }
  return lines;
}

function TrendCard(props: { data: DeviceDetail; tz: string }): JSX.Element {
  const { device, points, rules } = props.data;
  const numeric = points.filter(isNumeric);
  const withRule = numeric.find((p) => rules.some((r) => r.pointKey === p.key));
  const [pointKey, setPointKey] = useState<string>((withRule ?? numeric[0])?.key ?? '');
  const [range, setRange] = useState<TrendRange>('1h');
  const [zoom, setZoom] = useState<{ from: number; to: number } | null>(null);
  const point = numeric.find((p) => p.key === pointKey);

  const trend = useResource(
    (signal) => {
      if (pointKey === '') return Promise.resolve(null);
      const query =
        zoom === null
          ? `point=${encodeURIComponent(pointKey)}&range=${range}`
          : `point=${encodeURIComponent(pointKey)}&fromWallMs=${Math.round(zoom.from)}&toWallMs=${Math.round(zoom.to)}`;
      return api.get<Trend>(`${path`/api/devices/${device.id}/trend`}?${query}`, { signal });
    },
    [device.id, pointKey, range, zoom],
  );

  const lines = useMemo(() => ruleLines(rules, pointKey), [rules, pointKey, lang.value]);
  const chart = useMemo(() => {
    const data = trend.data;
    if (data === null) return null;
    const aggregate = data.resolution !== 'raw';
    return {
      t: data.t,
      series: [
        { label: aggregate ? t('chart.mean') : localName(point?.name), values: data.mean, color: '#1f5f99' },
      ],
      band: aggregate ? { min: data.min, max: data.max } : undefined,
      resolution: data.resolution,
    };
  }, [trend.data, lang.value]);

  if (numeric.length === 0) return <Card title={t('device.trend')}>{t('device.noNumericPoints')}</Card>;
  return (
    <Card
      title={t('device.trend')}
      testid="device-trend"
      aside={
        chart !== null && (
          <span class="muted small" data-testid="trend-resolution">
            {t(RESOLUTION_KEYS[chart.resolution])}
          </span>
        )
      }
    >
      <div class="form-row">
        <label class="field">
          <span>{t('device.point')}</span>
          <select
            value={pointKey}
            data-testid="trend-point"
            onChange={(e) => {
              setPointKey(e.currentTarget.value);
              setZoom(null);
            }}
          >
            {numeric.map((p) => (
              <option key={p.key} value={p.key}>
                {localName(p.name)}
                {p.unit !== null && p.unit !== '1' ? ` (${p.unit})` : ''}
              </option>
            ))}
          </select>
        </label>
        <div class="segmented" role="group" aria-label={t('trend.range')}>
          {RANGES.map((r) => (
            <button
              key={r}
              type="button"
              class={range === r && zoom === null ? 'pressed' : ''}
              aria-pressed={range === r && zoom === null}
              data-testid={`range-${r}`}
              onClick={() => {
                setRange(r);
                setZoom(null);
              }}
            >
              {t(RANGE_KEYS[r])}
            </button>
          ))}
        </div>
      </div>
      {zoom !== null && (
        <p class="small muted">
          {t('trend.zoomed')} <DateTime wallMs={zoom.from} timeZone={props.tz} /> –{' '}
          <DateTime wallMs={zoom.to} timeZone={props.tz} />
        </p>
      )}
      <Async resource={trend} testid="trend-error">
        {() =>
          chart === null ? null : (
            <Chart
              testid="trend-chart"
              t={chart.t}
              series={chart.series}
              band={chart.band}
              lines={lines}
              unit={point?.unit ?? null}
              timeZone={props.tz}
              onZoom={(from, to) => setZoom({ from, to })}
              zoomed={zoom !== null}
              onResetZoom={() => setZoom(null)}
            />
          )
        }
      </Async>
    </Card>
  );
}

/** A rule's kind in words; a kind this UI does not know yet shows its id. */
function kindLabel(kind: string): string {
  const key = `rule.kind.${kind}`;
  return hasKey(key) ? translate(key) : kind;
}

function levelsText(rule: AlarmRuleView, unit: string | null): string {
  if (rule.levels.length === 0) return t('value.none');
  return rule.levels
    .map((l) => `${t('alarm.level', { level: l.level })}: ${formatWithUnit(l.setpoint, unit, lang.value, 3)}`)
    .join(' · ');
}

function RulesCard(props: { data: DeviceDetail; tz: string }): JSX.Element {
  const { rules, points } = props.data;
  return (
    <Card title={t('device.rules')} testid="device-rules">
      {rules.length === 0 ? (
        <p class="muted">{t('layout.empty')}</p>
      ) : (
        <div class="table-wrap">
          <table class="data cards">
            <thead>
              <tr>
                <th>{t('rule.rule')}</th>
                <th>{t('priority.label')}</th>
                <th>{t('rule.levels')}</th>
                <th>{t('rule.deadband')}</th>
                <th>{t('rule.delays')}</th>
                <th>{t('rule.source')}</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((rule) => {
                const point = points.find((p) => p.key === rule.pointKey);
                const unit = rule.unit;
                return (
                  <tr
                    key={rule.ruleKey}
                    class={rule.enabled ? '' : 'greyed'}
                    data-testid={`rule-${rule.ruleKey}`}
                  >
                    <td data-label={t('rule.rule')}>
                      <strong>{rule.message !== null ? localName(rule.message) : rule.ruleKey}</strong>
                      <div class="small muted">
                        <span class="mono">{rule.ruleKey}</span>
                        {point !== undefined && <> · {localName(point.name)}</>} · {kindLabel(rule.kind)}
                        {rule.latched && <> · {t('rule.latched')}</>}
                        {!rule.enabled && <> · {t('rule.disabled')}</>}
                      </div>
                    </td>
                    <td data-label={t('priority.label')}>
                      <PriorityBadge priority={rule.priority} greyed={!rule.enabled} />
                    </td>
                    <td data-label={t('rule.levels')} class="num">
                      {levelsText(rule, unit)}
                    </td>
                    <td data-label={t('rule.deadband')} class="num">
                      {formatWithUnit(rule.deadband, unit, lang.value, 3)}
                    </td>
                    <td data-label={t('rule.delays')} class="nowrap">
                      {t('rule.onDelay')} {formatDuration(rule.onDelayS, translate)}
                      <br />
                      {t('rule.offDelay')} {formatDuration(rule.offDelayS, translate)}
                    </td>
                    <td data-label={t('rule.source')}>
                      {originLabel(rule)}
                      {rule.source !== '' && <div class="small muted">{rule.source}</div>}
                      {rule.override !== null && (
                        <div class="small" data-testid={`rule-${rule.ruleKey}-override`}>
                          <span class="tag warn">{t('rule.override')}</span>{' '}
                          {t('rule.overrideBy', { by: rule.override.by })}{' '}
                          <DateTime wallMs={rule.override.wallMs} timeZone={props.tz} />
                          {rule.override.reason !== null && <div class="muted">{rule.override.reason}</div>}
                        </div>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function RegisterMapCard(props: { data: DeviceDetail }): JSX.Element {
  const { points, forbiddenRanges } = props.data;
  return (
    <Card title={t('device.registerMap')} testid="device-register-map">
      <div class="table-wrap">
        <table class="data cards">
          <thead>
            <tr>
              <th>{t('device.point')}</th>
              <th>{t('register.table')}</th>
              <th class="num">{t('register.address')}</th>
              <th class="num">{t('register.count')}</th>
              <th>{t('register.dataType')}</th>
              <th>{t('register.unit')}</th>
              <th>{t('register.range')}</th>
              <th>{t('register.writable')}</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.key}>
                <td data-label={t('device.point')}>
                  {localName(p.name)} <span class="muted small mono">{p.key}</span>
                </td>
                <td data-label={t('register.table')}>{tableLabel(p.table)}</td>
                <td data-label={t('register.address')} class="num mono">
                  {formatAddress(p.address)}
                </td>
                <td data-label={t('register.count')} class="num">
                  {p.count}
                </td>
                <td data-label={t('register.dataType')} class="mono">
                  {p.dataType}
                </td>
                <td data-label={t('register.unit')}>{p.unit ?? t('value.none')}</td>
                <td data-label={t('register.range')} class="num">
                  {p.min === null && p.max === null ? t('value.none') : `${p.min ?? '…'} – ${p.max ?? '…'}`}
                </td>
                <td data-label={t('register.writable')}>{t(p.writable ? 'value.true' : 'value.false')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>{t('register.forbidden')}</h3>
      {forbiddenRanges.length === 0 ? (
        <p class="muted">{t('layout.empty')}</p>
      ) : (
        <ul data-testid="forbidden-ranges">
          {forbiddenRanges.map((r) => (
            <li key={`${r.table}-${r.start}`}>
              {tableLabel(r.table)} <span class="mono">{formatAddress(r.start)}</span> –{' '}
              <span class="mono">{formatAddress(r.end)}</span>
              {r.reason !== null && <>: {localName(r.reason)}</>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
