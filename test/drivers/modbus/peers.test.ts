/**
 * Interoperability with REAL third-party Modbus servers (not mocks):
 * - pymodbus 3.0.0rc1 (Debian python3-pymodbus) over TCP, and over RTU on a socat pty pair where
 *   our SerialTransport sits on one end and pymodbus's serial server on the other;
 * - modbus-serial's ServerTCP (npm devDependency), loaded by dynamic import in its own suite,
 *   last, because it patches Buffer.prototype when loaded.
 * The pymodbus side puts its values in place with struct.pack (test/peers/pymodbus_server.py), so
 * the register contents do not come from our codec. A missing peer fails the test and names the
 * Debian package to install.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ModbusClient, type RequestOptions } from '../../../drivers/modbus/client.js';
import {
  WORD_ORDERS,
  decodeRegisters,
  encodeRegisters,
  type DataType,
} from '../../../drivers/modbus/datatypes.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import { SerialTransport } from '../../../drivers/transport/serial.js';
import { TcpTransport } from '../../../drivers/transport/tcp.js';
import type { SerialSettings } from '../../../drivers/transport/transport.js';
import { createPtyPair, type PtyPair } from '../../../simulators/pty-pair.js';
import { freePort } from '../../helpers/net.js';
import { requireCommand, requirePythonModule } from '../../helpers/peers.js';

/** The Debian python with python3-pymodbus; the `python3` on PATH may be another one. */
const PYTHON = '/usr/bin/python3';
const SERVER_SCRIPT = fileURLToPath(new URL('../../peers/pymodbus_server.py', import.meta.url));
const OPTS: RequestOptions = { timeoutMs: 2000 };
/**
 * 8N2 rather than the 8E1 default: Linux pseudo-terminals refuse PARENB (pyserial's tcsetattr fails
 * with EINVAL on the pty), and 8N2 is the other 11-bit framing MSL v1.02 section 2.5.1 allows, so
 * t3.5 is the same.
 */
const LINE: SerialSettings = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 2 };

/** Values pymodbus_server.py stores; keep in step with its U16 ... F32 constants. */
const EXPECTED: Record<Exclude<DataType, 'bool'>, number> = {
  u16: 51234,
  i16: -1234,
  u32: 0x12345678,
  i32: -123456789,
  f32: Math.fround(-273.15),
};

interface ReadyInfo {
  port?: number;
  layout: {
    u16: number;
    i16: number;
    u32: Record<string, number>;
    i32: Record<string, number>;
    f32: Record<string, number>;
    scratch: number;
  };
  coils: number[];
  discrete: number[];
}

interface PythonPeer {
  ready: ReadyInfo;
  stop(): Promise<void>;
}

/** Starts pymodbus_server.py and waits for its READY line. */
function startPymodbus(args: string[]): Promise<PythonPeer> {
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [SERVER_SCRIPT, ...args], { stdio: 'pipe' });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin.end(); // the script exits when its stdin closes
    });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`pymodbus server did not become ready within 15 s; stderr: ${stderr}`));
    }, 15_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith('READY '));
      if (!line) return;
      clearTimeout(timer);
      resolve({ ready: JSON.parse(line.slice('READY '.length)) as ReadyInfo, stop });
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pymodbus server exited with code ${String(code)} before READY; stderr: ${stderr}`));
    });
  });
}

/** The checks both pymodbus set-ups run: every type and word order, both bit tables, writes. */
function pymodbusChecks(context: () => { client: ModbusClient; ready: ReadyInfo }): void {
  const unit = 1;

  for (const table of ['holding', 'input'] as const) {
    it(`${table} registers: u16 and i16`, async () => {
      const { client, ready } = context();
      const read =
        table === 'holding'
          ? client.readHoldingRegisters.bind(client)
          : client.readInputRegisters.bind(client);
      const registers = await read(unit, ready.layout.u16, 2, OPTS);
      assert.equal(decodeRegisters(registers.slice(0, 1), 'u16'), EXPECTED.u16);
      assert.equal(decodeRegisters(registers.slice(1, 2), 'i16'), EXPECTED.i16);
    });

    for (const type of ['u32', 'i32', 'f32'] as const) {
      it(`${table} registers: ${type} in every word order`, async () => {
        const { client, ready } = context();
        const read =
          table === 'holding'
            ? client.readHoldingRegisters.bind(client)
            : client.readInputRegisters.bind(client);
        for (const order of WORD_ORDERS) {
          const address = ready.layout[type][order];
          assert.ok(address !== undefined, `layout has ${type} ${order}`);
          const registers = await read(unit, address, 2, OPTS);
          assert.equal(
            decodeRegisters(registers, type, order),
            EXPECTED[type],
            `${type} ${order} registers ${JSON.stringify(registers)}`,
          );
        }
      });
    }
  }

  it('coils and discrete inputs across a byte boundary', async () => {
    const { client, ready } = context();
    const coils = await client.readCoils(unit, 0, ready.coils.length, OPTS);
    assert.deepEqual(
      coils,
      ready.coils.map((b) => b === 1),
    );
    const inputs = await client.readDiscreteInputs(unit, 0, ready.discrete.length, OPTS);
    assert.deepEqual(
      inputs,
      ready.discrete.map((b) => b === 1),
    );
  });

  it('writes a register and a coil and reads them back (FC6, FC5)', async () => {
    const { client, ready } = context();
    const address = ready.layout.scratch;
    await client.writeRegister(unit, address, 0xbeef, OPTS);
    assert.deepEqual(await client.readHoldingRegisters(unit, address, 1, OPTS), [0xbeef]);
    await client.writeCoil(unit, 40, true, OPTS);
    assert.deepEqual(await client.readCoils(unit, 40, 1, OPTS), [true]);
    await client.writeCoil(unit, 40, false, OPTS);
    assert.deepEqual(await client.readCoils(unit, 40, 1, OPTS), [false]);
  });

  it('writes multiple registers and coils and reads them back (FC16, FC15)', async () => {
    const { client, ready } = context();
    const address = ready.layout.scratch + 2;
    const f32 = encodeRegisters(12.5, 'f32', 'CDAB');
    await client.writeRegisters(unit, address, [1, 2, ...f32], OPTS);
    const back = await client.readHoldingRegisters(unit, address, 4, OPTS);
    assert.deepEqual(back.slice(0, 2), [1, 2]);
    assert.equal(decodeRegisters(back.slice(2), 'f32', 'CDAB'), 12.5);
    const bits = [true, false, true, true, false, false, true, false, true];
    await client.writeCoils(unit, 50, bits, OPTS);
    assert.deepEqual(await client.readCoils(unit, 50, bits.length, OPTS), bits);
  });

  it('an address beyond the table is answered with an exception (ILLEGAL DATA ADDRESS)', async () => {
    const { client } = context();
    await assert.rejects(
      client.readHoldingRegisters(unit, 1000, 2, OPTS),
      (e: unknown) => isModbusError(e, 'MODBUS_EXCEPTION') && e.exceptionCode === 0x02,
    );
  });
}

/** Counted as a failed test (not only as cancelled suites) when a peer is missing. */
function requirePeers(): void {
  requireCommand('socat', 'socat');
  requirePythonModule('pymodbus', 'python3-pymodbus', PYTHON);
  requirePythonModule('serial_asyncio', 'python3-serial-asyncio', PYTHON);
}

it('the third-party peers are installed (socat, python3-pymodbus for /usr/bin/python3)', () => {
  requirePeers();
});

describe('peer: pymodbus 3.0.0rc1, Modbus TCP', () => {
  let peer: PythonPeer | undefined;
  let client: ModbusClient | undefined;
  let ready: ReadyInfo | undefined;

  before(async () => {
    requirePythonModule('pymodbus', 'python3-pymodbus', PYTHON);
    peer = await startPymodbus(['--tcp', '0']);
    ready = peer.ready;
    assert.ok(ready.port, 'READY line carries the port');
    const transport = new TcpTransport({ host: '127.0.0.1', port: ready.port, connectTimeoutMs: 2000 });
    await transport.open();
    client = new ModbusClient({ transport, framing: 'tcp' });
  });

  after(async () => {
    await client?.close();
    await peer?.stop();
  });

  pymodbusChecks(() => {
    assert.ok(client && ready, 'set-up failed');
    return { client, ready };
  });

  it('reuses one TCP connection for all requests and keeps transaction ids in step', async () => {
    assert.ok(client);
    const results = await Promise.all([1, 2, 3, 4].map(() => client?.readHoldingRegisters(1, 0, 1, OPTS)));
    assert.deepEqual(results, [[EXPECTED.u16], [EXPECTED.u16], [EXPECTED.u16], [EXPECTED.u16]]);
    assert.equal(client.stats.strayFrames, 0);
  });
});

describe('peer: pymodbus 3.0.0rc1, Modbus RTU over a socat pty pair', () => {
  let pair: PtyPair | undefined;
  let peer: PythonPeer | undefined;
  let client: ModbusClient | undefined;
  let ready: ReadyInfo | undefined;

  before(async () => {
    requirePeers();
    pair = await createPtyPair('socat');
    peer = await startPymodbus([
      '--rtu',
      pair.a,
      '--baud',
      String(LINE.baudRate),
      '--parity',
      'N',
      '--stopbits',
      '2',
    ]);
    ready = peer.ready;
    const transport = new SerialTransport({ path: pair.b, serial: LINE });
    await transport.open();
    client = new ModbusClient({ transport, framing: 'rtu', serial: LINE });
  });

  after(async () => {
    await client?.close();
    await peer?.stop();
    await pair?.close();
  });

  pymodbusChecks(() => {
    assert.ok(client && ready, 'set-up failed');
    return { client, ready };
  });
});

describe('peer: modbus-serial ServerTCP', () => {
  const holding = Array.from({ length: 100 }, () => 0);
  const input = Array.from({ length: 100 }, (_, i) => 1000 + i);
  const coils = Array.from({ length: 100 }, (_, i) => i % 3 === 0);
  const discrete = Array.from({ length: 100 }, (_, i) => i % 2 === 1);
  let server: { close(cb: (err: Error | null) => void): void } | undefined;
  let client: ModbusClient | undefined;

  before(async () => {
    // The MAP 6.3 example values, then 0x12345678 as two registers high word first (ABCD).
    holding.splice(0, 5, 555, 0, 100, 0x1234, 0x5678);
    // Loaded here only: modbus-serial patches Buffer.prototype and throws non-Errors.
    const { ServerTCP } = await import('modbus-serial');
    const port = await freePort();
    const vector = {
      getHoldingRegister: (addr: number): number => holding[addr] ?? 0,
      getInputRegister: (addr: number): number => input[addr] ?? 0,
      getCoil: (addr: number): boolean => coils[addr] ?? false,
      getDiscreteInput: (addr: number): boolean => discrete[addr] ?? false,
      setRegister: (addr: number, value: number): void => {
        holding[addr] = value;
      },
      setCoil: (addr: number, value: boolean): void => {
        coils[addr] = value;
      },
    };
    const instance = new ServerTCP(vector, { host: '127.0.0.1', port, unitID: 1 });
    server = instance;
    await new Promise<void>((resolve, reject) => {
      instance.on('initialized', () => resolve());
      instance.on('serverError', (error: unknown) =>
        reject(error instanceof Error ? error : new Error(String(error))),
      );
    });
    const transport = new TcpTransport({ host: '127.0.0.1', port, connectTimeoutMs: 2000 });
    await transport.open();
    client = new ModbusClient({ transport, framing: 'tcp' });
  });

  after(async () => {
    await client?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('reads holding and input registers (FC3, FC4)', async () => {
    assert.ok(client);
    const registers = await client.readHoldingRegisters(1, 0, 5, OPTS);
    assert.deepEqual(registers, [555, 0, 100, 0x1234, 0x5678]);
    assert.equal(decodeRegisters(registers.slice(3), 'u32', 'ABCD'), 0x12345678);
    assert.deepEqual(await client.readInputRegisters(1, 10, 3, OPTS), [1010, 1011, 1012]);
  });

  it('reads coils and discrete inputs (FC1, FC2)', async () => {
    assert.ok(client);
    assert.deepEqual(await client.readCoils(1, 0, 10, OPTS), coils.slice(0, 10));
    assert.deepEqual(await client.readDiscreteInputs(1, 3, 11, OPTS), discrete.slice(3, 14));
  });

  it('writes registers and coils (FC6, FC16, FC5, FC15) and reads them back', async () => {
    assert.ok(client);
    await client.writeRegister(1, 20, 0xcafe, OPTS);
    await client.writeRegisters(1, 30, [7, 8, 9], OPTS);
    assert.deepEqual(holding.slice(30, 33), [7, 8, 9]);
    assert.deepEqual(await client.readHoldingRegisters(1, 20, 1, OPTS), [0xcafe]);
    await client.writeCoil(1, 1, true, OPTS);
    await client.writeCoils(1, 60, [true, true, false, true], OPTS);
    assert.deepEqual(await client.readCoils(1, 60, 4, OPTS), [true, true, false, true]);
    assert.equal(coils[1], true);
  });

  it('a request for another unit id is not answered: MODBUS_TIMEOUT', async () => {
    assert.ok(client);
    await assert.rejects(client.readHoldingRegisters(2, 0, 1, { timeoutMs: 300 }), (e: unknown) =>
      isModbusError(e, 'MODBUS_TIMEOUT'),
    );
  });
});
