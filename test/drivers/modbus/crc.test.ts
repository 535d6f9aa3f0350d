/** CRC-16/MODBUS, Modbus over Serial Line v1.02 (MSL) section 6.2.2. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc16, hasValidCrc } from '../../../drivers/modbus/crc.js';
import { hex } from '../hex.js';

describe('crc16', () => {
  it('matches the MSL 6.2.2 example: 02 07 -> CRC 0x1241, sent low byte first as 41 12', () => {
    assert.equal(crc16(hex('02 07')), 0x1241);
  });

  it('matches the well-known read-holding frame 01 03 00 00 00 0A -> C5 CD', () => {
    assert.equal(crc16(hex('01 03 00 00 00 0a')), 0xcdc5);
  });

  it('is 0xFFFF (the initial value) for no bytes, and honours start/end', () => {
    assert.equal(crc16(Buffer.alloc(0)), 0xffff);
    assert.equal(crc16(hex('ff 02 07 ff'), 1, 3), 0x1241);
  });

  it('check value of CRC-16/MODBUS over "123456789" is 0x4B37', () => {
    assert.equal(crc16(Buffer.from('123456789', 'ascii')), 0x4b37);
  });

  it('hasValidCrc accepts a good frame and rejects a flipped bit or a too-short frame', () => {
    assert.equal(hasValidCrc(hex('01 03 00 00 00 0a c5 cd')), true);
    assert.equal(hasValidCrc(hex('01 03 00 00 00 0b c5 cd')), false);
    assert.equal(hasValidCrc(hex('01 03 00 00 00 0a cd c5')), false); // CRC bytes in the wrong order
    assert.equal(hasValidCrc(hex('41 12')), false);
  });
});
