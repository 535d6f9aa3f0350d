/**
 * Every fault mode, seen from the gateway side: the real ModbusClient over the real SerialTransport
 * on a socat pty pair (RTU) and over TcpTransport (MBAP) must report the right typed error, and the
 * simulator must keep serving afterwards. Faults are flipped at run time, between requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ModbusClient } from '../../drivers/modbus/client.js';
import { isModbusError } from '../../drivers/modbus/errors.js';
import { TcpTransport } from '../../drivers/transport/tcp.js';
import type { SerialSettings } from '../../drivers/transport/transport.js';
import { SimulatorError } from '../../simulators/errors.js';
import { parseFault } from '../../simulators/faults.js';
import { startSimulation, type Simulation } from '../../simulators/index.js';
import { requireCommand } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { COVER, expectModbusError, GAS } from './helpers.js';
import { rtuClient } from './transport-helpers.js';

const LINE: SerialSettings = { baudRate: 38400, dataBits: 8, parity: 'even', stopBits: 1 };
// Generous: the test machines are shared, and a paced reply at 38400 baud needs only ~10 ms.
const OPTS = { timeoutMs: 400 };
const READ = { fc: 0x04, address: 0, quantity: 8 } as const;

describe('parseFault', () => {
  it('reads mode, probability and options, and rejects nonsense', () => {
    assert.deepEqual(parseFault('bad-crc:0.1'), { mode: 'bad-crc', probability: 0.1 });
    assert.deepEqual(parseFault('late-answer:always:delay=1500'), {
      mode: 'late-answer',
      probability: 1,
      delayMs: 1500,
    });
    assert.deepEqual(parseFault('exception:1:code=6'), {
      mode: 'exception',
      probability: 1,
      exceptionCode: 6,
    });
    assert.deepEqual(parseFault('wrong-unit'), { mode: 'wrong-unit' });
    for (const bad of ['crc', 'bad-crc:2', 'bad-crc:x', 'exception:1:code=0', 'late-answer:1:speed=3']) {
      assert.throws(
        () => parseFault(bad),
        (e: unknown) => e instanceof SimulatorError && e.code === 'SIM_FAULT_INVALID',
        bad,
      );
    }
  });
});

describe('faults on an RTU line (socat pty, ModbusClient + SerialTransport)', () => {
  let sim: Simulation;
  let client: ModbusClient;

  before(async () => {
    requireCommand('socat', 'socat');
    sim = await startSimulation({
      buses: [{ id: 'line', kind: 'rtu', pty: true, ptyFallback: false, serial: LINE }],
      devices: [
        { bus: 'line', unitId: 1, profile: GAS },
        { bus: 'line', unitId: 2, profile: COVER },
      ],
    });
    client = await rtuClient(sim.bus('line').gatewayPath, LINE);
  });

  after(async () => {
    await client?.close();
    await sim?.stop();
  });

  const stillServes = async (): Promise<void> => {
    const { response } = await client.request(1, READ, OPTS);
    assert.equal(response.fc, 0x04);
    await client.request(2, READ, OPTS); // the other unit on the line was never disturbed
  };

  const cases = [
    ['no-answer', 'MODBUS_TIMEOUT'],
    ['late-answer:always:delay=700', 'MODBUS_TIMEOUT'],
    ['bad-crc', 'MODBUS_CRC'],
    ['wrong-unit', 'MODBUS_WRONG_UNIT'],
    ['exception:always:code=6', 'MODBUS_EXCEPTION'],
    ['truncated', 'MODBUS_TRUNCATED'],
  ] as const;

  for (const [fault, code] of cases) {
    it(`${fault} -> ${code}, then serves normally`, async () => {
      await stillServes();
      const unit = sim.device('line', 1);
      unit.setFault(fault);
      const error = await expectModbusError(client.request(1, READ, OPTS), code);
      if (code === 'MODBUS_EXCEPTION') assert.equal(error.exceptionCode, 6);
      if (code === 'MODBUS_WRONG_UNIT') assert.match(error.message, /unit 2 answered/);
      unit.clearFault();
      if (fault.startsWith('late-answer')) {
        const strays = client.stats.strayFrames;
        // The late reply arrives, unasked for (the fault's 700 ms delay, about 300 ms from now).
        await waitFor('the late reply', () => client.stats.strayFrames > strays, {
          detail: () => `stray frames ${client.stats.strayFrames - strays}`,
        });
        assert.equal(client.stats.strayFrames, strays + 1, 'the late reply was seen and discarded');
      }
      await stillServes();
    });
  }

  it('a fault with a probability hits some requests only', async () => {
    const unit = sim.device('line', 1);
    const injectedBefore = unit.device.faults.injected['no-answer'];
    unit.setFault('no-answer:0.5');
    let failed = 0;
    for (let i = 0; i < 16; i++) {
      try {
        await client.request(1, READ, { timeoutMs: 200 });
      } catch (error) {
        assert.ok(isModbusError(error, 'MODBUS_TIMEOUT'));
        failed++;
      }
    }
    unit.clearFault();
    const injected = unit.device.faults.injected['no-answer'] - injectedBefore;
    assert.ok(injected >= 2 && injected <= 14, `${injected} of 16 requests drew the fault`);
    // On a badly loaded machine a reply can come later than 200 ms: that request times out too, and
    // its late reply may then be taken for the next identical request's (RTU has no transaction id).
    assert.ok(Math.abs(failed - injected) <= 2, `${failed} timeouts for ${injected} injected faults`);
    await stillServes();
  });

  it('drops frames with a bad CRC silently and ignores other units (MSL 2.1, 2.4.1)', async () => {
    const counters = (sim.bus('line').slave as { counters: { crcErrors: number; otherUnits: number } })
      .counters;
    const before = { ...counters };
    await expectModbusError(client.request(9, READ, { timeoutMs: 80 }), 'MODBUS_TIMEOUT');
    assert.equal(counters.otherUnits, before.otherUnits + 1);
    await stillServes();
  });
});

describe('faults on Modbus TCP (ModbusClient + TcpTransport)', () => {
  let sim: Simulation;
  let client: ModbusClient;

  before(async () => {
    sim = await startSimulation({
      buses: [{ id: 'lan', kind: 'tcp', port: 0 }],
      devices: [{ bus: 'lan', unitId: 1, profile: GAS }],
    });
    const transport = new TcpTransport({
      host: '127.0.0.1',
      port: sim.bus('lan').port ?? 0,
      connectTimeoutMs: 2000,
      reconnect: { initialMs: 10, maxMs: 50 },
    });
    await transport.open();
    client = new ModbusClient({ transport, framing: 'tcp' });
  });

  after(async () => {
    await client?.close();
    await sim?.stop();
  });

  /** Serves again, allowing the transport to reconnect after a dropped connection. */
  const stillServes = async (): Promise<void> => {
    await waitFor(
      'a request served',
      async () => {
        try {
          await client.request(1, READ, OPTS);
          return true;
        } catch (error) {
          if (!isModbusError(error, 'MODBUS_TRANSPORT')) throw error;
          return false; // not reconnected yet
        }
      },
      { intervalMs: 25 },
    );
  };

  const cases = [
    ['no-answer', 'MODBUS_TIMEOUT'],
    ['late-answer:always:delay=700', 'MODBUS_TIMEOUT'],
    ['wrong-unit:always:unit=9', 'MODBUS_WRONG_UNIT'],
    ['exception:always:code=4', 'MODBUS_EXCEPTION'],
    // MBAP ends frames by length, so a cut reply shows as the connection dropping mid-reply.
    ['truncated', 'MODBUS_TRANSPORT'],
  ] as const;

  for (const [fault, code] of cases) {
    it(`${fault} -> ${code}, then serves normally`, async () => {
      await stillServes();
      const unit = sim.device('lan', 1);
      unit.setFault(fault);
      await expectModbusError(client.request(1, READ, OPTS), code);
      unit.clearFault();
      if (fault.startsWith('late-answer')) {
        // The late reply (wrong transaction id) is discarded as stray before the next request.
        const strays = client.stats.strayFrames;
        await waitFor('the late reply', () => client.stats.strayFrames > strays, {
          detail: () => `stray frames ${client.stats.strayFrames - strays}`,
        });
        assert.equal(client.stats.strayFrames, strays + 1, 'the late reply was seen and discarded');
      }
      await stillServes();
    });
  }

  it('refuses bad-crc on a TCP bus: MBAP carries no CRC', () => {
    assert.throws(
      () => sim.device('lan', 1).setFault('bad-crc'),
      (e: unknown) => e instanceof SimulatorError && e.code === 'SIM_FAULT_INVALID',
    );
  });

  it('answers an unknown unit id with exception 0x0B (gateway target failed to respond)', async () => {
    const error = await expectModbusError(client.request(42, READ, OPTS), 'MODBUS_EXCEPTION');
    assert.equal(error.exceptionCode, 0x0b);
  });
});
