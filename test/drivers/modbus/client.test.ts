/**
 * ModbusClient over the MockTransport: the real client, a scripted far end answering with exact
 * bytes. Every typed error, the FIFO discipline, the RTU timing of MSL v1.02 section 2.5.1.1, and
 * a fuzz loop of hostile replies.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ModbusClient,
  type ModbusClientOptions,
  type RequestOptions,
} from '../../../drivers/modbus/client.js';
import { ModbusError, isModbusError, type ModbusErrorCode } from '../../../drivers/modbus/errors.js';
import {
  decodeRequest,
  encodeException,
  encodeResponse,
  type ModbusRequest,
} from '../../../drivers/modbus/pdu.js';
import { decodeRtuFrame, encodeRtuFrame } from '../../../drivers/modbus/rtu.js';
import { encodeMbapFrame } from '../../../drivers/modbus/tcp.js';
import { MockTransport } from '../../../drivers/transport/mock.js';
import { interFrameSilenceMs, type SerialSettings } from '../../../drivers/transport/transport.js';
import { hex } from '../hex.js';
import { fakeMonotonicClock } from '../../helpers/fake-clock.js';
import { seededRandom } from '../../helpers/random.js';

/** 115200 baud: t3.5 is the fixed 1.75 ms of MSL 2.5.1.1, so tests that do not study timing run fast. */
const FAST_LINE: SerialSettings = { baudRate: 115200, dataBits: 8, parity: 'even', stopBits: 1 };
const OPTS: RequestOptions = { timeoutMs: 1000 };
const SHORT: RequestOptions = { timeoutMs: 40 };

const clients: ModbusClient[] = [];

async function setup(
  framing: 'rtu' | 'tcp',
  extra: Partial<ModbusClientOptions> = {},
): Promise<{ mock: MockTransport; client: ModbusClient }> {
  const mock = new MockTransport();
  await mock.open();
  // A forgiving frame silence: the mock's chunks are a few event-loop turns apart, and a loaded
  // test machine must not turn that into a truncated frame. Tests of the silence set their own.
  const client = new ModbusClient({
    transport: mock,
    framing,
    serial: FAST_LINE,
    frameSilenceMs: 20,
    ...extra,
  });
  clients.push(client);
  return { mock, client };
}

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function rejection(promise: Promise<unknown>, code: ModbusErrorCode): Promise<ModbusError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isModbusError(error), `expected a ModbusError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}

/** A tiny RTU slave for the mock: answers any request for `unitId` from a register/bit table. */
function rtuSlave(unitId: number, table: number[] = Array.from({ length: 100 }, (_, i) => i * 10)) {
  return (frame: Buffer): Buffer | null => {
    const { unitId: to, pdu } = decodeRtuFrame(frame);
    if (to !== unitId) return null;
    return encodeRtuFrame(unitId, answer(decodeRequest(pdu), table));
  };
}

function answer(req: ModbusRequest, table: number[]): Buffer {
  switch (req.fc) {
    case 0x01:
    case 0x02:
      return encodeResponse(req, {
        bits: Array.from({ length: req.quantity }, (_, i) => (table[req.address + i] ?? 0) % 2 === 1),
      });
    case 0x03:
    case 0x04:
      return encodeResponse(req, {
        registers: Array.from({ length: req.quantity }, (_, i) => table[req.address + i] ?? 0),
      });
    case 0x05:
      table[req.address] = req.value ? 1 : 0;
      return encodeResponse(req);
    case 0x06:
      table[req.address] = req.value;
      return encodeResponse(req);
    case 0x0f:
      req.values.forEach((v, i) => (table[req.address + i] = v ? 1 : 0));
      return encodeResponse(req);
    case 0x10:
      req.values.forEach((v, i) => (table[req.address + i] = v));
      return encodeResponse(req);
  }
}

describe('ModbusClient, RTU framing', () => {
  it('sends the exact request frame and decodes the reply', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() =>
      hex(
        '01', // unit 1
        '03', // read holding registers
        '02', // byte count
        '00 64', // 100
        'b9 af', // CRC
      ),
    );
    const result = await client.request(1, { fc: 0x03, address: 0, quantity: 1 }, OPTS);
    assert.deepEqual(mock.written, [hex('01 03 00 00 00 01 84 0a')]);
    assert.deepEqual(result.response, { fc: 0x03, registers: [100] });
    assert.equal(result.requestBytes, 8);
    assert.equal(result.responseBytes, 7);
    assert.ok(result.rttMs >= 0);
    assert.deepEqual(client.stats, { strayFrames: 0, bytesIn: 7, bytesOut: 8 });
  });

  it('every function code through the convenience wrappers', async () => {
    const { mock, client } = await setup('rtu');
    const table = Array.from({ length: 100 }, (_, i) => i * 10 + (i % 2));
    mock.onWrite(rtuSlave(7, table));
    assert.deepEqual(await client.readHoldingRegisters(7, 2, 3, OPTS), [20, 31, 40]);
    assert.deepEqual(await client.readInputRegisters(7, 5, 1, OPTS), [51]);
    assert.deepEqual(await client.readCoils(7, 0, 4, OPTS), [false, true, false, true]);
    assert.deepEqual(await client.readDiscreteInputs(7, 1, 2, OPTS), [true, false]);
    await client.writeRegister(7, 10, 0xbeef, OPTS);
    await client.writeRegisters(7, 20, [1, 2, 3], OPTS);
    await client.writeCoil(7, 30, true, OPTS);
    await client.writeCoils(7, 40, [true, false, true], OPTS);
    assert.equal(table[10], 0xbeef);
    assert.deepEqual(table.slice(20, 23), [1, 2, 3]);
    assert.equal(table[30], 1);
    assert.deepEqual(table.slice(40, 43), [1, 0, 1]);
    assert.deepEqual(
      mock.written.map((f) => f[1]),
      [0x03, 0x04, 0x01, 0x02, 0x06, 0x10, 0x05, 0x0f],
    );
  });

  it('reassembles a reply delivered in small chunks', async () => {
    const { mock, client } = await setup('rtu');
    const reply = hex('0a 03 06 02 2b 00 00 00 64 76 4a');
    mock.onWrite(() => [reply.subarray(0, 1), reply.subarray(1, 3), reply.subarray(3, 8), reply.subarray(8)]);
    const result = await client.request(10, { fc: 0x03, address: 0x6b, quantity: 3 }, OPTS);
    assert.deepEqual(result.response, { fc: 0x03, registers: [555, 0, 100] });
  });

  it('no reply -> MODBUS_TIMEOUT', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => null);
    const error = await rejection(client.readHoldingRegisters(1, 0, 1, SHORT), 'MODBUS_TIMEOUT');
    assert.equal(error.unitId, 1);
  });

  it('bad CRC -> MODBUS_CRC at once, not after the timeout', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => hex('01 03 02 00 64 b9 ae')); // last CRC byte off by one
    await rejection(client.readHoldingRegisters(1, 0, 1, { timeoutMs: 60_000 }), 'MODBUS_CRC');
  });

  it('a partial frame ended by silence -> MODBUS_TRUNCATED at once', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => hex('01 03 02 00')); // 4 of 7 bytes, then the line falls silent
    const error = await rejection(
      client.readHoldingRegisters(1, 0, 1, { timeoutMs: 60_000 }),
      'MODBUS_TRUNCATED',
    );
    assert.match(error.message, /4 of 7/);
  });

  it('by default a frame ends after t3.5 of silence: a longer gap inside a reply -> MODBUS_TRUNCATED', async () => {
    // 1200 baud 8E1: t3.5 = 3.5 x 11 bits / 1200 = 32.1 ms. A 5 ms gap is fine, a 100 ms gap cuts.
    const slowLine: SerialSettings = { baudRate: 1200, dataBits: 8, parity: 'even', stopBits: 1 };
    const { mock, client } = await setup('rtu', { serial: slowLine, frameSilenceMs: undefined });
    const reply = hex('01 03 02 00 64 b9 af');
    mock.onWrite(() => ({ chunks: [reply.subarray(0, 3), reply.subarray(3)], chunkGapMs: 5 }));
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1, OPTS), [100]);
    mock.onWrite(() => ({ chunks: [reply.subarray(0, 3), reply.subarray(3)], chunkGapMs: 100 }));
    await rejection(client.readHoldingRegisters(1, 0, 1, { timeoutMs: 60_000 }), 'MODBUS_TRUNCATED');
  });

  it('a USB adapter gap is tolerated with frameSilenceMs', async () => {
    const { mock, client } = await setup('rtu', { frameSilenceMs: 150 });
    const reply = hex('01 03 02 00 64 b9 af');
    mock.onWrite(() => ({ chunks: [reply.subarray(0, 3), reply.subarray(3)], chunkGapMs: 40 }));
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1, OPTS), [100]);
  });

  it('a reply from another unit is counted as stray; on timeout -> MODBUS_WRONG_UNIT naming it', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => encodeRtuFrame(2, hex('03 02 00 64')));
    const error = await rejection(client.readHoldingRegisters(1, 0, 1, SHORT), 'MODBUS_WRONG_UNIT');
    assert.match(error.message, /unit 2 answered/);
    assert.equal(client.stats.strayFrames, 1);
  });

  it('a reply from another unit followed by ours: keeps waiting and succeeds', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => [encodeRtuFrame(2, hex('03 02 00 01')), encodeRtuFrame(1, hex('03 02 00 64'))]);
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1, OPTS), [100]);
    assert.equal(client.stats.strayFrames, 1);
  });

  it('the late reply of a timed-out request is stray, not the answer to the next one', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => null);
    await rejection(client.readHoldingRegisters(1, 0, 2, SHORT), 'MODBUS_TIMEOUT');
    // The slave was only slow: its answer to the 2-register read shows up during the next request.
    const late = encodeRtuFrame(1, hex('03 04 00 01 00 02'));
    mock.onWrite(() => [late, encodeRtuFrame(1, hex('03 02 00 64'))]);
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1, OPTS), [100]);
    assert.equal(client.stats.strayFrames, 1);
  });

  it('a late reply arriving while idle is counted as stray', async (t) => {
    const { mock, client } = await setup('rtu');
    const clock = fakeMonotonicClock(t);
    mock.inject(encodeRtuFrame(1, hex('03 02 00 64')));
    mock.inject(hex('ff ff ff')); // noise is not a frame
    assert.equal(client.stats.strayFrames, 1, 'the frame, at once (ended by its length)');
    clock.advance(20); // the frame silence (setup's frameSilenceMs): the noise is handed over
    assert.equal(client.stats.strayFrames, 1, 'and not the noise');
    assert.equal(client.stats.bytesIn, 10);
  });

  it('exception response -> MODBUS_EXCEPTION with the exception code', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => encodeRtuFrame(1, encodeException(0x03, 0x02)));
    const error = await rejection(client.readHoldingRegisters(1, 0x4a1, 1, OPTS), 'MODBUS_EXCEPTION');
    assert.equal(error.exceptionCode, 0x02);
    assert.equal(error.functionCode, 0x03);
    assert.equal(error.unitId, 1);
  });

  it('reply for another function -> MODBUS_WRONG_FUNCTION', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => encodeRtuFrame(1, hex('04 02 00 64')));
    await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_WRONG_FUNCTION');
  });

  it('reply with a byte count that does not fit the request -> MODBUS_MALFORMED', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => encodeRtuFrame(1, hex('03 04 00 64 00 65')));
    await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_MALFORMED');
  });

  it('a header announcing more than the 256-byte RTU maximum -> MODBUS_MALFORMED at once (MSL 2.5.1)', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() =>
      hex(
        '01', // unit 1
        '03', // read holding registers
        'ff', // byte count 255: 1 + 2 + 255 + 2 = 260 bytes, more than any RTU frame
        '00 01 00 02',
      ),
    );
    await rejection(client.readHoldingRegisters(1, 0, 1, { timeoutMs: 60_000 }), 'MODBUS_MALFORMED');
  });

  it('reply of an unknown function, ended by silence -> MODBUS_WRONG_FUNCTION', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => encodeRtuFrame(1, hex('2b 0e 01')));
    await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_WRONG_FUNCTION');
  });

  it('transport lost while waiting -> MODBUS_TRANSPORT', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => null);
    const pending = client.readHoldingRegisters(1, 0, 1, OPTS);
    setTimeout(() => mock.simulateDisconnect(new Error('USB adapter unplugged')), 5);
    const error = await rejection(pending, 'MODBUS_TRANSPORT');
    assert.match(error.message, /USB adapter unplugged/);
  });

  it('transport not open -> MODBUS_TRANSPORT', async () => {
    const { mock, client } = await setup('rtu');
    await mock.close();
    await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_TRANSPORT');
  });

  it('client closed -> pending and queued requests fail with MODBUS_CLOSED, later ones too', async () => {
    const { mock, client } = await setup('rtu');
    mock.onWrite(() => null);
    const first = client.readHoldingRegisters(1, 0, 1, OPTS);
    const second = client.readHoldingRegisters(1, 1, 1, OPTS);
    while (mock.written.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    await client.close();
    await rejection(first, 'MODBUS_CLOSED');
    await rejection(second, 'MODBUS_CLOSED');
    await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_CLOSED');
    assert.equal(mock.written.length, 1);
    assert.equal(mock.isOpen, false);
  });

  it('invalid requests are refused before anything is written', async () => {
    const { mock, client } = await setup('rtu');
    await rejection(client.readHoldingRegisters(1, 0, 0, OPTS), 'MODBUS_INVALID_REQUEST');
    await rejection(client.readHoldingRegisters(248, 0, 1, OPTS), 'MODBUS_INVALID_REQUEST');
    await rejection(client.readHoldingRegisters(1, 0, 1, { timeoutMs: 0 }), 'MODBUS_INVALID_REQUEST');
    await rejection(
      client.readHoldingRegisters(1, 0, 1, { timeoutMs: 10, interFrameDelayMs: -1 }),
      'MODBUS_INVALID_REQUEST',
    );
    assert.equal(mock.written.length, 0);
  });

  it('broadcast write (unit 0) resolves after the turnaround without a reply (MSL 2.1)', async () => {
    const { mock, client } = await setup('rtu', { broadcastTurnaroundMs: 20 });
    mock.onWrite(() => null);
    const result = await client.request(0, { fc: 0x06, address: 1, value: 10 }, { timeoutMs: 5 });
    assert.deepEqual(mock.written, [hex('00 06 00 01 00 0a 59 dc')]);
    assert.deepEqual(result.response, { fc: 0x06, address: 1, value: 10 });
    assert.equal(result.responseBytes, 0);
  });

  it('broadcast read (unit 0) -> MODBUS_INVALID_REQUEST', async () => {
    const { mock, client } = await setup('rtu');
    await rejection(client.readHoldingRegisters(0, 0, 1, OPTS), 'MODBUS_INVALID_REQUEST');
    await rejection(client.readCoils(0, 0, 1, OPTS), 'MODBUS_INVALID_REQUEST');
    assert.equal(mock.written.length, 0);
  });

  it('serialises concurrent callers: one transaction in flight, FIFO order', async () => {
    const { mock, client } = await setup('rtu');
    const slave = rtuSlave(1);
    mock.onWrite((frame) => ({ delayMs: 10, chunks: [slave(frame) ?? Buffer.alloc(0)] }));
    const results = await Promise.all([
      client.readHoldingRegisters(1, 1, 1, OPTS),
      client.readHoldingRegisters(1, 2, 1, OPTS),
      client.readHoldingRegisters(1, 3, 1, OPTS),
    ]);
    assert.deepEqual(results, [[10], [20], [30]]);
    assert.deepEqual(
      mock.written.map((f) => f.readUInt16BE(2)),
      [1, 2, 3],
    );
    // Each request went out only after the previous reply had arrived.
    for (let i = 1; i < mock.writes.length; i++) {
      assert.ok(
        (mock.writes[i]?.at ?? 0) >= (mock.deliveries[i - 1]?.at ?? Infinity),
        `write ${i} overlapped reply ${i - 1}`,
      );
    }
  });

  it('a failed request does not stop the queue', async () => {
    const { mock, client } = await setup('rtu');
    const slave = rtuSlave(1);
    mock.onWrite((frame) => (frame.readUInt16BE(2) === 1 ? hex('01 83 02 c0 f1') : slave(frame)));
    const [a, b] = await Promise.allSettled([
      client.readHoldingRegisters(1, 1, 1, OPTS),
      client.readHoldingRegisters(1, 2, 1, OPTS),
    ]);
    assert.equal(a.status, 'rejected');
    assert.deepEqual(b, { status: 'fulfilled', value: [20] });
  });

  it('waits t3.5 + interFrameDelayMs after the last byte of a reply before the next request (MSL 2.5.1.1)', async () => {
    // At 1200 baud 8E1 a character is 11 bits = 9.17 ms, so t3.5 = 32.1 ms.
    const slowLine: SerialSettings = { baudRate: 1200, dataBits: 8, parity: 'even', stopBits: 1 };
    const { mock, client } = await setup('rtu', { serial: slowLine });
    mock.onWrite(rtuSlave(1));
    const opts: RequestOptions = { timeoutMs: 1000, interFrameDelayMs: 15 };
    const gap = interFrameSilenceMs(slowLine) + 15;
    await Promise.all([
      client.readHoldingRegisters(1, 0, 1, opts),
      client.readHoldingRegisters(1, 1, 1, opts),
      client.readHoldingRegisters(1, 2, 1, opts),
    ]);
    assert.equal(mock.writes.length, 3);
    for (let i = 1; i < 3; i++) {
      const since = (mock.writes[i]?.at ?? 0) - (mock.deliveries[i - 1]?.at ?? 0);
      assert.ok(
        since >= gap,
        `request ${i} went out ${since.toFixed(2)} ms after the reply; the gap is ${gap.toFixed(2)} ms`,
      );
    }
  });

  it('bytes seen on the line while waiting push the next request out by t3.5 again', async () => {
    const slowLine: SerialSettings = { baudRate: 1200, dataBits: 8, parity: 'even', stopBits: 1 };
    const { mock, client } = await setup('rtu', { serial: slowLine });
    const slave = rtuSlave(1);
    // After the first reply another master's traffic appears 20 ms later, inside our t3.5 wait.
    let first = true;
    mock.onWrite((frame) => {
      if (first) setTimeout(() => mock.inject(hex('05 03 00 00 00 01')), 20);
      first = false;
      return slave(frame);
    });
    await Promise.all([
      client.readHoldingRegisters(1, 0, 1, OPTS),
      client.readHoldingRegisters(1, 1, 1, OPTS),
    ]);
    const noise = mock.deliveries.find((d) => d.bytes[0] === 0x05);
    assert.ok(noise, 'the noise was delivered');
    const since = (mock.writes[1]?.at ?? 0) - noise.at;
    assert.ok(
      since >= interFrameSilenceMs(slowLine),
      `second request ${since.toFixed(2)} ms after the noise`,
    );
  });
});

describe('ModbusClient, TCP framing', () => {
  /** An MBAP reply for the request `frame`, with fields overridable to build hostile ones. */
  function mbapReply(
    frame: Buffer,
    pdu: Buffer,
    over: { tid?: number; unit?: number; protocol?: number } = {},
  ): Buffer {
    const reply = encodeMbapFrame(over.tid ?? frame.readUInt16BE(0), over.unit ?? frame[6] ?? 0, pdu);
    if (over.protocol !== undefined) reply.writeUInt16BE(over.protocol, 2);
    return reply;
  }

  it('sends the exact MBAP request and decodes the reply', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite(() =>
      hex(
        '00 00', // transaction id 0 (the first)
        '00 00', // protocol id
        '00 09', // length
        '11', // unit id 17
        '03 06 02 2b 00 00 00 64', // MAP 6.3 example response
      ),
    );
    const result = await client.request(0x11, { fc: 0x03, address: 0x6b, quantity: 3 }, OPTS);
    assert.deepEqual(mock.written, [hex('00 00', '00 00', '00 06', '11', '03 00 6b 00 03')]);
    assert.deepEqual(result.response, { fc: 0x03, registers: [555, 0, 100] });
    assert.equal(result.requestBytes, 12);
    assert.equal(result.responseBytes, 15);
  });

  it('transaction ids increment by one per request and wrap at 65536', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite((frame) => mbapReply(frame, hex('06 00 01 00 02')));
    const tids: number[] = [];
    mock.onWrite((frame) => {
      tids.push(frame.readUInt16BE(0));
      return mbapReply(frame, hex('06 00 01 00 02'));
    });
    for (let i = 0; i < 65538; i++) await client.writeRegister(1, 1, 2, OPTS);
    assert.deepEqual(tids.slice(0, 3), [0, 1, 2]);
    assert.deepEqual(tids.slice(65534), [65534, 65535, 0, 1]);
  });

  it('unit id 0 is an ordinary unit on TCP and is answered', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite((frame) => mbapReply(frame, hex('03 02 00 07')));
    assert.deepEqual(await client.readHoldingRegisters(0, 0, 1, OPTS), [7]);
  });

  it('a reply with an old transaction id is a late answer: counted as stray and ignored', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite(() => null);
    await rejection(client.readHoldingRegisters(1, 0, 1, SHORT), 'MODBUS_TIMEOUT');
    mock.onWrite((frame) => [
      mbapReply(frame, hex('03 02 00 01'), { tid: 0 }),
      mbapReply(frame, hex('03 02 00 02')),
    ]);
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1, OPTS), [2]);
    assert.equal(client.stats.strayFrames, 1);
  });

  it('protocol id other than 0 -> MODBUS_WRONG_TRANSACTION', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite((frame) => mbapReply(frame, hex('03 02 00 01'), { protocol: 1 }));
    await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_WRONG_TRANSACTION');
  });

  it('matching transaction but another unit -> MODBUS_WRONG_UNIT', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite((frame) => mbapReply(frame, hex('03 02 00 01'), { unit: 9 }));
    const error = await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_WRONG_UNIT');
    assert.match(error.message, /unit 9/);
  });

  it('exception -> MODBUS_EXCEPTION', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite((frame) => mbapReply(frame, hex('90 04')));
    const error = await rejection(client.writeRegisters(1, 0, [1], OPTS), 'MODBUS_EXCEPTION');
    assert.equal(error.exceptionCode, 0x04);
  });

  it('an impossible MBAP length -> MODBUS_MALFORMED, and the connection is reopened', async () => {
    const { mock, client } = await setup('tcp');
    let closes = 0;
    mock.onClose(() => closes++);
    mock.onWrite(() => hex('00 00 00 00 ff ff 01 03'));
    await rejection(client.readHoldingRegisters(1, 0, 1, OPTS), 'MODBUS_MALFORMED');
    mock.onWrite((frame) => mbapReply(frame, hex('03 02 00 05')));
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1, OPTS), [5]);
    assert.equal(closes, 1);
    assert.equal(mock.isOpen, true);
  });

  it('a reply split across chunks, with the header cut', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite((frame) => {
      const reply = mbapReply(frame, hex('03 02 00 05'));
      return [reply.subarray(0, 2), reply.subarray(2, 5), reply.subarray(5)];
    });
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1, OPTS), [5]);
  });

  it('connection lost while waiting -> MODBUS_TRANSPORT', async () => {
    const { mock, client } = await setup('tcp');
    mock.onWrite(() => null);
    const pending = client.readHoldingRegisters(1, 0, 1, OPTS);
    setTimeout(() => mock.simulateDisconnect(), 5);
    await rejection(pending, 'MODBUS_TRANSPORT');
  });
});

describe('ModbusClient fuzz: hostile replies always end in a result or a ModbusError', () => {
  const ITERATIONS = 250;

  function randomBytes(rand: () => number, max: number): Buffer {
    return Buffer.from(Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256)));
  }

  function randomRequest(rand: () => number): ModbusRequest {
    const address = Math.floor(rand() * 100);
    switch (Math.floor(rand() * 6)) {
      case 0:
        return { fc: 0x01, address, quantity: 1 + Math.floor(rand() * 20) };
      case 1:
        return { fc: 0x03, address, quantity: 1 + Math.floor(rand() * 10) };
      case 2:
        return { fc: 0x04, address, quantity: 1 + Math.floor(rand() * 10) };
      case 3:
        return { fc: 0x05, address, value: rand() < 0.5 };
      case 4:
        return { fc: 0x06, address, value: Math.floor(rand() * 65536) };
      default:
        return { fc: 0x10, address, values: [1, 2, 3] };
    }
  }

  /** Splits `bytes` into 1..4 random chunks. */
  function chunked(rand: () => number, bytes: Buffer): Buffer[] {
    const chunks: Buffer[] = [];
    let rest = bytes;
    while (rest.length > 0 && chunks.length < 3) {
      const cut = 1 + Math.floor(rand() * rest.length);
      chunks.push(rest.subarray(0, cut));
      rest = rest.subarray(cut);
    }
    if (rest.length > 0) chunks.push(rest);
    return chunks;
  }

  async function fuzz(framing: 'rtu' | 'tcp', seed: number): Promise<Map<string, number>> {
    const rand = seededRandom(seed);
    // Short frame silence so garbage ends by silence well inside the timeout (any outcome is fine here).
    const { mock, client } = await setup(framing, { frameSilenceMs: 3 });
    const outcomes = new Map<string, number>();
    mock.onWrite((frame) => {
      const unit = framing === 'rtu' ? (frame[0] ?? 1) : (frame[6] ?? 1);
      const pdu = randomBytes(rand, 12);
      const kind = Math.floor(rand() * 6);
      let reply: Buffer;
      if (kind === 0)
        reply = randomBytes(rand, 300); // pure garbage, possibly huge
      else if (kind === 1)
        reply = Buffer.alloc(0); // silence
      else if (framing === 'rtu') {
        // Plausible frames: right unit and CRC around a random PDU, or a valid frame mutated.
        const good = encodeRtuFrame(unit, pdu.length > 0 ? pdu : hex('83 02'));
        if (kind === 2) reply = good;
        else if (kind === 3) reply = good.subarray(0, Math.floor(rand() * good.length));
        else {
          reply = Buffer.from(good);
          reply[Math.floor(rand() * reply.length)] = Math.floor(rand() * 256);
        }
      } else {
        const good = encodeMbapFrame(frame.readUInt16BE(0), unit, pdu.length > 0 ? pdu : hex('83 02'));
        if (kind === 2) reply = good;
        else if (kind === 3) reply = good.subarray(0, Math.floor(rand() * good.length));
        else {
          reply = Buffer.from(good);
          reply[Math.floor(rand() * reply.length)] = Math.floor(rand() * 256);
        }
      }
      return reply.length === 0 ? null : chunked(rand, reply);
    });
    for (let i = 0; i < ITERATIONS; i++) {
      const req = randomRequest(rand);
      try {
        await client.request(1 + Math.floor(rand() * 3), req, { timeoutMs: 25 });
        outcomes.set('ok', (outcomes.get('ok') ?? 0) + 1);
      } catch (error) {
        assert.ok(
          error instanceof ModbusError,
          `iteration ${i} (seed ${seed}) rejected with a non-ModbusError: ${String(error)}`,
        );
        outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      }
    }
    return outcomes;
  }

  for (const framing of ['rtu', 'tcp'] as const) {
    it(`${framing}: ${ITERATIONS} seeded hostile replies`, async () => {
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown): void => void uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        const outcomes = await fuzz(framing, framing === 'rtu' ? 0x5eed : 0xbad5eed);
        assert.deepEqual(uncaught, []);
        console.log(`# fuzz ${framing} outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
        // The fuzz must reach the decoder, not just time out.
        assert.ok(outcomes.size >= 4, `too few distinct outcomes: ${JSON.stringify([...outcomes])}`);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
    });
  }
});
