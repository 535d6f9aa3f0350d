/**
 * A Transport moves raw bytes; it knows nothing about Modbus framing. Framing (RTU silence
 * detection, MBAP length) lives in drivers/modbus so that the same framer runs over a serial
 * line, a TCP socket (RTU-over-TCP gateways) or the test mock.
 */
export type TransportKind = 'serial' | 'tcp' | 'mock';

export type DataListener = (chunk: Buffer) => void;
export type CloseListener = (error?: Error) => void;

export interface Transport {
  readonly kind: TransportKind;
  /** Human-readable endpoint, e.g. "/dev/ttyUSB0@9600-8E1" or "10.0.0.5:502". Never contains secrets. */
  readonly description: string;
  readonly isOpen: boolean;
  open(): Promise<void>;
  /** Resolves once the bytes are handed to the OS (serial: after drain). */
  write(data: Buffer): Promise<void>;
  /** Subscribe to received bytes. Returns an unsubscribe function. */
  onData(listener: DataListener): () => void;
  /** Called once when the link closes, with the error if it was not a requested close. */
  onClose(listener: CloseListener): () => void;
  close(): Promise<void>;
}

/** Serial line settings. Modbus over Serial Line v1.02 section 2.5.1: default 8E1 (even parity). */
export interface SerialSettings {
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}

/** Bits on the wire for one character: start + data + parity + stop. 8E1 and 8N2 are both 11. */
export function bitsPerCharacter(s: SerialSettings): number {
  return 1 + s.dataBits + (s.parity === 'none' ? 0 : 1) + s.stopBits;
}

/** Milliseconds one character occupies on the wire at the line's settings. */
export function characterTimeMs(s: SerialSettings): number {
  return (bitsPerCharacter(s) * 1000) / s.baudRate;
}

/**
 * The 3.5-character inter-frame silence t3.5 in ms. Modbus over Serial Line v1.02 section 2.5.1.1:
 * above 19200 baud a fixed 1.750 ms is recommended instead of scaling with the baud rate.
 */
export function interFrameSilenceMs(s: SerialSettings): number {
  return s.baudRate > 19200 ? 1.75 : 3.5 * characterTimeMs(s);
}

/**
 * The listener bookkeeping every transport shares: onData/onClose as the Transport interface
 * describes them, and delivery to a copy of the set, so a listener that unsubscribes while being
 * called does not make the loop skip the next one.
 */
export abstract class TransportListeners {
  private readonly dataListeners = new Set<DataListener>();
  private readonly closeListeners = new Set<CloseListener>();

  onData(listener: DataListener): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: CloseListener): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  protected deliverData(chunk: Buffer): void {
    for (const listener of [...this.dataListeners]) listener(chunk);
  }

  protected deliverClose(reason: Error | undefined): void {
    for (const listener of [...this.closeListeners]) listener(reason);
  }
}
