/**
 * Turns "set point P to engineering value V" into Modbus write requests, honouring the profile:
 * coils use FC5 (MAP v1.1b3 section 6.5); one register FC6 (6.6); 32-bit values FC16 (6.12), or
 * two FC6 when the device lacks FC16 (quirk noFc16; the two halves are then not atomic); a bit
 * inside a holding register needs read-modify-write, because Modbus cannot address single bits of
 * a register (FC22 mask write is optional and rarely implemented on field devices).
 */
import { withRegisterBit } from '../../drivers/modbus/datatypes.js';
import type { ModbusRequest, ModbusResponse } from '../../drivers/modbus/pdu.js';
import { encodePoint } from '../profiles/point-codec.js';
import type { ResolvedPoint, ResolvedQuirks } from '../profiles/types.js';
import type { PointValue } from './types.js';

export type RegisterReader = (request: ModbusRequest) => Promise<ModbusResponse>;

export async function encodeWrite(
  point: ResolvedPoint,
  value: PointValue,
  quirks: ResolvedQuirks,
  read: RegisterReader,
): Promise<ModbusRequest[]> {
  if (point.table === 'coil') return [{ fc: 0x05, address: point.address, value: Boolean(value) }];
  if (point.table !== 'holding')
    throw new RangeError(`${point.key} is in the ${point.table} table, which Modbus cannot write`);

  if (point.bit !== null) {
    const current = await read({ fc: 0x03, address: point.address, quantity: 1 });
    const register = 'registers' in current ? (current.registers[0] ?? 0) : 0;
    return [
      { fc: 0x06, address: point.address, value: withRegisterBit(register, point.bit, Boolean(value)) },
    ];
  }

  const words = encodePoint(point, value).map((w) => Number(w));
  if (words.length === 1) return [{ fc: 0x06, address: point.address, value: words[0] ?? 0 }];
  if (quirks.noFc16) return words.map((word, i) => ({ fc: 0x06, address: point.address + i, value: word }));
  return [{ fc: 0x10, address: point.address, values: words }];
}
