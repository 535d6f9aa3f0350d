/**
 * Small building blocks every page uses: loading a resource with its error and retry, cards,
 * labelled fields, quality and online badges, relative ages. Visible text only through the
 * dictionaries (kt / the app's t).
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Quality } from '../../gateway/web/api-types.js';
import { errorText } from './api.js';
import { ageS } from './clock.js';
import { formatAge, formatDateTime } from './format.js';
import { kt, translate } from './i18n.js';

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  /** Loads again; `quiet` keeps the current data on screen meanwhile (live refreshes). */
  reload(quiet?: boolean): void;
}

/**
 * Loads with `load` when `deps` change; a newer load wins over an older one still running (the
 * older answer is dropped), so quick filter changes never show stale rows.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const controller = useRef<AbortController | null>(null);
  // The latest loader, so reload() always uses the current props without being rebuilt.
  const loader = useRef(load);
  loader.current = load;

  const reload = useCallback((quiet = false) => {
    generation.current += 1;
    const mine = generation.current;
    controller.current?.abort();
    const ctl = new AbortController();
    controller.current = ctl;
    if (!quiet) setLoading(true);
    loader.current(ctl.signal).then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (mine !== generation.current) return;
        if (failure instanceof DOMException && failure.name === 'AbortError') return;
        setError(failure);
        setLoading(false);
      },
    );
  }, []);

  useEffect(() => {
    reload();
    return () => controller.current?.abort();
    // The caller's deps decide when to load again.
  }, deps);

  return { data, error, loading, reload };
}

/** Loading, error with a retry, or the content once the data is there. */
export function Async<T>(props: {
  resource: Resource<T>;
  testid?: string;
  children: (data: T) => ComponentChildren;
}): JSX.Element {
  const { resource } = props;
  if (resource.data === null) {
    if (resource.error !== null) {
      return <ErrorNotice error={resource.error} onRetry={() => resource.reload()} testid={props.testid} />;
    }
    return (
      <p class="muted" data-testid="loading">
        {kt('layout.loading')}
      </p>
    );
  }
  return (
    <>
      {resource.error !== null && (
        <ErrorNotice error={resource.error} onRetry={() => resource.reload()} testid={props.testid} />
      )}
      {props.children(resource.data)}
    </>
  );
}

export function ErrorNotice(props: {
  error: unknown;
  onRetry?: () => void;
  testid?: string | undefined;
}): JSX.Element {
  return (
    <div class="notice error" role="alert" data-testid={props.testid ?? 'error'}>
      <span>{errorText(props.error)}</span>{' '}
      {props.onRetry !== undefined && (
        <button type="button" onClick={props.onRetry} data-testid="retry">
          {kt('layout.retry')}
        </button>
      )}
    </div>
  );
}

export function Card(props: {
  title?: ComponentChildren;
  aside?: ComponentChildren;
  testid?: string;
  class?: string;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <section class={`card ${props.class ?? ''}`} data-testid={props.testid}>
      {(props.title !== undefined || props.aside !== undefined) && (
        <div class="card-head">
          {props.title !== undefined && <h2>{props.title}</h2>}
          {props.aside}
        </div>
      )}
      {props.children}
    </section>
  );
}

export function Field(props: {
  label: ComponentChildren;
  hint?: ComponentChildren;
  error?: string | null | undefined;
  class?: string;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <label class={`field ${props.class ?? ''}`}>
      <span>{props.label}</span>
      {props.children}
      {props.hint !== undefined && <span class="hint">{props.hint}</span>}
      {props.error !== undefined && props.error !== null && <span class="field-error">{props.error}</span>}
    </label>
  );
}

const QUALITY_KEYS = {
  good: 'quality.good',
  partial: 'quality.partial',
  bad: 'quality.bad',
  stale: 'quality.stale',
} as const;

const QUALITY_CLASS: Record<Quality, string> = { good: 'ok', partial: 'warn', bad: 'bad', stale: 'warn' };

export function QualityTag(props: { quality: Quality }): JSX.Element {
  return <span class={`tag ${QUALITY_CLASS[props.quality]}`}>{kt(QUALITY_KEYS[props.quality])}</span>;
}

/** Online / offline with a filled or hollow dot (shape, not colour alone). */
export function OnlineState(props: { online: boolean; onLabel: string; offLabel: string }): JSX.Element {
  return (
    <span class={`status ${props.online ? 'online' : 'offline'}`}>
      {props.online ? props.onLabel : props.offLabel}
    </span>
  );
}

/** "12 秒前" that ticks, with the full time as a tooltip. */
export function Age(props: { wallMs: number | null; timeZone: string }): JSX.Element {
  if (props.wallMs === null) return <span class="muted">{kt('value.none')}</span>;
  return (
    <span class="nowrap" title={formatDateTime(props.wallMs, props.timeZone)}>
      {formatAge(ageS(props.wallMs), translate)}
    </span>
  );
}

export function DateTime(props: { wallMs: number | null; timeZone: string }): JSX.Element {
  if (props.wallMs === null) return <span class="muted">{kt('value.none')}</span>;
  return <span class="num nowrap">{formatDateTime(props.wallMs, props.timeZone)}</span>;
}

/** A column of a DataTable: its name, and how a row fills its cell. */
export interface Column<R> {
  /** The header on a desktop and each cell's name on a phone (`data-label`), so they never differ. */
  label: string;
  cell: (row: R) => ComponentChildren;
  /** Right-aligned figures (header and cells). */
  num?: boolean;
  /** More classes of the cells (`mono`, `nowrap`, `wrap-anywhere` ...). */
  class?: string;
  /** The cell's data-testid. */
  testid?: (row: R) => string;
}

/** Attributes of a row: its test id, a class (`greyed`), and `data-*` values tests read. */
export interface RowAttributes {
  testid?: string;
  class?: string;
  data?: Record<`data-${string}`, string>;
}

/**
 * A dense table on a desktop that becomes a list of cards on a phone (docs/ui.md, "Look": each cell
 * with its column's name, the first cell as the card's heading). With no rows it says `empty`
 * (default: "none") instead of showing an empty table.
 */
export function DataTable<R>(props: {
  columns: readonly Column<R>[];
  rows: readonly R[];
  rowKey: (row: R, index: number) => string | number;
  row?: (row: R) => RowAttributes;
  empty?: ComponentChildren;
  testid?: string;
  /** False for a table that stays a table on a phone (a few narrow columns). */
  cards?: boolean;
}): JSX.Element {
  if (props.rows.length === 0) return <p class="muted">{props.empty ?? kt('layout.empty')}</p>;
  const num = (column: Column<R>): string => (column.num === true ? 'num' : '');
  return (
    <div class="table-wrap">
      <table class={props.cards === false ? 'data' : 'data cards'} data-testid={props.testid}>
        <thead>
          <tr>
            {props.columns.map((column, i) => (
              <th key={i} class={num(column)}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row, index) => {
            const attributes = props.row?.(row) ?? {};
            return (
              <tr
                key={props.rowKey(row, index)}
                class={attributes.class}
                data-testid={attributes.testid}
                {...attributes.data}
              >
                {props.columns.map((column, i) => (
                  <td
                    key={i}
                    data-label={column.label}
                    class={`${num(column)} ${column.class ?? ''}`.trim() || undefined}
                    data-testid={column.testid?.(row)}
                  >
                    {column.cell(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Two or more exclusive choices as a row of buttons (a radio group: one tab stop, arrow keys). */
export function Choice<V extends string>(props: {
  name: string;
  label: string;
  value: V;
  options: readonly { value: V; label: ComponentChildren; testid?: string }[];
  onChange: (value: V) => void;
}): JSX.Element {
  return (
    <div class="segmented" role="radiogroup" aria-label={props.label}>
      {props.options.map((option) => (
        <label key={option.value} class="button">
          <input
            type="radio"
            name={props.name}
            checked={props.value === option.value}
            onChange={() => props.onChange(option.value)}
            data-testid={option.testid}
          />
          {option.label}
        </label>
      ))}
    </div>
  );
}

/**
 * Text kept out of sight behind a small disclosure (a profile's English citation, a server's
 * English message), so the visible page stays in one language.
 */
export function Disclosure(props: {
  summary: string;
  children: ComponentChildren;
  testid?: string;
}): JSX.Element {
  return (
    <details class="disclosure small" data-testid={props.testid}>
      <summary>{props.summary}</summary>
      <div class="muted">{props.children}</div>
    </details>
  );
}
