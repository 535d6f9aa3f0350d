/**
 * TCP transport for Modbus TCP devices and RS-485/Ethernet gateways (node:net).
 *
 * It keeps ONE connection and reuses it for every request: the Modbus Messaging on TCP/IP
 * Implementation Guide v1.0b section 4.2.1 recommends keeping the connection open rather than
 * opening one per transaction, and small gateways accept only a handful of connections. When the
 * connection drops, the close listeners hear about it at once (so a pending request fails fast),
 * and, if `reconnect` is set, the transport reconnects in the background with exponential backoff
 * and full jitter:
 *
 *     delayMs = random() * min(maxMs, initialMs * 2^attempt)     attempt = 0, 1, 2, ...
 *
 * (random() uniform in [0, 1); attempt resets after a successful connect). Full jitter spreads the
 * reconnects of many gateways that lost the same peer, so they do not all retry in step.
 * While disconnected, write() rejects with MODBUS_TRANSPORT instead of queueing: the caller's
 * request has a deadline and should fail now, not be sent late.
 */
import net from 'node:net';
import { ModbusError } from '../errors.js';
import { TransportListeners, type Transport } from './transport.js';

export interface TcpReconnectOptions {
  initialMs: number;
  maxMs: number;
}

export interface TcpTransportOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** Reconnect in the background after a drop (and after a failed open()). Off when absent. */
  reconnect?: TcpReconnectOptions;
  /** Idle time before TCP keepalive probes start; detects a peer that vanished without a FIN. */
  keepAliveInitialDelayMs?: number;
  /** Source of randomness for the jitter, [0, 1). Tests pass a fixed one. */
  random?: () => number;
}

/** Full-jitter exponential backoff; see the formula at the top of this file. */
export function backoffDelayMs(
  attempt: number,
  options: TcpReconnectOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return random() * ceiling;
}

function transportError(message: string, cause?: unknown): ModbusError {
  return new ModbusError('MODBUS_TRANSPORT', message, cause === undefined ? {} : { cause });
}

export class TcpTransport extends TransportListeners implements Transport {
  readonly kind = 'tcp' as const;
  readonly description: string;

  private socket: net.Socket | undefined;
  private connecting: Promise<void> | undefined;
  private pendingSocket: net.Socket | undefined;
  /** True between open() and close(): the user wants a connection, so drops are reconnected. */
  private wanted = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TcpTransportOptions) {
    super();
    this.description = `${options.host}:${options.port}`;
  }

  get isOpen(): boolean {
    return this.socket !== undefined;
  }

  /**
   * Connects. Rejects with MODBUS_TRANSPORT if the first attempt fails; with `reconnect` set the
   * transport then keeps trying in the background until close().
   */
  async open(): Promise<void> {
    this.wanted = true;
    if (this.socket) return;
    this.clearReconnectTimer();
    try {
      await this.connect();
      this.attempt = 0;
    } catch (error) {
      this.scheduleReconnect();
      throw error;
    }
  }

  private connect(): Promise<void> {
    this.connecting ??= this.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private connectOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: this.options.host, port: this.options.port });
      this.pendingSocket = socket;
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.destroy();
        if (this.pendingSocket === socket) this.pendingSocket = undefined;
        reject(transportError(`cannot connect to ${this.description}: ${error.message}`, error));
      };
      const timer = setTimeout(
        () => fail(new Error(`no connection within ${this.options.connectTimeoutMs} ms`)),
        this.options.connectTimeoutMs,
      );
      socket.once('error', fail);
      // A close() during the attempt destroys the socket without an error.
      socket.once('close', () => fail(new Error('closed while connecting')));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners();
        if (this.pendingSocket === socket) this.pendingSocket = undefined;
        if (!this.wanted) {
          socket.destroy();
          reject(transportError(`${this.description} was closed while connecting`));
          return;
        }
        this.adopt(socket);
        resolve();
      });
    });
  }

  private adopt(socket: net.Socket): void {
    // Modbus requests are small and latency-bound: send each at once (no Nagle coalescing).
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.options.keepAliveInitialDelayMs ?? 10_000);
    let lastError: Error | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.deliverData(chunk);
    });
    socket.on('error', (error: Error) => {
      lastError = error;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      const reason = transportError(
        `connection to ${this.description} lost: ${lastError?.message ?? 'closed by the peer'}`,
        lastError,
      );
      this.deliverClose(reason);
      this.scheduleReconnect();
    });
    this.socket = socket;
  }

  private scheduleReconnect(): void {
    const reconnect = this.options.reconnect;
    if (!reconnect || !this.wanted || this.reconnectTimer || this.socket) return;
    const delay = backoffDelayMs(this.attempt, reconnect, this.options.random);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.wanted || this.socket) return;
      this.connect().then(
        () => {
          this.attempt = 0;
        },
        () => this.scheduleReconnect(),
      );
    }, delay);
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  write(data: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed)
      return Promise.reject(transportError(`not connected to ${this.description}`));
    return new Promise<void>((resolve, reject) => {
      socket.write(data, (error) => {
        if (error) reject(transportError(`write to ${this.description} failed: ${error.message}`, error));
        else resolve();
      });
    });
  }

  /** Closes the connection and stops reconnecting. Close listeners get no error. */
  async close(): Promise<void> {
    this.wanted = false;
    this.clearReconnectTimer();
    this.pendingSocket?.destroy();
    if (this.connecting) await this.connecting.catch(() => undefined);
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    if (!socket.destroyed) {
      await new Promise<void>((resolve) => {
        // Half-close politely (FIN), but do not wait long for a peer that does not answer.
        const timer = setTimeout(() => socket.destroy(), 500);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.end();
      });
    }
    this.deliverClose(undefined);
  }
}
