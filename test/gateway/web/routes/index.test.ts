/**
 * The cabinet's data routes (registerCabinetRoutes) on a real gateway polling real simulators
 * (cabinet-harness.ts): what each page shows, and each action reaching the field, the alarm
 * engine, kerbside.db and its audit trail with the signed-in user and the client's address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigOverrideEvent } from '../../../../cloud-sync/contract/events.js';
import type {
  AlarmHistory,
  AlarmList,
  AlarmView,
  BusDiagnostics,
  BusReadRefusal,
  BusReadResult,
  DeviceDetail,
  LightingView,
  OverrideList,
  Overview,
  StrainView,
  Trend,
} from '../../../../gateway/web/api-types.js';
import { waitUntil } from '../../../helpers/gateway-harness.js';
import { waitFor } from '../../../helpers/wait.js';
import { BRIDGE, GAS, LC, startCabinet, TECHNICIAN, type CabinetHarness } from '../cabinet-harness.js';

const H2S = `${GAS}:h2s_high`;

describe('the cabinet data routes on a real gateway', () => {
  let c: CabinetHarness;

  before(async () => {
    c = await startCabinet({ name: 'web-routes', seedHistory: true, strain: true });
  });
  after(() => c?.stop());

  const get = async <T>(url: string, status = 200): Promise<T> => {
    const response = await c.app.inject({ method: 'GET', url });
    assert.equal(response.statusCode, status, `${url}: ${response.body}`);
    return response.json<T>();
  };
  const send = async <T>(
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    body: unknown,
    status = 200,
  ): Promise<T> => {
    const response = await c.app.inject({ method, url, payload: body as Record<string, unknown> });
    assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
    return response.json<T>();
  };
  const alarm = async (key: string): Promise<AlarmView | undefined> =>
    (await get<AlarmList>('/api/alarms?state=any')).alarms.find((a) => a.alarmKey === key);
  const auditRows = (
    action: string,
  ): Array<{ actor: string; target: string; detail: Record<string, unknown> }> =>
    c.h.db
      .all<{ actor: string; target: string; detail: string }>(
        'SELECT actor, target, detail FROM audit WHERE action = ? ORDER BY id',
        action,
      )
      .map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));

  it('overview: devices by family with names and online state, cabinet facts, uplink, lighting', async () => {
    await c.h.committedPoll(LC, (p) => p.quality === 'good');
    const overview = await get<Overview>('/api/overview');
    assert.deepEqual(
      overview.devices.map((d) => [d.id, d.family, d.name.en, d.online]),
      [
        [GAS, 'gas-detector', 'Anqi GD-300 sewer gas detector', true],
        [LC, 'lamp-concentrator', 'KerbTek LC-3200 lighting concentrator', true],
        [BRIDGE, 'bridge-strain', 'Qiaoce VW-8 vibrating-wire strain logger', true],
      ],
    );
    assert.equal(overview.devices[0]?.name['zh-CN'], '安气 GD-300 管网气体探测器');
    assert.equal(overview.devices[0]?.label, 'Harbour Rd sewer vault');
    assert.equal(overview.cabinet.gatewayId, 'gw-scenario');
    assert.equal(overview.cabinet.siteName, 'Harbour Road cabinet 7');
    assert.equal(overview.cabinet.clock.timeZone, 'Asia/Shanghai');
    assert.equal(overview.cabinet.clock.sane, true);
    assert.ok(overview.cabinet.databaseBytes > 0);
    assert.ok(overview.cabinet.disk !== null && overview.cabinet.disk.totalBytes > 0);
    assert.deepEqual(overview.uplink, {
      configured: false,
      connected: false,
      backlog: overview.uplink.backlog,
      oldestUnsentAgeS: overview.uplink.oldestUnsentAgeS,
      lastAckWallMs: null,
    });
    assert.ok(overview.lighting !== null, 'the cabinet runs lighting');
    assert.equal(
      overview.alarms.unacknowledged,
      overview.activeAlarms.filter(
        (a) =>
          !a.acknowledged &&
          a.state !== 'shelved' &&
          a.state !== 'suppressed' &&
          a.state !== 'out_of_service',
      ).length,
    );
    // Only what is annunciated: the lighting's suppressed-by-design alarm stays on the alarms page.
    assert.ok(overview.alarms.byState.suppressed !== undefined, 'the fixture has a suppressed alarm');
    assert.deepEqual(
      overview.activeAlarms.filter((a) =>
        ['normal', 'shelved', 'suppressed', 'out_of_service'].includes(a.state),
      ),
      [],
    );
  });

  it('device page: live values with units and quality, register map, rules in force, forbidden ranges', async () => {
    c.h.device(GAS).hold('h2s', 3.25);
    await c.h.committedPoll(GAS, (p) => p.readings.some((r) => r.key === 'h2s' && r.value === 3.25));
    const detail = await get<DeviceDetail>(`/api/devices/${GAS}`);
    assert.equal(detail.device.id, GAS);
    const h2s = detail.points.find((p) => p.key === 'h2s');
    assert.deepEqual(
      h2s && { name: h2s.name, unit: h2s.unit, table: h2s.table, count: h2s.count, dataType: h2s.dataType },
      {
        name: { 'zh-CN': '硫化氢浓度', en: 'H2S concentration' },
        unit: 'mg/m³',
        table: 'input',
        count: 2,
        dataType: 'f32',
      },
    );
    const value = detail.values.find((v) => v.key === 'h2s');
    assert.equal(value?.value, 3.25);
    assert.equal(value?.quality, 'good');
    const rule = detail.rules.find((r) => r.ruleKey === 'h2s_high');
    assert.deepEqual(rule?.levels, [
      { level: 1, setpoint: 10, priority: 'high' },
      { level: 2, setpoint: 20, priority: 'critical' },
    ]);
    assert.equal(rule?.unit, 'mg/m³');
    assert.equal(rule?.origin, 'profile');
    assert.equal(rule?.override, null);
    assert.match(rule?.source ?? '', /GBZ 2\.1/);
    assert.deepEqual(detail.forbiddenRanges, [
      {
        table: 'holding',
        start: 256,
        end: 511,
        reason: {
          'zh-CN': '标定区：读取会中断正在进行的标定',
          en: 'calibration area: reading it aborts a running calibration',
        },
      },
    ]);
    const unknown = await c.app.inject({ method: 'GET', url: '/api/devices/nope' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json<{ error: string }>().error, 'CABINET_UNKNOWN_DEVICE');
  });

  it('trend: raw for 1 h, 1-minute aggregates for 24 h, 1-hour for 7 d, the finest that fits when zoomed', async () => {
    const hour = await get<Trend>(`/api/devices/${GAS}/trend?point=h2s&range=1h`);
    assert.equal(hour.resolution, 'raw');
    assert.ok(hour.t.length > 1000 && hour.t.length <= 2000, `${hour.t.length} points`);
    const day = await get<Trend>(`/api/devices/${GAS}/trend?point=h2s&range=24h`);
    assert.equal(day.resolution, '1m');
    assert.ok(day.t.length >= 1400 && day.t.length <= 1441, `${day.t.length} minutes`);
    day.t.forEach((t, i) => {
      const [lo, mean, hi] = [day.min[i], day.mean[i], day.max[i]];
      assert.ok(lo != null && mean != null && hi != null && lo <= mean && mean <= hi, `minute ${i}`);
      if (i > 0) assert.equal(t - (day.t[i - 1] ?? 0), 60_000);
    });
    const week = await get<Trend>(`/api/devices/${GAS}/trend?point=h2s&range=7d`);
    assert.equal(week.resolution, '1h');
    assert.ok(week.t.length >= 23 && week.t.length <= 25, `${week.t.length} hours`);
    const now = Date.now();
    const zoom = await get<Trend>(
      `/api/devices/${GAS}/trend?point=h2s&fromWallMs=${now - 3 * 3_600_000}&toWallMs=${now - 2 * 3_600_000}`,
    );
    assert.equal(zoom.resolution, 'raw');
    assert.ok(zoom.t.length >= 1700 && zoom.t.length <= 1801, `an hour of seconds thinned: ${zoom.t.length}`);
    assert.ok(zoom.t.every((t) => t >= now - 3 * 3_600_000 - 1000 && t <= now - 2 * 3_600_000 + 1000));
    assert.ok(zoom.t.every((_, i) => (zoom.min[i] ?? 0) <= (zoom.max[i] ?? 0)));
    const wide = await get<Trend>(
      `/api/devices/${GAS}/trend?point=h2s&fromWallMs=${now - 20 * 3_600_000}&toWallMs=${now}`,
    );
    assert.equal(wide.resolution, '1m');
    const bad = await c.app.inject({
      method: 'GET',
      url: `/api/devices/${GAS}/trend?point=h2s&fromWallMs=${now}&toWallMs=${now - 1}`,
    });
    assert.equal(bad.statusCode, 400);
    const half = await c.app.inject({
      method: 'GET',
      url: `/api/devices/${GAS}/trend?point=h2s&fromWallMs=${now}`,
    });
    assert.equal(half.statusCode, 400, 'a zoom needs both ends');
    const point = await c.app.inject({ method: 'GET', url: `/api/devices/${GAS}/trend?point=nope` });
    assert.equal(point.statusCode, 404);
  });

  it('acknowledge: the state changes, the history names the user, the audit row has the address', async () => {
    const afterId = c.h.db.lastHistoryId();
    c.h.device(GAS).hold('h2s', 15);
    await c.h.transition('h2s_high activates', (t) => t.alarmKey === H2S && t.to === 'unacknowledged', {
      afterId,
    });
    const list = await get<AlarmList>('/api/alarms');
    const active = list.alarms.find((a) => a.alarmKey === H2S);
    assert.equal(active?.state, 'unacknowledged');
    assert.equal(active?.priority, 'high', 'level 1 of h2s_high is high');
    assert.equal(active?.unit, 'mg/m³');
    assert.equal(active?.deviceName.en, 'Anqi GD-300 sewer gas detector');
    assert.equal(list.maxShelveS, 8 * 3600);
    assert.ok(
      (await get<AlarmList>('/api/alarms?priority=critical')).alarms.every((a) => a.priority === 'critical'),
    );
    assert.ok((await get<AlarmList>(`/api/alarms?device=${LC}`)).alarms.every((a) => a.deviceId === LC));

    const acked = await send<AlarmView>('POST', `/api/alarms/${H2S}/acknowledge`, {});
    assert.equal(acked.state, 'acknowledged');
    assert.equal(acked.acknowledged, true);
    const history = await get<AlarmHistory>(`/api/alarms/${H2S}/history`);
    assert.equal(history.alarm.state, 'acknowledged');
    assert.deepEqual(
      history.entries.slice(0, 2).map((e) => [e.fromState, e.toState, e.cause, e.by]),
      [
        ['unacknowledged', 'acknowledged', 'operation', TECHNICIAN],
        ['normal', 'unacknowledged', 'reading', null],
      ],
    );
    const row = auditRows('alarm.acknowledge').at(-1);
    assert.equal(row?.actor, TECHNICIAN);
    assert.equal(row?.target, H2S);
    assert.equal(row?.detail['address'], '127.0.0.1');
    // kerbside.db's own history row carries the user too.
    assert.equal(c.h.db.transitions({ alarmKey: H2S }).find((t) => t.to === 'acknowledged')?.by, TECHNICIAN);
  });

  it('shelve: the maximum is enforced (409 with the reason), a reason is required, a legal one applies', async () => {
    const tooLong = await c.app.inject({
      method: 'POST',
      url: `/api/alarms/${H2S}/shelve`,
      payload: { reason: 'sensor swap', durationS: 9 * 3600 },
    });
    assert.equal(tooLong.statusCode, 409);
    assert.equal(tooLong.json<{ error: string }>().error, 'ALARM_SHELVE_TOO_LONG');
    assert.match(tooLong.json<{ message: string }>().message, /exceeds the maximum/);
    const noReason = await c.app.inject({
      method: 'POST',
      url: `/api/alarms/${H2S}/shelve`,
      payload: { durationS: 60 },
    });
    assert.equal(noReason.statusCode, 409);
    assert.equal(noReason.json<{ error: string }>().error, 'ALARM_REASON_REQUIRED');
    assert.equal((await alarm(H2S))?.state, 'acknowledged', 'refusals changed nothing');
    const unknown = await c.app.inject({
      method: 'POST',
      url: '/api/alarms/nope:rule/acknowledge',
      payload: {},
    });
    assert.equal(unknown.statusCode, 404);
    const badOp = await c.app.inject({ method: 'POST', url: `/api/alarms/${H2S}/explode`, payload: {} });
    assert.equal(badOp.statusCode, 400);
    const extra = await c.app.inject({
      method: 'POST',
      url: `/api/alarms/${H2S}/acknowledge`,
      payload: { why: 1 },
    });
    assert.equal(extra.statusCode, 400, 'unknown body fields are refused');

    const shelved = await send<AlarmView>('POST', `/api/alarms/${H2S}/shelve`, {
      reason: 'sensor swap',
      durationS: 600,
    });
    assert.equal(shelved.state, 'shelved');
    assert.equal(shelved.shelve?.by, TECHNICIAN);
    assert.equal(shelved.shelve?.reason, 'sensor swap');
    assert.ok(Math.abs((shelved.shelve?.untilWallMs ?? 0) - (Date.now() + 600_000)) < 5_000);
    assert.equal(auditRows('alarm.shelve').at(-1)?.detail['address'], '127.0.0.1');
    const back = await send<AlarmView>('POST', `/api/alarms/${H2S}/unshelve`, {});
    assert.notEqual(back.state, 'shelved');
  });

  it('lamp switch: answered after the concentrator answered; its lamp turns off; audited', async () => {
    const target = `${LC}:lamp_03`;
    await waitUntil(
      'lamp_03 switched on by the schedule',
      () => c.h.device(LC).get('lamp_03.lamp_switch') === true,
    );
    const result = await send<{ target: string; result: string; untilWallMs: number }>(
      'POST',
      `/api/lighting/${target}`,
      { action: 'off', durationS: 600, reason: 'lamp test' },
    );
    assert.equal(result.result, 'succeeded');
    // The answer came after the write was answered: the simulated concentrator already holds it.
    assert.equal(c.h.device(LC).get('lamp_03.lamp_switch'), false);
    const view = await get<LightingView>('/api/lighting');
    assert.deepEqual(
      view.overrides.map((o) => [o.target, o.action, o.by, o.origin]),
      [[target, 'off', TECHNICIAN, 'local']],
    );
    assert.equal(view.loops.length, 4);
    assert.equal(view.lamps.length, 16);
    assert.equal(view.rules[0]?.id, 'test-all-day-on');
    assert.match(view.today.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(view.today.sunsetWallMs !== null && view.today.switchOnWallMs !== null);
    const audit = auditRows('lighting.switch').at(-1);
    assert.equal(audit?.actor, TECHNICIAN);
    assert.equal(audit?.target, target);
    assert.equal(audit?.detail['result'], 'succeeded');
    assert.equal(audit?.detail['address'], '127.0.0.1');
    const unknown = await c.app.inject({
      method: 'POST',
      url: `/api/lighting/${LC}:lamp_99`,
      payload: { action: 'off', durationS: 60, reason: 'x' },
    });
    assert.equal(unknown.statusCode, 404);
    const noReason = await c.app.inject({
      method: 'POST',
      url: `/api/lighting/${target}`,
      payload: { action: 'off', durationS: 60 },
    });
    assert.equal(noReason.statusCode, 400);
  });

  it('bus: diagnostics per bus and device; a point and a raw range read on demand; a forbidden range refused with the reason', async () => {
    const bus = await get<BusDiagnostics>('/api/bus');
    const lan = bus.buses[0];
    assert.equal(lan?.id, 'lan');
    assert.equal(lan?.running, true);
    assert.ok((lan?.transactions ?? 0) > 0);
    assert.deepEqual(
      lan?.devices.map((d) => [d.deviceId, d.health, d.online]),
      [
        [GAS, 'healthy', true],
        [LC, 'healthy', true],
        [BRIDGE, 'healthy', true],
      ],
    );
    assert.equal(lan?.devices[0]?.pollIntervalS, 0.1);

    c.h.device(GAS).hold('o2', 19.75);
    const point = await send<BusReadResult>('POST', '/api/bus/read', { deviceId: GAS, point: 'o2' });
    assert.ok(Math.abs(Number(point.value) - 19.75) < 1e-4, String(point.value));
    assert.equal(point.unit, '%vol');
    assert.equal(point.raw.length, 2);
    const raw = await send<BusReadResult>('POST', '/api/bus/read', {
      deviceId: LC,
      table: 'input',
      address: 0,
      count: 3,
    });
    assert.deepEqual(raw.raw, c.h.device(LC).device.bank.readWords('input', 0, 3));

    const refused = await c.app.inject({
      method: 'POST',
      url: '/api/bus/read',
      payload: { deviceId: GAS, table: 'holding', address: 300, count: 4 },
    });
    assert.equal(refused.statusCode, 403);
    const body = refused.json<BusReadRefusal>();
    assert.equal(body.error, 'BUS_FORBIDDEN_RANGE');
    assert.match(body.message, /aborts a running calibration/);
    assert.equal(body.forbiddenRange?.reason?.['zh-CN'], '标定区：读取会中断正在进行的标定');
    const audit = auditRows('bus.read');
    assert.deepEqual(
      audit.map((a) => [a.target, a.detail['result'], a.detail['address']]),
      [
        [GAS, 'succeeded', '127.0.0.1'],
        [LC, 'succeeded', '127.0.0.1'],
        [GAS, 'refused', '127.0.0.1'],
      ],
    );
    const tooMany = await c.app.inject({
      method: 'POST',
      url: '/api/bus/read',
      payload: { deviceId: BRIDGE, table: 'input', address: 0, count: 126 },
    });
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.json<{ error: string }>().error, 'BUS_OUT_OF_RANGE');
    const both = await c.app.inject({
      method: 'POST',
      url: '/api/bus/read',
      payload: { deviceId: GAS, point: 'o2', count: 1 },
    });
    assert.equal(both.statusCode, 400);
  });

  it('threshold override: applied (the alarm trips at the new set point), shown as an override, reported upstream', async () => {
    // The earlier h2s alarm returns to normal first (acknowledged, then clean air).
    let afterId = c.h.db.lastHistoryId();
    c.h.device(GAS).hold('h2s', 0.5);
    const returned = await c.h.transition('h2s returns', (t) => t.alarmKey === H2S && !t.active, { afterId });
    if (returned.to !== 'normal') await send<AlarmView>('POST', `/api/alarms/${H2S}/acknowledge`, {});
    assert.equal((await alarm(H2S))?.state, 'normal');

    const invalid = await c.app.inject({
      method: 'PUT',
      url: '/api/overrides',
      payload: {
        pointer: `/alarms/${GAS}/h2s_high/levels`,
        value: [
          { level: 1, setpoint: 8 },
          { level: 2, setpoint: 5 },
        ],
        reason: 'x',
      },
    });
    assert.equal(invalid.statusCode, 400);
    assert.ok(
      (invalid.json<{ issues?: Array<{ pointer: string }> }>().issues ?? []).some((i) =>
        i.pointer.startsWith(`/alarms/${GAS}/h2s_high/levels`),
      ),
      invalid.body,
    );
    const outside = await c.app.inject({
      method: 'PUT',
      url: '/api/overrides',
      payload: { pointer: '/lighting/rules', value: [], reason: 'x' },
    });
    assert.equal(outside.statusCode, 400, 'the web UI changes alarm thresholds only');

    const list = await send<OverrideList>('PUT', '/api/overrides', {
      pointer: `/alarms/${GAS}/h2s_high/levels`,
      value: [
        { level: 1, setpoint: 5 },
        { level: 2, setpoint: 8 },
      ],
      reason: 'odour complaints: tighter limits',
    });
    assert.deepEqual(
      list.overrides.map((o) => [o.pointer, o.by]),
      [[`/alarms/${GAS}/h2s_high/levels`, TECHNICIAN]],
    );
    const rule = (await get<DeviceDetail>(`/api/devices/${GAS}`)).rules.find((r) => r.ruleKey === 'h2s_high');
    assert.equal(rule?.origin, 'technician');
    assert.equal(rule?.override?.by, TECHNICIAN);
    assert.deepEqual(
      rule?.levels.map((l) => l.setpoint),
      [5, 8],
    );
    const reported = c.h.db.outbox<ConfigOverrideEvent>('config_override').at(-1)?.body;
    assert.equal(reported?.action, 'set');
    assert.equal(reported?.by, TECHNICIAN);
    assert.equal(auditRows('config.override_set').at(-1)?.detail['address'], '127.0.0.1');

    afterId = c.h.db.lastHistoryId();
    c.h.device(GAS).hold('h2s', 6);
    const trip = await c.h.transition(
      'h2s_high trips at the new set point 5',
      (t) => t.alarmKey === H2S && t.level === 1 && t.active,
      { afterId },
    );
    assert.equal(trip.setpoint, 5);

    const cleared = await send<OverrideList>('DELETE', '/api/overrides', {
      pointer: `/alarms/${GAS}/h2s_high/levels`,
      reason: 'complaints resolved',
    });
    assert.deepEqual(cleared.overrides, []);
    assert.equal(
      (await get<DeviceDetail>(`/api/devices/${GAS}`)).rules.find((r) => r.ruleKey === 'h2s_high')?.origin,
      'profile',
    );
    const none = await c.app.inject({
      method: 'DELETE',
      url: '/api/overrides',
      payload: { pointer: '/alarms/x/y', reason: 'z' },
    });
    assert.equal(none.statusCode, 404);
  });

  it('strain: the channels by name and the overweight event with its raw window plotted', async () => {
    const view = await waitFor(
      'an overweight event with its window',
      async () => {
        const strain = await get<StrainView>(`/api/strain/${BRIDGE}`);
        return strain.events.some((e) => e.kind === 'overweight' && e.window !== null) ? strain : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.equal(view.channels.length, 8);
    assert.deepEqual(view.channels[0], {
      key: 'strain_1',
      name: { 'zh-CN': '通道1应变', en: 'Strain channel 1' },
    });
    const overweight = view.events.find((e) => e.kind === 'overweight');
    assert.ok(overweight?.window !== null && overweight?.window !== undefined);
    assert.ok(overweight.window.t.length > 10);
    assert.equal(overweight.window.series['strain_1']?.length, overweight.window.t.length);
    assert.ok((overweight.level ?? 0) >= 1);
    const notStrain = await c.app.inject({ method: 'GET', url: `/api/strain/${GAS}` });
    assert.equal(notStrain.statusCode, 404);
  });
});
