/**
 * BusScheduler.read (issue 13, part 4, "Bus diagnostics": the commissioning panel): a profile
 * point or a raw range read on demand, queued on the scheduler like a write (between polls), and
 * refused before it is queued when it touches a profile's forbidden range or asks for more than one
 * Modbus read may carry (MAP v1.1b3 section 6: 125 registers, 2000 bits). Against real simulators
 * on a socat pseudo-terminal pair, their values frozen (ManualClock).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import { isBusError } from '../../../gateway/bus/scheduler.js';
import { ManualClock } from '../../../simulators/index.js';
import { FAST_SERIAL, deviceConfig, startBusHarness, type BusHarness } from '../../helpers/bus-harness.js';

describe('on-demand reads through the bus scheduler (RTU line)', () => {
  let harness: BusHarness;
  const clock = new ManualClock(0);

  before(async () => {
    harness = await startBusHarness(
      {
        buses: [{ id: 'line', kind: 'rtu', pty: true, serial: FAST_SERIAL, ptyFallback: false }],
        devices: [
          { bus: 'line', unitId: 1, profile: 'gas-detector/anqi-gd300', scenario: 'normal' },
          { bus: 'line', unitId: 2, profile: 'bridge-strain/qiaoce-vw8', scenario: 'normal' },
          { bus: 'line', unitId: 3, profile: 'lamp-concentrator/kerbtek-lc3200', scenario: 'normal' },
        ],
        clock,
      },
      [
        deviceConfig('gas', 1, 'anqi-gd300'),
        deviceConfig('strain', 2, 'qiaoce-vw8'),
        deviceConfig('lc', 3, 'kerbtek-lc3200'),
      ],
    );
    await harness.nextPoll('gas', (r) => r.quality === 'good');
  });
  after(() => harness.stop());

  const sim = (unitId: number) => harness.simulation.device('line', unitId);

  it('reads a point: its raw registers and its engineering value as the simulator holds them', async () => {
    sim(1).set('h2s', 12.5);
    const result = await harness.bus.read('gas', { point: 'h2s' });
    assert.equal(result.point, 'h2s');
    assert.equal(result.table, 'input');
    assert.equal(result.count, 2, 'an f32 spans two registers');
    assert.equal(typeof result.value, 'number');
    assert.ok(Math.abs((result.value as number) - 12.5) < 1e-6, `value ${String(result.value)}`);
    assert.deepEqual(result.raw, sim(1).device.bank.readWords('input', result.address, 2));
    assert.ok(result.roundTripMs > 0);
  });

  it('reads a raw register range and a raw coil range in address order', async () => {
    const registers = await harness.bus.read('lc', { table: 'input', address: 0, count: 12 });
    assert.equal(registers.point, null);
    assert.equal(registers.value, null);
    assert.deepEqual(registers.raw, sim(3).device.bank.readWords('input', 0, 12));
    sim(3).set('loop_2_command', true);
    sim(3).set('loop_3_command', false);
    const coils = await harness.bus.read('lc', { table: 'coil', address: 0, count: 4 });
    assert.deepEqual(coils.raw, sim(3).device.bank.readBits('coil', 0, 4));
    assert.equal(coils.raw[1], true);
    assert.equal(coils.raw[2], false);
  });

  it('refuses a range touching a forbidden range before anything goes on the wire, with the profile reason', async () => {
    const exceptions = sim(1).device.stats.exceptions;
    const error = await harness.bus.read('gas', { table: 'holding', address: 250, count: 10 }).then(
      () => assert.fail('a read of the calibration area was made'),
      (e: unknown) => e,
    );
    assert.ok(isBusError(error, 'BUS_FORBIDDEN_RANGE'), String(error));
    assert.match(error.message, /holding 256\.\.511/);
    assert.match(error.message, /aborts a running calibration/, 'the message quotes the profile reason');
    assert.equal(error.status, 403);
    // Had it been sent, the simulator (which enforces the same quirk) would have answered exception 02.
    await harness.nextPoll('gas', (r) => r.quality === 'good');
    assert.equal(
      sim(1).device.stats.exceptions,
      exceptions,
      'the device was never asked for a forbidden address',
    );
  });

  it('refuses more than one read may carry: the Modbus limit, and the profile limit', async () => {
    const protocol = await harness.bus
      .read('strain', { table: 'holding', address: 100, count: 126 })
      .catch((e: unknown) => e);
    assert.ok(isBusError(protocol, 'BUS_OUT_OF_RANGE'), String(protocol));
    assert.match(protocol.message, /at most 125 registers per read \(MAP v1\.1b3 section 6\)/);
    const bits = await harness.bus
      .read('lc', { table: 'coil', address: 0, count: 2001 })
      .catch((e: unknown) => e);
    assert.ok(isBusError(bits, 'BUS_OUT_OF_RANGE'), String(bits));
    assert.match(bits.message, /at most 2000 bits/);
    const quirk = await harness.bus
      .read('gas', { table: 'input', address: 0, count: 33 })
      .catch((e: unknown) => e);
    assert.ok(isBusError(quirk, 'BUS_OUT_OF_RANGE'), String(quirk));
    assert.match(quirk.message, /profile anqi-gd300 allows at most 32 registers per read/);
    const past = await harness.bus
      .read('gas', { table: 'input', address: 65530, count: 8 })
      .catch((e: unknown) => e);
    assert.ok(isBusError(past, 'BUS_OUT_OF_RANGE'), String(past));
  });

  it('refuses an unknown device or point', async () => {
    const device = await harness.bus.read('nope', { point: 'h2s' }).catch((e: unknown) => e);
    assert.ok(isBusError(device, 'BUS_UNKNOWN_DEVICE'), String(device));
    const point = await harness.bus.read('gas', { point: 'nope' }).catch((e: unknown) => e);
    assert.ok(isBusError(point, 'BUS_UNKNOWN_POINT'), String(point));
  });

  it('takes its turn between polls: the device keeps being polled while reads are made', async () => {
    const polled = harness.results.filter((r) => r.deviceId === 'gas').length;
    for (let i = 0; i < 5; i++) await harness.bus.read('gas', { point: 'o2' });
    await harness.nextPoll('gas', (r) => r.quality === 'good');
    assert.ok(harness.results.filter((r) => r.deviceId === 'gas').length > polled);
  });
});

/**
 * "Nothing the web server does may delay polling" (issue 13): a signed-in user flooding
 * POST /api/bus/read at a device that does not answer (each read waits its full timeout) must
 * neither queue without limit nor hold the line between polls.
 */
describe('on-demand reads cannot starve polling (RTU line)', () => {
  let harness: BusHarness;

  before(async () => {
    harness = await startBusHarness(
      {
        buses: [{ id: 'line', kind: 'rtu', pty: true, serial: FAST_SERIAL, ptyFallback: false }],
        devices: [
          { bus: 'line', unitId: 1, profile: 'gas-detector/anqi-gd300', scenario: 'normal' },
          { bus: 'line', unitId: 2, profile: 'bridge-strain/qiaoce-vw8', scenario: 'normal' },
        ],
        clock: new ManualClock(0),
      },
      [
        deviceConfig('gas', 1, 'anqi-gd300'),
        // Polled once a minute (first poll staggered to 30 s): only the reads below reach it.
        deviceConfig('mute', 2, 'qiaoce-vw8', { pollIntervalMs: 60_000 }),
      ],
    );
    await harness.nextPoll('gas', (r) => r.quality === 'good');
  });
  after(() => harness.stop());

  it('refuses reads beyond the waiting limit with BUS_BUSY, and polls between the ones it queued', async () => {
    harness.simulation.device('line', 2).setFault('no-answer:always');
    const events: string[] = [];
    const stopListening = harness.bus.onPoll((r) => events.push(`poll ${r.deviceId}`));
    const burst = Array.from({ length: 5 }, (_, i) =>
      harness.bus.read('mute', { point: 'strain_1' }).then(
        () => assert.fail(`read ${i} of a silent device was answered`),
        (error: unknown) => {
          events.push(`read ${i}`);
          return error;
        },
      ),
    );
    const outcomes = await Promise.all(burst);
    stopListening();
    harness.simulation.device('line', 2).clearFault();

    const busy = outcomes.filter((e) => isBusError(e, 'BUS_BUSY'));
    assert.equal(
      busy.length,
      3,
      `two reads may wait, the rest are refused: ${outcomes.map(String).join('; ')}`,
    );
    for (const error of busy) {
      assert.ok(isBusError(error));
      assert.equal(error.status, 429);
      assert.match(error.message, /try again/);
    }
    for (const error of outcomes.slice(0, 2))
      assert.ok(isModbusError(error, 'MODBUS_TIMEOUT'), String(error));

    // The two queued reads each waited out their timeout; the healthy device was polled between them.
    const first = events.indexOf('read 0');
    const second = events.indexOf('read 1');
    assert.ok(first >= 0 && second > first, events.join(', '));
    assert.ok(
      events.slice(first, second).includes('poll gas'),
      `a due poll of gas ran between the two reads: ${events.join(', ')}`,
    );

    // The limit is on reads waiting, not a lockout: once the queue drained a read is accepted again.
    const again = await harness.bus.read('gas', { point: 'o2' });
    assert.equal(again.point, 'o2');
  });
});
