/**
 * Bus diagnostics and commissioning (issue 13, part 4; docs/bus-scheduler.md): per bus its
 * utilisation and counters, per device round-trip time, timeouts, CRC errors, exception replies
 * and back-off, live every 2 s. The commissioning panel reads a point or a raw register range on
 * demand; the server queues the read on the bus scheduler like any poll and refuses a range that
 * touches a profile's forbidden range, with the profile's reason, which is shown as it is.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type {
  BusDiagnostics,
  BusReadRefusal,
  BusReadRequest,
  BusReadResult,
  BusView,
  DeviceDetail,
} from '../../../gateway/web/api-types.js';
import { api, ApiError, errorText, path } from '../../kit/api.js';
import {
  Age,
  Async,
  Card,
  Choice,
  DataTable,
  Field,
  OnlineState,
  useResource,
  type Column,
} from '../../kit/components.js';
import { formatAddress, formatNumber, formatPercent } from '../../kit/format.js';
import { lang, localName } from '../../kit/i18n.js';
import { hrefOf } from '../../kit/route.js';
import { ForbiddenRangeText, formatPointValue, orNone, tableLabel } from '../common.js';
import { t } from '../i18n.js';
import { live, ROUTES, timeZone } from '../state.js';

type Table = 'coil' | 'discrete' | 'input' | 'holding';
const TABLES: readonly Table[] = ['holding', 'input', 'coil', 'discrete'];

function ms(value: number | null): string {
  return orNone(value, (v) => `${formatNumber(v, lang.value, 1)} ms`);
}

export default function BusPage(): JSX.Element {
  const snapshot = useResource((signal) => api.get<BusDiagnostics>('/api/bus', { signal }), []);
  return (
    <div data-testid="page-bus">
      <h1>{t('bus.title')}</h1>
      <Async resource={snapshot}>
        {(data) => {
          const buses = (live.bus.value ?? data).buses;
          return (
            <div class="stack">
              {buses.map((bus) => (
                <BusCard key={bus.id} bus={bus} />
              ))}
              <CommissioningCard buses={buses} />
            </div>
          );
        }}
      </Async>
    </div>
  );
}

type BusDevice = BusView['devices'][number];

/** A counter of the device table, right-aligned in the language's digits. */
function counter(label: string, value: (d: BusDevice) => number): Column<BusDevice> {
  return { label, num: true, cell: (d) => formatNumber(value(d), lang.value) };
}

function BusCard(props: { bus: BusView }): JSX.Element {
  const { bus } = props;
  const tz = timeZone();
  const columns: Column<BusDevice>[] = [
    {
      label: t('bus.device'),
      cell: (d) => (
        <>
          <a href={hrefOf(ROUTES.device, { id: d.deviceId })}>{localName(d.name)}</a>
          <div class="small">
            <OnlineState online={d.online} onLabel={t('device.online')} offLabel={t('device.offline')} />{' '}
            <span class="muted mono">{d.deviceId}</span>
          </div>
        </>
      ),
    },
    { label: t('bus.unitId'), num: true, cell: (d) => d.unitId },
    {
      label: t('bus.transactions'),
      num: true,
      cell: (d) => (
        <>
          {formatNumber(d.transactions, lang.value)}
          {d.retries > 0 && <div class="small muted">{t('bus.retries', { n: d.retries })}</div>}
        </>
      ),
    },
    {
      label: t('bus.rtt'),
      num: true,
      cell: (d) => (
        <>
          {ms(d.lastRoundTripMs)}
          <div class="small muted">
            {t('bus.meanMax', { mean: ms(d.meanRoundTripMs), max: ms(d.maxRoundTripMs) })}
          </div>
        </>
      ),
    },
    counter(t('bus.timeouts'), (d) => d.timeouts),
    counter(t('bus.crcErrors'), (d) => d.crcErrors),
    counter(t('bus.exceptions'), (d) => d.exceptions),
    counter(t('bus.otherErrors'), (d) => d.otherErrors),
    { label: t('bus.backoff'), cell: (d) => <Backoff device={d} tz={tz} /> },
  ];
  return (
    <Card
      title={
        <>
          {t('bus.bus', { id: bus.id })} <span class="muted small mono">{bus.endpoint}</span>
        </>
      }
      testid={`bus-${bus.id}`}
      aside={<span class="tag">{bus.kind}</span>}
    >
      {!bus.running && (
        <p class="notice error" data-testid={`bus-${bus.id}-stopped`}>
          {t('bus.notRunning')}
        </p>
      )}
      <dl class="facts">
        <dt>{t('bus.utilisation')}</dt>
        <dd class="num" data-testid={`bus-${bus.id}-utilisation`}>
          {bus.utilisation === null ? t('value.none') : formatPercent(bus.utilisation, lang.value)}
        </dd>
        <dt>{t('bus.transactions')}</dt>
        <dd class="num">{formatNumber(bus.transactions, lang.value)}</dd>
        <dt>{t('bus.errors')}</dt>
        <dd class="num">
          {t('bus.timeouts')} {formatNumber(bus.timeouts, lang.value)} · {t('bus.crcErrors')}{' '}
          {formatNumber(bus.crcErrors, lang.value)} · {t('bus.exceptions')}{' '}
          {formatNumber(bus.exceptions, lang.value)} · {t('bus.otherErrors')}{' '}
          {formatNumber(bus.otherErrors, lang.value)} · {t('bus.retries', { n: bus.retries })}
        </dd>
      </dl>
      <DataTable
        columns={columns}
        rows={bus.devices}
        rowKey={(d) => d.deviceId}
        row={(d) => ({ testid: `bus-device-${d.deviceId}`, data: { 'data-health': d.health } })}
      />
    </Card>
  );
}

/** Polling normally, or backing off after failures (degraded, dead), and the last success. */
function Backoff(props: { device: BusDevice; tz: string }): JSX.Element {
  const d = props.device;
  return (
    <>
      {d.health === 'healthy' ? (
        <span class="muted">{t('bus.noBackoff', { s: formatNumber(d.pollIntervalS, lang.value) })}</span>
      ) : (
        <span class={`tag ${d.health === 'dead' ? 'bad' : 'warn'}`}>
          {t(d.health === 'dead' ? 'bus.health.dead' : 'bus.health.degraded', {
            s: formatNumber(d.effectiveIntervalS, lang.value),
            n: d.consecutiveFailures,
          })}
        </span>
      )}
      <div class="small muted">
        {t('bus.lastSuccess')} <Age wallMs={d.lastSuccessWallMs} timeZone={props.tz} />
      </div>
    </>
  );
}

type Outcome =
  | { kind: 'idle' }
  | { kind: 'pending' }
  | { kind: 'done'; result: BusReadResult; at: number }
  | { kind: 'failed'; error: unknown };

function CommissioningCard(props: { buses: BusView[] }): JSX.Element {
  const devices = props.buses.flatMap((b) => b.devices);
  const [deviceId, setDeviceId] = useState(devices[0]?.deviceId ?? '');
  const [mode, setMode] = useState<'point' | 'raw'>('point');
  const [pointKey, setPointKey] = useState('');
  const [table, setTable] = useState<Table>('holding');
  const [address, setAddress] = useState('0');
  const [count, setCount] = useState('1');
  const [outcome, setOutcome] = useState<Outcome>({ kind: 'idle' });
  const detail = useResource(
    (signal) =>
      deviceId === ''
        ? Promise.resolve(null)
        : api.get<DeviceDetail>(path`/api/devices/${deviceId}`, { signal }),
    [deviceId],
  );
  const points = detail.data?.points ?? [];
  const selectedPoint = points.find((p) => p.key === pointKey) ?? points[0];

  const addressNumber = Number(address);
  const countNumber = Number(count);
  const addressError =
    !Number.isInteger(addressNumber) || addressNumber < 0 || addressNumber > 65535
      ? t('bus.addressRange')
      : null;
  const maxCount = table === 'coil' || table === 'discrete' ? 2000 : 125;
  const countError =
    !Number.isInteger(countNumber) ||
    countNumber < 1 ||
    countNumber > maxCount ||
    addressNumber + countNumber > 65536
      ? t('bus.countRange', { max: maxCount })
      : null;
  const valid =
    deviceId !== '' &&
    (mode === 'point' ? selectedPoint !== undefined : addressError === null && countError === null);

  const read = (event: Event): void => {
    event.preventDefault();
    if (!valid) return;
    const request: BusReadRequest =
      mode === 'point'
        ? { deviceId, point: selectedPoint?.key ?? '' }
        : { deviceId, table, address: addressNumber, count: countNumber };
    setOutcome({ kind: 'pending' });
    api.post<BusReadResult>('/api/bus/read', request).then(
      (result) => setOutcome({ kind: 'done', result, at: Date.now() }),
      (error: unknown) => setOutcome({ kind: 'failed', error }),
    );
  };

  return (
    <Card title={t('bus.commissioning')} testid="commissioning">
      <p class="small muted">{t('bus.commissioningHint')}</p>
      <form onSubmit={read} class="stack">
        <div class="form-row">
          <Field label={t('bus.device')}>
            <select
              value={deviceId}
              data-testid="read-device"
              onChange={(e) => setDeviceId(e.currentTarget.value)}
            >
              {devices.map((d) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {localName(d.name)} ({d.deviceId}, {t('bus.unitId')} {d.unitId})
                </option>
              ))}
            </select>
          </Field>
          <Choice
            name="read-mode"
            label={t('bus.readWhat')}
            value={mode}
            onChange={setMode}
            options={[
              { value: 'point', label: t('bus.readPoint'), testid: 'read-mode-point' },
              { value: 'raw', label: t('bus.readRaw'), testid: 'read-mode-raw' },
            ]}
          />
        </div>
        {mode === 'point' ? (
          <div class="form-row">
            <Field label={t('device.point')}>
              <select
                value={selectedPoint?.key ?? ''}
                data-testid="read-point"
                onChange={(e) => setPointKey(e.currentTarget.value)}
              >
                {points.map((p) => (
                  <option key={p.key} value={p.key}>
                    {localName(p.name)} · {tableLabel(p.table)} {p.address}
                  </option>
                ))}
              </select>
            </Field>
          </div>
        ) : (
          <div class="form-row">
            <Field label={t('register.table')}>
              <select
                value={table}
                data-testid="read-table"
                onChange={(e) => setTable(e.currentTarget.value as Table)}
              >
                {TABLES.map((tb) => (
                  <option key={tb} value={tb}>
                    {tableLabel(tb)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t('register.address')} error={addressError}>
              <input
                type="number"
                min={0}
                max={65535}
                value={address}
                aria-invalid={addressError !== null}
                data-testid="read-address"
                onInput={(e) => setAddress(e.currentTarget.value)}
              />
            </Field>
            <Field label={t('register.count')} error={countError}>
              <input
                type="number"
                min={1}
                max={maxCount}
                value={count}
                aria-invalid={countError !== null}
                data-testid="read-count"
                onInput={(e) => setCount(e.currentTarget.value)}
              />
            </Field>
          </div>
        )}
        <div class="actions">
          <button
            type="submit"
            class="primary"
            disabled={!valid || outcome.kind === 'pending'}
            data-testid="bus-read"
          >
            {t('bus.read')}
          </button>
        </div>
      </form>
      <div data-testid="bus-read-result" data-phase={outcome.kind} aria-live="polite">
        {outcome.kind === 'pending' && <p class="notice">{t('bus.reading')}</p>}
        {outcome.kind === 'failed' && <ReadRefusal error={outcome.error} />}
        {outcome.kind === 'done' && <ReadResult result={outcome.result} at={outcome.at} />}
      </div>
    </Card>
  );
}

/** A refused read: the reason in words, and for a forbidden range the profile's own reason. */
function ReadRefusal(props: { error: unknown }): JSX.Element {
  const { error } = props;
  const range = error instanceof ApiError ? (error.body as BusReadRefusal | null)?.forbiddenRange : undefined;
  return (
    <div
      class="notice error"
      role="alert"
      data-testid="bus-read-error"
      data-code={error instanceof ApiError ? error.code : ''}
    >
      <p>{errorText(error)}</p>
      {range !== undefined && (
        <p data-testid="bus-read-forbidden">
          <ForbiddenRangeText range={range} />
        </p>
      )}
    </div>
  );
}

function ReadResult(props: { result: BusReadResult; at: number }): JSX.Element {
  const { result } = props;
  return (
    <div class="stack">
      <p class="notice ok">
        {t('bus.readDone', { rtt: ms(result.roundTripMs) })} · <Age wallMs={props.at} timeZone={timeZone()} />
      </p>
      {result.value !== null && (
        <p>
          {t('device.value')}:{' '}
          <strong data-testid="bus-read-value">
            {formatPointValue(result.value, { unit: result.unit })}
          </strong>
        </p>
      )}
      <div class="table-wrap">
        <table class="data" data-testid="bus-read-raw">
          <thead>
            <tr>
              <th>{tableLabel(result.table)}</th>
              <th class="num">{t('bus.decimal')}</th>
              <th class="num">{t('bus.hex')}</th>
            </tr>
          </thead>
          <tbody>
            {result.raw.map((v, i) => (
              <tr key={i}>
                <td class="mono">{formatAddress(result.address + i)}</td>
                <td class="num mono">{typeof v === 'boolean' ? (v ? '1' : '0') : v}</td>
                <td class="num mono">
                  {typeof v === 'boolean'
                    ? t('value.none')
                    : `0x${v.toString(16).toUpperCase().padStart(4, '0')}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
