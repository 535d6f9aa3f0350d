/**
 * Serial line transport (RS-485 adapters, pseudo-terminals in tests) on the `serialport` package.
 *
 * Each open() builds a fresh SerialPort object: after a USB adapter vanishes the old stream object
 * is left half-closed by serialport, and starting from a clean one is the reliable way to reopen
 * (the adapter usually comes back under the same path).
 */
import { SerialPort } from 'serialport';
import { ModbusError } from '../errors.js';
import { TransportListeners, type SerialSettings, type Transport } from './transport.js';

export interface SerialTransportOptions {
  /** Device path, e.g. /dev/ttyUSB0 or /dev/pts/3. */
  path: string;
  /** Line settings; default 9600 8E1. Give the ModbusClient the same ones, for its RTU timing. */
  serial?: SerialSettings;
}

/** Modbus over Serial Line v1.02 section 2.5.1: the default is 8 data bits, even parity, 1 stop bit. */
export const DEFAULT_SERIAL_SETTINGS: Readonly<SerialSettings> = {
  baudRate: 9600,
  dataBits: 8,
  parity: 'even',
  stopBits: 1,
};

function transportError(message: string, cause?: unknown): ModbusError {
  return new ModbusError('MODBUS_TRANSPORT', message, cause === undefined ? {} : { cause });
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export class SerialTransport extends TransportListeners implements Transport {
  readonly kind = 'serial' as const;
  readonly description: string;
  readonly path: string;
  readonly settings: SerialSettings;

  private port: SerialPort | undefined;
  private opening: Promise<void> | undefined;
  private closeRequested = false;
  /** The last 'error' event of the current port, reported to close listeners if the port then dies. */
  private lastError: Error | undefined;
  /** Rejecters of writes in progress, failed at once if the port closes under them. */
  private readonly pendingWrites = new Set<(error: Error) => void>();

  constructor(options: SerialTransportOptions) {
    super();
    this.path = options.path;
    this.settings = { ...(options.serial ?? DEFAULT_SERIAL_SETTINGS) };
    const s = this.settings;
    const parity = s.parity === 'none' ? 'N' : s.parity === 'even' ? 'E' : 'O';
    this.description = `${this.path}@${s.baudRate}-${s.dataBits}${parity}${s.stopBits}`;
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    this.opening ??= this.openPort().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private openPort(): Promise<void> {
    const port = new SerialPort({
      path: this.path,
      baudRate: this.settings.baudRate,
      dataBits: this.settings.dataBits,
      parity: this.settings.parity,
      stopBits: this.settings.stopBits,
      autoOpen: false,
    });
    // An 'error' event without a listener would be thrown by EventEmitter: always listen.
    port.on('error', (error: Error) => {
      this.lastError = error;
    });
    return new Promise<void>((resolve, reject) => {
      port.open((error) => {
        if (error) {
          reject(transportError(`cannot open ${this.description}: ${error.message}`, error));
          return;
        }
        this.port = port;
        this.closeRequested = false;
        this.lastError = undefined;
        port.on('data', (chunk: Buffer) => {
          if (this.port !== port) return;
          this.deliverData(chunk);
        });
        // serialport reports a vanished device as a 'close' carrying a DisconnectedError.
        port.on('close', (error: Error | null) => this.handleClose(port, error ?? undefined));
        // End of file on the device also means it is gone; close so the 'close' path reports it.
        port.on('end', () => {
          if (port.isOpen) port.close(() => undefined, new Error('end of file on the serial device'));
        });
        resolve();
      });
    });
  }

  private handleClose(port: SerialPort, error: Error | undefined): void {
    if (this.port !== port) return;
    this.port = undefined;
    port.removeAllListeners('data');
    const requested = this.closeRequested;
    const reason = requested
      ? undefined
      : transportError(
          `${this.description} closed: ${(error ?? this.lastError)?.message ?? 'the device went away'}`,
          error ?? this.lastError,
        );
    for (const reject of [...this.pendingWrites])
      reject(reason ?? transportError(`${this.description} was closed`));
    this.pendingWrites.clear();
    this.deliverClose(reason);
  }

  /** Resolves once the bytes have left the OS buffer (tcdrain), so the caller can time the line. */
  write(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port || !port.isOpen) return Promise.reject(transportError(`${this.description} is not open`));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        this.pendingWrites.delete(fail);
        if (error) reject(error);
        else resolve();
      };
      const fail = (error: Error): void => settle(error);
      this.pendingWrites.add(fail);
      port.write(data, (error) => {
        if (error)
          settle(transportError(`write to ${this.description} failed: ${asError(error).message}`, error));
      });
      port.drain((error) => {
        if (error)
          settle(transportError(`drain on ${this.description} failed: ${asError(error).message}`, error));
        else settle();
      });
    });
  }

  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    const port = this.port;
    if (!port || !port.isOpen) return;
    this.closeRequested = true;
    await new Promise<void>((resolve) => {
      port.close((error) => {
        // A failing close still leaves us without a usable port; report it like a vanished one.
        if (error && this.port === port) this.handleClose(port, asError(error));
        resolve();
      });
    });
  }
}
