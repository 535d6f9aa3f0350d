/**
 * Data types across registers. Registers are 16-bit big-endian on the wire (MAP v1.1b3 section
 * 4.2); a 32-bit value's bytes A (most significant) .. D are spread over two registers in the
 * order the word order names. Every expectation below is worked by hand from the IEEE 754 /
 * two's complement bytes, not produced by the codec under test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WORD_ORDERS,
  decodeRegisters,
  encodeRegisters,
  registerBit,
  registerCount,
  withRegisterBit,
  type DataType,
  type WordOrder,
} from '../../../drivers/modbus/datatypes.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';

interface Case {
  type: DataType;
  value: number;
  /** Registers for each word order (16-bit types: the same for all). */
  registers: Record<WordOrder, number[]>;
}

const same = (registers: number[]): Record<WordOrder, number[]> => ({
  ABCD: registers,
  CDAB: registers,
  BADC: registers,
  DCBA: registers,
});

const CASES: Case[] = [
  { type: 'u16', value: 51234, registers: same([0xc822]) },
  { type: 'u16', value: 0, registers: same([0x0000]) },
  { type: 'u16', value: 65535, registers: same([0xffff]) },
  { type: 'i16', value: -1234, registers: same([0xfb2e]) }, // 65536 - 1234 = 64302 = 0xFB2E
  { type: 'i16', value: -32768, registers: same([0x8000]) },
  { type: 'i16', value: 32767, registers: same([0x7fff]) },
  {
    // 0x12345678: A=12 B=34 C=56 D=78
    type: 'u32',
    value: 0x12345678,
    registers: {
      ABCD: [0x1234, 0x5678],
      CDAB: [0x5678, 0x1234],
      BADC: [0x3412, 0x7856],
      DCBA: [0x7856, 0x3412],
    },
  },
  {
    type: 'u32',
    value: 0xffffffff,
    registers: same([0xffff, 0xffff]),
  },
  {
    // -123456789 = 0xF8A432EB in two's complement: A=F8 B=A4 C=32 D=EB
    type: 'i32',
    value: -123456789,
    registers: {
      ABCD: [0xf8a4, 0x32eb],
      CDAB: [0x32eb, 0xf8a4],
      BADC: [0xa4f8, 0xeb32],
      DCBA: [0xeb32, 0xa4f8],
    },
  },
  {
    // -2 = 0xFFFFFFFE
    type: 'i32',
    value: -2,
    registers: {
      ABCD: [0xffff, 0xfffe],
      CDAB: [0xfffe, 0xffff],
      BADC: [0xffff, 0xfeff],
      DCBA: [0xfeff, 0xffff],
    },
  },
  {
    // 1.0f = sign 0, exponent 127 (0x7F), mantissa 0 -> 0x3F800000
    type: 'f32',
    value: 1,
    registers: {
      ABCD: [0x3f80, 0x0000],
      CDAB: [0x0000, 0x3f80],
      BADC: [0x803f, 0x0000],
      DCBA: [0x0000, 0x803f],
    },
  },
  {
    // -273.15f = 0xC3889333 (sign 1, exponent 135, mantissa 0x089333); stored value -273.1499938964844
    type: 'f32',
    value: Math.fround(-273.15),
    registers: {
      ABCD: [0xc388, 0x9333],
      CDAB: [0x9333, 0xc388],
      BADC: [0x88c3, 0x3393],
      DCBA: [0x3393, 0x88c3],
    },
  },
];

describe('decodeRegisters / encodeRegisters', () => {
  for (const c of CASES) {
    for (const order of WORD_ORDERS) {
      const registers = c.registers[order];
      it(`${c.type} ${c.value} ${order} <-> [${registers.map((r) => r.toString(16).padStart(4, '0')).join(' ')}]`, () => {
        assert.equal(decodeRegisters(registers, c.type, order), c.value);
        assert.deepEqual(encodeRegisters(c.value, c.type, order), registers);
      });
    }
  }

  it('default word order is ABCD (big-endian, high word first)', () => {
    assert.equal(decodeRegisters([0x1234, 0x5678], 'u32'), 0x12345678);
    assert.deepEqual(encodeRegisters(0x12345678, 'u32'), [0x1234, 0x5678]);
  });

  it('bool is any non-zero register', () => {
    assert.equal(decodeRegisters([0], 'bool'), 0);
    assert.equal(decodeRegisters([0x8000], 'bool'), 1);
    assert.deepEqual(encodeRegisters(1, 'bool'), [1]);
    assert.deepEqual(encodeRegisters(0, 'bool'), [0]);
  });

  it('f32 NaN and infinities pass through', () => {
    assert.deepEqual(encodeRegisters(Number.POSITIVE_INFINITY, 'f32'), [0x7f80, 0x0000]);
    assert.equal(decodeRegisters([0xff80, 0x0000], 'f32'), Number.NEGATIVE_INFINITY);
    assert.ok(Number.isNaN(decodeRegisters([0x7fc0, 0x0000], 'f32')));
  });

  it('uses only the registers a type needs', () => {
    assert.equal(registerCount('u16'), 1);
    assert.equal(registerCount('f32'), 2);
    assert.equal(decodeRegisters([0x1234, 0x5678, 0x9abc], 'u32'), 0x12345678);
  });

  it('too few registers is MODBUS_MALFORMED', () => {
    assert.throws(
      () => decodeRegisters([0x1234], 'i32'),
      (e: unknown) => isModbusError(e, 'MODBUS_MALFORMED'),
    );
    assert.throws(
      () => decodeRegisters([], 'u16'),
      (e: unknown) => isModbusError(e, 'MODBUS_MALFORMED'),
    );
  });

  it('out-of-range integers are refused, not wrapped', () => {
    for (const [value, type] of [
      [65536, 'u16'],
      [-1, 'u16'],
      [32768, 'i16'],
      [-32769, 'i16'],
      [2 ** 32, 'u32'],
      [-1, 'u32'],
      [2 ** 31, 'i32'],
      [Number.NaN, 'u16'],
      [Number.POSITIVE_INFINITY, 'i32'],
    ] as const) {
      assert.throws(
        () => encodeRegisters(value, type),
        (e: unknown) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
        `${value} as ${type}`,
      );
    }
  });
});

describe('bits inside a register', () => {
  it('reads and sets bit n (0 = least significant)', () => {
    assert.equal(registerBit(0x8001, 0), true);
    assert.equal(registerBit(0x8001, 15), true);
    assert.equal(registerBit(0x8001, 1), false);
    assert.equal(withRegisterBit(0x0000, 15, true), 0x8000);
    assert.equal(withRegisterBit(0xffff, 0, false), 0xfffe);
  });
});
