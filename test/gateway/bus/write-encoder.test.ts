import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModbusRequest, ModbusResponse } from '../../../drivers/modbus/pdu.js';
import { encodeWrite } from '../../../gateway/bus/write-encoder.js';
import type {
  DataType,
  RegisterTable,
  ResolvedPoint,
  ResolvedQuirks,
} from '../../../gateway/profiles/types.js';

const quirks: ResolvedQuirks = {
  wordOrder: 'ABCD',
  maxRegistersPerRead: 125,
  maxBitsPerRead: 2000,
  noFc16: false,
  interFrameDelayMs: 0,
  forbiddenRanges: [],
  responseTimeoutMs: 1000,
};

function point(table: RegisterTable, type: DataType, extra: Partial<ResolvedPoint> = {}): ResolvedPoint {
  return {
    key: 'p',
    id: 'p',
    child: null,
    name: { 'zh-CN': 'p', en: 'p' },
    table,
    address: 100,
    count: type === 'u32' || type === 'i32' || type === 'f32' ? 2 : 1,
    type,
    bit: null,
    wordOrder: 'ABCD',
    scale: 1,
    offset: 0,
    unit: type === 'bool' ? null : '1',
    writable: true,
    min: null,
    max: null,
    ...extra,
  };
}

const noRead = (): Promise<ModbusResponse> => Promise.reject(new Error('no read expected'));

describe('write encoder', () => {
  it('switches a coil with FC5', async () => {
    assert.deepEqual(await encodeWrite(point('coil', 'bool'), true, quirks, noRead), [
      { fc: 0x05, address: 100, value: true },
    ]);
  });

  it('writes one register with FC6, applying the scale (engineering 23.5 at scale 0.1 -> 235)', async () => {
    assert.deepEqual(await encodeWrite(point('holding', 'u16', { scale: 0.1 }), 23.5, quirks, noRead), [
      { fc: 0x06, address: 100, value: 235 },
    ]);
  });

  it('writes a 32-bit value with FC16, or as two FC6 when the device has no FC16', async () => {
    const p = point('holding', 'u32');
    assert.deepEqual(await encodeWrite(p, 0x12345678, quirks, noRead), [
      { fc: 0x10, address: 100, values: [0x1234, 0x5678] },
    ]);
    assert.deepEqual(await encodeWrite(p, 0x12345678, { ...quirks, noFc16: true }, noRead), [
      { fc: 0x06, address: 100, value: 0x1234 },
      { fc: 0x06, address: 101, value: 0x5678 },
    ]);
  });

  it('sets one bit of a holding register by read-modify-write, keeping the other bits', async () => {
    const reads: ModbusRequest[] = [];
    const read = (request: ModbusRequest): Promise<ModbusResponse> => {
      reads.push(request);
      return Promise.resolve({ fc: 0x03, registers: [0b1000_0000_0000_0001] });
    };
    const p = point('holding', 'bool', { bit: 3 });
    assert.deepEqual(await encodeWrite(p, true, quirks, read), [
      { fc: 0x06, address: 100, value: 0b1000_0000_0000_1001 },
    ]);
    assert.deepEqual(await encodeWrite(p, false, quirks, read), [
      { fc: 0x06, address: 100, value: 0b1000_0000_0000_0001 },
    ]);
    assert.deepEqual(reads, [
      { fc: 0x03, address: 100, quantity: 1 },
      { fc: 0x03, address: 100, quantity: 1 },
    ]);
  });

  it('refuses tables Modbus cannot write', async () => {
    await assert.rejects(encodeWrite(point('input', 'u16'), 1, quirks, noRead), /cannot write/);
    await assert.rejects(encodeWrite(point('discrete', 'bool'), true, quirks, noRead), /cannot write/);
  });
});
