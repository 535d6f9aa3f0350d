/**
 * A third-party master (mbpoll, Debian package mbpoll) reads our simulators: over Modbus RTU on a
 * socat pseudo-terminal pair (9600 8E1, the MSL 2.5.1 default line) with two devices on the line,
 * and over Modbus TCP. The values it prints must equal the device's registers. A manual clock keeps
 * the values still while mbpoll reads. mbpoll's -r is 1-based; our addresses are 0-based PDU
 * addresses (MAP v1.1b3 section 4.4), hence the +1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ManualClock } from '../../simulators/clock.js';
import { startSimulation, type Simulation } from '../../simulators/index.js';
import { requireCommand } from '../helpers/peers.js';
import { GAS, LAMPS } from './helpers.js';

const run = promisify(execFile);

type Table = '0' | '1' | '3' | '4' | '3:float';

/** Runs mbpoll once and returns the values it printed, by 1-based reference. */
async function mbpoll(
  target: string[],
  table: Table,
  unit: number,
  ref: number,
  count: number,
): Promise<number[]> {
  const args = [
    '-a',
    String(unit),
    '-r',
    String(ref),
    '-c',
    String(count),
    '-t',
    table,
    '-1',
    '-o',
    '2',
    ...target,
  ];
  const { stdout } = await run('mbpoll', args, { timeout: 15_000 });
  const values = [...stdout.matchAll(/^\[(\d+)\]:\s+(-?[\d.]+)/gm)].map((m) => Number(m[2]));
  assert.equal(values.length, count, `mbpoll ${args.join(' ')} printed:\n${stdout}`);
  return values;
}

describe('mbpoll reads the simulators', () => {
  let sim: Simulation;
  const clock = new ManualClock();

  before(async () => {
    requireCommand('mbpoll', 'mbpoll');
    requireCommand('socat', 'socat');
    sim = await startSimulation({
      clock,
      buses: [
        {
          id: 'line',
          kind: 'rtu',
          pty: true,
          ptyFallback: false,
          serial: { baudRate: 9600, parity: 'even' },
        },
        { id: 'lan', kind: 'tcp', port: 0 },
      ],
      devices: [
        { bus: 'line', unitId: 1, profile: LAMPS, scenario: 'loop-trip' },
        { bus: 'line', unitId: 2, profile: GAS },
        { bus: 'lan', unitId: 1, profile: LAMPS },
        { bus: 'lan', unitId: 7, profile: GAS },
      ],
    });
    assert.equal(sim.bus('line').ptyMethod, 'socat');
  });

  after(async () => {
    await sim?.stop();
  });

  const rtu = (): string[] => ['-m', 'rtu', '-b', '9600', '-P', 'even', sim.bus('line').gatewayPath];
  const tcp = (): string[] => ['-m', 'tcp', '-p', String(sim.bus('lan').port), '127.0.0.1'];

  for (const [name, target, lampUnit, gasUnit] of [
    ['RTU on a socat pty', rtu, 1, 2],
    ['Modbus TCP', tcp, 1, 7],
  ] as const) {
    it(`${name}: input and holding registers, coils and discrete inputs equal the device's`, async () => {
      const bus = name === 'Modbus TCP' ? 'lan' : 'line';
      const lamps = sim.device(bus, lampUnit);
      const bank = lamps.device.bank;
      assert.deepEqual(await mbpoll(target(), '3', lampUnit, 1, 14), bank.readWords('input', 0, 14));
      const lamp3 = lamps.device.point('lamp_03.lamp_voltage').address;
      assert.deepEqual(
        await mbpoll(target(), '3', lampUnit, lamp3 + 1, 8),
        bank.readWords('input', lamp3, 8),
      );
      const sw = lamps.device.point('lamp_02.lamp_switch').address;
      assert.deepEqual(await mbpoll(target(), '4', lampUnit, sw + 1, 10), bank.readWords('holding', sw, 10));
      assert.deepEqual(
        (await mbpoll(target(), '0', lampUnit, 1, 4)).map(Boolean),
        bank.readBits('coil', 0, 4),
      );
      assert.deepEqual(
        (await mbpoll(target(), '1', lampUnit, 1, 5)).map(Boolean),
        bank.readBits('discrete', 0, 5),
      );
      // A 32-bit float: mbpoll's default word order is low word first (CDAB), as the profile says h2s is.
      const gas = sim.device(bus, gasUnit);
      assert.equal(gas.device.point('h2s').wordOrder, 'CDAB');
      const [h2s] = await mbpoll(target(), '3:float', gasUnit, gas.device.point('h2s').address + 1, 1);
      assert.ok(
        Math.abs((h2s ?? NaN) - gas.device.num('h2s')) < 1e-4,
        `mbpoll ${h2s} vs ${gas.device.num('h2s')}`,
      );
    });
  }

  it('RTU: a loop-trip shows in the discrete inputs mbpoll reads once time has moved', async () => {
    const lamps = sim.device('line', 1);
    clock.advance(6000);
    lamps.device.refresh();
    const states = (await mbpoll(rtu(), '1', 1, 2, 4)).map(Boolean);
    assert.deepEqual(states, [true, false, true, true], 'loop 2 has tripped');
  });
});
