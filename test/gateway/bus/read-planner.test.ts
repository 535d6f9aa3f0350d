/**
 * Coalescing against hand-worked layouts. At 9600 baud 8E1 one character is 11/9600 s = 1.1458 ms
 * and t3.5 = 4.0104 ms; with a 2 ms turnaround a read of N registers costs
 *   (13 + 2N) x 1.1458 + 2 x 4.0104 + 2 = 24.92 + 2.2917 N  ms.
 * Bridging a gap of G registers costs 2.2917 G ms, a separate request 24.92 ms more, so gaps of up
 * to 10 registers are bridged and gaps of 11 or more are split (10 x 2.29 = 22.9 < 24.92 < 25.2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planReads, planTable, spansOf, type PlanLimits } from '../../../gateway/bus/read-planner.js';
import { rtuWireCost, tcpWireCost } from '../../../gateway/bus/wire-cost.js';
import type { DataType, RegisterTable, ResolvedPoint } from '../../../gateway/profiles/types.js';

const serial = { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 } as const;
const cost = rtuWireCost(serial, 2);
const noLimits: PlanLimits = { maxRegistersPerRead: 125, maxBitsPerRead: 2000, forbiddenRanges: [] };

function point(
  table: RegisterTable,
  address: number,
  type: DataType = 'u16',
  bit: number | null = null,
): ResolvedPoint {
  const key = `${table}_${address}${bit === null ? '' : `_b${bit}`}`;
  return {
    key,
    id: key,
    child: null,
    name: { 'zh-CN': key, en: key },
    table,
    address,
    count: type === 'u32' || type === 'i32' || type === 'f32' ? 2 : 1,
    type,
    bit,
    wordOrder: 'ABCD',
    scale: 1,
    offset: 0,
    unit: type === 'bool' ? null : '1',
    writable: false,
    min: null,
    max: null,
  };
}

/** The request set as [table, address, quantity] triples, easy to compare with a hand-worked answer. */
function shape(points: ResolvedPoint[], limits = noLimits, coalesce = true): Array<[string, number, number]> {
  return planReads(points, limits, cost, { coalesce }).map((r) => [r.table, r.address, r.quantity]);
}

describe('read planner', () => {
  it('bridges a 4-register gap but splits 14- and 18-register gaps', () => {
    const points = [
      point('holding', 0),
      point('holding', 5),
      point('holding', 20, 'u32'),
      point('holding', 40),
    ];
    assert.deepEqual(shape(points), [
      ['holding', 0, 6],
      ['holding', 20, 2],
      ['holding', 40, 1],
    ]);
  });

  it('bridges a 10-register gap and splits an 11-register gap (the break-even point)', () => {
    assert.deepEqual(shape([point('input', 0), point('input', 11)]), [['input', 0, 12]]);
    assert.deepEqual(shape([point('input', 0), point('input', 12)]), [
      ['input', 0, 1],
      ['input', 12, 1],
    ]);
  });

  it('finds the cheaper split under a per-device limit where greedy packing would not', () => {
    // Limit 10: greedy takes 0..8 (9 regs) + 12 (1) = 10 registers moved; the optimum is
    // 0 (1) + 8..12 (5) = 6 registers moved, same number of requests.
    const limits = { ...noLimits, maxRegistersPerRead: 10 };
    assert.deepEqual(shape([point('holding', 0), point('holding', 8), point('holding', 12)], limits), [
      ['holding', 0, 1],
      ['holding', 8, 5],
    ]);
  });

  it('never reads across a forbidden range, even where bridging would be cheaper', () => {
    const limits = { ...noLimits, forbiddenRanges: [{ table: 'holding' as const, start: 3, end: 4 }] };
    assert.deepEqual(shape([point('holding', 0), point('holding', 6)], limits), [
      ['holding', 0, 1],
      ['holding', 6, 1],
    ]);
    // A forbidden range in another table does not matter.
    const elsewhere = { ...noLimits, forbiddenRanges: [{ table: 'input' as const, start: 3, end: 4 }] };
    assert.deepEqual(shape([point('holding', 0), point('holding', 6)], elsewhere), [['holding', 0, 7]]);
  });

  it('respects the protocol maximum of 125 registers per read', () => {
    // On TCP bridging is nearly free, so only the 125-register cap (MAP v1.1b3 6.3) splits.
    const tcp = (points: ResolvedPoint[]): number[][] =>
      planReads(points, noLimits, tcpWireCost(), { coalesce: true }).map((r) => [r.address, r.quantity]);
    assert.deepEqual(tcp([point('holding', 0), point('holding', 124)]), [[0, 125]]);
    assert.deepEqual(tcp([point('holding', 0), point('holding', 125)]), [
      [0, 1],
      [125, 1],
    ]);
  });

  it('bridges wide gaps between coils, where a bit costs 1/8 of a byte', () => {
    // Gap of 49 bits = 7 bytes = 8.0 ms < 24.9 ms for another request.
    assert.deepEqual(
      shape([point('coil', 0, 'bool'), point('coil', 50, 'bool'), point('coil', 100, 'bool')]),
      [['coil', 0, 101]],
    );
  });

  it('merges bit points that share a register into one span', () => {
    const points = [point('holding', 10, 'bool', 0), point('holding', 10, 'bool', 3), point('holding', 11)];
    assert.equal(spansOf(points, 'holding').length, 2);
    const plan = planReads(points, noLimits, cost, { coalesce: true });
    assert.equal(plan.length, 1);
    assert.deepEqual([plan[0]?.address, plan[0]?.quantity, plan[0]?.points.length], [10, 2, 3]);
  });

  it('keeps tables apart and orders requests coil, discrete, holding, input', () => {
    const points = [
      point('input', 0),
      point('holding', 0),
      point('discrete', 0, 'bool'),
      point('coil', 0, 'bool'),
    ];
    assert.deepEqual(
      shape(points).map(([table]) => table),
      ['coil', 'discrete', 'holding', 'input'],
    );
  });

  it('issues one request per span when coalescing is off (the reference schedule)', () => {
    const points = [point('holding', 0), point('holding', 1), point('holding', 2, 'f32')];
    assert.deepEqual(shape(points, noLimits, false), [
      ['holding', 0, 1],
      ['holding', 1, 1],
      ['holding', 2, 2],
    ]);
  });

  it('on Modbus TCP bridges every gap that fits in one request', () => {
    const plan = planTable(
      spansOf([point('holding', 0), point('holding', 100)], 'holding'),
      noLimits,
      tcpWireCost(),
      { coalesce: true },
    );
    assert.deepEqual(
      plan.map((r) => [r.address, r.quantity, r.bridged]),
      [[0, 101, 99]],
    );
  });

  it('rejects a single point larger than the device allows per read', () => {
    const limits = { ...noLimits, maxRegistersPerRead: 1 };
    assert.throws(() => shape([point('holding', 0, 'f32')], limits), /needs 2 > 1/);
  });
});
