/**
 * The time-series chart (docs/ui.md, "Charts"): uPlot (about 23 kB compressed, canvas, drawing
 * 100,000 points in a few milliseconds) wrapped for our trends:
 * - the time axis in the cabinet's time zone, 24-hour labels (uPlot.tzDate places the ticks);
 * - an aggregate drawn as a min/max band with the mean as a line;
 * - set points and deadband drawn as horizontal lines, so a reading is judged against its limit;
 * - zoom by dragging across the chart, with a reset button; resizes with its container.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatClock, formatDate, formatDateTime, formatTimeOfDay, formatWithUnit } from './format.js';
import { kt, lang } from './i18n.js';

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  color: string;
}

export interface ChartLine {
  value: number;
  label: string;
  color: string;
  dashed?: boolean;
}

export interface ChartProps {
  testid: string;
  /** Wall-clock milliseconds, ascending. */
  t: readonly number[];
  series: readonly ChartSeries[];
  /** A min/max band drawn behind the series (aggregates). */
  band?: { min: ReadonlyArray<number | null>; max: ReadonlyArray<number | null> } | undefined;
  lines?: readonly ChartLine[];
  unit: string | null;
  timeZone: string;
  height?: number;
  /**
   * Zoom is the page's (it fetches finer data for the span): called with the dragged span. Without
   * it the chart zooms by itself and offers its own reset.
   */
  onZoom?: (fromWallMs: number, toWallMs: number) => void;
  /** Set when the page shows a zoomed span: the reset button calls onResetZoom. */
  zoomed?: boolean;
  onResetZoom?: () => void;
}

const BAND_FILL = 'rgba(31, 95, 153, 0.16)';

/** Axis labels: times of day within a day, dates with times beyond. */
function timeAxisValues(timeZone: string): (u: uPlot, splits: number[]) => string[] {
  return (u, splits) => {
    const min = u.scales['x']?.min ?? 0;
    const max = u.scales['x']?.max ?? 0;
    const spanS = max - min;
    return splits.map((s) => {
      const ms = s * 1000;
      // Event windows last seconds: show seconds, and milliseconds below ten seconds.
      if (spanS < 10) return `${formatClock(ms, timeZone)}.${String(Math.round(ms) % 1000).padStart(3, '0')}`;
      if (spanS < 300) return formatClock(ms, timeZone);
      if (spanS <= 2 * 86_400) return formatTimeOfDay(ms, timeZone);
      return `${formatDate(ms, timeZone).slice(5)} ${formatTimeOfDay(ms, timeZone)}`;
    });
  };
}

function linesPlugin(lines: readonly ChartLine[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const { ctx, bbox } = u;
        const px = uPlot.pxRatio;
        ctx.save();
        ctx.lineWidth = 1.5 * px;
        ctx.font = `${Math.round(11 * px)}px system-ui, sans-serif`;
        for (const line of lines) {
          const y = Math.round(u.valToPos(line.value, 'y', true));
          if (y < bbox.top || y > bbox.top + bbox.height) continue;
          ctx.strokeStyle = line.color;
          ctx.setLineDash(line.dashed === true ? [4 * px, 4 * px] : []);
          ctx.beginPath();
          ctx.moveTo(bbox.left, y);
          ctx.lineTo(bbox.left + bbox.width, y);
          ctx.stroke();
          ctx.fillStyle = line.color;
          // Set points are labelled at the right above their line, deadbands at the left below
          // theirs, so the two labels of one level never overlap.
          if (line.dashed === true) {
            ctx.textAlign = 'left';
            ctx.textBaseline = 'top';
            ctx.fillText(line.label, bbox.left + 4 * px, y + 2 * px);
          } else {
            ctx.textAlign = 'right';
            ctx.textBaseline = 'bottom';
            ctx.fillText(line.label, bbox.left + bbox.width - 4 * px, y - 2 * px);
          }
        }
        ctx.restore();
      },
    },
  };
}

function buildOptions(
  props: ChartProps,
  width: number,
  onSelfZoom: (zoomed: boolean) => void,
): uPlot.Options {
  const { timeZone, unit } = props;
  const language = lang.value;
  const fmt = (v: number | null): string => (v === null ? '—' : formatWithUnit(v, unit, language, 3));
  const lines = props.lines ?? [];
  const series: uPlot.Series[] = [
    { label: kt('chart.time'), value: (_u, v) => (v === null ? '—' : formatDateTime(v * 1000, timeZone)) },
  ];
  if (props.band !== undefined) {
    series.push(
      { label: kt('chart.max'), stroke: 'rgba(31, 95, 153, 0.35)', width: 1, value: (_u, v) => fmt(v) },
      { label: kt('chart.min'), stroke: 'rgba(31, 95, 153, 0.35)', width: 1, value: (_u, v) => fmt(v) },
    );
  }
  for (const s of props.series) {
    series.push({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false, value: (_u, v) => fmt(v) });
  }
  return {
    width,
    height: props.height ?? 260,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
    series,
    bands: props.band !== undefined ? [{ series: [1, 2], fill: BAND_FILL }] : [],
    scales: {
      x: { time: true },
      y: {
        // Keep every set point in view, so a value is always seen against its limit.
        range: (_u, dataMin, dataMax) => {
          let lo = dataMin;
          let hi = dataMax;
          for (const line of lines) {
            lo = Math.min(lo ?? line.value, line.value);
            hi = Math.max(hi ?? line.value, line.value);
          }
          if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
          const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
          return [lo - pad, hi + pad];
        },
      },
    },
    axes: [
      {
        values: timeAxisValues(timeZone),
        // Labels with seconds (and milliseconds) are wider: keep them apart.
        space: (_u, _axis, min, max) => (max - min < 10 ? 110 : max - min < 300 ? 80 : 60),
        stroke: '#4f5a64',
        grid: { stroke: '#e3e6e9' },
        ticks: { stroke: '#d3d8dd' },
      },
      {
        stroke: '#4f5a64',
        grid: { stroke: '#e3e6e9' },
        ticks: { stroke: '#d3d8dd' },
        size: 60,
        values: (_u, splits) => splits.map((v) => formatWithUnit(v, null, language, 3)),
        label: unit !== null && unit !== '1' ? unit : undefined,
        labelSize: 18,
      },
    ],
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    plugins: [linesPlugin(lines)],
    hooks: {
      setSelect: [
        (u) => {
          if (props.onZoom === undefined || u.select.width < 5) return;
          const from = u.posToVal(u.select.left, 'x') * 1000;
          const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          props.onZoom(from, to);
        },
      ],
      setScale: [
        (u, key) => {
          if (key !== 'x' || props.onZoom !== undefined) return;
          const data = u.data[0];
          const first = data[0];
          const last = data[data.length - 1];
          const x = u.scales['x'];
          onSelfZoom(
            first !== undefined &&
              last !== undefined &&
              x !== undefined &&
              ((x.min ?? first) > first || (x.max ?? last) < last),
          );
        },
      ],
    },
  };
}

/** The mark the cabinet-ui benchmark reads: the first chart of the page load drawn with data. */
export const FIRST_CHART_MARK = 'kerbside:first-chart';

/**
 * uPlot draws synchronously in its constructor, so the chart is on the canvas here. The first
 * time in a page load, a performance mark records when (docs/performance.md, "Cabinet web UI");
 * each drawn plot says so in data-drawn for tests.
 */
function markFirstChart(el: HTMLElement): void {
  el.dataset['drawn'] = '1';
  if (performance.getEntriesByName(FIRST_CHART_MARK).length === 0) performance.mark(FIRST_CHART_MARK);
}

export function Chart(props: ChartProps): JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [selfZoomed, setSelfZoomed] = useState(false);
  const language = lang.value;

  useEffect(() => {
    const el = host.current;
    if (el === null || props.t.length === 0) return undefined;
    const data: uPlot.AlignedData = [
      props.t.map((ms) => ms / 1000),
      ...(props.band !== undefined
        ? [props.band.max as (number | null)[], props.band.min as (number | null)[]]
        : []),
      ...props.series.map((s) => s.values as (number | null)[]),
    ];
    // With a page-driven zoom, a drag only selects; the page fetches the span and redraws.
    const options = buildOptions(props, Math.max(200, el.clientWidth), setSelfZoomed);
    if (props.onZoom !== undefined) options.cursor = { drag: { x: true, y: false, setScale: false } };
    const u = new uPlot(options, data, el);
    plot.current = u;
    markFirstChart(el);
    setSelfZoomed(false);
    const observer = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== u.width) u.setSize({ width, height: props.height ?? 260 });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [props.t, props.series, props.band, props.lines, props.timeZone, props.unit, language]);

  const resetSelf = (): void => {
    const u = plot.current;
    const first = props.t[0];
    const last = props.t[props.t.length - 1];
    if (u !== null && first !== undefined && last !== undefined)
      u.setScale('x', { min: first / 1000, max: last / 1000 });
  };

  const zoomed = props.onZoom !== undefined ? props.zoomed === true : selfZoomed;
  return (
    <div class="chart" data-testid={props.testid}>
      <div class="chart-bar">
        <span class="muted">{kt('chart.zoomHint')}</span>
        <button
          type="button"
          data-testid={`${props.testid}-reset`}
          disabled={!zoomed}
          onClick={() => (props.onZoom !== undefined ? props.onResetZoom?.() : resetSelf())}
        >
          {kt('chart.resetZoom')}
        </button>
      </div>
      {props.t.length === 0 ? (
        <p class="notice" data-testid={`${props.testid}-empty`}>
          {kt('chart.noData')}
        </p>
      ) : (
        <div ref={host} data-testid={`${props.testid}-plot`} />
      )}
    </div>
  );
}
