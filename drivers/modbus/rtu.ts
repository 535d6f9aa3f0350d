/**
 * Modbus RTU framing, Modbus over Serial Line v1.02 (MSL) section 2.5.1: ADU = unit id (1 byte)
 * + PDU + CRC-16 (low byte first). A frame ends either when the bytes announced by its header
 * have arrived (fast path: no need to wait for the line to fall silent) or when the line has
 * been silent for t3.5 (MSL 2.5.1.1), which is the only way to end a frame of unknown length.
 */
import { performance } from 'node:perf_hooks';
import { crc16, hasValidCrc } from './crc.js';
import { ModbusError } from './errors.js';
import { MAX_PDU_LENGTH } from './pdu.js';

/** Largest RTU ADU: 256 bytes (MSL section 2.5.1). */
export const MAX_RTU_FRAME = 256;

export function encodeRtuFrame(unitId: number, pdu: Buffer): Buffer {
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 247) {
    // 0 is broadcast, 1..247 are slave addresses, 248..255 reserved (MSL section 2.2).
    throw new ModbusError('MODBUS_INVALID_REQUEST', `unit id ${unitId} is not in 0..247`);
  }
  if (pdu.length < 1 || pdu.length > MAX_PDU_LENGTH) {
    throw new ModbusError(
      'MODBUS_INVALID_REQUEST',
      `PDU of ${pdu.length} bytes is not in 1..${MAX_PDU_LENGTH}`,
    );
  }
  const frame = Buffer.alloc(pdu.length + 3);
  frame[0] = unitId;
  pdu.copy(frame, 1);
  const crc = crc16(frame, 0, frame.length - 2);
  frame[frame.length - 2] = crc & 0xff;
  frame[frame.length - 1] = crc >> 8;
  return frame;
}

export interface RtuFrame {
  unitId: number;
  pdu: Buffer;
}

/** Checks length and CRC of a complete RTU frame and splits it. */
export function decodeRtuFrame(frame: Buffer): RtuFrame {
  if (frame.length < 4) {
    throw new ModbusError(
      'MODBUS_TRUNCATED',
      `RTU frame of ${frame.length} bytes is shorter than the 4-byte minimum`,
      { frame },
    );
  }
  if (!hasValidCrc(frame)) {
    throw new ModbusError('MODBUS_CRC', `CRC mismatch in ${frame.length}-byte RTU frame`, {
      unitId: frame[0] ?? 0,
      frame,
    });
  }
  return { unitId: frame[0] ?? 0, pdu: frame.subarray(1, frame.length - 2) };
}

/**
 * Tells the assembler how long the PDU will be from its first bytes: a number when known,
 * undefined when more bytes are needed, null when it can never be known (end by silence only).
 */
export type PduLengthProbe = (pduSoFar: Uint8Array) => number | null | undefined;

export interface RtuAssemblerOptions {
  /** Silence that ends a frame, normally t3.5 (see interFrameSilenceMs in drivers/transport). */
  silenceMs: number;
  lengthOf: PduLengthProbe;
  /** A frame delimited by its length or by silence. CRC is not yet checked. */
  onFrame: (frame: Buffer, endedBy: 'length' | 'silence') => void;
}

/**
 * Reassembles RTU frames from the chunks a serial port delivers. One instance per receiving
 * side; `reset()` drops any partial frame (a client calls it before each request).
 */
export class RtuFrameAssembler {
  private buffer: Buffer = Buffer.alloc(0);
  private silenceTimer: NodeJS.Timeout | undefined;
  private lastByteAt = 0;

  constructor(private readonly options: RtuAssemblerOptions) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    this.drainCompleteFrames();
    this.armSilenceTimer();
  }

  /** Bytes held of a frame not yet complete. */
  get pending(): number {
    return this.buffer.length;
  }

  reset(): void {
    this.buffer = Buffer.alloc(0);
    this.clearSilenceTimer();
  }

  dispose(): void {
    this.reset();
  }

  private drainCompleteFrames(): void {
    for (;;) {
      if (this.buffer.length < 2) return;
      const pduLength = this.options.lengthOf(this.buffer.subarray(1));
      if (pduLength === undefined || pduLength === null) {
        // Unknown yet (or never known): wait for more bytes or for silence. A buffer that has
        // outgrown any legal frame is garbage; hand it over so the receiver can count it.
        if (this.buffer.length >= MAX_RTU_FRAME) this.emit(this.buffer.length, 'silence');
        return;
      }
      const frameLength = 1 + pduLength + 2;
      if (frameLength > MAX_RTU_FRAME) {
        this.emit(this.buffer.length, 'silence');
        return;
      }
      if (this.buffer.length < frameLength) return;
      this.emit(frameLength, 'length');
    }
  }

  private emit(length: number, endedBy: 'length' | 'silence'): void {
    const frame = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    if (this.buffer.length === 0) this.clearSilenceTimer();
    this.options.onFrame(Buffer.from(frame), endedBy);
  }

  private armSilenceTimer(): void {
    this.clearSilenceTimer();
    if (this.buffer.length === 0) return;
    this.lastByteAt = performance.now();
    this.waitForSilence(this.options.silenceMs);
  }

  /**
   * Node timers count whole milliseconds and may fire up to 1 ms early against performance.now()
   * (a t3.5 of 1.75 ms would become 1 ms), so the silence is measured, and waited for again if the
   * timer came back too soon: a frame must never be cut before the line was really quiet for t3.5.
   */
  private waitForSilence(ms: number): void {
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = undefined;
      if (this.buffer.length === 0) return;
      const remaining = this.lastByteAt + this.options.silenceMs - performance.now();
      if (remaining > 0) this.waitForSilence(remaining);
      else this.emit(this.buffer.length, 'silence');
    }, Math.ceil(ms));
  }

  private clearSilenceTimer(): void {
    if (this.silenceTimer !== undefined) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }
}
