/**
 * Modbus client (master) over any Transport, with RTU or TCP (MBAP) framing.
 *
 * One transaction at a time: callers may call concurrently, requests wait in a FIFO queue. On a
 * serial line this is the protocol itself (Modbus over Serial Line v1.02, MSL, section 2.1: the
 * master starts one transaction at a time); over TCP it keeps slow gateways and small devices,
 * which often serve one request per connection at a time, from being overrun.
 *
 * Every failure is a ModbusError with a stable code (see docs/modbus-driver.md). Replies are
 * hostile input: whatever bytes arrive, a request ends in a result or a typed error, and nothing is
 * ever thrown out of a transport callback or a timer.
 */
import { performance } from 'node:perf_hooks';
import { hasValidCrc } from './crc.js';
import { ModbusError, isModbusError } from './errors.js';
import { decodeResponse, encodeRequest, responseLengthFromHeader } from './pdu.js';
import type { ModbusRequest, ModbusResponse } from './pdu.js';
import { MAX_RTU_FRAME, RtuFrameAssembler, decodeRtuFrame, encodeRtuFrame } from './rtu.js';
import type { RtuFrame } from './rtu.js';
import { MbapFrameAssembler, encodeMbapFrame } from './tcp.js';
import type { MbapFrame } from './tcp.js';
import { characterTimeMs, interFrameSilenceMs } from '../transport/transport.js';
import type { SerialSettings, Transport } from '../transport/transport.js';

export type Framing = 'rtu' | 'tcp';

export interface ModbusClientOptions {
  /** The client owns the transport: close() closes it. Open it before the first request. */
  transport: Transport;
  framing: Framing;
  /** Line settings, for the RTU timing (t3.5, character time). Default 9600 8E1 (MSL section 2.5.1). */
  serial?: SerialSettings;
  /**
   * Silence that ends a received RTU frame, instead of t3.5. USB adapters deliver bytes in bursts
   * (latency timers of 1-16 ms), so a frame can show gaps longer than t3.5 that are not on the wire.
   */
  frameSilenceMs?: number;
  /** Time the slaves get to process a broadcast before the next request (MSL 2.4.1). Default 100 ms. */
  broadcastTurnaroundMs?: number;
}

export interface RequestOptions {
  /** Response timeout, counted from the end of the request on the wire (MSL 2.4.1). */
  timeoutMs: number;
  /** Device quirk: extra silence before this request, added to t3.5. */
  interFrameDelayMs?: number;
}

export interface TransactionResult {
  response: ModbusResponse;
  /** From the moment the transport took the last request byte to the complete reply (0 for a broadcast). */
  rttMs: number;
  requestBytes: number;
  /** Bytes of the reply frame (RTU: with unit id and CRC; TCP: with the MBAP header). 0 for a broadcast. */
  responseBytes: number;
}

export interface ModbusClientStats {
  /** Well-formed frames that answered nobody: other unit ids, late replies of timed-out requests. */
  strayFrames: number;
  bytesIn: number;
  bytesOut: number;
}

/** MSL v1.02 section 2.5.1: the default serial line is 9600 baud, 8 data bits, even parity, 1 stop bit. */
const DEFAULT_SERIAL: SerialSettings = { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 };

/** MSL v1.02 section 2.4.1 puts a typical turnaround delay at 100 to 200 ms. */
const DEFAULT_BROADCAST_TURNAROUND_MS = 100;

/** How many timed-out RTU requests we remember, to recognise their late replies as strays. */
const STALE_MEMORY = 4;

interface Job {
  unitId: number;
  req: ModbusRequest;
  opts: RequestOptions;
  /** The complete request frame; for TCP the transaction id is filled in when it is sent. */
  adu: Buffer;
  settled: boolean;
  resolve: (result: TransactionResult) => void;
  reject: (error: ModbusError) => void;
}

/** The transaction on the wire: a request sent (or being sent) and waiting for its reply. */
interface InFlight {
  job: Job;
  transactionId: number;
  writeStartedAt: number;
  sentAt: number | undefined;
  broadcast: boolean;
  /** Unit id of the last well-formed reply from another unit (RTU), for the timeout message. */
  strayUnit: number | undefined;
  timer: NodeJS.Timeout | undefined;
  done: () => void;
}

function toModbusError(error: unknown, fallback = 'unexpected failure while handling a reply'): ModbusError {
  if (isModbusError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ModbusError('MODBUS_MALFORMED', `${fallback}: ${message}`, { cause: error });
}

function hex(bytes: Buffer): string {
  return bytes.toString('hex').replace(/(..)(?=.)/g, '$1 ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(ms))));
}

const KNOWN_FUNCTIONS = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0f, 0x10]);

/**
 * Why an RTU frame that ended by silence (not by its declared length) cannot be a whole reply,
 * or undefined when its length is unknowable from the header and only the CRC can tell.
 */
function silenceEndedProblem(frame: Buffer): ModbusError | undefined {
  if (frame.length < 2)
    return new ModbusError('MODBUS_TRUNCATED', `RTU frame of ${frame.length} byte(s) ended by silence`, {
      frame,
    });
  const fc = frame[1] ?? 0;
  if (!(fc & 0x80) && !KNOWN_FUNCTIONS.has(fc)) return undefined;
  const pduLength = responseLengthFromHeader(frame.subarray(1));
  if (pduLength === undefined) {
    return new ModbusError(
      'MODBUS_TRUNCATED',
      `RTU frame ended by silence before its byte count: ${hex(frame)}`,
      { frame },
    );
  }
  const total = 1 + pduLength + 2;
  if (total > MAX_RTU_FRAME) {
    return new ModbusError(
      'MODBUS_MALFORMED',
      `RTU frame announces ${total} bytes, more than the ${MAX_RTU_FRAME}-byte maximum (MSL 2.5.1)`,
      {
        frame,
      },
    );
  }
  if (frame.length < total) {
    return new ModbusError(
      'MODBUS_TRUNCATED',
      `RTU frame ended by silence after ${frame.length} of ${total} bytes: ${hex(frame)}`,
      { frame },
    );
  }
  return undefined;
}

/** The normal response a broadcast write would have had; nobody answers a broadcast (MSL 2.1). */
function broadcastResponse(req: ModbusRequest): ModbusResponse {
  switch (req.fc) {
    case 0x05:
      return { fc: 0x05, address: req.address, value: req.value };
    case 0x06:
      return { fc: 0x06, address: req.address, value: req.value };
    case 0x0f:
    case 0x10:
      return { fc: req.fc, address: req.address, quantity: req.values.length };
    default:
      throw new ModbusError('MODBUS_INVALID_REQUEST', `function ${req.fc} cannot be broadcast`);
  }
}

export class ModbusClient {
  readonly stats: ModbusClientStats = { strayFrames: 0, bytesIn: 0, bytesOut: 0 };
  readonly framing: Framing;

  private readonly transport: Transport;
  private readonly serial: SerialSettings;
  /** t3.5 of the line, MSL 2.5.1.1: the minimum silence between two frames. */
  private readonly t35Ms: number;
  private readonly broadcastTurnaroundMs: number;
  private readonly rtu: RtuFrameAssembler | undefined;
  private readonly mbap: MbapFrameAssembler | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  private readonly queue: Job[] = [];
  private running = false;
  private inFlight: InFlight | undefined;
  private activeJob: Job | undefined;
  private nextTransactionId = 0;
  /** performance.now() of the last byte seen on the line or sent by us (RTU timing). */
  private lastLineActivity = Number.NEGATIVE_INFINITY;
  private readonly stale: Array<{ unitId: number; req: ModbusRequest }> = [];
  /** A close-and-reopen of the transport after the TCP stream lost frame sync; requests wait for it. */
  private resync: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: ModbusClientOptions) {
    this.transport = options.transport;
    this.framing = options.framing;
    this.serial = options.serial ?? DEFAULT_SERIAL;
    this.t35Ms = interFrameSilenceMs(this.serial);
    this.broadcastTurnaroundMs = options.broadcastTurnaroundMs ?? DEFAULT_BROADCAST_TURNAROUND_MS;
    if (this.framing === 'rtu') {
      this.rtu = new RtuFrameAssembler({
        silenceMs: options.frameSilenceMs ?? this.t35Ms,
        lengthOf: responseLengthFromHeader,
        onFrame: (frame, endedBy) => this.guard(() => this.onRtuFrame(frame, endedBy)),
      });
    } else {
      this.mbap = new MbapFrameAssembler(
        (frame) => this.guard(() => this.onMbapFrame(frame)),
        (error) => this.guard(() => this.onMbapError(error)),
      );
    }
    this.unsubscribe.push(this.transport.onData((chunk) => this.guard(() => this.onData(chunk))));
    this.unsubscribe.push(this.transport.onClose((error) => this.guard(() => this.onTransportClose(error))));
  }

  // ------------------------------------------------------------------ public API

  /** Sends one request and waits for its reply. Never rejects with anything but a ModbusError. */
  request(unitId: number, req: ModbusRequest, opts: RequestOptions): Promise<TransactionResult> {
    if (this.closed) {
      return Promise.reject(new ModbusError('MODBUS_CLOSED', 'the Modbus client is closed', { unitId }));
    }
    let adu: Buffer;
    try {
      adu = this.buildFrame(unitId, req, opts);
    } catch (error) {
      return Promise.reject(toModbusError(error, 'cannot encode the request'));
    }
    return new Promise<TransactionResult>((resolve, reject) => {
      const job: Job = { unitId, req, opts, adu, settled: false, resolve, reject };
      this.queue.push(job);
      this.pump();
    });
  }

  async readCoils(
    unitId: number,
    address: number,
    quantity: number,
    opts: RequestOptions,
  ): Promise<boolean[]> {
    return this.readBits(unitId, { fc: 0x01, address, quantity }, opts);
  }

  async readDiscreteInputs(
    unitId: number,
    address: number,
    quantity: number,
    opts: RequestOptions,
  ): Promise<boolean[]> {
    return this.readBits(unitId, { fc: 0x02, address, quantity }, opts);
  }

  async readHoldingRegisters(
    unitId: number,
    address: number,
    quantity: number,
    opts: RequestOptions,
  ): Promise<number[]> {
    return this.readRegisters(unitId, { fc: 0x03, address, quantity }, opts);
  }

  async readInputRegisters(
    unitId: number,
    address: number,
    quantity: number,
    opts: RequestOptions,
  ): Promise<number[]> {
    return this.readRegisters(unitId, { fc: 0x04, address, quantity }, opts);
  }

  async writeCoil(unitId: number, address: number, value: boolean, opts: RequestOptions): Promise<void> {
    await this.request(unitId, { fc: 0x05, address, value }, opts);
  }

  async writeRegister(unitId: number, address: number, value: number, opts: RequestOptions): Promise<void> {
    await this.request(unitId, { fc: 0x06, address, value }, opts);
  }

  async writeCoils(unitId: number, address: number, values: boolean[], opts: RequestOptions): Promise<void> {
    await this.request(unitId, { fc: 0x0f, address, values }, opts);
  }

  async writeRegisters(
    unitId: number,
    address: number,
    values: number[],
    opts: RequestOptions,
  ): Promise<void> {
    await this.request(unitId, { fc: 0x10, address, values }, opts);
  }

  private async readBits(
    unitId: number,
    req: { fc: 0x01 | 0x02; address: number; quantity: number },
    opts: RequestOptions,
  ): Promise<boolean[]> {
    const { response } = await this.request(unitId, req, opts);
    if (response.fc !== 0x01 && response.fc !== 0x02)
      throw new ModbusError(
        'MODBUS_WRONG_FUNCTION',
        `expected a bit read response, got function ${response.fc}`,
      );
    return response.bits;
  }

  private async readRegisters(
    unitId: number,
    req: { fc: 0x03 | 0x04; address: number; quantity: number },
    opts: RequestOptions,
  ): Promise<number[]> {
    const { response } = await this.request(unitId, req, opts);
    if (response.fc !== 0x03 && response.fc !== 0x04) {
      throw new ModbusError(
        'MODBUS_WRONG_FUNCTION',
        `expected a register read response, got function ${response.fc}`,
      );
    }
    return response.registers;
  }

  /** Fails the pending and queued requests with MODBUS_CLOSED and closes the transport. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const closedError = (): ModbusError => new ModbusError('MODBUS_CLOSED', 'the Modbus client was closed');
    for (const job of this.queue.splice(0)) this.settle(job, closedError());
    if (this.inFlight) this.finish(this.inFlight, closedError());
    if (this.activeJob) this.settle(this.activeJob, closedError());
    for (const off of this.unsubscribe.splice(0)) off();
    this.rtu?.dispose();
    this.mbap?.reset();
    this.closing = this.transport.close().catch((error: unknown) => {
      throw toModbusError(error, 'closing the transport failed');
    });
    return this.closing;
  }

  // ------------------------------------------------------------------ queue

  private buildFrame(unitId: number, req: ModbusRequest, opts: RequestOptions): Buffer {
    if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) {
      throw new ModbusError('MODBUS_INVALID_REQUEST', `timeoutMs ${opts.timeoutMs} is not a positive number`);
    }
    const extra = opts.interFrameDelayMs ?? 0;
    if (!Number.isFinite(extra) || extra < 0) {
      throw new ModbusError(
        'MODBUS_INVALID_REQUEST',
        `interFrameDelayMs ${extra} is not a non-negative number`,
      );
    }
    const pdu = encodeRequest(req);
    if (this.framing === 'tcp') return encodeMbapFrame(0, unitId, pdu);
    // MSL 2.1: unit 0 is broadcast; slaves do not answer it, so a read could never complete.
    if (unitId === 0 && req.fc <= 0x04) {
      throw new ModbusError(
        'MODBUS_INVALID_REQUEST',
        `function ${req.fc} is a read and cannot be broadcast (unit 0)`,
        { unitId, functionCode: req.fc },
      );
    }
    return encodeRtuFrame(unitId, pdu);
  }

  private pump(): void {
    if (this.running || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = true;
    this.activeJob = job;
    this.execute(job)
      .catch((error: unknown) => this.settle(job, toModbusError(error, 'request failed')))
      .finally(() => {
        this.activeJob = undefined;
        this.running = false;
        this.pump();
      });
  }

  private settle(job: Job, outcome: TransactionResult | ModbusError): void {
    if (job.settled) return;
    job.settled = true;
    if (outcome instanceof ModbusError) job.reject(outcome);
    else job.resolve(outcome);
  }

  private async execute(job: Job): Promise<void> {
    if (this.resync) await this.resync;
    if (this.framing === 'rtu') await this.waitForQuietLine(job.opts.interFrameDelayMs ?? 0);
    if (job.settled || this.closed) return;

    let transactionId = 0;
    if (this.framing === 'tcp') {
      // Implementation Guide v1.0b section 3.1.3: a new transaction id per request, so a late
      // reply to an earlier request can be told apart. Wraps at 65536.
      transactionId = this.nextTransactionId;
      this.nextTransactionId = (this.nextTransactionId + 1) & 0xffff;
      job.adu.writeUInt16BE(transactionId, 0);
    }
    // MSL 2.5.1.1: whatever partial frame is held now belongs to no transaction of ours.
    this.rtu?.reset();

    const broadcast = this.framing === 'rtu' && job.unitId === 0;
    await new Promise<void>((done) => {
      const flight: InFlight = {
        job,
        transactionId,
        writeStartedAt: performance.now(),
        sentAt: undefined,
        broadcast,
        strayUnit: undefined,
        timer: undefined,
        done,
      };
      this.inFlight = flight;
      // The timeout counts from the end of the request on the wire (MSL 2.4.1), so the time the
      // request itself takes on a slow line is added. A broadcast swaps it for the turnaround
      // delay once sent; until then it guards against a write that never completes.
      const wireMs = this.framing === 'rtu' ? job.adu.length * characterTimeMs(this.serial) : 0;
      flight.timer = setTimeout(() => this.guard(() => this.onTimeout(flight)), job.opts.timeoutMs + wireMs);
      this.stats.bytesOut += job.adu.length;
      this.transport.write(job.adu).then(
        () => this.guard(() => this.onSent(flight)),
        (error: unknown) =>
          this.guard(() =>
            this.finish(
              flight,
              isModbusError(error)
                ? error
                : new ModbusError('MODBUS_TRANSPORT', `write to ${this.transport.description} failed`, {
                    cause: error,
                  }),
            ),
          ),
      );
    });
  }

  /** MSL 2.5.1.1: a new frame may start only after t3.5 of silence (plus the device's own delay). */
  private async waitForQuietLine(extraMs: number): Promise<void> {
    const gap = this.t35Ms + extraMs;
    for (;;) {
      // Re-check after each sleep: bytes seen meanwhile push the deadline out.
      const remaining = this.lastLineActivity + gap - performance.now();
      if (remaining <= 0) return;
      await sleep(remaining);
    }
  }

  private onSent(flight: InFlight): void {
    const now = performance.now();
    if (this.framing === 'rtu') this.lastLineActivity = Math.max(this.lastLineActivity, now);
    if (this.inFlight !== flight) return;
    flight.sentAt = now;
    if (flight.broadcast) {
      // MSL 2.1 / 2.4.1: no slave answers a broadcast; give them the turnaround delay to act on it.
      if (flight.timer) clearTimeout(flight.timer);
      flight.timer = setTimeout(
        () =>
          this.guard(() => {
            this.finish(flight, {
              response: broadcastResponse(flight.job.req),
              rttMs: 0,
              requestBytes: flight.job.adu.length,
              responseBytes: 0,
            });
          }),
        this.broadcastTurnaroundMs,
      );
    }
  }

  private finish(flight: InFlight, outcome: TransactionResult | ModbusError): void {
    if (flight.timer) clearTimeout(flight.timer);
    flight.timer = undefined;
    if (this.inFlight === flight) this.inFlight = undefined;
    this.settle(flight.job, outcome);
    flight.done();
  }

  private succeed(flight: InFlight, response: ModbusResponse, responseBytes: number): void {
    const receivedAt = performance.now();
    const rttMs = Math.max(0, receivedAt - (flight.sentAt ?? flight.writeStartedAt));
    this.finish(flight, { response, rttMs, requestBytes: flight.job.adu.length, responseBytes });
  }

  private onTimeout(flight: InFlight): void {
    if (this.inFlight !== flight) return;
    const { unitId, req, opts } = flight.job;
    if (this.framing === 'rtu') {
      this.stale.push({ unitId, req });
      if (this.stale.length > STALE_MEMORY) this.stale.shift();
    }
    if (flight.strayUnit !== undefined) {
      this.finish(
        flight,
        new ModbusError(
          'MODBUS_WRONG_UNIT',
          `no reply from unit ${unitId} within ${opts.timeoutMs} ms, but unit ${flight.strayUnit} answered`,
          {
            unitId,
            functionCode: req.fc,
          },
        ),
      );
      return;
    }
    this.finish(
      flight,
      new ModbusError('MODBUS_TIMEOUT', `no reply from unit ${unitId} within ${opts.timeoutMs} ms`, {
        unitId,
        functionCode: req.fc,
      }),
    );
  }

  // ------------------------------------------------------------------ receiving

  /** Runs a callback from a transport, timer or assembler; nothing may escape from there. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      const flight = this.inFlight;
      if (flight) this.finish(flight, toModbusError(error));
    }
  }

  private onData(chunk: Buffer): void {
    this.stats.bytesIn += chunk.length;
    if (this.rtu) {
      this.lastLineActivity = performance.now();
      this.rtu.push(chunk);
    } else {
      this.mbap?.push(chunk);
    }
  }

  private onTransportClose(error: Error | undefined): void {
    this.rtu?.reset();
    this.mbap?.reset();
    const flight = this.inFlight;
    if (!flight) return;
    const message = `${this.transport.description} closed while waiting for unit ${flight.job.unitId}${error ? `: ${error.message}` : ''}`;
    this.finish(
      flight,
      new ModbusError('MODBUS_TRANSPORT', message, { unitId: flight.job.unitId, cause: error }),
    );
  }

  private onRtuFrame(frame: Buffer, endedBy: 'length' | 'silence'): void {
    const flight = this.inFlight;
    if (!flight || flight.broadcast) {
      // Nobody is waiting: a late reply, or traffic of another master. Count what looks like a frame.
      if (frame.length >= 4 && hasValidCrc(frame)) this.stats.strayFrames++;
      return;
    }
    const { job } = flight;
    const problem = endedBy === 'silence' ? silenceEndedProblem(frame) : undefined;
    if (problem) return this.finish(flight, problem);
    let decoded: RtuFrame;
    try {
      decoded = decodeRtuFrame(frame);
    } catch (error) {
      return this.finish(flight, toModbusError(error)); // MODBUS_TRUNCATED or MODBUS_CRC, at once
    }
    if (decoded.unitId !== job.unitId) {
      // Another unit's frame is not our reply (MSL 2.1): keep listening until our timeout.
      this.stats.strayFrames++;
      flight.strayUnit = decoded.unitId;
      return;
    }
    let response: ModbusResponse;
    try {
      response = decodeResponse(job.req, decoded.pdu);
    } catch (error) {
      const failure = toModbusError(error);
      if (failure.code !== 'MODBUS_EXCEPTION' && this.isLateReply(decoded.unitId, decoded.pdu)) {
        this.stats.strayFrames++;
        return;
      }
      return this.finish(flight, withUnit(failure, job.unitId));
    }
    this.succeed(flight, response, frame.length);
  }

  /** True when `pdu` is a fitting answer to a request of `unitId` that timed out earlier. */
  private isLateReply(unitId: number, pdu: Buffer): boolean {
    const index = this.stale.findIndex((s) => {
      if (s.unitId !== unitId) return false;
      try {
        decodeResponse(s.req, pdu);
        return true;
      } catch (error) {
        return isModbusError(error, 'MODBUS_EXCEPTION');
      }
    });
    if (index < 0) return false;
    this.stale.splice(index, 1);
    return true;
  }

  private onMbapFrame(frame: MbapFrame): void {
    const flight = this.inFlight;
    const responseBytes = 7 + frame.pdu.length;
    if (!flight) {
      this.stats.strayFrames++;
      return;
    }
    const { job } = flight;
    // Implementation Guide v1.0b section 3.1.3: the protocol identifier is 0 for Modbus.
    if (frame.protocolId !== 0) {
      return this.finish(
        flight,
        new ModbusError(
          'MODBUS_WRONG_TRANSACTION',
          `MBAP protocol id ${frame.protocolId} is not 0 (Modbus)`,
          { unitId: job.unitId, frame: frame.pdu },
        ),
      );
    }
    if (frame.transactionId !== flight.transactionId) {
      // Implementation Guide section 4.4.1 (client): a confirmation that matches no pending
      // transaction is discarded. It is the late answer of a request that already timed out.
      this.stats.strayFrames++;
      return;
    }
    if (frame.unitId !== job.unitId) {
      return this.finish(
        flight,
        new ModbusError(
          'MODBUS_WRONG_UNIT',
          `transaction ${frame.transactionId} answered by unit ${frame.unitId}, expected unit ${job.unitId}`,
          {
            unitId: job.unitId,
            functionCode: job.req.fc,
            frame: frame.pdu,
          },
        ),
      );
    }
    let response: ModbusResponse;
    try {
      response = decodeResponse(job.req, frame.pdu);
    } catch (error) {
      return this.finish(flight, withUnit(toModbusError(error), job.unitId));
    }
    this.succeed(flight, response, responseBytes);
  }

  private onMbapError(error: ModbusError): void {
    const flight = this.inFlight;
    if (flight) this.finish(flight, error);
    // The stream is out of step: nothing after this point can be trusted to start on a frame
    // boundary. Start over on a fresh connection; queued requests wait for it.
    if (this.resync || this.closed) return;
    this.resync = this.transport
      .close()
      .then(() => (this.closed ? undefined : this.transport.open()))
      .catch(() => {
        // The reopen failed: the next request's write reports MODBUS_TRANSPORT.
      })
      .finally(() => {
        this.resync = undefined;
      });
  }
}

function withUnit(error: ModbusError, unitId: number): ModbusError {
  if (error.unitId !== undefined) return error;
  return new ModbusError(error.code, error.message, {
    unitId,
    ...(error.functionCode === undefined ? {} : { functionCode: error.functionCode }),
    ...(error.exceptionCode === undefined ? {} : { exceptionCode: error.exceptionCode }),
    ...(error.frame === undefined ? {} : { frame: error.frame }),
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  });
}
