/**
 * Device (issue 13, part 4): live values with unit, quality and age; trends over 1 h / 24 h / 7 d
 * (the raw window and the 1-minute and 1-hour aggregates, chosen by the server) with zoom and the
 * set points drawn; the alarm rules in force with their origin (the profile's citation behind a
 * disclosure: it is English only) and override; the profile's register map and its forbidden ranges.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type {
  AlarmRuleView,
  DeviceDetail,
  PointDefinition,
  PointValueView,
  Trend,
  TrendRange,
} from '../../../gateway/web/api-types.js';
import { PriorityBadge, priorityColour } from '../../kit/alarm.js';
import { api, path } from '../../kit/api.js';
import { Chart, type ChartLine } from '../../kit/chart.js';
import {
  Age,
  Async,
  Card,
  DataTable,
  DateTime,
  Disclosure,
  OnlineState,
  QualityTag,
  useResource,
  type Column,
} from '../../kit/components.js';
import { formatAddress, formatDuration, formatWithUnit } from '../../kit/format.js';
import { hasKey, lang, localName, translate } from '../../kit/i18n.js';
import { hrefOf } from '../../kit/route.js';
import {
  deviceTitle,
  familyLabel,
  ForbiddenRangeText,
  formatPointValue,
  isNumeric,
  originLabel,
  PointName,
  tableLabel,
} from '../common.js';
import { t, type CabinetKey } from '../i18n.js';
import { live, ROUTES, router, timeZone } from '../state.js';

const RANGES: readonly TrendRange[] = ['1h', '24h', '7d'];
const RANGE_KEYS: Record<TrendRange, CabinetKey> = { '1h': 'trend.1h', '24h': 'trend.24h', '7d': 'trend.7d' };
const RESOLUTION_KEYS = { raw: 'trend.raw', '1m': 'trend.1m', '1h': 'trend.1hAgg' } as const;
export default function DevicePage(): JSX.Element {
  const id = router.route.value.params['id'] ?? '';
  return <DeviceView key={id} id={id} />;
}

/** The trend shown first: the first numeric point with an alarm rule, else the first numeric point. */
function defaultPointKey(detail: DeviceDetail): string {
  const numeric = detail.points.filter(isNumeric);
  const withRule = numeric.find((p) => detail.rules.some((r) => r.pointKey === p.key));
  return (withRule ?? numeric[0])?.key ?? '';
}

/** One point's trend over a range, or over a zoomed span; null when there is no point to show. */
function fetchTrend(
  deviceId: string,
  pointKey: string,
  range: TrendRange,
  zoom: { from: number; to: number } | null,
  signal: AbortSignal,
): Promise<Trend | null> {
  if (pointKey === '') return Promise.resolve(null);
  const query =
    zoom === null
      ? `point=${encodeURIComponent(pointKey)}&range=${range}`
      : `point=${encodeURIComponent(pointKey)}&fromWallMs=${Math.round(zoom.from)}&toWallMs=${Math.round(zoom.to)}`;
  return api.get<Trend>(`${path`/api/devices/${deviceId}/trend`}?${query}`, { signal });
}

/** The device's detail, and the default trend already asked for. */
interface DeviceLoad {
  detail: DeviceDetail;
  firstTrend: Promise<Trend | null>;
}

function DeviceView(props: { id: string }): JSX.Element {
  const loaded = useResource(
    async (signal): Promise<DeviceLoad> => {
      const detail = await api.get<DeviceDetail>(path`/api/devices/${props.id}`, { signal });
      // The default trend is asked for as soon as the detail names its point, before the page
      // renders: the chart no longer waits for the whole page to render and its effects to run
      // (docs/performance.md, "Cabinet web UI"). TrendCard takes this answer for its first load.
      const firstTrend = fetchTrend(detail.device.id, defaultPointKey(detail), '1h', null, signal);
      // Its failure is shown by TrendCard; this only keeps an unused rejection (page left) quiet.
      firstTrend.catch(() => undefined);
      return { detail, firstTrend };
    },
    [props.id],
  );
  return (
    <div data-testid="page-device">
      <Async resource={loaded}>
        {(data) => <DeviceBody data={data.detail} firstTrend={data.firstTrend} />}
      </Async>
    </div>
  );
}

function DeviceBody(props: { data: DeviceDetail; firstTrend: Promise<Trend | null> }): JSX.Element {
  const { device } = props.data;
  const tz = timeZone();
  const liveDevice = live.devices.value[device.id];
  // The rules and the register map render once the first trend is drawn (or failed), so their
  // rendering does not delay the chart (docs/performance.md, "Cabinet web UI").
  const [trendSettled, setTrendSettled] = useState(false);
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
        <TrendCard
          data={props.data}
          tz={tz}
          firstTrend={props.firstTrend}
          onSettled={() => setTrendSettled(true)}
        />
        {trendSettled && <RulesCard data={props.data} tz={tz} />}
        {trendSettled && <RegisterMapCard data={props.data} />}
      </div>
    </>
  );
}

function ValuesCard(props: { data: DeviceDetail; tz: string }): JSX.Element {
  const { points, values, device } = props.data;
  const liveValues = live.devices.value[device.id]?.values ?? {};
  const valueOf = (point: PointDefinition): PointValueView | undefined =>
    liveValues[point.key] ?? values.find((x) => x.key === point.key);
  const columns: Column<PointDefinition>[] = [
    {
      label: t('device.point'),
      cell: (point) => (
        <>
          <PointName point={point} />
          {point.child !== null && <span class="tag">{point.child}</span>}
        </>
      ),
    },
    {
      label: t('device.value'),
      num: true,
      testid: (point) => `value-${point.key}-value`,
      cell: (point) => <strong>{formatPointValue(valueOf(point)?.value ?? null, point)}</strong>,
    },
    {
      label: t('device.quality'),
      cell: (point) => {
        const v = valueOf(point);
        return v !== undefined ? <QualityTag quality={v.quality} /> : t('value.none');
      },
    },
    {
      label: t('device.age'),
      cell: (point) => <Age wallMs={valueOf(point)?.wallMs ?? null} timeZone={props.tz} />,
    },
  ];
  return (
    <Card title={t('device.values')} testid="device-values">
      <DataTable
        columns={columns}
        rows={points}
        rowKey={(point) => point.key}
        row={(point) => ({ testid: `value-${point.key}` })}
      />
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

function TrendCard(props: {
  data: DeviceDetail;
  tz: string;
  /** The answer for the first load (default point, 1 h), asked for by DeviceView. */
  firstTrend: Promise<Trend | null>;
  /** Called once the first trend is drawn or has failed. */
  onSettled: () => void;
}): JSX.Element {
  const { device, points, rules } = props.data;
  const numeric = points.filter(isNumeric);
  const [pointKey, setPointKey] = useState<string>(() => defaultPointKey(props.data));
  const [range, setRange] = useState<TrendRange>('1h');
  const [zoom, setZoom] = useState<{ from: number; to: number } | null>(null);
  const point = numeric.find((p) => p.key === pointKey);
  // Used once: the first load is for the initial point, 1 h and no zoom, which it was asked for.
  const prefetched = useRef<Promise<Trend | null> | null>(props.firstTrend);

  const trend = useResource(
    (signal) => {
      const first = prefetched.current;
      prefetched.current = null;
      return first ?? fetchTrend(device.id, pointKey, range, zoom, signal);
    },
    [device.id, pointKey, range, zoom],
  );
  // After the chart's own effect has drawn it (a child's effects run before its parent's).
  useEffect(() => {
    if (!trend.loading) props.onSettled();
  }, [trend.loading]);

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

/** A rule's set points, one level a line. */
function Levels(props: { rule: AlarmRuleView }): JSX.Element {
  const { rule } = props;
  if (rule.levels.length === 0) return <>{t('value.none')}</>;
  return (
    <>
      {rule.levels.map((l) => (
        <div key={l.level}>
          {t('alarm.level', { level: l.level })}: {formatWithUnit(l.setpoint, rule.unit, lang.value, 3)}
        </div>
      ))}
    </>
  );
}

function RulesCard(props: { data: DeviceDetail; tz: string }): JSX.Element {
  const { rules, points } = props.data;
  const columns: Column<AlarmRuleView>[] = [
    {
      label: t('rule.rule'),
      cell: (rule) => {
        const point = points.find((p) => p.key === rule.pointKey);
        return (
          <>
            <strong>{rule.message !== null ? localName(rule.message) : rule.ruleKey}</strong>
            <div class="small muted">
              <span class="mono">{rule.ruleKey}</span>
              {point !== undefined && <> · {localName(point.name)}</>} · {kindLabel(rule.kind)}
              {rule.latched && <> · {t('rule.latched')}</>}
              {!rule.enabled && <> · {t('rule.disabled')}</>}
            </div>
          </>
        );
      },
    },
    {
      label: t('priority.label'),
      cell: (rule) => <PriorityBadge priority={rule.priority} greyed={!rule.enabled} />,
    },
    { label: t('rule.levels'), num: true, class: 'nowrap', cell: (rule) => <Levels rule={rule} /> },
    {
      label: t('rule.deadband'),
      num: true,
      class: 'nowrap',
      cell: (rule) => formatWithUnit(rule.deadband, rule.unit, lang.value, 3),
    },
    {
      label: t('rule.delays'),
      class: 'nowrap',
      cell: (rule) => (
        <>
          {t('rule.onDelay')} {formatDuration(rule.onDelayS, translate)}
          <br />
          {t('rule.offDelay')} {formatDuration(rule.offDelayS, translate)}
        </>
      ),
    },
    {
      label: t('rule.source'),
      cell: (rule) => (
        <>
          {originLabel(rule)}
          {rule.override !== null && (
            <div class="small" data-testid={`rule-${rule.ruleKey}-override`}>
              {/* The origin says "local override" already when the override is what is in force. */}
              {rule.origin !== 'technician' && (
                <>
                  <span class="tag warn">{t('rule.override')}</span>{' '}
                </>
              )}
              {t('rule.overrideBy', { by: rule.override.by })}{' '}
              <DateTime wallMs={rule.override.wallMs} timeZone={props.tz} />
              {rule.override.reason !== null && <div class="muted">{rule.override.reason}</div>}
            </div>
          )}
          {/* The profile's citation is English only: behind a disclosure, the page stays in one language. */}
          {rule.source !== '' && (
            <Disclosure summary={t('rule.basis')} testid={`rule-${rule.ruleKey}-basis`}>
              {rule.source}
            </Disclosure>
          )}
        </>
      ),
    },
  ];
  return (
    <Card title={t('device.rules')} testid="device-rules">
      <DataTable
        columns={columns}
        rows={rules}
        rowKey={(rule) => rule.ruleKey}
        row={(rule) => ({ testid: `rule-${rule.ruleKey}`, class: rule.enabled ? '' : 'greyed' })}
      />
    </Card>
  );
}

function RegisterMapCard(props: { data: DeviceDetail }): JSX.Element {
  const { points, forbiddenRanges } = props.data;
  const columns: Column<PointDefinition>[] = [
    { label: t('device.point'), cell: (p) => <PointName point={p} /> },
    { label: t('register.table'), cell: (p) => tableLabel(p.table) },
    { label: t('register.address'), num: true, class: 'mono', cell: (p) => formatAddress(p.address) },
    { label: t('register.count'), num: true, cell: (p) => p.count },
    { label: t('register.dataType'), class: 'mono', cell: (p) => p.dataType },
    { label: t('register.unit'), cell: (p) => p.unit ?? t('value.none') },
    {
      label: t('register.range'),
      num: true,
      cell: (p) => (p.min === null && p.max === null ? t('value.none') : `${p.min ?? '…'} – ${p.max ?? '…'}`),
    },
    { label: t('register.writable'), cell: (p) => t(p.writable ? 'value.true' : 'value.false') },
  ];
  return (
    <Card title={t('device.registerMap')} testid="device-register-map">
      <DataTable columns={columns} rows={points} rowKey={(p) => p.key} />
      <h3>{t('register.forbidden')}</h3>
      {forbiddenRanges.length === 0 ? (
        <p class="muted">{t('layout.empty')}</p>
      ) : (
        <ul data-testid="forbidden-ranges">
          {forbiddenRanges.map((r) => (
            <li key={`${r.table}-${r.start}`}>
              <ForbiddenRangeText range={r} />
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
