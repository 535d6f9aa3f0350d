/**
 * Fans one read reply out to every point it covers (and so to every logical child device, e.g. a
 * concentrator's lamps): the decode step between the wire and the alarm engine.
 */
import type { ModbusResponse } from '../../drivers/modbus/pdu.js';
import { decodePoint } from '../profiles/point-codec.js';
import type { ReadRequestPlan } from './read-planner.js';
import type { PointReading } from './types.js';

export function decodeReadResponse(
  readings: PointReading[],
  plan: ReadRequestPlan,
  response: ModbusResponse,
): void {
  for (const point of plan.points) {
    const offset = point.address - plan.address;
    if ('bits' in response) {
      readings.push({
        key: point.key,
        value: decodePoint(point, response.bits.slice(offset, offset + point.count)),
      });
    } else if ('registers' in response) {
      readings.push({
        key: point.key,
        value: decodePoint(point, response.registers.slice(offset, offset + point.count)),
      });
    }
  }
}
