/**
 * RTU framing, Modbus over Serial Line v1.02 (MSL) section 2.5.1. CRCs in these frames were
 * computed with the bitwise algorithm of MSL 6.2.2, independently of drivers/modbus/crc.ts.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { RtuFrameAssembler, decodeRtuFrame, encodeRtuFrame } from '../../../drivers/modbus/rtu.js';
import {
  encodeRequest,
  responseLengthFromHeader,
  requestLengthFromHeader,
} from '../../../drivers/modbus/pdu.js';
import { isModbusError } from '../../../drivers/modbus/errors.js';
import { performance } from 'node:perf_hooks';
import { fakeMonotonicClock } from '../../helpers/fake-clock.js';
import { waitFor } from '../../helpers/wait.js';
import { hex } from '../hex.js';

/** Read holding registers 0..9 of unit 1: the frame every Modbus tutorial shows. */
const READ_10_FROM_UNIT_1 = hex(
  '01', // unit id
  '03', // function: read holding registers
  '00 00', // starting address 0
  '00 0a', // quantity 10
  'c5 cd', // CRC 0xCDC5, low byte first (MSL 2.5.1.2)
);

/** MAP 6.3 example response (555, 0, 100) from unit 10. */
const READ_RESPONSE_UNIT_10 = hex(
  '0a', // unit id 10
  '03', // function
  '06', // byte count
  '02 2b', // 555
  '00 00', // 0
  '00 64', // 100
  '76 4a', // CRC
);

/** Exception ILLEGAL DATA ADDRESS for read coils, unit 10 (MAP section 7). */
const EXCEPTION_UNIT_10 = hex(
  '0a', // unit id 10
  '81', // function 01 | 0x80
  '02', // ILLEGAL DATA ADDRESS
  'b0 53', // CRC
);

/** Write multiple registers response (MAP 6.12), unit 10. */
const WRITE_RESPONSE_UNIT_10 = hex(
  '0a', // unit id 10
  '10', // function
  '00 01', // starting address 1
  '00 02', // quantity 2
  '11 73', // CRC
);

describe('encodeRtuFrame / decodeRtuFrame', () => {
  it('encodes the textbook request with CRC C5 CD', () => {
    assert.deepEqual(
      encodeRtuFrame(1, encodeRequest({ fc: 0x03, address: 0, quantity: 10 })),
      READ_10_FROM_UNIT_1,
    );
  });

  it('encodes the MAP 6.3 example request for unit 11', () => {
    assert.deepEqual(
      encodeRtuFrame(11, encodeRequest({ fc: 0x03, address: 0x6b, quantity: 3 })),
      hex(
        '0b', // unit id 11
        '03', // function
        '00 6b', // address 107
        '00 03', // quantity 3
        '74 bd', // CRC
      ),
    );
  });

  it('encodes a broadcast write (unit 0, MSL 2.1)', () => {
    assert.deepEqual(
      encodeRtuFrame(0, encodeRequest({ fc: 0x06, address: 1, value: 10 })),
      hex(
        '00', // broadcast
        '06', // write single register
        '00 01', // address 1
        '00 0a', // value 10
        '59 dc', // CRC
      ),
    );
  });

  it('rejects unit ids outside 0..247 (248..255 are reserved, MSL 2.2)', () => {
    for (const unit of [-1, 248, 255, 1.5]) {
      assert.throws(
        () => encodeRtuFrame(unit, hex('03 00 00 00 01')),
        (e: unknown) => isModbusError(e, 'MODBUS_INVALID_REQUEST'),
      );
    }
  });

  it('decodes unit id and PDU', () => {
    const frame = decodeRtuFrame(READ_RESPONSE_UNIT_10);
    assert.equal(frame.unitId, 10);
    assert.deepEqual(frame.pdu, hex('03 06 02 2b 00 00 00 64'));
  });

  it('a flipped bit is MODBUS_CRC', () => {
    const bad = Buffer.from(READ_RESPONSE_UNIT_10);
    bad[4] = (bad[4] ?? 0) ^ 0x01;
    assert.throws(
      () => decodeRtuFrame(bad),
      (e: unknown) => isModbusError(e, 'MODBUS_CRC'),
    );
  });

  it('fewer than 4 bytes is MODBUS_TRUNCATED', () => {
    assert.throws(
      () => decodeRtuFrame(hex('0a 81 02')),
      (e: unknown) => isModbusError(e, 'MODBUS_TRUNCATED'),
    );
  });
});

describe('RtuFrameAssembler', () => {
  // The assembler arms setTimeout and measures the silence with performance.now(): tests of what a
  // gap does run on a fake clock that moves both (a real 1 ms gap can last longer than t3.5 on a
  // loaded machine); the two tests of the real-timer behaviour itself stay on real time.
  const SILENCE_MS = 10;
  let frames: Array<{ frame: Buffer; endedBy: 'length' | 'silence' }>;
  let assembler: RtuFrameAssembler;

  beforeEach(() => {
    frames = [];
    assembler = new RtuFrameAssembler({
      silenceMs: SILENCE_MS,
      lengthOf: responseLengthFromHeader,
      onFrame: (frame, endedBy) => frames.push({ frame, endedBy }),
    });
  });

  afterEach(() => {
    assembler.dispose();
  });

  it('ends a frame by its length without waiting for silence', () => {
    assembler.push(READ_RESPONSE_UNIT_10);
    assert.deepEqual(frames, [{ frame: READ_RESPONSE_UNIT_10, endedBy: 'length' }]);
    assert.equal(assembler.pending, 0);
  });

  it('reassembles a frame split into single bytes', (t) => {
    const clock = fakeMonotonicClock(t);
    for (const byte of READ_RESPONSE_UNIT_10) {
      assert.equal(frames.length, 0);
      assembler.push(Buffer.from([byte]));
      clock.advance(SILENCE_MS - 1); // gaps shorter than the silence do not end the frame
    }
    assert.deepEqual(frames, [{ frame: READ_RESPONSE_UNIT_10, endedBy: 'length' }]);
  });

  it('reassembles a frame split before its byte count', () => {
    assembler.push(READ_RESPONSE_UNIT_10.subarray(0, 2)); // unit + function: length not yet known
    assembler.push(READ_RESPONSE_UNIT_10.subarray(2, 7));
    assert.equal(frames.length, 0);
    assembler.push(READ_RESPONSE_UNIT_10.subarray(7));
    assert.deepEqual(frames, [{ frame: READ_RESPONSE_UNIT_10, endedBy: 'length' }]);
  });

  it('splits two frames that arrive in one chunk', () => {
    assembler.push(Buffer.concat([EXCEPTION_UNIT_10, WRITE_RESPONSE_UNIT_10]));
    assert.deepEqual(frames, [
      { frame: EXCEPTION_UNIT_10, endedBy: 'length' },
      { frame: WRITE_RESPONSE_UNIT_10, endedBy: 'length' },
    ]);
  });

  it('splits a frame and the start of the next, then completes the next', () => {
    assembler.push(Buffer.concat([WRITE_RESPONSE_UNIT_10, READ_RESPONSE_UNIT_10.subarray(0, 4)]));
    assert.equal(frames.length, 1);
    assert.equal(assembler.pending, 4);
    assembler.push(READ_RESPONSE_UNIT_10.subarray(4));
    assert.deepEqual(
      frames.map((f) => f.frame),
      [WRITE_RESPONSE_UNIT_10, READ_RESPONSE_UNIT_10],
    );
  });

  it('hands over a partial frame when the line falls silent for t3.5 (MSL 2.5.1.1)', async () => {
    const start = performance.now();
    assembler.push(READ_RESPONSE_UNIT_10.subarray(0, 6));
    assert.equal(frames.length, 0);
    await waitFor('the frame cut by silence', () => frames.length > 0, { intervalMs: 1 });
    // Protocol rule, not a speed goal: the frame is never cut before the line was quiet that long.
    assert.ok(performance.now() - start >= SILENCE_MS);
    assert.deepEqual(frames, [{ frame: READ_RESPONSE_UNIT_10.subarray(0, 6), endedBy: 'silence' }]);
    assert.equal(assembler.pending, 0);
  });

  it('never cuts a frame before a fractional t3.5 has really passed (timers count whole ms)', async () => {
    const fast = new RtuFrameAssembler({
      silenceMs: 1.75,
      lengthOf: responseLengthFromHeader,
      onFrame: (frame, endedBy) => frames.push({ frame, endedBy }),
    });
    for (let i = 0; i < 20; i++) {
      frames = [];
      const start = performance.now();
      fast.push(READ_RESPONSE_UNIT_10.subarray(0, 3));
      while (frames.length === 0) await sleep(0);
      assert.ok(performance.now() - start >= 1.75, `cut after ${(performance.now() - start).toFixed(3)} ms`);
    }
    fast.dispose();
  });

  it('hands over a frame of unknown function only by silence', (t) => {
    const clock = fakeMonotonicClock(t);
    const unknown = hex(
      '0a', // unit
      '2b', // function 0x2B: no length rule known to the response probe
      '0e 01', // whatever follows
    );
    assembler.push(unknown);
    assert.equal(frames.length, 0);
    clock.advance(SILENCE_MS - 1);
    assert.equal(frames.length, 0, 'not cut before the line was quiet for the silence');
    clock.advance(1);
    assert.deepEqual(frames, [{ frame: unknown, endedBy: 'silence' }]);
    clock.advance(SILENCE_MS * 3);
    assert.equal(frames.length, 1, 'handed over once');
  });

  it('hands over garbage that outgrows any legal frame at once', () => {
    // 0x03 with byte count 0xFF announces 1 + 2 + 255 + 2 = 260 bytes: beyond the 256-byte ADU.
    assembler.push(hex('0a 03 ff 00 00'));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]?.endedBy, 'silence');
    // A stream of an unknown function never announces a length: handed over once past 256 bytes.
    frames = [];
    assembler.push(Buffer.alloc(300, 0x2b));
    assert.ok(frames.length >= 1);
    assert.equal(frames[0]?.frame.length, 300);
  });

  it('reset() drops a partial frame and its silence timer', (t) => {
    const clock = fakeMonotonicClock(t);
    assembler.push(READ_RESPONSE_UNIT_10.subarray(0, 5));
    assembler.reset();
    assert.equal(assembler.pending, 0);
    clock.advance(SILENCE_MS * 3); // runs any silence timer left armed
    assert.equal(frames.length, 0);
    assembler.push(EXCEPTION_UNIT_10);
    assert.deepEqual(
      frames.map((f) => f.frame),
      [EXCEPTION_UNIT_10],
    );
  });

  it('server side: request lengths, including FC16 by its byte count', () => {
    const requests: Buffer[] = [];
    const server = new RtuFrameAssembler({
      silenceMs: SILENCE_MS,
      lengthOf: requestLengthFromHeader,
      onFrame: (f) => requests.push(f),
    });
    const fc16 = encodeRtuFrame(10, encodeRequest({ fc: 0x10, address: 1, values: [10, 258] }));
    assert.deepEqual(
      fc16,
      hex(
        '0a', // unit 10
        '10', // write multiple registers
        '00 01', // address 1
        '00 02', // quantity 2
        '04', // byte count
        '00 0a', // 10
        '01 02', // 258
        'b7 14', // CRC
      ),
    );
    server.push(Buffer.concat([READ_10_FROM_UNIT_1, fc16.subarray(0, 3)]));
    server.push(fc16.subarray(3));
    assert.deepEqual(requests, [READ_10_FROM_UNIT_1, fc16]);
    server.dispose();
  });
});
