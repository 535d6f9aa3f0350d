/**
 * CRC-16/MODBUS: polynomial 0xA001 (reflected 0x8005), initial value 0xFFFF, no final xor.
 * Modbus over Serial Line v1.02 section 6.2.2. Table-driven: one lookup per byte, which matters at
 * the byte rates of a busy bus and in the simulators.
 */
const TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    table[n] = c;
  }
  return table;
})();

export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ (TABLE[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0);
  }
  return crc;
}

/** True when the last two bytes of `frame` are the CRC of the rest (low byte first, section 2.5.1.2). */
export function hasValidCrc(frame: Uint8Array): boolean {
  if (frame.length < 3) return false;
  const expected = crc16(frame, 0, frame.length - 2);
  const received = (frame[frame.length - 2] ?? 0) | ((frame[frame.length - 1] ?? 0) << 8);
  return expected === received;
}
