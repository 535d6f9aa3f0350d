/**
 * Strain (issue 13, part 4; docs/strain.md): per-channel minute statistics of a bridge strain
 * logger, and the recent vehicle and overweight events with the raw window kept around each,
 * plotted channel by channel.
 */
import type { JSX } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { Overview, StrainEventView, StrainView } from '../../../gateway/web/api-types.js';
import { api, path } from '../../kit/api.js';
import { Chart, type ChartSeries } from '../../kit/chart.js';
import { Async, Card, DataTable, DateTime, useResource, type Column } from '../../kit/components.js';
import { formatNumber, formatWithUnit } from '../../kit/format.js';
import { lang, localName } from '../../kit/i18n.js';
import { DeviceSelect, orNone } from '../common.js';
import { t } from '../i18n.js';
import { router, timeZone } from '../state.js';

const UNIT = 'µε';
/** Distinct, colour-blind-safe series colours (Okabe-Ito), none of them a priority colour. */
const SERIES_COLOURS = [
  '#0072B2',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#8C6D31',
  '#000000',
  '#7F7F7F',
  '#6A3D9A',
];

function isStrainFamily(family: string): boolean {
  return family === 'bridge-strain' || family === 'strain';
}

export default function StrainPage(): JSX.Element {
  const devices = useResource(
    (signal) =>
      api
        .get<Overview>('/api/overview', { signal })
        .then((o) => o.devices.filter((d) => isStrainFamily(d.family))),
    [],
  );
  const [chosen, setChosen] = useState<string>(router.route.value.query['device'] ?? '');
  return (
    <div data-testid="page-strain">
      <h1>{t('strain.title')}</h1>
      <Async resource={devices}>
        {(list) => {
          if (list.length === 0) return <p class="notice">{t('strain.noDevices')}</p>;
          const deviceId = list.some((d) => d.id === chosen) ? chosen : (list[0]?.id ?? '');
          return (
            <div class="stack">
              {list.length > 1 && (
                <div class="card">
                  <DeviceSelect devices={list} value={deviceId} onChange={setChosen} testid="strain-device" />
                </div>
              )}
              <StrainDevice key={deviceId} deviceId={deviceId} />
            </div>
          );
        }}
      </Async>
    </div>
  );
}

function StrainDevice(props: { deviceId: string }): JSX.Element {
  const view = useResource(
    (signal) => api.get<StrainView>(path`/api/strain/${props.deviceId}`, { signal }),
    [props.deviceId],
  );
  return <Async resource={view}>{(data) => <StrainBody data={data} />}</Async>;
}

function StrainBody(props: { data: StrainView }): JSX.Element {
  const { minutes, events } = props.data;
  const channelName = (key: string | null): string => {
    if (key === null) return t('value.none');
    const found = props.data.channels.find((c) => c.key === key);
    return found !== undefined ? localName(found.name) : key;
  };
  const tz = timeZone();
  const channels = [...new Set(minutes.map((m) => m.channel))].sort();
  const latest = channels.map((c) => {
    const rows = minutes.filter((m) => m.channel === c);
    return rows.reduce((a, b) => (b.periodStartWallMs > a.periodStartWallMs ? b : a));
  });
  const minuteChart = useMemo(() => {
    const t0 = [...new Set(minutes.map((m) => m.periodStartWallMs))].sort((a, b) => a - b);
    const series: ChartSeries[] = channels.map((c, i) => {
      const byTime = new Map(
        minutes.filter((m) => m.channel === c).map((m) => [m.periodStartWallMs, m.mean]),
      );
      return {
        label: channelName(c),
        color: SERIES_COLOURS[i % SERIES_COLOURS.length] ?? '#000',
        values: t0.map((x) => byTime.get(x) ?? null),
      };
    });
    return { t: t0, series };
  }, [minutes, lang.value]);
  const [selected, setSelected] = useState<string | null>(events.find((e) => e.window !== null)?.id ?? null);
  const event = events.find((e) => e.id === selected) ?? null;
  const microstrain = (value: number): string => formatWithUnit(value, UNIT, lang.value, 1);
  const minuteColumns: Column<StrainView['minutes'][number]>[] = [
    {
      label: t('strain.channel'),
      cell: (m) => (
        <>
          {channelName(m.channel)}
          {m.source === 'aggregates' && <div class="small muted">{t('strain.fromAggregates')}</div>}
        </>
      ),
    },
    { label: t('strain.minute'), cell: (m) => <DateTime wallMs={m.periodStartWallMs} timeZone={tz} /> },
    { label: t('chart.min'), num: true, cell: (m) => microstrain(m.min) },
    { label: t('chart.mean'), num: true, cell: (m) => microstrain(m.mean) },
    { label: t('chart.max'), num: true, cell: (m) => microstrain(m.max) },
    { label: t('strain.rms'), num: true, cell: (m) => orNone(m.rms, microstrain) },
    { label: t('strain.samples'), num: true, cell: (m) => m.count },
  ];

  return (
    <>
      <Card title={t('strain.minutes')} testid="strain-minutes">
        <DataTable
          columns={minuteColumns}
          rows={latest}
          rowKey={(m) => m.channel}
          row={(m) => ({ testid: `strain-channel-${m.channel}` })}
        />
        {minuteChart.t.length > 1 && (
          <Chart
            testid="strain-minute-chart"
            t={minuteChart.t}
            series={minuteChart.series}
            unit={UNIT}
            timeZone={tz}
            height={220}
          />
        )}
      </Card>
      <Card title={t('strain.events')} testid="strain-events">
        {events.length === 0 ? (
          <p class="muted">{t('strain.noEvents')}</p>
        ) : (
          <ul class="alarm-list">
            {events.map((e) => (
              <li key={e.id} class="alarm-item" data-testid={`strain-event-${e.id}`}>
                <span class={`tag ${e.kind === 'overweight' ? 'bad' : ''}`}>
                  {t(e.kind === 'overweight' ? 'strain.overweight' : 'strain.vehicle')}
                  {e.level !== null && ` · ${t('alarm.level', { level: e.level })}`}
                </span>
                <div class="what">
                  <strong class="num">{orNone(e.peak, microstrain)}</strong>{' '}
                  <span class="muted">{channelName(e.channel)}</span>
                  {e.estimatedTonnes !== null && (
                    <span class="num">
                      {' '}
                      · {t('strain.tonnes', { t: formatNumber(e.estimatedTonnes, lang.value, 1) })}
                    </span>
                  )}
                  <div class="sub">
                    <DateTime wallMs={e.wallMs} timeZone={tz} />
                  </div>
                </div>
                <div class="when">
                  {e.window !== null && (
                    <button
                      type="button"
                      class={selected === e.id ? 'pressed' : ''}
                      aria-pressed={selected === e.id}
                      data-testid={`strain-plot-${e.id}`}
                      onClick={() => setSelected(e.id)}
                    >
                      {t('strain.plot')}
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
        {event !== null && <EventWindow key={event.id} event={event} channelName={channelName} />}
      </Card>
    </>
  );
}

function EventWindow(props: {
  event: StrainEventView;
  channelName: (key: string) => string;
}): JSX.Element | null {
  const window = props.event.window;
  const chart = useMemo(() => {
    if (window === null) return null;
    const series: ChartSeries[] = Object.entries(window.series).map(([channel, values], i) => ({
      label: props.channelName(channel),
      values,
      color: SERIES_COLOURS[i % SERIES_COLOURS.length] ?? '#000',
    }));
    return { t: window.t, series };
  }, [window, lang.value]);
  if (chart === null) return null;
  return (
    <div data-testid="strain-window">
      <h3>{t('strain.window')}</h3>
      <Chart
        testid="strain-window-chart"
        t={chart.t}
        series={chart.series}
        unit={UNIT}
        timeZone={timeZone()}
        height={240}
      />
    </div>
  );
}
