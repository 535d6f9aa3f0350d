/**
 * Pure Modbus PDU codec (function code + data, without unit id, CRC or MBAP), for both ends:
 * a client encodes requests and decodes responses; a server (our simulators) decodes requests
 * and encodes responses. Everything follows Modbus Application Protocol Specification v1.1b3
 * (MAP); section numbers are cited per function. Every malformed input throws a ModbusError,
 * never returns a half-decoded value.
 */
import { ModbusError, EXCEPTION_NAMES } from './errors.js';

export const FunctionCode = {
  READ_COILS: 0x01,
  READ_DISCRETE_INPUTS: 0x02,
  READ_HOLDING_REGISTERS: 0x03,
  READ_INPUT_REGISTERS: 0x04,
  WRITE_SINGLE_COIL: 0x05,
  WRITE_SINGLE_REGISTER: 0x06,
  WRITE_MULTIPLE_COILS: 0x0f,
  WRITE_MULTIPLE_REGISTERS: 0x10,
} as const;

export const ExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  ACKNOWLEDGE: 0x05,
  SERVER_DEVICE_BUSY: 0x06,
  GATEWAY_PATH_UNAVAILABLE: 0x0a,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;

/** Quantity limits per request, MAP sections 6.1-6.4, 6.11, 6.12. */
export const LIMITS = {
  maxReadBits: 2000,
  maxReadRegisters: 125,
  maxWriteCoils: 1968,
  maxWriteRegisters: 123,
} as const;

/** Largest PDU: 253 bytes (MAP section 4.1, from the 256-byte RS-485 ADU). */
export const MAX_PDU_LENGTH = 253;

export type ReadBitsRequest = { fc: 0x01 | 0x02; address: number; quantity: number };
export type ReadRegistersRequest = { fc: 0x03 | 0x04; address: number; quantity: number };
export type WriteSingleCoilRequest = { fc: 0x05; address: number; value: boolean };
export type WriteSingleRegisterRequest = { fc: 0x06; address: number; value: number };
export type WriteMultipleCoilsRequest = { fc: 0x0f; address: number; values: boolean[] };
export type WriteMultipleRegistersRequest = { fc: 0x10; address: number; values: number[] };

export type ModbusRequest =
  | ReadBitsRequest
  | ReadRegistersRequest
  | WriteSingleCoilRequest
  | WriteSingleRegisterRequest
  | WriteMultipleCoilsRequest
  | WriteMultipleRegistersRequest;

export type ReadBitsResponse = { fc: 0x01 | 0x02; bits: boolean[] };
export type ReadRegistersResponse = { fc: 0x03 | 0x04; registers: number[] };
export type WriteSingleCoilResponse = { fc: 0x05; address: number; value: boolean };
export type WriteSingleRegisterResponse = { fc: 0x06; address: number; value: number };
export type WriteMultipleResponse = { fc: 0x0f | 0x10; address: number; quantity: number };

export type ModbusResponse =
  | ReadBitsResponse
  | ReadRegistersResponse
  | WriteSingleCoilResponse
  | WriteSingleRegisterResponse
  | WriteMultipleResponse;

function malformed(message: string, pdu?: Buffer, fc?: number): ModbusError {
  return new ModbusError('MODBUS_MALFORMED', message, {
    ...(pdu ? { frame: pdu } : {}),
    ...(fc === undefined ? {} : { functionCode: fc }),
  });
}

function invalid(message: string): ModbusError {
  return new ModbusError('MODBUS_INVALID_REQUEST', message);
}

function checkAddressRange(address: number, quantity: number, max: number, what: string): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xffff) {
    throw invalid(`address ${address} is not in 0..65535`);
  }
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > max) {
    throw invalid(`${what} quantity ${quantity} is not in 1..${max}`);
  }
  if (address + quantity > 0x10000) throw invalid(`address ${address} + quantity ${quantity} passes 65535`);
}

function checkRegisterValue(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff)
    throw invalid(`register value ${value} is not in 0..65535`);
}

/** Packs bits LSB-first into bytes: the first bit goes to bit 0 of byte 0 (MAP section 6.1). */
export function packBits(bits: readonly boolean[]): Buffer {
  const out = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((bit, i) => {
    if (bit) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  });
  return out;
}

export function unpackBits(bytes: Buffer, offset: number, count: number): boolean[] {
  const bits: boolean[] = [];
  for (let i = 0; i < count; i++) bits.push((((bytes[offset + (i >> 3)] ?? 0) >> (i & 7)) & 1) === 1);
  return bits;
}

// ---------------------------------------------------------------- client side

/** Encodes a request PDU. Throws MODBUS_INVALID_REQUEST for values the protocol cannot express. */
export function encodeRequest(req: ModbusRequest): Buffer {
  switch (req.fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04: {
      // MAP 6.1-6.4: fc, start address (2), quantity (2); bits allow 2000, registers 125.
      const bits = req.fc === 0x01 || req.fc === 0x02;
      checkAddressRange(
        req.address,
        req.quantity,
        bits ? LIMITS.maxReadBits : LIMITS.maxReadRegisters,
        bits ? 'bit' : 'register',
      );
      return Buffer.from([
        req.fc,
        req.address >> 8,
        req.address & 0xff,
        req.quantity >> 8,
        req.quantity & 0xff,
      ]);
    }
    case 0x05: {
      // MAP 6.5: ON is 0xFF00, OFF is 0x0000; any other value is illegal.
      checkAddressRange(req.address, 1, 1, 'coil');
      return Buffer.from([0x05, req.address >> 8, req.address & 0xff, req.value ? 0xff : 0x00, 0x00]);
    }
    case 0x06: {
      // MAP 6.6
      checkAddressRange(req.address, 1, 1, 'register');
      checkRegisterValue(req.value);
      return Buffer.from([0x06, req.address >> 8, req.address & 0xff, req.value >> 8, req.value & 0xff]);
    }
    case 0x0f: {
      // MAP 6.11: fc, address (2), quantity (2), byte count (1), packed coil values
      const quantity = req.values.length;
      checkAddressRange(req.address, quantity, LIMITS.maxWriteCoils, 'coil');
      const packed = packBits(req.values);
      const head = Buffer.from([
        0x0f,
        req.address >> 8,
        req.address & 0xff,
        quantity >> 8,
        quantity & 0xff,
        packed.length,
      ]);
      return Buffer.concat([head, packed]);
    }
    case 0x10: {
      // MAP 6.12: fc, address (2), quantity (2), byte count (1), register values (2 each)
      const quantity = req.values.length;
      checkAddressRange(req.address, quantity, LIMITS.maxWriteRegisters, 'register');
      const out = Buffer.alloc(6 + quantity * 2);
      out.writeUInt8(0x10, 0);
      out.writeUInt16BE(req.address, 1);
      out.writeUInt16BE(quantity, 3);
      out.writeUInt8(quantity * 2, 5);
      req.values.forEach((v, i) => {
        checkRegisterValue(v);
        out.writeUInt16BE(v, 6 + i * 2);
      });
      return out;
    }
  }
}

/** PDU length of the normal (non-exception) response to `req`. */
export function expectedResponseLength(req: ModbusRequest): number {
  switch (req.fc) {
    case 0x01:
    case 0x02:
      return 2 + Math.ceil(req.quantity / 8);
    case 0x03:
    case 0x04:
      return 2 + req.quantity * 2;
    default:
      return 5; // writes echo fc + address + value/quantity
  }
}

/**
 * PDU length announced by the first bytes of a response PDU, or undefined when more bytes are
 * needed to tell. Used by the RTU framer to end a frame by length rather than waiting for silence.
 */
export function responseLengthFromHeader(pdu: Uint8Array): number | undefined {
  if (pdu.length < 1) return undefined;
  const fc = pdu[0] ?? 0;
  if (fc & 0x80) return 2; // exception: fc | 0x80, exception code (MAP section 7)
  if (fc >= 0x01 && fc <= 0x04) return pdu.length < 2 ? undefined : 2 + (pdu[1] ?? 0);
  if (fc === 0x05 || fc === 0x06 || fc === 0x0f || fc === 0x10) return 5;
  return undefined;
}

/**
 * Decodes a response PDU against the request it answers. An exception response becomes a
 * MODBUS_EXCEPTION error; a response for another function, with a byte count that does not match
 * the request, or a write echo that differs from what was written is MODBUS_MALFORMED or
 * MODBUS_WRONG_FUNCTION.
 */
export function decodeResponse(req: ModbusRequest, pdu: Buffer): ModbusResponse {
  if (pdu.length < 2) throw malformed(`response PDU of ${pdu.length} bytes is too short`, pdu);
  const fc = pdu[0] ?? 0;
  if (fc === (req.fc | 0x80)) {
    const code = pdu[1] ?? 0;
    if (pdu.length !== 2)
      throw malformed(`exception response of ${pdu.length} bytes, expected 2`, pdu, req.fc);
    const name = EXCEPTION_NAMES[code] ?? 'UNKNOWN EXCEPTION';
    throw new ModbusError(
      'MODBUS_EXCEPTION',
      `exception 0x${code.toString(16).padStart(2, '0')} ${name} for function ${req.fc}`,
      {
        functionCode: req.fc,
        exceptionCode: code,
        frame: pdu,
      },
    );
  }
  if (fc !== req.fc) {
    throw new ModbusError(
      'MODBUS_WRONG_FUNCTION',
      `response function ${fc} does not answer request function ${req.fc}`,
      {
        functionCode: req.fc,
        frame: pdu,
      },
    );
  }
  const expected = expectedResponseLength(req);
  if (pdu.length !== expected)
    throw malformed(`response PDU is ${pdu.length} bytes, expected ${expected}`, pdu, fc);

  switch (req.fc) {
    case 0x01:
    case 0x02: {
      const byteCount = pdu[1] ?? 0;
      if (byteCount !== Math.ceil(req.quantity / 8))
        throw malformed(`byte count ${byteCount} does not match ${req.quantity} bits`, pdu, fc);
      return { fc: req.fc, bits: unpackBits(pdu, 2, req.quantity) };
    }
    case 0x03:
    case 0x04: {
      const byteCount = pdu[1] ?? 0;
      if (byteCount !== req.quantity * 2)
        throw malformed(`byte count ${byteCount} does not match ${req.quantity} registers`, pdu, fc);
      const registers: number[] = [];
      for (let i = 0; i < req.quantity; i++) registers.push(pdu.readUInt16BE(2 + i * 2));
      return { fc: req.fc, registers };
    }
    case 0x05: {
      const address = pdu.readUInt16BE(1);
      const raw = pdu.readUInt16BE(3);
      if (address !== req.address || raw !== (req.value ? 0xff00 : 0x0000))
        throw malformed('write single coil echo differs from the request', pdu, fc);
      return { fc: 0x05, address, value: req.value };
    }
    case 0x06: {
      const address = pdu.readUInt16BE(1);
      const value = pdu.readUInt16BE(3);
      if (address !== req.address || value !== req.value)
        throw malformed('write single register echo differs from the request', pdu, fc);
      return { fc: 0x06, address, value };
    }
    case 0x0f:
    case 0x10: {
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      if (address !== req.address || quantity !== req.values.length)
        throw malformed('write multiple echo differs from the request', pdu, fc);
      return { fc: req.fc, address, quantity };
    }
  }
}

// ---------------------------------------------------------------- server side

/**
 * A request a server could not decode. `exceptionCode` is what the server should answer
 * (ILLEGAL FUNCTION for an unknown function, ILLEGAL DATA VALUE for a bad quantity, MAP section 7).
 */
export class RequestRejection extends ModbusError {
  constructor(
    message: string,
    readonly requestFunctionCode: number,
    readonly rejectWith: number,
  ) {
    super('MODBUS_MALFORMED', message, { functionCode: requestFunctionCode, exceptionCode: rejectWith });
  }
}

/**
 * PDU length of a request, from its first bytes, or undefined when more bytes are needed.
 * Returns null for an unknown function code (the frame can then only be ended by silence).
 */
export function requestLengthFromHeader(pdu: Uint8Array): number | null | undefined {
  if (pdu.length < 1) return undefined;
  const fc = pdu[0] ?? 0;
  if (fc >= 0x01 && fc <= 0x06) return 5;
  if (fc === 0x0f || fc === 0x10) return pdu.length < 6 ? undefined : 6 + (pdu[5] ?? 0);
  return null;
}

/** Decodes a request PDU on the server side; throws RequestRejection with the exception to answer. */
export function decodeRequest(pdu: Buffer): ModbusRequest {
  const fc = pdu[0] ?? 0;
  const reject = (message: string, code: number): RequestRejection => new RequestRejection(message, fc, code);
  const known = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0f, 0x10];
  if (!known.includes(fc)) throw reject(`unsupported function code ${fc}`, ExceptionCode.ILLEGAL_FUNCTION);
  if (pdu.length < 5)
    throw reject(`request PDU of ${pdu.length} bytes is too short`, ExceptionCode.ILLEGAL_DATA_VALUE);
  const address = pdu.readUInt16BE(1);
  const word = pdu.readUInt16BE(3);
  const checkQuantity = (max: number): void => {
    if (word < 1 || word > max)
      throw reject(`quantity ${word} is not in 1..${max}`, ExceptionCode.ILLEGAL_DATA_VALUE);
    if (address + word > 0x10000)
      throw reject(`address ${address} + ${word} passes 65535`, ExceptionCode.ILLEGAL_DATA_ADDRESS);
  };
  switch (fc) {
    case 0x01:
    case 0x02:
      if (pdu.length !== 5) throw reject('read request must be 5 bytes', ExceptionCode.ILLEGAL_DATA_VALUE);
      checkQuantity(LIMITS.maxReadBits);
      return { fc, address, quantity: word };
    case 0x03:
    case 0x04:
      if (pdu.length !== 5) throw reject('read request must be 5 bytes', ExceptionCode.ILLEGAL_DATA_VALUE);
      checkQuantity(LIMITS.maxReadRegisters);
      return { fc, address, quantity: word };
    case 0x05:
      if (pdu.length !== 5)
        throw reject('write single coil must be 5 bytes', ExceptionCode.ILLEGAL_DATA_VALUE);
      if (word !== 0xff00 && word !== 0x0000)
        throw reject(
          `coil value 0x${word.toString(16)} is neither ON nor OFF`,
          ExceptionCode.ILLEGAL_DATA_VALUE,
        );
      return { fc: 0x05, address, value: word === 0xff00 };
    case 0x06:
      if (pdu.length !== 5)
        throw reject('write single register must be 5 bytes', ExceptionCode.ILLEGAL_DATA_VALUE);
      return { fc: 0x06, address, value: word };
    default: {
      const byteCount = pdu[5];
      if (byteCount === undefined || pdu.length !== 6 + byteCount)
        throw reject('byte count does not match the request length', ExceptionCode.ILLEGAL_DATA_VALUE);
      if (fc === 0x0f) {
        checkQuantity(LIMITS.maxWriteCoils);
        if (byteCount !== Math.ceil(word / 8))
          throw reject(
            `byte count ${byteCount} does not match ${word} coils`,
            ExceptionCode.ILLEGAL_DATA_VALUE,
          );
        return { fc: 0x0f, address, values: unpackBits(pdu, 6, word) };
      }
      checkQuantity(LIMITS.maxWriteRegisters);
      if (byteCount !== word * 2)
        throw reject(
          `byte count ${byteCount} does not match ${word} registers`,
          ExceptionCode.ILLEGAL_DATA_VALUE,
        );
      const values: number[] = [];
      for (let i = 0; i < word; i++) values.push(pdu.readUInt16BE(6 + i * 2));
      return { fc: 0x10, address, values };
    }
  }
}

/** Encodes the normal response a server sends for `req`; `data` carries read results. */
export function encodeResponse(
  req: ModbusRequest,
  data?: { bits?: readonly boolean[]; registers?: readonly number[] },
): Buffer {
  switch (req.fc) {
    case 0x01:
    case 0x02: {
      const bits = data?.bits ?? [];
      if (bits.length !== req.quantity)
        throw invalid(`response needs ${req.quantity} bits, got ${bits.length}`);
      const packed = packBits(bits);
      return Buffer.concat([Buffer.from([req.fc, packed.length]), packed]);
    }
    case 0x03:
    case 0x04: {
      const registers = data?.registers ?? [];
      if (registers.length !== req.quantity)
        throw invalid(`response needs ${req.quantity} registers, got ${registers.length}`);
      const out = Buffer.alloc(2 + registers.length * 2);
      out.writeUInt8(req.fc, 0);
      out.writeUInt8(registers.length * 2, 1);
      registers.forEach((r, i) => out.writeUInt16BE(r & 0xffff, 2 + i * 2));
      return out;
    }
    case 0x05:
    case 0x06:
      return encodeRequest(req); // the normal response is an echo of the request (MAP 6.5, 6.6)
    case 0x0f:
    case 0x10: {
      const quantity = req.values.length;
      return Buffer.from([req.fc, req.address >> 8, req.address & 0xff, quantity >> 8, quantity & 0xff]);
    }
  }
}

/** Exception response PDU: function code with the high bit set, then the exception code (MAP section 7). */
export function encodeException(functionCode: number, exceptionCode: number): Buffer {
  return Buffer.from([(functionCode | 0x80) & 0xff, exceptionCode & 0xff]);
}
