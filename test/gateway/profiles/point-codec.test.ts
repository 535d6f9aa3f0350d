import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withRegisterBit } from '../../../drivers/modbus/datatypes.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import { decodePoint, encodePoint } from '../../../gateway/profiles/point-codec.js';
import type { DataType, ResolvedPoint, WordOrder } from '../../../gateway/profiles/types.js';

function pt(fields: Partial<ResolvedPoint> & Pick<ResolvedPoint, 'type'>): ResolvedPoint {
  const wide = fields.type === 'u32' || fields.type === 'i32' || fields.type === 'f32';
  return {
    key: 'p',
    id: 'p',
    child: null,
    name: { 'zh-CN': '点', en: 'Point' },
    table: 'holding',
    address: 0,
    count: wide ? 2 : 1,
    bit: null,
    wordOrder: 'ABCD',
    scale: 1,
    offset: 0,
    unit: '1',
    writable: false,
    min: null,
    max: null,
    ...fields,
  };
}

describe('point codec: hand-computed registers', () => {
  // 123.456 as IEEE 754 binary32 is 0x42F6E979: bytes A=0x42 B=0xF6 C=0xE9 D=0x79.
  const f32Cases: [WordOrder, number[]][] = [
    ['ABCD', [0x42f6, 0xe979]], // register 0 = A B, register 1 = C D (big-endian, the Modbus norm)
    ['CDAB', [0xe979, 0x42f6]], // words swapped: C D first
    ['BADC', [0xf642, 0x79e9]], // bytes swapped inside each word
    ['DCBA', [0x79e9, 0xf642]], // fully little-endian
  ];
  for (const [order, registers] of f32Cases) {
    it(`f32 123.456 in ${order}`, () => {
      const point = pt({ type: 'f32', wordOrder: order });
      assert.deepEqual(encodePoint(point, 123.456), registers);
      assert.equal(decodePoint(point, registers), Math.fround(123.456));
    });
  }

  // 123456.78 kWh at scale 0.01 is raw 12345678 = 0x00BC614E: A=0x00 B=0xBC C=0x61 D=0x4E.
  const u32Cases: [WordOrder, number[]][] = [
    ['ABCD', [0x00bc, 0x614e]],
    ['CDAB', [0x614e, 0x00bc]],
    ['BADC', [0xbc00, 0x4e61]],
    ['DCBA', [0x4e61, 0xbc00]],
  ];
  for (const [order, registers] of u32Cases) {
    it(`u32 energy 123456.78 kWh (scale 0.01) in ${order}`, () => {
      const point = pt({ type: 'u32', wordOrder: order, scale: 0.01, unit: 'kWh' });
      assert.deepEqual(encodePoint(point, 123456.78), registers);
      assert.equal(decodePoint(point, registers), 123456.78);
    });
  }

  it('i32 -2 W in every word order (0xFFFFFFFE)', () => {
    const expected: Record<WordOrder, number[]> = {
      ABCD: [0xffff, 0xfffe],
      CDAB: [0xfffe, 0xffff],
      BADC: [0xffff, 0xfeff],
      DCBA: [0xfeff, 0xffff],
    };
    for (const [order, registers] of Object.entries(expected) as [WordOrder, number[]][]) {
      const point = pt({ type: 'i32', wordOrder: order });
      assert.deepEqual(encodePoint(point, -2), registers, order);
      assert.equal(decodePoint(point, registers), -2, order);
    }
  });

  it('i16 tilt -12.5 ° at scale 0.1 is raw -125 = 0xFF83', () => {
    const point = pt({ type: 'i16', table: 'input', scale: 0.1 });
    assert.deepEqual(encodePoint(point, -12.5), [0xff83]);
    assert.equal(decodePoint(point, [0xff83]), -12.5);
    assert.equal(decodePoint(point, [0x7fff]), 3276.7);
    assert.equal(decodePoint(point, [0x8000]), -3276.8);
  });

  it('u16 with scale 0.1 reads exact decimals, not binary noise', () => {
    const point = pt({ type: 'u16', table: 'input', scale: 0.1 });
    assert.equal(decodePoint(point, [2345]), 234.5); // 2345 * 0.1 = 234.50000000000003 in doubles
    assert.equal(decodePoint(point, [3]), 0.3);
  });

  it('u16 with scale 0.1 and offset -40 (cabinet temperature)', () => {
    const point = pt({ type: 'u16', table: 'input', scale: 0.1, offset: -40, unit: '°C' });
    assert.equal(decodePoint(point, [0]), -40);
    assert.equal(decodePoint(point, [650]), 25); // 0x028A
    assert.deepEqual(encodePoint(point, 25), [0x028a]);
    assert.deepEqual(encodePoint(point, -12.34), [277]); // 276.6 rounds to 277
  });

  it("uses only the point's registers when given more", () => {
    const point = pt({ type: 'u16' });
    assert.equal(decodePoint(point, [7, 8, 9]), 7);
  });
});

describe('point codec: round trips', () => {
  const samples: Record<Exclude<DataType, 'bool'>, number[]> = {
    u16: [0, 1, 1234, 65535],
    i16: [-32768, -1, 0, 1, 32767],
    u32: [0, 1, 65536, 4294967295],
    i32: [-2147483648, -65536, -1, 0, 70000, 2147483647],
    f32: [0, -1.5, 3.4028234663852886e38, 1e-7, 123.456],
  };
  const scalings: [number, number][] = [
    [1, 0],
    [0.1, 0],
    [0.01, -40],
    [2, 10],
  ];
  for (const type of Object.keys(samples) as Exclude<DataType, 'bool'>[]) {
    const orders: WordOrder[] =
      type === 'u16' || type === 'i16' ? ['ABCD'] : ['ABCD', 'CDAB', 'BADC', 'DCBA'];
    for (const order of orders) {
      it(`${type} ${order} with scale/offset`, () => {
        for (const [scale, offset] of scalings) {
          const point = pt({ type, wordOrder: order, scale, offset });
          for (const raw of samples[type]) {
            const value = type === 'f32' ? Math.fround(raw) * scale + offset : raw * scale + offset;
            const registers = encodePoint(point, value) as number[];
            assert.equal(registers.length, point.count);
            for (const r of registers) assert.ok(Number.isInteger(r) && r >= 0 && r <= 0xffff);
            const back = decodePoint(point, registers) as number;
            const tolerance = type === 'f32' ? Math.abs(value) * 1e-6 + 1e-6 : Math.abs(scale) / 1e6;
            assert.ok(
              Math.abs(back - value) <= tolerance,
              `${type} ${order} scale ${scale} offset ${offset}: ${value} -> ${back}`,
            );
          }
        }
      });
    }
  }
});

describe('point codec: bits and booleans', () => {
  it('reads a bool packed into a register by bit number (bit 0 = LSB)', () => {
    const register = 0b1000_0000_0001_0010;
    const bit = (b: number): boolean =>
      decodePoint(pt({ type: 'bool', table: 'input', bit: b }), [register]) as boolean;
    assert.equal(bit(0), false);
    assert.equal(bit(1), true);
    assert.equal(bit(4), true);
    assert.equal(bit(15), true);
  });

  it('encodes a bit point as the bit alone, for the caller to merge', () => {
    const point = pt({ type: 'bool', table: 'holding', bit: 3 });
    assert.deepEqual(encodePoint(point, true), [true]);
    const [on] = encodePoint(point, true) as boolean[];
    assert.equal(withRegisterBit(0b0001, 3, on ?? false), 0b1001);
  });

  it('treats a bool filling a whole register as zero / non-zero', () => {
    const point = pt({ type: 'bool', table: 'input' });
    assert.equal(decodePoint(point, [0]), false);
    assert.equal(decodePoint(point, [1]), true);
    assert.equal(decodePoint(point, [0x0100]), true);
    assert.deepEqual(encodePoint(point, true), [1]);
    assert.deepEqual(encodePoint(point, false), [0]);
  });

  it('coils and discrete inputs take and give booleans', () => {
    const coil = pt({ type: 'bool', table: 'coil', unit: null });
    assert.equal(decodePoint(coil, [true]), true);
    assert.deepEqual(encodePoint(coil, false), [false]);
    const discrete = pt({ type: 'bool', table: 'discrete', unit: null });
    assert.equal(decodePoint(discrete, [false, true]), false);
  });
});

describe('point codec: errors', () => {
  it('refuses too few registers', () => {
    assert.throws(
      () => decodePoint(pt({ type: 'f32' }), [0x42f6]),
      (e) => isModbusError(e, 'MODBUS_MALFORMED'),
    );
    assert.throws(
      () => decodePoint(pt({ type: 'u16' }), []),
      (e) => isModbusError(e, 'MODBUS_MALFORMED'),
    );
  });

  it('refuses the wrong kind of data', () => {
    assert.throws(
      () => decodePoint(pt({ type: 'bool', table: 'coil' }), [1]),
      (e) => isModbusError(e, 'MODBUS_MALFORMED'),
    );
    assert.throws(
      () => decodePoint(pt({ type: 'u16' }), [true]),
      (e) => isModbusError(e, 'MODBUS_MALFORMED'),
    );
    assert.throws(
      () => encodePoint(pt({ type: 'u16' }), true),
      (e) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
    assert.throws(
      () => encodePoint(pt({ type: 'bool' }), 1),
      (e) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
  });

  it('range-checks the raw value instead of wrapping it', () => {
    assert.throws(
      () => encodePoint(pt({ type: 'u16' }), 65536),
      (e) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
    assert.throws(
      () => encodePoint(pt({ type: 'u16' }), -1),
      (e) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
    // 4000 ° at scale 0.1 would be raw 40000, beyond i16
    assert.throws(
      () => encodePoint(pt({ type: 'i16', scale: 0.1 }), 4000),
      (e) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
    assert.throws(
      () => encodePoint(pt({ type: 'u32' }), Number.NaN),
      (e) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
  });

  it('rounds integer raw values', () => {
    assert.deepEqual(encodePoint(pt({ type: 'u16', unit: '%' }), 50.4), [50]);
    assert.deepEqual(encodePoint(pt({ type: 'u16', scale: 0.1 }), 234.56), [2346]);
  });
});
