/**
 * How long a read costs on the wire. The planner compares "bridge this gap" against "issue another
 * request" in these units, so the model is the whole reason coalescing is worth it on RS-485.
 *
 * One RTU read of N registers occupies the line for
 *   request 8 bytes (unit, fc, address 2, quantity 2, CRC 2)
 * + response 5 + 2N bytes (unit, fc, byte count, data, CRC 2)
 * + two t3.5 silences (before each frame, Modbus over Serial Line v1.02 section 2.5.1.1)
 * = (20 + 2N) characters, plus the slave's turnaround (its processing time).
 * Bit reads carry ceil(N / 8) data bytes instead of 2N.
 */
import {
  characterTimeMs,
  interFrameSilenceMs,
  type SerialSettings,
} from '../../drivers/transport/transport.js';
import type { RegisterTable } from '../profiles/types.js';

export interface WireCostModel {
  /** Cost in ms of one read request of `quantity` registers or bits from `table`. */
  readCostMs(table: RegisterTable, quantity: number): number;
}

/** Characters one read transaction occupies on an RTU line, excluding turnaround. */
export function rtuReadCharacters(table: RegisterTable, quantity: number): number {
  const dataBytes = table === 'coil' || table === 'discrete' ? Math.ceil(quantity / 8) : 2 * quantity;
  const requestBytes = 8;
  const responseOverheadBytes = 5;
  return requestBytes + responseOverheadBytes + dataBytes + 7; // 7 = two t3.5 gaps
}

export function rtuWireCost(serial: SerialSettings, turnaroundMs: number): WireCostModel {
  const charMs = characterTimeMs(serial);
  const gapMs = interFrameSilenceMs(serial);
  return {
    readCostMs(table, quantity) {
      const chars = rtuReadCharacters(table, quantity) - 7;
      return chars * charMs + 2 * gapMs + turnaroundMs;
    },
  };
}

/**
 * Modbus TCP: a request costs a network round trip plus the device's processing; extra registers
 * are nearly free (2 bytes on a 100 Mbit/s link), so the planner bridges almost every gap.
 */
export function tcpWireCost(roundTripMs = 2): WireCostModel {
  return {
    readCostMs(table, quantity) {
      const dataBytes = table === 'coil' || table === 'discrete' ? Math.ceil(quantity / 8) : 2 * quantity;
      return roundTripMs + ((12 + 9 + dataBytes) * 8) / 100_000; // MBAP request 12 + response 9 + data, at 100 Mbit/s in ms
    },
  };
}
