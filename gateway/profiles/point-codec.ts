/**
 * Point values <-> Modbus data, using a resolved profile point: which words, which data type and
 * word order, and the linear scaling `engineering = raw * scale + offset`. The bit-level and
 * byte-level work is done by drivers/modbus/datatypes.ts; this module adds the profile knowledge.
 *
 * Used by the gateway (decode polled data, encode writes) and by the simulators (encode a
 * simulated engineering value into the registers they serve).
 */
import { ModbusError } from '../../drivers/modbus/errors.js';
import { decodeRegisters, encodeRegisters, registerBit } from '../../drivers/modbus/datatypes.js';
import type { ResolvedPoint } from './types.js';

function isBitTable(point: ResolvedPoint): boolean {
  return point.table === 'coil' || point.table === 'discrete';
}

/** Decimal places of a number as written (0.1 -> 1, 0.001 -> 3, -40 -> 0, 1e-7 -> 7). */
function decimals(value: number): number {
  let d = 0;
  while (d < 15 && Math.round(value * 10 ** d) / 10 ** d !== value) d++;
  return d;
}

/**
 * Decodes one point.
 *
 * - coil/discrete points: `data` is the point's bits as booleans (FC1/FC2 responses, MAP v1.1b3
 *   sections 6.1 and 6.2), `data[0]` being the bit at `point.address`.
 * - register points: `data` is the `point.count` registers starting at `point.address` (FC3/FC4,
 *   sections 6.3 and 6.4), as unsigned 16-bit numbers; for a bit point the one register that
 *   holds the bit.
 *
 * Returns a boolean for bool points, else the engineering value. For integer types the result is
 * rounded to the decimals of scale and offset, so that 2345 * 0.1 reads 234.5 rather than
 * 234.50000000000003; an f32 is returned as the float it is.
 */
export function decodePoint(
  point: ResolvedPoint,
  data: readonly number[] | readonly boolean[],
): number | boolean {
  if (data.length < 1 || (!isBitTable(point) && data.length < point.count)) {
    throw new ModbusError(
      'MODBUS_MALFORMED',
      `${point.key}: ${point.type} at ${point.table} ${point.address} needs ${point.count} value(s), got ${data.length}`,
    );
  }
  const first = data[0];
  if (isBitTable(point)) {
    if (typeof first !== 'boolean') {
      throw new ModbusError('MODBUS_MALFORMED', `${point.key}: ${point.table} data must be booleans`);
    }
    return first;
  }
  const registers = data.slice(0, point.count);
  if (!registers.every((r): r is number => typeof r === 'number')) {
    throw new ModbusError('MODBUS_MALFORMED', `${point.key}: ${point.table} register data must be numbers`);
  }
  if (point.bit !== null) return registerBit(registers[0] ?? 0, point.bit);
  const raw = decodeRegisters(registers, point.type, point.wordOrder);
  if (point.type === 'bool') return raw !== 0;
  const value = raw * point.scale + point.offset;
  if (point.type === 'f32' || (point.scale === 1 && point.offset === 0)) return value;
  return Number(value.toFixed(Math.max(decimals(point.scale), decimals(point.offset))));
}

/**
 * Encodes an engineering value for one point: the inverse of decodePoint.
 *
 * - coil/discrete points: `[bool]`.
 * - bit points (a bool packed into a register): `[bool]`, the bit alone. The caller merges it into
 *   the register (datatypes.withRegisterBit) - a read-modify-write for a device (Modbus cannot
 *   write one bit of a register; FC22 is optional), or an update of the bank in a simulator.
 * - other register points: the `point.count` registers to write at `point.address`, in wire order.
 *
 * `raw = (value - offset) / scale`, rounded for integer types. A raw value outside its type's
 * range throws ModbusError MODBUS_INVALID_REQUEST (datatypes.encodeRegisters) instead of wrapping.
 * The point's engineering min/max are not checked here: simulators may need to serve values out
 * of range; the write path checks them.
 */
export function encodePoint(point: ResolvedPoint, value: number | boolean): number[] | boolean[] {
  if (point.type === 'bool') {
    if (typeof value !== 'boolean') {
      throw new ModbusError(
        'MODBUS_INVALID_REQUEST',
        `${point.key} is a bool point, got ${typeof value} ${value}`,
      );
    }
    if (isBitTable(point) || point.bit !== null) return [value];
    return encodeRegisters(value ? 1 : 0, 'bool');
  }
  if (typeof value !== 'number') {
    throw new ModbusError(
      'MODBUS_INVALID_REQUEST',
      `${point.key} is a ${point.type} point, got ${typeof value} ${value}`,
    );
  }
  const raw = (value - point.offset) / point.scale;
  return encodeRegisters(raw, point.type, point.wordOrder);
}
