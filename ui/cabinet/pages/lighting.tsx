/**
 * Lighting (issue 13, part 4; docs/lighting.md): loops and lamps with state, dim level, power and
 * faults; switch or dim a lamp or a loop after a confirmation, as an override that expires; the
 * result is shown only once the server answered, which it does only after the concentrator
 * answered the write (LightingCommandResult). Today's sunset and sunrise, the switching times the
 * schedule computed, and the calendar rules in force.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type {
  LampView,
  LightingCommandRequest,
  LightingCommandResult,
  LightingView,
  LoopView,
} from '../../../gateway/web/api-types.js';
import { api, path } from '../../kit/api.js';
import {
  Async,
  Card,
  DataTable,
  DateTime,
  Field,
  OnlineState,
  useResource,
  type Column,
} from '../../kit/components.js';
import { ConfirmDialog } from '../../kit/confirm.js';
import {
  formatDateTime,
  formatDuration,
  formatNumber,
  formatPercent,
  formatTimeOfDay,
  formatWithUnit,
} from '../../kit/format.js';
import { lang, translate } from '../../kit/i18n.js';
import { orNone, ReasonField, useRefreshOn, wordOf } from '../common.js';
import { t, type CabinetKey } from '../i18n.js';
import { live, timeZone } from '../state.js';

type Action = LightingCommandRequest['action'];

interface Command {
  target: string;
  kind: 'lamp' | 'loop';
  action: Action;
  dimLevel: number | null;
}

const DURATIONS_MIN = [15, 30, 60, 120, 240, 480, 720];

const FAULT_KEYS: Record<string, CabinetKey> = {
  lamp_failure: 'fault.lamp_failure',
  switching_error: 'fault.switching_error',
  leakage: 'fault.leakage',
  leakage_current: 'fault.leakage',
  door_open: 'fault.door_open',
  cabinet_door_open: 'fault.door_open',
  comm_loss: 'fault.comm_loss',
  offline: 'fault.comm_loss',
};

const DAY_KEYS: Record<string, CabinetKey> = {
  mon: 'day.mon',
  tue: 'day.tue',
  wed: 'day.wed',
  thu: 'day.thu',
  fri: 'day.fri',
  sat: 'day.sat',
  sun: 'day.sun',
  weekday: 'day.weekday',
  weekend: 'day.weekend',
  holiday: 'day.holiday',
};

const ACTION_KEYS: Record<Action, CabinetKey> = {
  on: 'lighting.action.on',
  off: 'lighting.action.off',
  dim: 'lighting.action.dim',
};

/** The buttons that start a command on a lamp or a loop (test ids `<kind>-<action>-<id>`). */
function CommandButtons(props: {
  kind: Command['kind'];
  target: string;
  actions: readonly Action[];
  dimLevel: number | null;
  onCommand: (c: Command) => void;
}): JSX.Element {
  return (
    <span class="actions">
      {props.actions.map((action) => (
        <button
          key={action}
          type="button"
          data-testid={`${props.kind}-${action}-${props.target}`}
          onClick={() =>
            props.onCommand({ target: props.target, kind: props.kind, action, dimLevel: props.dimLevel })
          }
        >
          {t(ACTION_KEYS[action])}
        </button>
      ))}
    </span>
  );
}

function OnOff(props: { on: boolean | null; testid: string }): JSX.Element {
  if (props.on === null)
    return (
      <span class="muted" data-testid={props.testid} data-on="unknown">
        {t('value.unknown')}
      </span>
    );
  return (
    <span class={`status${props.on ? ' on' : ''}`} data-testid={props.testid} data-on={String(props.on)}>
      {t(props.on ? 'value.on' : 'value.off')}
    </span>
  );
}

function Faults(props: { faults: string[] }): JSX.Element {
  if (props.faults.length === 0) return <span class="muted">{t('value.none')}</span>;
  return (
    <span class="actions">
      {props.faults.map((f) => (
        <span key={f} class="tag bad">
          {wordOf(FAULT_KEYS, f)}
        </span>
      ))}
    </span>
  );
}

export default function LightingPage(): JSX.Element {
  const view = useResource((signal) => api.get<LightingView>('/api/lighting', { signal }), []);
  useRefreshOn(live.lightingChanges, view.reload);
  const [command, setCommand] = useState<Command | null>(null);
  return (
    <div data-testid="page-lighting">
      <h1>{t('lighting.title')}</h1>
      <Async resource={view}>
        {(data) => (
          <div class="stack">
            <div class="grid fill">
              <RatesCard data={data} />
              <TodayCard data={data} />
            </div>
            <LoopsCard loops={data.loops} onCommand={setCommand} />
            <LampsCard lamps={data.lamps} onCommand={setCommand} />
            <OverridesCard data={data} />
            <RulesCard data={data} />
          </div>
        )}
      </Async>
      {command !== null && (
        <CommandDialog
          command={command}
          onClose={(succeeded) => {
            setCommand(null);
            if (succeeded) view.reload(true);
          }}
        />
      )}
    </div>
  );
}

function RatesCard(props: { data: LightingView }): JSX.Element {
  const { rates } = props.data;
  const rate = (v: number | null): string => orNone(v, (r) => formatPercent(r, lang.value));
  return (
    <Card title={t('lighting.rates')} testid="lighting-rates">
      <dl class="facts">
        <dt>{t('lighting.litRate')}</dt>
        <dd class="num">{rate(rates.litRate)}</dd>
        <dt>{t('lighting.onlineRate')}</dt>
        <dd class="num">{rate(rates.onlineRate)}</dd>
        <dt>{t('lighting.integrityRate')}</dt>
        <dd class="num">{rate(rates.integrityRate)}</dd>
      </dl>
    </Card>
  );
}

function TodayCard(props: { data: LightingView }): JSX.Element {
  const { today } = props.data;
  const tz = timeZone();
  const time = (ms: number | null): string => orNone(ms, (wallMs) => formatTimeOfDay(wallMs, tz));
  return (
    <Card title={t('lighting.today', { date: today.date })} testid="lighting-today">
      <dl class="facts">
        <dt>{t('lighting.dayType')}</dt>
        <dd>{wordOf(DAY_KEYS, today.dayType)}</dd>
        <dt>{t('lighting.sunset')}</dt>
        <dd class="num" data-testid="sunset">
          {time(today.sunsetWallMs)}
        </dd>
        <dt>{t('lighting.sunrise')}</dt>
        <dd class="num" data-testid="sunrise">
          {time(today.sunriseWallMs)}
        </dd>
        <dt>{t('lighting.switchOn')}</dt>
        <dd class="num">{time(today.switchOnWallMs)}</dd>
        <dt>{t('lighting.switchOff')}</dt>
        <dd class="num">{time(today.switchOffWallMs)}</dd>
      </dl>
    </Card>
  );
}

function LoopsCard(props: { loops: LoopView[]; onCommand: (c: Command) => void }): JSX.Element {
  const columns: Column<LoopView>[] = [
    {
      label: t('lighting.loop'),
      cell: (loop) => (
        <>
          {t('lighting.loopN', { n: loop.loop })} <span class="muted small mono">{loop.id}</span>
        </>
      ),
    },
    { label: t('state.label'), cell: (loop) => <OnOff on={loop.on} testid={`loop-${loop.id}-state`} /> },
    {
      label: t('lighting.current'),
      num: true,
      cell: (loop) => orNone(loop.currentA, (a) => formatWithUnit(a, 'A', lang.value, 2)),
    },
    { label: t('lighting.lampCount'), num: true, cell: (loop) => loop.lamps.length },
    { label: t('lighting.faults'), cell: (loop) => <Faults faults={loop.faults} /> },
    {
      label: t('lighting.control'),
      cell: (loop) => (
        <CommandButtons
          kind="loop"
          target={loop.id}
          actions={['on', 'off']}
          dimLevel={null}
          onCommand={props.onCommand}
        />
      ),
    },
  ];
  return (
    <Card title={t('lighting.loops')} testid="lighting-loops">
      <DataTable
        columns={columns}
        rows={props.loops}
        rowKey={(loop) => loop.id}
        row={(loop) => ({ testid: `loop-${loop.id}` })}
      />
    </Card>
  );
}

function LampsCard(props: { lamps: LampView[]; onCommand: (c: Command) => void }): JSX.Element {
  const columns: Column<LampView>[] = [
    {
      label: t('lighting.lamp'),
      cell: (lamp) => (
        <>
          <span class="mono">{lamp.id}</span>
          <div class="small muted">
            {lamp.loop !== null && <>{t('lighting.loopN', { n: lamp.loop })} · </>}
            <OnlineState online={lamp.online} onLabel={t('device.online')} offLabel={t('device.offline')} />
          </div>
        </>
      ),
    },
    { label: t('state.label'), cell: (lamp) => <OnOff on={lamp.on} testid={`lamp-${lamp.id}-state`} /> },
    {
      label: t('lighting.dimLevel'),
      num: true,
      cell: (lamp) => orNone(lamp.dimLevel, (level) => `${formatNumber(level, lang.value, 0)} %`),
    },
    {
      label: t('lighting.power'),
      num: true,
      cell: (lamp) => orNone(lamp.powerW, (w) => formatWithUnit(w, 'W', lang.value, 1)),
    },
    { label: t('lighting.faults'), cell: (lamp) => <Faults faults={lamp.faults} /> },
    {
      label: t('lighting.control'),
      cell: (lamp) => (
        <CommandButtons
          kind="lamp"
          target={lamp.id}
          actions={['on', 'off', 'dim']}
          dimLevel={lamp.dimLevel}
          onCommand={props.onCommand}
        />
      ),
    },
  ];
  return (
    <Card title={t('lighting.lamps')} testid="lighting-lamps">
      <DataTable
        columns={columns}
        rows={props.lamps}
        rowKey={(lamp) => lamp.id}
        row={(lamp) => ({ testid: `lamp-${lamp.id}` })}
      />
    </Card>
  );
}

function OverridesCard(props: { data: LightingView }): JSX.Element {
  const tz = timeZone();
  return (
    <Card title={t('lighting.overrides')} testid="lighting-overrides">
      {props.data.overrides.length === 0 ? (
        <p class="muted">{t('lighting.noOverrides')}</p>
      ) : (
        <ul class="alarm-list">
          {props.data.overrides.map((o) => (
            <li key={o.target} class="alarm-item" data-testid={`override-${o.target}`}>
              <span class="tag warn">
                {wordOf(ACTION_KEYS, o.action)}
                {o.level !== null ? ` ${o.level} %` : ''}
              </span>
              <div class="what">
                <span class="mono">{o.target}</span>
                <div class="sub">
                  {t('lighting.overrideBy', { by: o.by })} ·{' '}
                  {t(o.origin === 'local' ? 'lighting.origin.local' : 'lighting.origin.command')}
                  {o.reason !== '' && <> · {o.reason}</>}
                </div>
              </div>
              <div class="when small">
                {t('lighting.until')} <DateTime wallMs={o.untilWallMs} timeZone={tz} />
              </div>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function RulesCard(props: { data: LightingView }): JSX.Element {
  const columns: Column<LightingView['rules'][number]>[] = [
    { label: t('lighting.rule'), class: 'mono', cell: (r) => r.id },
    { label: t('lighting.days'), cell: (r) => r.days.map((d) => wordOf(DAY_KEYS, d)).join(' ') },
    { label: t('lighting.period'), num: true, cell: (r) => `${r.from} – ${r.to}` },
    {
      label: t('lighting.action'),
      cell: (r) => `${wordOf(ACTION_KEYS, r.action)}${r.level !== null ? ` ${r.level} %` : ''}`,
    },
    {
      label: t('lighting.targets'),
      class: 'mono wrap-anywhere',
      cell: (r) => (r.targets.length === 0 ? t('lighting.allTargets') : r.targets.join(' ')),
    },
  ];
  return (
    <Card title={t('lighting.rules')} testid="lighting-rules">
      <DataTable columns={columns} rows={props.data.rules} rowKey={(r) => r.id} />
    </Card>
  );
}

function CommandDialog(props: { command: Command; onClose: (succeeded: boolean) => void }): JSX.Element {
  const { command } = props;
  const [minutes, setMinutes] = useState(60);
  const [level, setLevel] = useState(String(command.dimLevel ?? 50));
  const [reason, setReason] = useState('');
  const levelNumber = Number(level);
  const levelError =
    command.action === 'dim' && (!Number.isInteger(levelNumber) || levelNumber < 0 || levelNumber > 100)
      ? t('lighting.levelRange')
      : null;
  const whatKey: CabinetKey =
    command.action === 'dim'
      ? 'lighting.what.dim'
      : command.action === 'on'
        ? 'lighting.what.on'
        : 'lighting.what.off';
  const what = t(whatKey, {
    target: t(command.kind === 'lamp' ? 'lighting.targetLamp' : 'lighting.targetLoop', {
      id: command.target,
    }),
    level: levelNumber,
    duration: formatDuration(minutes * 60, translate),
  });
  return (
    <ConfirmDialog
      testid="lighting-dialog"
      title={t('lighting.dialogTitle')}
      what={what}
      confirmLabel={wordOf(ACTION_KEYS, command.action)}
      canConfirm={levelError === null && reason.trim() !== ''}
      onClose={props.onClose}
      onConfirm={async () => {
        const body: LightingCommandRequest = {
          action: command.action,
          durationS: minutes * 60,
          reason: reason.trim(),
        };
        if (command.action === 'dim') body.level = levelNumber;
        const result = await api.post<LightingCommandResult>(path`/api/lighting/${command.target}`, body);
        return t('lighting.succeededUntil', { until: formatDateTime(result.untilWallMs, timeZone()) });
      }}
    >
      {command.action === 'dim' && (
        <Field label={t('lighting.dimLevel')} hint="0–100 %" error={levelError}>
          <input
            type="number"
            min={0}
            max={100}
            step={1}
            value={level}
            aria-invalid={levelError !== null}
            data-testid="lighting-level"
            onInput={(e) => setLevel(e.currentTarget.value)}
          />
        </Field>
      )}
      <Field label={t('lighting.duration')} hint={t('lighting.durationHint')}>
        <select
          value={String(minutes)}
          data-testid="lighting-duration"
          onChange={(e) => setMinutes(Number(e.currentTarget.value))}
        >
          {DURATIONS_MIN.map((m) => (
            <option key={m} value={String(m)}>
              {formatDuration(m * 60, translate)}
            </option>
          ))}
        </select>
      </Field>
      <ReasonField value={reason} onInput={setReason} />
    </ConfirmDialog>
  );
}
