/**
 * A second third-party master, the modbus-serial npm package, reads and writes our TcpSlave (MBAP)
 * from several connections at once, and our RTU-over-TCP slave with its telnet port (raw RTU frames
 * on a socket, as serial device servers carry them; its "TcpRTUBuffered" port sends MBAP instead).
 * modbus-serial patches Buffer.prototype when loaded, so it is imported here only, dynamically.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../simulators/clock.js';
import { startSimulation, type Simulation } from '../../simulators/index.js';
import { COVER, GAS } from './helpers.js';

type ModbusRTU = import('modbus-serial').default;

async function newClient(): Promise<ModbusRTU> {
  // A CommonJS package: under NodeNext its class is `default.default` to the type checker, and
  // the package sets module.exports.default = module.exports so that is also true at run time.
  const { default: mod } = await import('modbus-serial');
  const client = new mod.default();
  client.setTimeout(2000);
  return client;
}

function closeClient(client: ModbusRTU): Promise<void> {
  return new Promise((resolve) => client.close(() => resolve()));
}

describe('modbus-serial reads our slaves', () => {
  let sim: Simulation;
  const clock = new ManualClock();

  before(async () => {
    sim = await startSimulation({
      clock,
      buses: [
        { id: 'lan', kind: 'tcp', port: 0 },
        { id: 'rtu-tcp', kind: 'rtu', rtuOverTcpPort: 0, serial: { baudRate: 38400 } },
      ],
      devices: [
        { bus: 'lan', unitId: 1, profile: GAS },
        { bus: 'lan', unitId: 3, profile: COVER },
        { bus: 'rtu-tcp', unitId: 5, profile: COVER },
      ],
    });
  });

  after(async () => {
    await sim?.stop();
  });

  it('TcpSlave: reads from several concurrent connections match the registers', async () => {
    const port = sim.bus('lan').port ?? 0;
    const clients = await Promise.all([newClient(), newClient(), newClient()]);
    try {
      await Promise.all(clients.map((c) => c.connectTCP('127.0.0.1', { port })));
      const gas = sim.device('lan', 1).device;
      const cover = sim.device('lan', 3).device;
      const results = await Promise.all(
        clients.map(async (c, i) => {
          c.setID(i === 2 ? 3 : 1);
          const rounds: number[][] = [];
          for (let r = 0; r < 5; r++) rounds.push((await c.readInputRegisters(0, 9)).data);
          return rounds;
        }),
      );
      for (const [i, rounds] of results.entries()) {
        const expected = (i === 2 ? cover : gas).bank.readWords('input', 0, 9);
        for (const data of rounds) assert.deepEqual(data, expected);
      }
      assert.ok((sim.bus('lan').slave as { connections: number }).connections >= 3);
    } finally {
      await Promise.all(clients.map(closeClient));
    }
  });

  it('TcpSlave: writes a setpoint, and reports a forbidden range as exception 2', async () => {
    const client = await newClient();
    try {
      await client.connectTCP('127.0.0.1', { port: sim.bus('lan').port ?? 0 });
      client.setID(3);
      const cover = sim.device('lan', 3);
      await client.writeRegister(cover.device.point('tilt_threshold').address, 125);
      assert.equal(cover.device.get('tilt_threshold'), 12.5);
      client.setID(1);
      await assert.rejects(client.readHoldingRegisters(300, 2), (error: unknown) => {
        assert.equal((error as { modbusCode?: number }).modbusCode, 2);
        return true;
      });
    } finally {
      await closeClient(client);
    }
  });

  it('RTU over TCP: its telnet (raw RTU over a socket) client reads and writes through our RTU slave', async () => {
    const client = await newClient();
    try {
      await client.connectTelnet('127.0.0.1', { port: sim.bus('rtu-tcp').port ?? 0 });
      client.setID(5);
      const cover = sim.device('rtu-tcp', 5).device;
      assert.deepEqual((await client.readInputRegisters(0, 9)).data, cover.bank.readWords('input', 0, 9));
      await client.writeRegister(cover.point('tilt_threshold').address, 200);
      assert.equal(cover.get('tilt_threshold'), 20);
    } finally {
      await closeClient(client);
    }
  });
});
