/**
 * SimulatedDevice at the PDU level: registers laid out by the profile through the gateway's own
 * point codec, the profile's quirks answered with the exceptions of MAP v1.1b3 section 7, writes
 * checked and reacted to. No I/O; a manual clock steps time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRequest } from '../../drivers/modbus/pdu.js';
import { decodePoint } from '../../gateway/profiles/point-codec.js';
import { SimulatorError } from '../../simulators/errors.js';
import { RegisterBank } from '../../simulators/register-bank.js';
import { CONTACTOR_DELAY_MS } from '../../simulators/scenarios/index.js';
import { ask, COVER, exceptionOf, GAS, LAMPS, makeDevice, profile } from './helpers.js';

describe('RegisterBank', () => {
  it('keeps four independent tables that read 0 where nothing was written', () => {
    const bank = new RegisterBank();
    bank.writeWords('holding', 10, [1, 2]);
    bank.writeWords('input', 10, [3]);
    bank.writeBits('coil', 5, [true]);
    assert.deepEqual(bank.readWords('holding', 9, 4), [0, 1, 2, 0]);
    assert.deepEqual(bank.readWords('input', 10, 2), [3, 0]);
    assert.deepEqual(bank.readBits('coil', 4, 3), [false, true, false]);
    assert.deepEqual(bank.readBits('discrete', 5, 1), [false]);
    assert.throws(() => bank.writeWords('holding', 0, [0x10000]), RangeError);
    assert.throws(() => bank.readWords('input', 65535, 2), RangeError);
  });
});

describe('SimulatedDevice values', () => {
  it('serves registers that decode, with the gateway codec, to the values it holds', () => {
    const { device } = makeDevice(GAS);
    for (const key of ['h2s', 'ch4', 'o2', 'temperature']) {
      const point = device.point(key);
      const res = ask(device, { fc: 0x04, address: point.address, quantity: point.count });
      assert.equal(res.fc, 0x04);
      if (res.fc !== 0x04) return;
      assert.equal(decodePoint(point, res.registers), device.get(key), key);
    }
    // Word orders differ per point (h2s CDAB, ch4 the profile's BADC): set and read back exactly.
    device.set('h2s', 12.5);
    device.set('ch4', 33.25);
    assert.equal(device.get('h2s'), 12.5);
    assert.equal(device.get('ch4'), 33.25);
  });

  it('reads unmapped addresses outside forbidden ranges as 0', () => {
    const { device } = makeDevice(GAS);
    assert.deepEqual(ask(device, { fc: 0x03, address: 100, quantity: 4 }), {
      fc: 0x03,
      registers: [0, 0, 0, 0],
    });
    assert.deepEqual(ask(device, { fc: 0x01, address: 0, quantity: 3 }), {
      fc: 0x01,
      bits: [false, false, false],
    });
  });

  it('fails loudly for a point the profile does not have', () => {
    const { device } = makeDevice(GAS);
    assert.throws(
      () => device.set('nope', 1),
      (e: unknown) => e instanceof SimulatorError && e.code === 'SIM_POINT_MISSING',
    );
  });

  it('hold pins a value against the scenario until released', () => {
    const { device, clock } = makeDevice(GAS, 'gas-leak');
    device.hold('h2s', 3);
    clock.advance(60_000);
    device.refresh();
    assert.equal(device.get('h2s'), 3);
    device.release('h2s');
    device.refresh();
    clock.advance(1000);
    device.refresh();
    assert.ok(Number(device.get('h2s')) > 10, 'the leak shows again once released');
  });
});

describe('SimulatedDevice quirks (MAP v1.1b3 section 7 exceptions)', () => {
  it('answers exception 02 for reads touching a forbidden range', () => {
    const gas = makeDevice(GAS).device; // holding 256..511 forbidden
    assert.equal(exceptionOf(gas, { fc: 0x03, address: 250, quantity: 10 }), 0x02);
    assert.equal(exceptionOf(gas, { fc: 0x03, address: 511, quantity: 1 }), 0x02);
    assert.deepEqual(ask(gas, { fc: 0x03, address: 512, quantity: 1 }), { fc: 0x03, registers: [0] });
    const lamps = makeDevice(LAMPS).device; // input 14..19 forbidden
    assert.equal(exceptionOf(lamps, { fc: 0x04, address: 0, quantity: 15 }), 0x02);
    assert.equal(ask(lamps, { fc: 0x04, address: 0, quantity: 14 }).fc, 0x04);
  });

  it('answers exception 03 above maxRegistersPerRead and maxBitsPerRead', () => {
    const gas = makeDevice(GAS).device; // maxRegistersPerRead 32
    assert.equal(profile(GAS).quirks.maxRegistersPerRead, 32);
    assert.equal(exceptionOf(gas, { fc: 0x04, address: 0, quantity: 33 }), 0x03);
    assert.equal(ask(gas, { fc: 0x04, address: 0, quantity: 32 }).fc, 0x04);
    const base = profile(LAMPS);
    const capped = { ...base, quirks: { ...base.quirks, maxBitsPerRead: 4 } };
    const lamps = makeDevice(capped).device;
    assert.equal(exceptionOf(lamps, { fc: 0x02, address: 0, quantity: 5 }), 0x03);
    assert.equal(ask(lamps, { fc: 0x02, address: 0, quantity: 4 }).fc, 0x02);
  });

  it('answers exception 01 to FC16 when the profile says noFc16, and accepts FC6 per register', () => {
    const { device } = makeDevice(COVER);
    assert.equal(profile(COVER).quirks.noFc16, true);
    const interval = device.point('heartbeat_interval'); // u32 ABCD
    assert.equal(exceptionOf(device, { fc: 0x10, address: interval.address, values: [0, 900] }), 0x01);
    ask(device, { fc: 0x06, address: interval.address, value: 0 });
    ask(device, { fc: 0x06, address: interval.address + 1, value: 900 });
    assert.equal(device.get('heartbeat_interval'), 900);
  });

  it('answers exception 02 to writes of addresses that are not writable points', () => {
    const lamps = makeDevice(LAMPS).device;
    assert.equal(exceptionOf(lamps, { fc: 0x05, address: 10, value: true }), 0x02); // no coil there
    assert.equal(exceptionOf(lamps, { fc: 0x06, address: 5, value: 1 }), 0x02); // unmapped holding
    assert.equal(exceptionOf(lamps, { fc: 0x0f, address: 2, values: [true, true, true] }), 0x02); // runs past loop 4
    const gas = makeDevice(GAS).device;
    assert.equal(exceptionOf(gas, { fc: 0x10, address: 0, values: [1, 2] }), 0x02); // nothing writable at all
  });

  it('answers exception 03 to a setpoint outside the profile min/max and keeps the old value', () => {
    const { device } = makeDevice(COVER);
    const threshold = device.point('tilt_threshold'); // 1..90 degrees, scale 0.1
    assert.equal(exceptionOf(device, { fc: 0x06, address: threshold.address, value: 1000 }), 0x03);
    assert.equal(device.get('tilt_threshold'), 10);
    ask(device, { fc: 0x06, address: threshold.address, value: 150 });
    assert.equal(device.get('tilt_threshold'), 15);
  });

  it('answers an unknown function code with exception 01', () => {
    const { device } = makeDevice(GAS);
    const served = device.serve(Buffer.from([0x2b, 0x0e, 0x01, 0x00]));
    assert.deepEqual([...served.response], [0xab, 0x01]);
  });
});

describe('SimulatedDevice reactions to writes', () => {
  it('a loop contactor feedback follows its command after the contactor delay', () => {
    const { device, clock } = makeDevice(LAMPS);
    const command = device.point('loop_1_command');
    assert.equal(device.get('loop_1_state'), true);
    ask(device, { fc: 0x05, address: command.address, value: false });
    assert.equal(device.get('loop_1_command'), false);
    assert.equal(device.get('loop_1_state'), true, 'the contactor has not moved yet');
    clock.advance(CONTACTOR_DELAY_MS);
    device.refresh();
    assert.equal(device.get('loop_1_state'), false);
    assert.equal(device.get('lamp_01.lamp_power'), 0, 'lamps on a dead loop draw nothing');
    ask(device, { fc: 0x05, address: command.address, value: true });
    clock.advance(CONTACTOR_DELAY_MS);
    device.refresh();
    assert.equal(device.get('loop_1_state'), true);
  });

  it('a lamp switched off stops drawing power, one switched on draws it again', () => {
    const { device } = makeDevice(LAMPS);
    const before = device.num('active_power');
    assert.ok(device.num('lamp_05.lamp_power') > 140);
    const sw = device.point('lamp_05.lamp_switch');
    ask(device, { fc: 0x06, address: sw.address, value: 0 });
    assert.ok(device.num('lamp_05.lamp_power') < 1);
    assert.ok(before - device.num('active_power') > 140, 'the cabinet meter sees the lamp go');
    ask(device, { fc: 0x06, address: device.point('lamp_05.dim_level').address, value: 50 });
    ask(device, { fc: 0x06, address: sw.address, value: 1 });
    const half = device.num('lamp_05.lamp_power');
    assert.ok(half > 70 && half < 80, `a lamp dimmed to 50% draws about half: ${half} W`);
  });

  it('executes a broadcast write without answering (MSL 2.1)', () => {
    const { device } = makeDevice(LAMPS);
    device.serveBroadcast(
      encodeRequest({ fc: 0x05, address: device.point('loop_2_command').address, value: false }),
    );
    assert.equal(device.get('loop_2_command'), false);
  });
});
