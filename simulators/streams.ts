/**
 * Byte streams an RTU slave can serve: a serial port (a pseudo-terminal or a real RS-485
 * adapter), a TCP socket carrying raw RTU frames ("RTU over TCP", as serial device servers do),
 * or any drivers/transport Transport. The simulator opens serial ports with the serialport
 * package directly rather than through the gateway's SerialTransport, so a bug in the gateway's
 * transport cannot hide itself by being on both ends of a test.
 */
import type { Socket } from 'node:net';
import { SerialPort } from 'serialport';
import type { SerialSettings } from '../drivers/transport/transport.js';
import { SimulatorError } from './errors.js';

/** The part of drivers/transport's Transport a slave needs; every Transport is one. */
export interface ByteStream {
  readonly description: string;
  write(data: Buffer): Promise<void>;
  onData(listener: (chunk: Buffer) => void): () => void;
  onClose(listener: (error?: Error) => void): () => void;
  close(): Promise<void>;
}

function listenerSet<T extends unknown[]>(): { add(fn: (...a: T) => void): () => void; emit(...a: T): void } {
  const fns = new Set<(...a: T) => void>();
  return {
    add(fn) {
      fns.add(fn);
      return () => fns.delete(fn);
    },
    emit(...a) {
      for (const fn of [...fns]) fn(...a);
    },
  };
}

/** Opens a serial port (MSL 2.5.1 defaults are 8E1; the caller passes the line's settings). */
export async function openSerialStream(path: string, serial: SerialSettings): Promise<ByteStream> {
  const port = new SerialPort({
    path,
    baudRate: serial.baudRate,
    dataBits: serial.dataBits,
    parity: serial.parity,
    stopBits: serial.stopBits,
    autoOpen: false,
  });
  const data = listenerSet<[Buffer]>();
  const closed = listenerSet<[Error | undefined]>();
  let closing = false;
  port.on('error', () => undefined); // reported through 'close'; an unheard 'error' would throw
  await new Promise<void>((resolve, reject) => {
    port.open((error) => {
      if (error)
        reject(
          new SimulatorError('SIM_CONFIG_INVALID', `cannot open serial port ${path}: ${error.message}`, {
            cause: error,
          }),
        );
      else resolve();
    });
  });
  port.on('data', (chunk: Buffer) => data.emit(chunk));
  port.on('close', (error: Error | null) =>
    closed.emit(closing ? undefined : (error ?? new Error(`${path} closed`))),
  );
  return {
    description: path,
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        port.write(bytes, (error) => (error ? reject(error) : resolve()));
      }),
    onData: (fn) => data.add(fn),
    onClose: (fn) => closed.add(fn),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}

/** Wraps an accepted TCP socket as a byte stream. */
export function socketStream(socket: Socket): ByteStream {
  const description = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  const closed = listenerSet<[Error | undefined]>();
  let lastError: Error | undefined;
  socket.on('error', (error) => {
    lastError = error;
  });
  socket.on('close', () => closed.emit(lastError));
  return {
    description,
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (socket.destroyed) return reject(new Error(`${description} is closed`));
        socket.write(bytes, (error) => (error ? reject(error) : resolve()));
      }),
    onData: (fn) => {
      socket.on('data', fn);
      return () => socket.off('data', fn);
    },
    onClose: (fn) => closed.add(fn),
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed) return resolve();
        socket.once('close', () => resolve());
        socket.destroy();
      }),
  };
}
