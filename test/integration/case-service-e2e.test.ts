/**
 * The case service end to end (issue 5), every part real: simulated devices on Modbus TCP -> a
 * gateway -> its uplink over the embedded broker -> ingest, which files the case in the same
 * transaction -> the HTTP API the operators use, signed in with their roles. The gateway was
 * enrolled with a one-time token like a real cabinet.
 *
 *  1. A gas leak files one case; a second activation attaches to it; dispatch, accept, feedback,
 *     sensor verification after the alarm stayed normal, a failed verification counted as rework,
 *     then verification and closure; the KPIs see the rework.
 *  2. A lamp command issued through the API reaches the simulated concentrator and its result
 *     settles the command; a command that expires while the cabinet is away is not run; a
 *     configuration change is applied, a broken one is rejected and the previous one stays in force.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { DEFAULT_CASES_CONFIG } from '../../cloud-sync/service/cases/config.js';
import { upsertComponent } from '../../cloud-sync/service/registry/registry.js';
import type { CloudService } from '../../cloud-sync/service/service.js';
import { signIn } from '../cloud-sync/service/auth/harness.js';
import { waitFor } from '../cloud-sync/service/service-helpers.js';
import { tcpEndpoint, type ScenarioHarness } from '../helpers/gateway-harness.js';
import { GW, startSystem, type SystemHarness } from '../helpers/system-harness.js';

const GAS = 'gas-vault';
const LC = 'lighting';
const UNLISTED = 'gas-unlisted';
const UNIT = 'drainage-co';
/** Sensor verification after 1 s of normal instead of 10 min, so the test does not wait. */
const CASES = {
  categories: DEFAULT_CASES_CONFIG.categories.map((c) => ({ ...c, sensorVerifyAfterS: 1 })),
  monitorIntervalS: 3600,
};

/**
 * The cloud's clock (startCloudService's `now`, which ingest, the case monitor and the command
 * service read): the test moves it instead of waiting for real time to pass. The gateway keeps
 * the real wall clock.
 */
const cloudClock = {
  offsetMs: 0,
  now: (): Date => new Date(Date.now() + cloudClock.offsetMs),
};

type Role = 'monitoring' | 'dispatcher' | 'owner_unit' | 'inspector' | 'admin';

interface Api {
  call<T = Record<string, unknown>>(
    role: Role,
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
}

/** Operators signed in with each role, calling the HTTP API in process (fastify inject). */
async function operatorApi(cloud: CloudService): Promise<Api> {
  const headers = new Map<Role, Record<string, string>>();
  for (const role of ['monitoring', 'dispatcher', 'owner_unit', 'inspector', 'admin'] as const) {
    const signed = await signIn(cloud.db, {
      username: `e2e.${role.replace('_', '-')}`,
      roles: [role],
      ...(role === 'owner_unit' ? { unit: UNIT } : {}),
    });
    headers.set(role, signed.headers);
  }
  return {
    async call<T>(role: Role, method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) {
      const options: InjectOptions = { method, url, headers: headers.get(role) ?? {} };
      if (body !== undefined) options.payload = body as InjectOptions['payload'];
      const response = await cloud.http.inject(options);
      return { status: response.statusCode, body: response.json<T>() };
    },
  };
}

interface CaseView {
  id: string;
  alarmKey: string;
  revision: number;
  state: string;
  activations: number;
  alarmActive: boolean;
  sensorVerifiedAt: string | null;
  reworkCount: number;
  componentId: string | null;
  ownerUnit: string | null;
  closedAt: string | null;
  holdReason: string | null;
  category: string;
}

describe('case service end to end: simulators -> gateway -> cloud -> operators', () => {
  let system: SystemHarness;
  let cloud: CloudService;
  let api: Api;
  let h: ScenarioHarness;

  /** The component the gas detector is registered as, before the gateway starts. */
  async function registerGas(db: CloudService['db']): Promise<void> {
    await upsertComponent(db, { ...DEFAULT_CASES_CONFIG }, '3301060120000007', {
      gatewayId: GW,
      deviceId: GAS,
      family: 'gas-detector',
      name: 'Sewer gas, vault 7',
      gridCell: '330106001001001',
      address: 'Wensan Road 7',
      latitude: 30.2765,
      longitude: 120.1285,
      competentDepartment: 'city-management-bureau',
      ownerUnit: UNIT,
      maintenanceUnit: 'maintenance-co',
    });
  }

  before(async () => {
    // Enrolled the way an installer does it (docs/enrollment.md): token, then redeem over HTTP.
    system = await startSystem({
      name: 'case-e2e',
      cloud: { enrollment: 'token', config: { cases: CASES }, now: cloudClock.now },
      beforeGateway: async (started) => {
        api = await operatorApi(started);
        await registerGas(started.db);
      },
      buses: [tcpEndpoint('lan')],
      devices: [
        {
          id: GAS,
          bus: 'lan',
          unitId: 2,
          profile: 'anqi-gd300',
          // The rules' on/off delays are zero so the test drives the alarm directly.
          gateway: {
            pollIntervalMs: 100,
            timeoutMs: 300,
            alarms: { h2s_high: { onDelayS: 0, offDelayS: 0 } },
          },
        },
        {
          // Not a registered component (issue 9): its alarms must still reach the monitoring desk.
          id: UNLISTED,
          bus: 'lan',
          unitId: 3,
          profile: 'anqi-gd300',
          gateway: {
            pollIntervalMs: 100,
            timeoutMs: 300,
            alarms: { h2s_high: { onDelayS: 0, offDelayS: 0 } },
          },
        },
        {
          id: LC,
          bus: 'lan',
          unitId: 1,
          profile: 'kerbtek-lc3200',
          gateway: { pollIntervalMs: 200, timeoutMs: 300 },
        },
      ],
      config: {
        site: { name: 'case cabinet', latitude: 31.2304, longitude: 121.4737 },
        lighting: {
          rules: [{ id: 'all-day-on', from: '00:00', to: '00:00', action: 'on' }],
          devices: [{ device: LC, roadClass: 'main', loops: [{ loop: 1, phase: 'a', lamps: ['lamp_01'] }] }],
        },
      },
    });
    cloud = system.cloud;
    h = system.site;
    h.simulation.device(GAS).hold('h2s', 0.5);
    h.simulation.device(UNLISTED).hold('h2s', 0.5);
  });

  after(async () => {
    await system?.stop();
  });

  async function casesOf(deviceId: string): Promise<CaseView[]> {
    const { status, body } = await api.call<{ cases: CaseView[] }>(
      'monitoring',
      'GET',
      `/api/v1/cases?deviceId=${deviceId}`,
    );
    assert.equal(status, 200);
    return body.cases;
  }

  async function caseUntil(what: string, predicate: (c: CaseView) => boolean): Promise<CaseView> {
    let found: CaseView | undefined;
    await waitFor(
      async () => {
        found = (await casesOf(GAS)).find(predicate);
        return found !== undefined;
      },
      15_000,
      what,
    );
    return found as CaseView;
  }

  async function act(
    role: Role,
    id: string,
    action: string,
    body: Record<string, unknown> = {},
  ): Promise<CaseView> {
    const { status, body: answer } = await api.call<CaseView & { message?: string }>(
      role,
      'POST',
      `/api/v1/cases/${id}/${action}`,
      body,
    );
    assert.equal(status, 200, `${action}: ${JSON.stringify(answer)}`);
    return answer;
  }

  /** The alarm returns to normal, and the monitor later sees it stayed normal for 1 s. */
  async function sensorVerify(id: string): Promise<void> {
    h.simulation.device(GAS).hold('h2s', 0.5);
    await caseUntil('the alarm back to normal in the case', (c) => c.id === id && !c.alarmActive);
    cloudClock.offsetMs += 1100; // 1.1 s later on the cloud's clock
    await cloud.caseMonitor.runOnce();
    const verified = (await casesOf(GAS)).find((c) => c.id === id);
    assert.ok(verified?.sensorVerifiedAt, 'sensor-verified after staying normal past feedback');
  }

  it('a gas leak files one case, activations attach, and the cycle closes with a rework counted', async () => {
    const gas = h.simulation.device(GAS);
    gas.hold('h2s', 14); // level 1 is 10 mg/m³ (GB/T 50493-2019, profile default)
    const filed = await caseUntil('a filed case for the gas leak', (c) => c.state === 'filed');
    assert.equal(filed.componentId, '3301060120000007');
    assert.equal(filed.ownerUnit, UNIT);

    // Back to normal and up again: the same case, a second activation.
    gas.hold('h2s', 0.5);
    await caseUntil('the alarm normal', (c) => c.id === filed.id && !c.alarmActive);
    gas.hold('h2s', 15);
    await caseUntil('a second activation attached', (c) => c.id === filed.id && c.activations === 2);
    assert.equal((await casesOf(GAS)).length, 1, 'repeated activations open no second case');

    const detail = await api.call<{ evidence: { alarm: { kind: string }; trend: unknown[] } }>(
      'inspector',
      'GET',
      `/api/v1/cases/${filed.id}`,
    );
    assert.equal(detail.body.evidence.alarm.kind, 'alarm_transition');
    assert.ok(detail.body.evidence.trend.length > 0, 'the recent trend is in the evidence');

    // An illegal step answers 409 with the reason; the wrong role 403.
    const early = await api.call<{ error: string; message: string }>(
      'monitoring',
      'POST',
      `/api/v1/cases/${filed.id}/close`,
      {},
    );
    assert.equal(early.status, 409);
    assert.match(early.body.message, /filed/);
    const wrongRole = await api.call('owner_unit', 'POST', `/api/v1/cases/${filed.id}/dispatch`, {});
    assert.equal(wrongRole.status, 403);

    await act('dispatcher', filed.id, 'dispatch', { note: 'drainage crew 3' });
    await act('owner_unit', filed.id, 'accept');
    await act('owner_unit', filed.id, 'feedback', { note: 'vault ventilated' });
    await sensorVerify(filed.id);

    // The inspector finds the vault still smells: verification fails, the case is reworked.
    await act('inspector', filed.id, 'inspect', { passed: false, note: 'smell persists on site' });
    const reworked = await act('monitoring', filed.id, 'verify', {
      passed: false,
      note: 'inspector found gas',
    });
    assert.equal(reworked.state, 'dispatched');
    assert.equal(reworked.reworkCount, 1);
    assert.equal(reworked.sensorVerifiedAt, null, 'the sensor must prove itself again');

    gas.hold('h2s', 16);
    await caseUntil('the leak back', (c) => c.id === filed.id && c.alarmActive);
    await act('owner_unit', filed.id, 'accept');
    await act('owner_unit', filed.id, 'feedback', { note: 'broken pipe sealed' });
    await sensorVerify(filed.id);
    await act('inspector', filed.id, 'inspect', { passed: true, note: 'no smell, reading normal' });
    await act('monitoring', filed.id, 'verify', { passed: true });
    const closed = await act('monitoring', filed.id, 'close');
    assert.equal(closed.state, 'closed');

    const history = await api.call<{ history: Array<{ action: string; actor: string }> }>(
      'monitoring',
      'GET',
      `/api/v1/cases/${filed.id}`,
    );
    const steps = history.body.history
      .map((e) => e.action)
      .filter((a) => !['alarm_normal', 'sensor_verified'].includes(a));
    assert.deepEqual(steps, [
      'report',
      'file',
      'activation',
      'dispatch',
      'accept',
      'feedback',
      'inspect',
      'rework',
      'activation',
      'accept',
      'feedback',
      'inspect',
      'verify',
      'close',
    ]);

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const kpis = await api.call<{
      rows: Array<{ figures: { closed: number; closedReworked: number; reworkRate: number } }>;
    }>('monitoring', 'GET', `/api/v1/kpis?from=${from}&to=${to}`);
    assert.equal(kpis.status, 200);
    assert.deepEqual(
      [
        kpis.body.rows[0]?.figures.closed,
        kpis.body.rows[0]?.figures.closedReworked,
        kpis.body.rows[0]?.figures.reworkRate,
      ],
      [1, 1, 1],
    );
    gas.hold('h2s', 0.5);
  });

  interface CommandView {
    id: string;
    status: string;
    error: string | null;
    expiresAt: string;
  }

  async function commandUntil(id: string, statuses: string[]): Promise<CommandView> {
    let found: CommandView | undefined;
    await waitFor(
      async () => {
        found = (await api.call<CommandView>('monitoring', 'GET', `/api/v1/commands/${id}`)).body;
        return statuses.includes(found.status);
      },
      15_000,
      `command ${id} ${statuses.join('/')}`,
    );
    return found as CommandView;
  }

  it('a gas leak of a device that is no registered component waits at the monitoring desk; registering it lifts the hold', async () => {
    h.simulation.device(UNLISTED).hold('h2s', 24); // level 2
    let held: CaseView | undefined;
    await waitFor(
      async () => {
        const { body } = await api.call<{ cases: CaseView[] }>(
          'monitoring',
          'GET',
          '/api/v1/cases?state=reported',
        );
        held = body.cases.find((c) => c.alarmKey === `${UNLISTED}:h2s_high`);
        return held !== undefined;
      },
      15_000,
      'the held case in the monitoring queue',
    );
    assert.ok(held);
    assert.equal(held.category, 'hazardous_gas', 'matched by the family the gateway sent');
    assert.equal(held.componentId, null);
    assert.match(
      held.holdReason ?? '',
      /device gas-unlisted of gateway gw-scenario is not a registered component/,
    );

    const registered = await api.call('admin', 'PUT', '/api/v1/components/3301060120000008', {
      gatewayId: GW,
      deviceId: UNLISTED,
      family: 'gas-detector',
      name: 'Sewer gas, vault 8',
      competentDepartment: 'city-management-bureau',
      ownerUnit: UNIT,
      maintenanceUnit: 'maintenance-co',
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const adopted = (await casesOf(UNLISTED)).find((c) => c.id === held?.id);
    assert.equal(adopted?.componentId, '3301060120000008');
    assert.equal(adopted?.ownerUnit, UNIT);
    assert.equal(adopted?.holdReason, null);
    const filed = await act('monitoring', held.id, 'file', { revision: held.revision });
    assert.equal(filed.state, 'filed');
    h.simulation.device(UNLISTED).hold('h2s', 0.5);
  });

  it('a lamp command reaches the concentrator and settles; an expired one is not run', async () => {
    const lc = h.simulation.device(LC);
    await waitFor(() => lc.get('loop_1_command') === true, 10_000, 'the schedule switched loop 1 on');
    const issued = await api.call<CommandView>('dispatcher', 'POST', `/api/v1/gateways/${GW}/commands`, {
      action: 'loop.switch',
      target: `${LC}:loop_1`,
      params: { on: false, durationS: 600, reason: 'cable repair on Wensan Road' },
    });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const settled = await commandUntil(issued.body.id, ['succeeded', 'failed', 'rejected']);
    assert.equal(settled.status, 'succeeded', JSON.stringify(settled));
    assert.equal(lc.get('loop_1_command'), false, 'the concentrator switched loop 1 off');

    // The cabinet is away while a command's life runs out: when it is back, it must not run it.
    // Issued 2.5 s ago on the cabinet's wall clock, its 1 s life has run out by the time the
    // cabinet is back (the cloud's clock is set back for this one request, then restored).
    // A restart ends the override above (gateway/lighting/overrides.ts), so the schedule switches
    // loop 1 on again; the expired command would switch it off for 600 s, overriding the schedule,
    // had it run. So "loop 1 back on" is what shows it was not run.
    await h.stopGateway();
    const offsetMs = cloudClock.offsetMs;
    cloudClock.offsetMs = -2500;
    const expiring = await api
      .call<CommandView>('dispatcher', 'POST', `/api/v1/gateways/${GW}/commands`, {
        action: 'loop.switch',
        target: `${LC}:loop_1`,
        params: { on: false, durationS: 600, reason: 'cable repair, second visit' },
        ttlS: 1,
      })
      .finally(() => (cloudClock.offsetMs = offsetMs));
    assert.equal(expiring.status, 201);
    assert.ok(
      Date.parse(expiring.body.expiresAt) < Date.now(),
      `expired on the cabinet's clock before it is back: ${expiring.body.expiresAt}`,
    );
    await h.restart();
    // The broker held the command for the gateway's persistent session; the gateway refuses it.
    const expired = await commandUntil(expiring.body.id, ['expired', 'succeeded', 'failed']);
    assert.equal(expired.status, 'expired');
    await waitFor(
      () => lc.get('loop_1_command') === true,
      10_000,
      'the schedule switched loop 1 on again: the expired command did not run',
    );
  });

  it('a configuration change is applied; a broken one is rejected and the previous stays in force', async () => {
    const gas = h.simulation.device(GAS);
    gas.hold('h2s', 7);
    await h.committedPoll(GAS);
    assert.equal(
      h.gateway.alarms().find((a) => a.alarmKey === `${GAS}:h2s_high`)?.active,
      false,
      '7 < 10: no alarm',
    );

    const levels = [
      { level: 1, setpoint: 5, priority: 'high' },
      { level: 2, setpoint: 20, priority: 'critical' },
    ];
    const proposed = await api.call<{ version: number }>('admin', 'POST', `/api/v1/gateways/${GW}/config`, {
      document: { alarms: { [GAS]: { h2s_high: { levels } } } },
      note: 'pre-alarm at half the limit (GBZ/T 223)',
    });
    assert.equal(proposed.status, 201, JSON.stringify(proposed.body));
    const v1 = proposed.body.version;
    await waitFor(
      async () =>
        (
          await api.call<Array<{ version: number; status: string }>>(
            'admin',
            'GET',
            `/api/v1/gateways/${GW}/config/versions`,
          )
        ).body.some((v) => v.version === v1 && v.status === 'applied'),
      15_000,
      'version applied',
    );
    await waitFor(
      () => h.gateway.alarms().find((a) => a.alarmKey === `${GAS}:h2s_high`)?.active === true,
      10_000,
      'the alarm trips at 7 under the new set point 5',
    );

    const broken = await api.call<{ version: number }>('admin', 'POST', `/api/v1/gateways/${GW}/config`, {
      document: { alarms: { [GAS]: { h2s_high: { levels: [levels[1], levels[0]] } } } },
      note: 'levels out of order',
    });
    assert.equal(broken.status, 201);
    let rejected: { status: string; errors: Array<{ pointer: string; message: string }> } | undefined;
    await waitFor(
      async () => {
        const versions = (
          await api.call<
            Array<{ version: number; status: string; errors: Array<{ pointer: string; message: string }> }>
          >('admin', 'GET', `/api/v1/gateways/${GW}/config/versions`)
        ).body;
        rejected = versions.find((v) => v.version === broken.body.version && v.status === 'rejected');
        return rejected !== undefined;
      },
      15_000,
      'broken version rejected',
    );
    assert.ok(
      rejected?.errors.some((e) => e.pointer.startsWith(`/alarms/${GAS}/h2s_high`)),
      JSON.stringify(rejected),
    );
    assert.equal(h.gateway.configVersion(), v1, 'the previous version stays in force');
    gas.hold('h2s', 0.5);
    await waitFor(
      () => h.gateway.alarms().find((a) => a.alarmKey === `${GAS}:h2s_high`)?.active === false,
      10_000,
      'normal',
    );
    gas.hold('h2s', 7);
    await waitFor(
      () => h.gateway.alarms().find((a) => a.alarmKey === `${GAS}:h2s_high`)?.active === true,
      10_000,
      'still trips at 7: version 1 in force',
    );
  });
});
