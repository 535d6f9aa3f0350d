/**
 * Overview (issue 13, part 4): what is wrong at a glance. Active alarms by priority and ISA-18.2
 * state, devices by family with their online state, the uplink, the lighting rates and the
 * cabinet's own facts (clock sanity, disk, database size).
 */
import type { JSX } from 'preact';
import { useEffect, useMemo } from 'preact/hooks';
import type { DeviceSummary, Overview } from '../../../gateway/web/api-types.js';
import { AlarmItem, PRIORITIES, PriorityBadge, STATE_KEYS, ALARM_STATE_NAMES } from '../../kit/alarm.js';
import { api } from '../../kit/api.js';
import { setServerTime } from '../../kit/clock.js';
import { Age, Async, Card, DateTime, OnlineState, useResource } from '../../kit/components.js';
import { formatBytes, formatDuration, formatNumber, formatPercent } from '../../kit/format.js';
import { lang, localName, translate } from '../../kit/i18n.js';
import { hrefOf } from '../../kit/route.js';
import { deviceTitle, familyLabel, useRefreshOn } from '../common.js';
import { t } from '../i18n.js';
import { live, ROUTES, timeZone } from '../state.js';

export function OverviewPage(): JSX.Element {
  const overview = useResource((signal) => api.get<Overview>('/api/overview', { signal }), []);
  useRefreshOn(live.alarmChanges, overview.reload);
  useEffect(() => {
    if (overview.data !== null) setServerTime(overview.data.cabinet.clock.wallMs);
  }, [overview.data]);
  return (
    <div data-testid="page-overview">
      <h1>{t('overview.title')}</h1>
      <Async resource={overview}>{(data) => <OverviewBody data={data} />}</Async>
    </div>
  );
}

function OverviewBody(props: { data: Overview }): JSX.Element {
  const { data } = props;
  const tz = timeZone();
  return (
    <>
      {/* What is wrong first, side by side on a desktop; the facts below share one full row. */}
      <div class="grid fill halves">
        <AlarmsCard data={data} tz={tz} />
        <DevicesCard devices={data.devices} tz={tz} />
      </div>
      <div class="grid fill">
        <UplinkCard data={data} tz={tz} />
        <LightingCard data={data} />
        <CabinetCard data={data} tz={tz} />
      </div>
    </>
  );
}

function AlarmsCard(props: { data: Overview; tz: string }): JSX.Element {
  const { alarms, activeAlarms } = props.data;
  const states = ALARM_STATE_NAMES.filter((s) => s !== 'normal' && (alarms.byState[s] ?? 0) > 0);
  return (
    <Card
      title={t('overview.alarms')}
      testid="overview-alarms"
      aside={
        <a href={hrefOf(ROUTES.alarms)} data-testid="overview-all-alarms">
          {t('overview.allAlarms')}
        </a>
      }
    >
      <div class="actions" data-testid="alarm-counts">
        {PRIORITIES.map((p) => (
          <span key={p} data-testid={`count-${p}`}>
            <PriorityBadge priority={p} count={alarms.byPriority[p]} greyed={alarms.byPriority[p] === 0} />
          </span>
        ))}
      </div>
      <p class="small">
        <strong data-testid="count-unack">
          {t('overview.unacknowledged', { n: alarms.unacknowledged })}
        </strong>
        {states.map((s) => (
          <span key={s} class="muted">
            {' · '}
            {t(STATE_KEYS[s])} {alarms.byState[s] ?? 0}
          </span>
        ))}
      </p>
      {activeAlarms.length === 0 ? (
        <p class="notice ok" data-testid="no-active-alarms">
          {t('overview.noActiveAlarms')}
        </p>
      ) : (
        <ul class="alarm-list" data-testid="active-alarms">
          {activeAlarms.map((a) => (
            <AlarmItem
              key={a.alarmKey}
              alarm={a}
              timeZone={props.tz}
              // The gateway's own alarms (derived rates) have no device page to link to.
              deviceHref={
                props.data.devices.some((d) => d.id === a.deviceId)
                  ? hrefOf(ROUTES.device, { id: a.deviceId })
                  : undefined
              }
            />
          ))}
        </ul>
      )}
    </Card>
  );
}

function DevicesCard(props: { devices: DeviceSummary[]; tz: string }): JSX.Element {
  const liveDevices = live.devices.value;
  const families = [...new Set(props.devices.map((d) => d.family))].sort();
  return (
    <Card title={t('overview.devices')} testid="overview-devices">
      {families.map((family) => {
        const devices = props.devices.filter((d) => d.family === family);
        const online = devices.filter((d) => liveDevices[d.id]?.online ?? d.online).length;
        return (
          <div key={family} data-testid={`family-${family}`}>
            <h3>
              {familyLabel(family)}{' '}
              <span class="muted small">{t('overview.onlineOf', { online, total: devices.length })}</span>
            </h3>
            <ul class="alarm-list">
              {devices.map((d) => (
                <li key={d.id} class="alarm-item" data-testid={`device-${d.id}`}>
                  <OnlineState
                    online={liveDevices[d.id]?.online ?? d.online}
                    onLabel={t('device.online')}
                    offLabel={t('device.offline')}
                  />
                  <div class="what">
                    <a href={hrefOf(ROUTES.device, { id: d.id })}>{deviceTitle(d)}</a>
                    <div class="sub">
                      <span class="mono">{d.id}</span>
                      {d.label !== null && <> · {localName(d.name)}</>}
                      {d.location !== null && <> · {d.location}</>}
                    </div>
                  </div>
                  <div class="when">
                    {d.highestPriority !== null && d.activeAlarms > 0 && (
                      <PriorityBadge priority={d.highestPriority} count={d.activeAlarms} />
                    )}
                    <div class="muted small">
                      <Age wallMs={d.lastPollWallMs} timeZone={props.tz} />
                    </div>
                  </div>
                </li>
              ))}
            </ul>
          </div>
        );
      })}
      {families.length === 0 && <p class="muted">{t('layout.empty')}</p>}
    </Card>
  );
}

function UplinkCard(props: { data: Overview; tz: string }): JSX.Element {
  const uplink = live.uplink.value ?? props.data.uplink;
  return (
    <Card title={t('overview.uplink')} testid="overview-uplink">
      {!uplink.configured ? (
        <p class="muted" data-testid="uplink-state">
          {t('uplink.notConfigured')}
        </p>
      ) : (
        <dl class="facts">
          <dt>{t('state.label')}</dt>
          <dd data-testid="uplink-state">
            <OnlineState
              online={uplink.connected}
              onLabel={t('uplink.connected')}
              offLabel={t('uplink.disconnected')}
            />
          </dd>
          <dt>{t('uplink.backlog')}</dt>
          <dd data-testid="uplink-backlog">{formatNumber(uplink.backlog, lang.value)}</dd>
          <dt>{t('uplink.oldestUnsent')}</dt>
          <dd>
            {uplink.oldestUnsentAgeS === null
              ? t('value.none')
              : formatDuration(uplink.oldestUnsentAgeS, translate)}
          </dd>
          <dt>{t('uplink.lastAck')}</dt>
          <dd>
            <DateTime wallMs={uplink.lastAckWallMs} timeZone={props.tz} />
            {uplink.lastAckWallMs !== null && (
              <span class="muted small">
                {' '}
                (<Age wallMs={uplink.lastAckWallMs} timeZone={props.tz} />)
              </span>
            )}
          </dd>
        </dl>
      )}
    </Card>
  );
}

function Rate(props: { value: number | null; testid: string }): JSX.Element {
  return (
    <dd class="num" data-testid={props.testid}>
      {props.value === null ? t('value.none') : formatPercent(props.value, lang.value)}
    </dd>
  );
}

function LightingCard(props: { data: Overview }): JSX.Element | null {
  const rates = props.data.lighting;
  if (rates === null) return null;
  return (
    <Card
      title={t('overview.lighting')}
      testid="overview-lighting"
      aside={<a href={hrefOf(ROUTES.lighting)}>{t('nav.lighting')}</a>}
    >
      <dl class="facts">
        <dt>{t('lighting.litRate')}</dt>
        <Rate value={rates.litRate} testid="lit-rate" />
        <dt>{t('lighting.onlineRate')}</dt>
        <Rate value={rates.onlineRate} testid="online-rate" />
        <dt>{t('lighting.integrityRate')}</dt>
        <Rate value={rates.integrityRate} testid="integrity-rate" />
      </dl>
    </Card>
  );
}

function CabinetCard(props: { data: Overview; tz: string }): JSX.Element {
  const { cabinet } = props.data;
  const diskUsed = cabinet.disk === null ? null : 1 - cabinet.disk.freeBytes / cabinet.disk.totalBytes;
  // Measured when the snapshot arrives: how far the cabinet's clock is from this phone's.
  const clockDiffS = useMemo(
    () => Math.abs(cabinet.clock.wallMs - Date.now()) / 1000,
    [cabinet.clock.wallMs],
  );
  return (
    <Card title={t('overview.cabinet')} testid="overview-cabinet">
      <dl class="facts">
        <dt>{t('cabinet.id')}</dt>
        <dd class="mono">{cabinet.gatewayId}</dd>
        <dt>{t('cabinet.site')}</dt>
        <dd>{cabinet.siteName}</dd>
        <dt>{t('cabinet.version')}</dt>
        <dd class="mono">{cabinet.version}</dd>
        <dt>{t('cabinet.uptime')}</dt>
        <dd>{formatDuration(cabinet.uptimeS, translate)}</dd>
        <dt>{t('cabinet.clock')}</dt>
        <dd data-testid="cabinet-clock">
          <DateTime wallMs={cabinet.clock.wallMs} timeZone={props.tz} />{' '}
          <span class="muted small">{cabinet.clock.timeZone}</span>
          <br />
          {cabinet.clock.sane ? (
            <span class="tag ok">{t('cabinet.clockSane')}</span>
          ) : (
            <span class="tag bad" data-testid="clock-insane">
              {t('cabinet.clockInsane')}
            </span>
          )}
          {clockDiffS > 120 && (
            <div class="small muted" data-testid="clock-differs">
              {t('cabinet.clockDiffers', { duration: formatDuration(clockDiffS, translate) })}
            </div>
          )}
        </dd>
        <dt>{t('cabinet.disk')}</dt>
        <dd data-testid="cabinet-disk">
          {cabinet.disk === null || diskUsed === null
            ? t('value.unknown')
            : t('cabinet.diskUse', {
                used: formatPercent(diskUsed, lang.value),
                free: formatBytes(cabinet.disk.freeBytes, lang.value),
                total: formatBytes(cabinet.disk.totalBytes, lang.value),
              })}
        </dd>
        <dt>{t('cabinet.database')}</dt>
        <dd>{formatBytes(cabinet.databaseBytes, lang.value)}</dd>
      </dl>
    </Card>
  );
}
