/**
 * Modbus slaves serving SimulatedDevices:
 * - RtuSlave: one RS-485 line (multi-drop: several unit ids share it) over a serial port, any byte
 *   stream, or a TCP server carrying raw RTU frames ("RTU over TCP", for machines without ptys).
 *   Modbus over Serial Line v1.02 (MSL) rules: answer only the addressed unit (2.1); execute a
 *   broadcast (unit 0) write but never answer it (2.1); drop a frame with a bad CRC silently, as a
 *   real slave cannot know it was addressed (2.4.1, 2.5.1.2); optional wire-speed pacing (pacing.ts).
 * - TcpSlave: Modbus TCP (MBAP, Modbus Messaging on TCP/IP Implementation Guide v1.0b section
 *   3.1.3), several unit ids, any number of concurrent connections.
 * Faults (faults.ts) are drawn per request from the addressed device and carried out here.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { hasValidCrc } from '../drivers/modbus/crc.js';
import { encodeException, ExceptionCode, requestLengthFromHeader } from '../drivers/modbus/pdu.js';
import { encodeRtuFrame, RtuFrameAssembler } from '../drivers/modbus/rtu.js';
import { encodeMbapFrame, MbapFrameAssembler, type MbapFrame } from '../drivers/modbus/tcp.js';
import { interFrameSilenceMs, type SerialSettings } from '../drivers/transport/transport.js';
import { SimulatorError } from './errors.js';
import { corruptCrc, truncateFrame, type FaultAction } from './faults.js';
import { silentLogger } from './logging.js';
import { rtuReplyDelayMs, sleepUntil, type RtuPacing } from './pacing.js';
import type { SimulatedDevice } from './simulated-device.js';
import { openSerialStream, socketStream, type ByteStream } from './streams.js';

/** Frames of unknown length end by silence; over TCP chunks may lag, so wait longer than t3.5. */
const RTU_OVER_TCP_SILENCE_MS = 10;

export type RtuEndpoint =
  | { kind: 'serial'; path: string; serial: SerialSettings }
  | { kind: 'rtu-over-tcp'; port: number; host?: string }
  | { kind: 'stream'; stream: ByteStream };

export interface RtuSlaveOptions {
  endpoint: RtuEndpoint;
  devices: SimulatedDevice[];
  /** Hold each reply until its wire time has passed (pacing.ts); off when absent. */
  pacing?: RtuPacing;
  logger?: Logger;
}

export interface RtuCounters {
  frames: number;
  crcErrors: number;
  otherUnits: number;
  broadcasts: number;
  replies: number;
}

class UnitDirectory {
  private readonly units = new Map<number, SimulatedDevice>();

  constructor(devices: SimulatedDevice[]) {
    for (const device of devices) this.add(device);
  }

  add(device: SimulatedDevice): void {
    if (this.units.has(device.unitId)) {
      throw new SimulatorError(
        'SIM_CONFIG_INVALID',
        `unit id ${device.unitId} is used twice on the same bus`,
      );
    }
    this.units.set(device.unitId, device);
  }

  remove(unitId: number): void {
    this.units.delete(unitId);
  }

  get(unitId: number): SimulatedDevice | undefined {
    return this.units.get(unitId);
  }

  all(): SimulatedDevice[] {
    return [...this.units.values()];
  }
}

/** The reply PDU for a request, given the fault drawn for it (null: stay silent). */
function replyPdu(device: SimulatedDevice, pdu: Buffer, action: FaultAction): Buffer | null {
  if (action.kind === 'no-answer') return null;
  // An injected exception refuses the request without executing it (MAP section 7).
  if (action.kind === 'exception') return encodeException(pdu[0] ?? 0, action.exceptionCode);
  return device.serve(pdu).response;
}

/** Serves one RTU line: reassembles requests, answers them, paces the replies. */
class RtuLine {
  private readonly assembler: RtuFrameAssembler;
  private lastChunkAt = 0;
  private readonly unsubscribe: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly stream: ByteStream,
    private readonly units: UnitDirectory,
    private readonly pacing: RtuPacing | undefined,
    silenceMs: number,
    private readonly counters: RtuCounters,
    private readonly logger: Logger,
  ) {
    this.assembler = new RtuFrameAssembler({
      silenceMs,
      lengthOf: requestLengthFromHeader,
      onFrame: (frame) => this.onFrame(frame),
    });
    this.unsubscribe.push(
      stream.onData((chunk) => {
        this.lastChunkAt = performance.now();
        this.assembler.push(chunk);
      }),
      stream.onClose(() => this.dispose()),
    );
  }

  dispose(): void {
    this.closed = true;
    this.assembler.dispose();
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private onFrame(frame: Buffer): void {
    // The request's last byte came with the last chunk, even when silence ended the frame later.
    const arrivedAt = this.lastChunkAt;
    this.counters.frames++;
    if (frame.length < 4 || !hasValidCrc(frame)) {
      this.counters.crcErrors++;
      this.logger.debug(
        { frame: frame.toString('hex') },
        'dropped a frame with a bad CRC (MSL 2.4.1: no reply)',
      );
      return;
    }
    const unitId = frame[0] ?? 0;
    const pdu = frame.subarray(1, frame.length - 2);
    if (unitId === 0) {
      this.counters.broadcasts++;
      for (const device of this.units.all()) device.serveBroadcast(pdu);
      return;
    }
    const device = this.units.get(unitId);
    if (!device) {
      this.counters.otherUnits++; // another slave's business on a shared line
      return;
    }
    const action = device.faults.decide(unitId);
    const reply = replyPdu(device, pdu, action);
    if (reply === null) {
      this.logger.debug({ unit: unitId }, 'fault: no answer');
      return;
    }
    const full = encodeRtuFrame(action.kind === 'wrong-unit' ? action.unitId : unitId, reply);
    let out = full;
    if (action.kind === 'bad-crc') out = corruptCrc(full);
    if (action.kind === 'truncated') out = truncateFrame(full);
    let deadline = arrivedAt + (this.pacing ? rtuReplyDelayMs(frame.length, full.length, this.pacing) : 0);
    if (action.kind === 'late-answer') deadline += action.delayMs;
    if (action.kind !== 'answer') this.logger.debug({ unit: unitId, fault: action.kind }, 'fault injected');
    void this.send(out, deadline);
  }

  private async send(frame: Buffer, deadline: number): Promise<void> {
    await sleepUntil(deadline);
    if (this.closed) return;
    try {
      await this.stream.write(frame);
      this.counters.replies++;
    } catch (error) {
      this.logger.warn({ err: error }, `reply to ${this.stream.description} failed`);
    }
  }
}

export class RtuSlave {
  readonly counters: RtuCounters = { frames: 0, crcErrors: 0, otherUnits: 0, broadcasts: 0, replies: 0 };
  private readonly units: UnitDirectory;
  private readonly logger: Logger;
  private readonly lines = new Set<RtuLine>();
  private stream: ByteStream | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: RtuSlaveOptions) {
    this.units = new UnitDirectory(options.devices);
    this.logger = (options.logger ?? silentLogger).child({ bus: 'rtu' });
  }

  /** Where a master connects: the serial path, or host:port for RTU over TCP. */
  get address(): string {
    const e = this.options.endpoint;
    if (e.kind === 'serial') return e.path;
    if (e.kind === 'stream') return e.stream.description;
    return `${e.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** The listening port for RTU over TCP (useful when asked for port 0). */
  get port(): number {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : 0;
  }

  addDevice(device: SimulatedDevice): void {
    this.units.add(device);
  }

  removeDevice(unitId: number): void {
    this.units.remove(unitId);
  }

  async start(): Promise<void> {
    const e = this.options.endpoint;
    const pacing = this.options.pacing;
    if (e.kind === 'serial') {
      this.stream = await openSerialStream(e.path, e.serial);
      this.attach(this.stream, interFrameSilenceMs(e.serial));
    } else if (e.kind === 'stream') {
      this.stream = e.stream;
      this.attach(e.stream, pacing ? interFrameSilenceMs(pacing.serial) : 1.75);
    } else {
      this.server = await listen(e.port, e.host, (socket) => {
        this.sockets.add(socket);
        socket.setNoDelay(true);
        socket.on('close', () => this.sockets.delete(socket));
        this.attach(socketStream(socket), RTU_OVER_TCP_SILENCE_MS);
      });
    }
    this.logger.info(
      { address: this.address, units: this.units.all().map((d) => d.unitId), pacing: pacing !== undefined },
      'RTU slave listening',
    );
  }

  private attach(stream: ByteStream, silenceMs: number): void {
    const line = new RtuLine(stream, this.units, this.options.pacing, silenceMs, this.counters, this.logger);
    this.lines.add(line);
    stream.onClose(() => this.lines.delete(line));
  }

  async stop(): Promise<void> {
    for (const line of this.lines) line.dispose();
    this.lines.clear();
    if (this.stream && this.options.endpoint.kind === 'serial') await this.stream.close();
    this.stream = undefined;
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
    this.server = undefined;
  }
}

export interface TcpSlaveOptions {
  /** 0 picks a free port (read it back from `port`). */
  port: number;
  /** Default 127.0.0.1; '0.0.0.0' to serve other machines. */
  host?: string;
  devices: SimulatedDevice[];
  logger?: Logger;
}

export class TcpSlave {
  readonly counters = { connections: 0, requests: 0, replies: 0 };
  private readonly units: UnitDirectory;
  private readonly logger: Logger;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: TcpSlaveOptions) {
    this.units = new UnitDirectory(options.devices);
    this.logger = (options.logger ?? silentLogger).child({ bus: 'tcp' });
  }

  get port(): number {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : this.options.port;
  }

  get address(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  get connections(): number {
    return this.sockets.size;
  }

  addDevice(device: SimulatedDevice): void {
    this.units.add(device);
  }

  removeDevice(unitId: number): void {
    this.units.remove(unitId);
  }

  async start(): Promise<void> {
    this.server = await listen(this.options.port, this.options.host, (socket) => this.accept(socket));
    this.logger.info(
      { address: this.address, units: this.units.all().map((d) => d.unitId) },
      'Modbus TCP slave listening',
    );
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await closeServer(this.server);
    this.server = undefined;
  }

  private accept(socket: Socket): void {
    this.counters.connections++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', (error) => this.logger.debug({ err: error }, 'connection error'));
    const assembler = new MbapFrameAssembler(
      (frame) => this.onFrame(socket, frame),
      (error) => {
        // The stream is out of step; nothing after this can be trusted to start on a frame.
        this.logger.debug({ err: error }, 'closing a connection that sent a bad MBAP header');
        socket.destroy();
      },
    );
    socket.on('data', (chunk: Buffer) => assembler.push(chunk));
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** A single device also answers unit 0 and 255, the ids used to address "the server itself". */
  private deviceFor(unitId: number): SimulatedDevice | undefined {
    const device = this.units.get(unitId);
    if (device) return device;
    const all = this.units.all();
    return (unitId === 0 || unitId === 0xff) && all.length === 1 ? all[0] : undefined;
  }

  private onFrame(socket: Socket, frame: MbapFrame): void {
    if (frame.protocolId !== 0) return; // not Modbus (MBAP protocol identifier 0 = MODBUS)
    this.counters.requests++;
    const device = this.deviceFor(frame.unitId);
    if (!device) {
      // A gateway without that target answers exception 0x0B (MAP section 7).
      this.write(
        socket,
        encodeMbapFrame(
          frame.transactionId,
          frame.unitId,
          encodeException(frame.pdu[0] ?? 0, ExceptionCode.GATEWAY_TARGET_FAILED),
        ),
      );
      return;
    }
    const action = device.faults.decide(frame.unitId);
    if (action.kind === 'bad-crc') {
      this.logger.warn(
        { unit: frame.unitId },
        'bad-crc has no meaning on Modbus TCP (MBAP has no CRC): answering normally',
      );
    }
    const reply = replyPdu(device, frame.pdu, action);
    if (reply === null) return;
    const out = encodeMbapFrame(
      frame.transactionId,
      action.kind === 'wrong-unit' ? action.unitId : frame.unitId,
      reply,
    );
    if (action.kind === 'truncated') {
      // MBAP ends a frame by its length field, so a short frame is only visible when the
      // connection then drops (a server reset mid-reply).
      socket.end(truncateFrame(out));
      return;
    }
    if (action.kind === 'late-answer') {
      setTimeout(() => this.write(socket, out), action.delayMs).unref();
      return;
    }
    this.write(socket, out);
  }

  private write(socket: Socket, frame: Buffer): void {
    if (socket.destroyed || !socket.writable) return;
    socket.write(frame);
    this.counters.replies++;
  }
}

function listen(
  port: number,
  host: string | undefined,
  onConnection: (socket: Socket) => void,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    server.once('error', (error) =>
      reject(
        new SimulatorError(
          'SIM_CONFIG_INVALID',
          `cannot listen on ${host ?? '127.0.0.1'}:${port}: ${error.message}`,
          { cause: error },
        ),
      ),
    );
    // Loopback unless told otherwise: a simulator has no business on the cabinet's network.
    server.listen(port, host ?? '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
