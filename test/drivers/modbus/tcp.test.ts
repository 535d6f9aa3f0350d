/**
 * MBAP framing, Modbus Messaging on TCP/IP Implementation Guide v1.0b section 3.1.3: transaction
 * id (2), protocol id (2, 0 for Modbus), length (2: unit id + PDU), unit id (1), then the PDU.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MbapFrameAssembler, encodeMbapFrame, type MbapFrame } from '../../../drivers/modbus/tcp.js';
import { encodeRequest } from '../../../drivers/modbus/pdu.js';
import { isModbusError, type ModbusError } from '../../../drivers/modbus/errors.js';
import { hex } from '../hex.js';

/** MAP 6.3 example request as a Modbus TCP ADU, transaction 1, unit 0x11. */
const REQUEST = hex(
  '00 01', // transaction id 1
  '00 00', // protocol id 0 (Modbus)
  '00 06', // length: unit id + 5-byte PDU
  '11', // unit id 17
  '03', // function: read holding registers
  '00 6b', // starting address 107
  '00 03', // quantity 3
);

/** Its response. */
const RESPONSE = hex(
  '00 01', // transaction id 1 (echoed)
  '00 00', // protocol id
  '00 09', // length: unit id + 8-byte PDU
  '11', // unit id
  '03', // function
  '06', // byte count
  '02 2b', // 555
  '00 00', // 0
  '00 64', // 100
);

function collect(): { frames: MbapFrame[]; errors: ModbusError[]; assembler: MbapFrameAssembler } {
  const frames: MbapFrame[] = [];
  const errors: ModbusError[] = [];
  return {
    frames,
    errors,
    assembler: new MbapFrameAssembler(
      (f) => frames.push(f),
      (e) => errors.push(e),
    ),
  };
}

describe('encodeMbapFrame', () => {
  it('encodes the MAP 6.3 example as MBAP', () => {
    assert.deepEqual(
      encodeMbapFrame(1, 0x11, encodeRequest({ fc: 0x03, address: 0x6b, quantity: 3 })),
      REQUEST,
    );
  });

  it('wraps the transaction id at 65536', () => {
    assert.deepEqual(encodeMbapFrame(0x10001, 1, hex('03 00 00 00 01')).subarray(0, 2), hex('00 01'));
  });

  it('rejects unit ids outside 0..255 and empty PDUs', () => {
    assert.throws(
      () => encodeMbapFrame(1, 256, hex('03 00 00 00 01')),
      (e: unknown) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
    assert.throws(
      () => encodeMbapFrame(1, 1, Buffer.alloc(0)),
      (e: unknown) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
    );
  });
});

describe('MbapFrameAssembler', () => {
  it('decodes one whole frame', () => {
    const { frames, errors, assembler } = collect();
    assembler.push(RESPONSE);
    assert.deepEqual(frames, [
      { transactionId: 1, protocolId: 0, unitId: 0x11, pdu: hex('03 06 02 2b 00 00 00 64') },
    ]);
    assert.equal(errors.length, 0);
  });

  it('reassembles a header split across chunks', () => {
    const { frames, assembler } = collect();
    assembler.push(RESPONSE.subarray(0, 3)); // inside the protocol id
    assembler.push(RESPONSE.subarray(3, 6)); // header without the unit id
    assert.equal(frames.length, 0);
    assembler.push(RESPONSE.subarray(6, 10));
    assert.equal(frames.length, 0);
    assert.equal(assembler.pending, 10);
    assembler.push(RESPONSE.subarray(10));
    assert.equal(frames.length, 1);
    assert.equal(assembler.pending, 0);
  });

  it('splits two frames in one chunk, byte by byte too', () => {
    const second = Buffer.from(RESPONSE);
    second.writeUInt16BE(2, 0);
    const { frames, assembler } = collect();
    assembler.push(Buffer.concat([RESPONSE, second]));
    assert.deepEqual(
      frames.map((f) => f.transactionId),
      [1, 2],
    );
    const byByte = collect();
    for (const b of Buffer.concat([RESPONSE, second])) byByte.assembler.push(Buffer.from([b]));
    assert.deepEqual(
      byByte.frames.map((f) => f.transactionId),
      [1, 2],
    );
  });

  it('passes a non-zero protocol id through for the client to judge', () => {
    const { frames, assembler } = collect();
    assembler.push(hex('00 07', '00 01', '00 03', '01', '81 02'));
    assert.equal(frames[0]?.protocolId, 1);
  });

  for (const [name, length] of [
    ['0 (no unit id)', '00 00'],
    ['1 (unit id but no PDU)', '00 01'],
    ['255 (PDU longer than 253 bytes)', '00 ff'],
    ['65535', 'ff ff'],
  ] as const) {
    it(`reports a length field of ${name} as MODBUS_MALFORMED and drops the buffer`, () => {
      const { frames, errors, assembler } = collect();
      assembler.push(
        hex(
          '00 01', // transaction id
          '00 00', // protocol id
          length, // the bad length
          '11', // unit id
          '03 02 00 01', // anything
        ),
      );
      assert.equal(frames.length, 0);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.code, 'MODBUS_MALFORMED');
      assert.equal(assembler.pending, 0);
    });
  }
});
