/**
 * The bus scheduler against real simulators on a socat pseudo-terminal pair (serial I/O through the
 * kernel's tty layer) and on Modbus TCP.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import type { DevicePollResult, PointValue } from '../../../gateway/bus/types.js';
import { ManualClock, startSimulation } from '../../../simulators/index.js';
import {
  FAST_SERIAL,
  busConfigFor,
  deviceConfig,
  profile,
  startBusHarness,
  type BusHarness,
} from '../../helpers/bus-harness.js';
import { BusScheduler } from '../../../gateway/bus/scheduler.js';
import pino from 'pino';
import { waitFor as waitUntil } from '../../helpers/wait.js';

const RTU_PROFILES = [
  ['lighting', 1, 'kerbtek-lc3200', 'lamp-concentrator/kerbtek-lc3200'],
  ['gas', 2, 'anqi-gd300', 'gas-detector/anqi-gd300'],
  ['cover', 3, 'anjing-mc200', 'manhole-cover/anjing-mc200'],
  ['strain', 4, 'qiaoce-vw8', 'bridge-strain/qiaoce-vw8'],
] as const;

function valueMap(result: DevicePollResult): Map<string, PointValue> {
  return new Map(result.readings.map((r) => [r.key, r.value]));
}

describe('bus scheduler on an RTU line (socat pty)', () => {
  let harness: BusHarness;
  const clock = new ManualClock(0); // frozen scenario time: the simulator's values hold still

  before(async () => {
    harness = await startBusHarness(
      {
        buses: [{ id: 'line', kind: 'rtu', pty: true, serial: FAST_SERIAL, ptyFallback: false }],
        devices: RTU_PROFILES.map(([, unitId, , sim]) => ({
          bus: 'line',
          unitId,
          profile: sim,
          scenario: 'normal',
        })),
        clock,
      },
      RTU_PROFILES.map(([id, unitId, profileId]) => deviceConfig(id, unitId, profileId)),
    );
  });
  after(() => harness.stop());

  it('decodes every point of every profile (all data types and word orders) as the simulator holds it', async () => {
    for (const [id, unitId, profileId] of RTU_PROFILES) {
      const result = await harness.nextPoll(id, (r) => r.quality === 'good');
      const values = valueMap(result);
      const points = profile(profileId).points;
      assert.equal(values.size, points.length, `${id}: every point read`);
      const simDevice = harness.simulation.device('line', unitId);
      for (const point of points) {
        const expected = simDevice.get(point.key);
        const actual = values.get(point.key);
        if (typeof expected === 'boolean') {
          assert.equal(actual, expected, `${id} ${point.key}`);
        } else {
          assert.equal(typeof actual, 'number', `${id} ${point.key}`);
          const tolerance =
            point.type === 'f32' ? Math.abs(expected) * 1e-6 + 1e-6 : Math.abs(point.scale) / 2 + 1e-9;
          assert.ok(
            Math.abs((actual as number) - expected) <= tolerance,
            `${id} ${point.key} (${point.type} ${point.wordOrder}): ${actual} vs ${expected}`,
          );
        }
      }
    }
  });

  it('reads the concentrator and its 16 lamps in a handful of coalesced requests (fan-out)', async () => {
    const plan = harness.bus.plans().get('lighting') ?? [];
    const points = profile('kerbtek-lc3200').points.length;
    assert.ok(points > 200, 'the concentrator has >200 points');
    assert.ok(plan.length <= 10, `${plan.length} requests for ${points} points`);
    const result = await harness.nextPoll('lighting', (r) => r.quality === 'good');
    const lamps = new Set(result.readings.filter((r) => r.key.includes('.')).map((r) => r.key.split('.')[0]));
    assert.equal(lamps.size, 16);
    assert.ok(lamps.has('lamp_01') && lamps.has('lamp_16'));
    // Each poll issued exactly the planned requests: transactions grow by plan length per poll.
    const before = harness.bus.counters().devices.find((d) => d.deviceId === 'lighting')?.transactions ?? 0;
    await harness.nextPoll('lighting');
    const afterOne = harness.bus.counters().devices.find((d) => d.deviceId === 'lighting')?.transactions ?? 0;
    assert.equal(afterOne - before, plan.length);
  });

  const faults: Array<[string, string]> = [
    ['no-answer:always', 'MODBUS_TIMEOUT'],
    ['late-answer:always:delay=500', 'MODBUS_TIMEOUT'],
    ['bad-crc:always', 'MODBUS_CRC'],
    ['wrong-unit:always', 'MODBUS_WRONG_UNIT'],
    ['exception:always:code=4', 'MODBUS_EXCEPTION'],
    ['truncated:always', 'MODBUS_TRUNCATED'],
  ];
  for (const [fault, code] of faults) {
    it(`reports ${fault} as ${code}, keeps the other devices polling, and recovers`, async () => {
      const gas = harness.simulation.device('line', 2);
      gas.setFault(fault);
      const failed = await harness.nextPoll('gas', (r) => r.quality !== 'good');
      assert.equal(failed.errors[0]?.code, code, JSON.stringify(failed.errors));
      // The neighbours on the same line are unaffected meanwhile.
      const cover = await harness.nextPoll('cover');
      assert.equal(cover.quality, 'good');
      gas.clearFault();
      // Back to normal (after at most the backoff of a device that was briefly dead).
      const recovered = await harness.nextPoll('gas', (r) => r.quality === 'good', 10_000);
      assert.ok(recovered.readings.length > 0);
    });
  }

  it('counts CRC errors, timeouts and exceptions per device and per bus', () => {
    const counters = harness.bus.counters();
    const gas = counters.devices.find((d) => d.deviceId === 'gas');
    assert.ok(gas && gas.crcErrors > 0 && gas.timeouts > 0 && gas.exceptions > 0, JSON.stringify(gas));
    assert.ok(counters.crcErrors >= gas.crcErrors && counters.transactions > gas.transactions);
    assert.ok(counters.utilisation > 0 && counters.utilisation <= 1);
    assert.ok((counters.meanRttMs ?? 0) > 0);
  });

  it('writes a lamp dim level (FC6) and a loop contactor coil (FC5) that the device then reports', async () => {
    await harness.bus.write('lighting', 'lamp_03.dim_level', 40);
    await harness.bus.write('lighting', 'loop_2_command', false);
    const sim = harness.simulation.device('line', 1);
    assert.equal(sim.get('lamp_03.dim_level'), 40);
    assert.equal(sim.get('loop_2_command'), false);
    const polled = await harness.nextPoll('lighting', (r) => valueMap(r).get('lamp_03.dim_level') === 40);
    assert.equal(valueMap(polled).get('loop_2_command'), false);
  });

  it('writes a 32-bit value as two FC6 writes on a device without FC16', async () => {
    // The simulated anjing-mc200 answers FC16 with ILLEGAL FUNCTION, as its profile says.
    await harness.bus.write('cover', 'heartbeat_interval', 86_400);
    assert.equal(harness.simulation.device('line', 3).get('heartbeat_interval'), 86_400);
  });

  it('refuses writes outside the profile: unknown point, read-only point, out of range', async () => {
    await assert.rejects(harness.bus.write('lighting', 'no_such_point', 1), { code: 'BUS_UNKNOWN_POINT' });
    await assert.rejects(harness.bus.write('lighting', 'phase_a_voltage', 230), { code: 'BUS_NOT_WRITABLE' });
    await assert.rejects(harness.bus.write('lighting', 'lamp_01.dim_level', 101), {
      code: 'BUS_OUT_OF_RANGE',
    });
    await assert.rejects(harness.bus.write('nobody', 'x', 1), { code: 'BUS_UNKNOWN_DEVICE' });
  });

  it('reports a device-side write failure as a typed Modbus error', async () => {
    const lighting = harness.simulation.device('line', 1);
    lighting.setFault('exception:always:code=4');
    try {
      await assert.rejects(harness.bus.write('lighting', 'lamp_01.dim_level', 10), (error: unknown) =>
        isModbusError(error, 'MODBUS_EXCEPTION'),
      );
    } finally {
      lighting.clearFault();
    }
  });
});

describe('a dead device on the line', () => {
  /**
   * Polls per second of the healthy devices, from now over at least `windowMs`: waits for good
   * polls of theirs until they span the window, and measures the rate on the poll results' own
   * monotonic times (first to last good poll), not on a sleep of the test.
   */
  async function healthyRate(harness: BusHarness, healthy: string[], windowMs: number): Promise<number> {
    const start = harness.results.length;
    const good = (): DevicePollResult[] =>
      harness.results.slice(start).filter((r) => healthy.includes(r.deviceId) && r.quality === 'good');
    const polls = await waitUntil(
      `good polls of ${healthy.join(', ')} over ${windowMs} ms`,
      () => {
        const seen = good();
        const first = seen[0];
        const last = seen.at(-1);
        return first && last && last.monotonicMs - first.monotonicMs >= windowMs ? seen : undefined;
      },
      { timeoutMs: windowMs + 10_000, detail: () => `${good().length} good polls so far` },
    );
    const spanMs = (polls.at(-1)?.monotonicMs ?? 0) - (polls[0]?.monotonicMs ?? 0);
    return (polls.length - 1) / (spanMs / 1000);
  }

  it('slows the healthy devices on its bus by less than 20%', async () => {
    const serial = { ...FAST_SERIAL, baudRate: 19200 }; // slow enough that the line is the bottleneck
    const sim = {
      buses: [{ id: 'line', kind: 'rtu' as const, pty: true, serial, ptyFallback: false }],
      devices: [1, 2, 3].map((unitId) => ({ bus: 'line', unitId, profile: 'gas-detector/anqi-gd300' })),
    };
    const healthy = ['g1', 'g2', 'g3'];
    const healthyDevices = healthy.map((id, i) =>
      deviceConfig(id, i + 1, 'anqi-gd300', { pollIntervalMs: 20, timeoutMs: 200 }),
    );

    const alone = await startBusHarness(sim, healthyDevices);
    let baseline: number;
    try {
      await healthyRate(alone, healthy, 500); // warm-up
      baseline = await healthyRate(alone, healthy, 3_000);
    } finally {
      await alone.stop();
    }

    // Unit 9 is configured but nothing answers at that address.
    const withDead = await startBusHarness(sim, [
      ...healthyDevices,
      deviceConfig('ghost', 9, 'anqi-gd300', { pollIntervalMs: 20, timeoutMs: 200 }),
    ]);
    try {
      await withDead.nextPoll(
        'ghost',
        () => withDead.bus.counters().devices.find((d) => d.deviceId === 'ghost')?.health === 'dead',
        10_000,
      );
      const rate = await healthyRate(withDead, healthy, 3_000);
      assert.ok(
        rate >= baseline * 0.8,
        `healthy polls/s with a dead neighbour ${rate.toFixed(1)} vs ${baseline.toFixed(1)} alone`,
      );
      const ghost = withDead.bus.counters().devices.find((d) => d.deviceId === 'ghost');
      assert.equal(ghost?.health, 'dead');
      assert.ok((ghost?.effectiveIntervalMs ?? 0) >= 1_000, 'a dead device is probed with backoff');
    } finally {
      await withDead.stop();
    }
  });
});

describe('bus scheduler on Modbus TCP', () => {
  it('reuses one connection and reconnects after the device server restarts', async () => {
    const first = await startSimulation({
      buses: [{ id: 'lan', kind: 'tcp', port: 0 }],
      devices: [{ bus: 'lan', unitId: 1, profile: 'bridge-strain/qiaoce-vw8' }],
    });
    const handle = first.bus('lan');
    const port = handle.port ?? 0;
    const bus = new BusScheduler({
      config: busConfigFor(handle),
      devices: [deviceConfig('strain', 1, 'qiaoce-vw8', { pollIntervalMs: 50, timeoutMs: 300 })],
      logger: pino({ level: 'silent' }),
    });
    const seen: DevicePollResult[] = [];
    bus.onPoll((r) => seen.push(r));
    await bus.start();
    const waitFor = (predicate: () => boolean, ms: number): Promise<boolean> =>
      waitUntil('condition', predicate, { timeoutMs: ms, message: () => 'condition not reached' });
    let second: Awaited<ReturnType<typeof startSimulation>> | undefined;
    try {
      await waitFor(() => seen.filter((r) => r.quality === 'good').length >= 5, 5_000);
      assert.equal(
        (first.bus('lan').slave as { connections: number }).connections,
        1,
        'one connection for all polls',
      );
      await first.stop();
      await waitFor(() => seen.at(-1)?.quality === 'failed', 5_000);
      second = await startSimulation({
        buses: [{ id: 'lan', kind: 'tcp', port }],
        devices: [{ bus: 'lan', unitId: 1, profile: 'bridge-strain/qiaoce-vw8' }],
      });
      const failedSoFar = seen.length;
      await waitFor(() => seen.slice(failedSoFar).some((r) => r.quality === 'good'), 15_000);
    } finally {
      await bus.stop();
      await second?.stop();
    }
  });
});

describe('a bus whose serial port does not exist', () => {
  it('says so once, without a stack trace, not once per retry; the retries are at debug', async () => {
    const path = `/dev/kerbside-missing-${process.pid}`;
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const bus = new BusScheduler({
      config: { id: 'ghost', kind: 'rtu', path, serial: FAST_SERIAL },
      devices: [deviceConfig('gas', 2, 'anqi-gd300', { pollIntervalMs: 200 })],
      logger: pino({ level: 'debug' }, destination),
    });
    await bus.start();
    try {
      // The scheduler retries the port every few seconds: wait for the first retry's line.
      await waitUntil(
        'a retry logged',
        () => lines.filter((l) => /opened/.test(String(l['msg']))).length >= 2,
        {
          timeoutMs: 15_000,
          message: () => 'no retries logged:',
          detail: () => JSON.stringify(lines, null, 1),
        },
      );
    } finally {
      await bus.stop();
    }
    const failures = lines.filter((l) => /open/.test(String(l['msg'])) && Number(l['level']) >= 40);
    assert.equal(failures.length, 1, JSON.stringify(failures));
    const [first] = failures;
    assert.equal(first?.['msg'], 'bus could not be opened; retrying');
    assert.equal(first?.['level'], 50);
    assert.equal(first?.['code'], 'MODBUS_TRANSPORT');
    assert.match(String(first?.['err']), new RegExp(`cannot open ${path}`));
    const retries = lines.filter((l) => l['msg'] === 'bus still cannot be opened');
    assert.ok(retries.length >= 1 && retries.every((l) => l['level'] === 20), JSON.stringify(retries));
    assert.deepEqual(
      retries.map((l) => l['failedAttempts']),
      retries.map((_, i) => i + 2),
    );
    assert.ok(!JSON.stringify(lines).includes('"stack"'), 'no stack trace for a missing port');
  });
});
