/**
 * The ONE mock transport (ARCHITECTURE.md, "Code map"): the real ModbusClient runs on it unchanged,
 * and a test scripts the other end byte for byte. It records every frame written, answers through a
 * responder the test installs with `onWrite`, can push unsolicited bytes (`inject`) and can drop
 * the link as a vanished USB adapter or a reset socket would (`simulateDisconnect`).
 */
import { performance } from 'node:perf_hooks';
import { ModbusError } from '../errors.js';
import { TransportListeners, type Transport } from './transport.js';

/**
 * What the scripted far end does with one written frame:
 * - a Buffer: answer with it, as one chunk, on the next turn of the event loop;
 * - a Buffer[]: answer with these chunks, one per turn of the event loop (well inside t3.5);
 * - null: stay silent;
 * - an object: wait `delayMs` before the first chunk and `chunkGapMs` between chunks (a gap longer
 *   than the receiver's t3.5 splits a frame in two, MSL v1.02 section 2.5.1.1).
 */
export type MockReply =
  Buffer | Buffer[] | null | { delayMs?: number; chunks: Buffer[]; chunkGapMs?: number };

export type MockResponder = (frame: Buffer) => MockReply;

export interface MockRecord {
  bytes: Buffer;
  /** performance.now() when the bytes were written (or delivered, for received bytes). */
  at: number;
}

export class MockTransport extends TransportListeners implements Transport {
  readonly kind = 'mock' as const;
  readonly description: string;
  /** Every frame written, in order, with the time it was handed over. */
  readonly writes: MockRecord[] = [];
  /** Every chunk delivered to the data listeners (replies and injected bytes), in order. */
  readonly deliveries: MockRecord[] = [];

  private open_ = false;
  private responder: MockResponder | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly immediates = new Set<NodeJS.Immediate>();

  constructor(description = 'mock') {
    super();
    this.description = description;
  }

  get isOpen(): boolean {
    return this.open_;
  }

  /** Frames written so far, without their times. */
  get written(): Buffer[] {
    return this.writes.map((w) => w.bytes);
  }

  async open(): Promise<void> {
    this.open_ = true;
  }

  /** Installs (or, with undefined, removes) the scripted responder. */
  onWrite(responder: MockResponder | undefined): void {
    this.responder = responder;
  }

  async write(data: Buffer): Promise<void> {
    if (!this.open_) throw new ModbusError('MODBUS_TRANSPORT', `${this.description} is not open`);
    const bytes = Buffer.from(data);
    this.writes.push({ bytes, at: performance.now() });
    const reply = this.responder?.(bytes) ?? null;
    this.schedule(reply);
  }

  /** Pushes bytes to the data listeners now, as if they had arrived unasked. */
  inject(bytes: Buffer | readonly number[]): void {
    if (!this.open_) return;
    const chunk = Buffer.from(bytes);
    this.deliveries.push({ bytes: chunk, at: performance.now() });
    this.deliverData(chunk);
  }

  /** Drops the link as a failure: pending replies are lost and close listeners get `error`. */
  simulateDisconnect(error: Error = new ModbusError('MODBUS_TRANSPORT', 'mock link lost')): void {
    this.shutDown(error);
  }

  async close(): Promise<void> {
    this.shutDown(undefined);
  }

  private shutDown(error: Error | undefined): void {
    if (!this.open_) return;
    this.open_ = false;
    for (const timer of this.timers) clearTimeout(timer);
    for (const immediate of this.immediates) clearImmediate(immediate);
    this.timers.clear();
    this.immediates.clear();
    this.deliverClose(error);
  }

  private schedule(reply: MockReply): void {
    if (reply === null) return;
    const plan = Buffer.isBuffer(reply)
      ? { chunks: [reply] }
      : Array.isArray(reply)
        ? { chunks: reply }
        : reply;
    const chunks = [...plan.chunks];
    const next = (): void => {
      const chunk = chunks.shift();
      if (chunk === undefined) return;
      this.inject(chunk);
      if (chunks.length > 0) this.later(plan.chunkGapMs ?? 0, next);
    };
    this.later(plan.delayMs ?? 0, next);
  }

  /** Runs `fn` after `ms` (0: on the next turn of the event loop, after the write has resolved). */
  private later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      const immediate = setImmediate(() => {
        this.immediates.delete(immediate);
        fn();
      });
      this.immediates.add(immediate);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
