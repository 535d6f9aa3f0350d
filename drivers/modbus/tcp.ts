/**
 * Modbus TCP framing (MBAP header), Modbus Messaging on TCP/IP Implementation Guide v1.0b section
 * 3.1.3: transaction id (2), protocol id (2, always 0), length (2, bytes that follow: unit id +
 * PDU), unit id (1), then the PDU. TCP is a byte stream, so frames are reassembled by length.
 */
import { ModbusError } from './errors.js';
import { MAX_PDU_LENGTH } from './pdu.js';

export const MBAP_HEADER_LENGTH = 7;

export interface MbapFrame {
  transactionId: number;
  protocolId: number;
  unitId: number;
  pdu: Buffer;
}

export function encodeMbapFrame(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) {
    throw new ModbusError('MODBUS_INVALID_REQUEST', `unit id ${unitId} is not in 0..255`);
  }
  if (pdu.length < 1 || pdu.length > MAX_PDU_LENGTH) {
    throw new ModbusError(
      'MODBUS_INVALID_REQUEST',
      `PDU of ${pdu.length} bytes is not in 1..${MAX_PDU_LENGTH}`,
    );
  }
  const frame = Buffer.alloc(MBAP_HEADER_LENGTH + pdu.length);
  frame.writeUInt16BE(transactionId & 0xffff, 0);
  frame.writeUInt16BE(0, 2);
  frame.writeUInt16BE(pdu.length + 1, 4);
  frame.writeUInt8(unitId, 6);
  pdu.copy(frame, MBAP_HEADER_LENGTH);
  return frame;
}

/**
 * Reassembles MBAP frames from a TCP stream. A header whose length field is impossible means the
 * stream is out of step: `onError` is called and the buffer dropped; the owner should close the
 * connection, because nothing after that point can be trusted to start on a frame boundary.
 */
export class MbapFrameAssembler {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly onFrame: (frame: MbapFrame) => void,
    private readonly onError: (error: ModbusError) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= MBAP_HEADER_LENGTH) {
      const length = this.buffer.readUInt16BE(4);
      if (length < 2 || length > MAX_PDU_LENGTH + 1) {
        const frame = Buffer.from(this.buffer.subarray(0, MBAP_HEADER_LENGTH));
        this.buffer = Buffer.alloc(0);
        this.onError(
          new ModbusError(
            'MODBUS_MALFORMED',
            `MBAP length field ${length} is not in 2..${MAX_PDU_LENGTH + 1}`,
            { frame },
          ),
        );
        return;
      }
      const total = 6 + length;
      if (this.buffer.length < total) return;
      const frame: MbapFrame = {
        transactionId: this.buffer.readUInt16BE(0),
        protocolId: this.buffer.readUInt16BE(2),
        unitId: this.buffer.readUInt8(6),
        pdu: Buffer.from(this.buffer.subarray(MBAP_HEADER_LENGTH, total)),
      };
      this.buffer = this.buffer.subarray(total);
      this.onFrame(frame);
    }
  }

  get pending(): number {
    return this.buffer.length;
  }

  reset(): void {
    this.buffer = Buffer.alloc(0);
  }
}
