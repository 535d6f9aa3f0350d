/**
 * Conversion between Modbus registers (16-bit words, big-endian on the wire per MAP v1.1b3
 * section 4.2) and the numeric data types devices put in them. Pure functions: no scale/offset
 * here (that is profile knowledge, see gateway/profiles/point-codec.ts).
 */
import { ModbusError } from './errors.js';

export type DataType = 'bool' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32';

/**
 * Byte order of a 32-bit value across two registers, letters naming the value's bytes from most
 * significant (A) to least (D) in the order they appear on the wire: ABCD = big-endian, high word
 * first (the Modbus norm); CDAB = word-swapped (common on PLCs); BADC = byte-swapped; DCBA = fully
 * little-endian.
 */
export type WordOrder = 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';

export const WORD_ORDERS: readonly WordOrder[] = ['ABCD', 'CDAB', 'BADC', 'DCBA'];

/** Registers a value of this type occupies (bool: one register when bit-packed). */
export function registerCount(type: DataType): 1 | 2 {
  return type === 'u32' || type === 'i32' || type === 'f32' ? 2 : 1;
}

/** Rearranges 4 wire bytes into big-endian ABCD order (the permutation is its own inverse). */
function toBigEndian(wire: Buffer, order: WordOrder): Buffer {
  const [w0, w1, w2, w3] = [wire[0] ?? 0, wire[1] ?? 0, wire[2] ?? 0, wire[3] ?? 0];
  switch (order) {
    case 'ABCD':
      return Buffer.from([w0, w1, w2, w3]);
    case 'CDAB':
      return Buffer.from([w2, w3, w0, w1]);
    case 'BADC':
      return Buffer.from([w1, w0, w3, w2]);
    case 'DCBA':
      return Buffer.from([w3, w2, w1, w0]);
  }
}

function registersToWire(registers: readonly number[]): Buffer {
  const wire = Buffer.alloc(registers.length * 2);
  registers.forEach((r, i) => wire.writeUInt16BE(r & 0xffff, i * 2));
  return wire;
}

function wireToRegisters(wire: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < wire.length; i += 2) out.push(wire.readUInt16BE(i));
  return out;
}

/** Decodes registers (as received, index 0 = lowest address) into a raw numeric value. */
export function decodeRegisters(
  registers: readonly number[],
  type: DataType,
  order: WordOrder = 'ABCD',
): number {
  const needed = registerCount(type);
  if (registers.length < needed) {
    throw new ModbusError('MODBUS_MALFORMED', `${type} needs ${needed} registers, got ${registers.length}`);
  }
  const first = registers[0] ?? 0;
  switch (type) {
    case 'bool':
      return first !== 0 ? 1 : 0;
    case 'u16':
      return first & 0xffff;
    case 'i16':
      return ((first & 0xffff) << 16) >> 16;
    default: {
      const be = toBigEndian(registersToWire(registers.slice(0, 2)), order);
      if (type === 'u32') return be.readUInt32BE(0);
      if (type === 'i32') return be.readInt32BE(0);
      return be.readFloatBE(0);
    }
  }
}

/**
 * Encodes a raw numeric value into registers. Integers are range-checked rather than wrapped, so
 * that a wrong scale in a profile shows up as an error instead of a silently different setpoint.
 */
export function encodeRegisters(value: number, type: DataType, order: WordOrder = 'ABCD'): number[] {
  if (!Number.isFinite(value) && type !== 'f32') {
    throw new ModbusError('MODBUS_INVALID_REQUEST', `cannot encode ${value} as ${type}`);
  }
  const checkInt = (lo: number, hi: number): number => {
    const v = Math.round(value);
    if (v < lo || v > hi)
      throw new ModbusError('MODBUS_INVALID_REQUEST', `${value} is outside the ${type} range ${lo}..${hi}`);
    return v;
  };
  switch (type) {
    case 'bool':
      return [value !== 0 ? 1 : 0];
    case 'u16':
      return [checkInt(0, 0xffff)];
    case 'i16':
      return [checkInt(-0x8000, 0x7fff) & 0xffff];
    default: {
      const be = Buffer.alloc(4);
      if (type === 'u32') be.writeUInt32BE(checkInt(0, 0xffffffff), 0);
      else if (type === 'i32') be.writeInt32BE(checkInt(-0x80000000, 0x7fffffff), 0);
      else be.writeFloatBE(value, 0);
      return wireToRegisters(toBigEndian(be, order));
    }
  }
}

/** Reads bit `bit` (0 = least significant) of a register. */
export function registerBit(register: number, bit: number): boolean {
  return ((register >> bit) & 1) === 1;
}

/** Returns `register` with bit `bit` set to `on`. */
export function withRegisterBit(register: number, bit: number, on: boolean): number {
  return on ? (register | (1 << bit)) & 0xffff : register & ~(1 << bit) & 0xffff;
}
