/**
 * The simulator tests' clients on real transports (a pty for RTU, loopback TCP) and a raw RTU
 * round trip on a socket. Importing this makes a test an integration test (test/tiers.ts); the pure
 * helpers are in ./helpers.ts.
 */
import { connect, type Socket } from 'node:net';
import { ModbusClient } from '../../drivers/modbus/client.js';
import { encodeRequest } from '../../drivers/modbus/pdu.js';
import { encodeRtuFrame } from '../../drivers/modbus/rtu.js';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { TcpTransport } from '../../drivers/transport/tcp.js';
import type { SerialSettings } from '../../drivers/transport/transport.js';
import type { Simulation } from '../../simulators/index.js';

/** A gateway-side RTU client on a serial path (one end of a pty pair). */
export async function rtuClient(path: string, serial: SerialSettings): Promise<ModbusClient> {
  const transport = new SerialTransport({ path, serial });
  await transport.open();
  return new ModbusClient({ transport, framing: 'rtu', serial });
}

/** A gateway-side Modbus TCP client. */
export async function tcpClient(port: number): Promise<ModbusClient> {
  const transport = new TcpTransport({ host: '127.0.0.1', port, connectTimeoutMs: 2000 });
  await transport.open();
  return new ModbusClient({ transport, framing: 'tcp' });
}

/** Sends one raw RTU request on a socket; resolves with ms until `expectedBytes` have come back. */
export function transact(socket: Socket, frame: Buffer, expectedBytes: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (chunk: Buffer): void => {
      got += chunk.length;
      if (got >= expectedBytes) {
        socket.off('data', onData);
        resolve(performance.now() - start);
      }
    };
    socket.on('data', onData);
    const start = performance.now();
    socket.write(frame);
  });
}

/**
 * Round-trip times, ms, of `rounds` raw reads of `quantity` input registers from unit 1 on the RTU
 * over TCP bus `busId`, one at a time on one socket (the pacing test and benchmark).
 */
export async function readTimes(
  sim: Simulation,
  busId: string,
  quantity: number,
  rounds: number,
): Promise<number[]> {
  const socket = connect(sim.bus(busId).port ?? 0, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const frame = encodeRtuFrame(1, encodeRequest({ fc: 0x04, address: 0, quantity }));
  const times: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) times.push(await transact(socket, frame, 5 + 2 * quantity));
  } finally {
    socket.destroy();
  }
  return times;
}
