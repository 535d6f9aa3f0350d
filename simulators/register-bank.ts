/**
 * The four data tables of one Modbus device (MAP v1.1b3 section 4.3): coils and discrete inputs
 * (single bits), holding and input registers (16-bit words). Each table spans the full 0..65535
 * address space; an address never written reads as 0/false, which is what many field devices
 * answer for unmapped addresses and what lets a gateway bridge small gaps in one read.
 * Storage is sparse because a profile maps a few hundred addresses at most.
 */
import type { RegisterTable } from '../gateway/profiles/types.js';

export type BitTable = 'coil' | 'discrete';
export type WordTable = 'holding' | 'input';

export function isBitTable(table: RegisterTable): table is BitTable {
  return table === 'coil' || table === 'discrete';
}

function checkRange(address: number, count: number): void {
  if (
    !Number.isInteger(address) ||
    !Number.isInteger(count) ||
    address < 0 ||
    count < 0 ||
    address + count > 0x10000
  ) {
    throw new RangeError(`address range ${address}+${count} is outside 0..65535`);
  }
}

export class RegisterBank {
  private readonly bits: Record<BitTable, Map<number, boolean>> = { coil: new Map(), discrete: new Map() };
  private readonly words: Record<WordTable, Map<number, number>> = { holding: new Map(), input: new Map() };

  readBits(table: BitTable, address: number, count: number): boolean[] {
    checkRange(address, count);
    const store = this.bits[table];
    const out: boolean[] = [];
    for (let i = 0; i < count; i++) out.push(store.get(address + i) ?? false);
    return out;
  }

  writeBits(table: BitTable, address: number, values: readonly boolean[]): void {
    checkRange(address, values.length);
    const store = this.bits[table];
    values.forEach((v, i) => store.set(address + i, v));
  }

  readWords(table: WordTable, address: number, count: number): number[] {
    checkRange(address, count);
    const store = this.words[table];
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(store.get(address + i) ?? 0);
    return out;
  }

  writeWords(table: WordTable, address: number, values: readonly number[]): void {
    checkRange(address, values.length);
    const store = this.words[table];
    values.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v > 0xffff)
        throw new RangeError(`register value ${v} is not in 0..65535`);
      store.set(address + i, v);
    });
  }
}
