/**
 * Coalesces a device's points into the cheapest set of read requests.
 *
 * Points of one table are sorted by address and grouped into "spans" (a 32-bit value is one span
 * of 2 registers; bit points sharing a register are one span). Then a dynamic programme over the
 * sorted spans picks, for every prefix, the cheapest way to cover it, where one request may cover
 * spans j..i if it stays within the device's quantity limit and does not touch a forbidden range.
 * Bridging a gap costs its registers' wire time; a new request costs its whole overhead; the model
 * (wire-cost.ts) decides. This is optimal for the model, O(n^2) in spans per table, and runs once
 * per device at start-up.
 */
import type { ForbiddenRange, LoadedProfile, RegisterTable, ResolvedPoint } from '../profiles/types.js';
import { LIMITS } from '../../drivers/modbus/pdu.js';
import type { WireCostModel } from './wire-cost.js';

/** Function code per table, Modbus Application Protocol v1.1b3 sections 6.1-6.4. */
export const READ_FUNCTION: Readonly<Record<RegisterTable, 0x01 | 0x02 | 0x03 | 0x04>> = {
  coil: 0x01,
  discrete: 0x02,
  holding: 0x03,
  input: 0x04,
};

export interface Span {
  table: RegisterTable;
  address: number;
  count: number;
  points: ResolvedPoint[];
}

export interface ReadRequestPlan {
  table: RegisterTable;
  fc: 0x01 | 0x02 | 0x03 | 0x04;
  address: number;
  quantity: number;
  /** Points this request decodes, each at `point.address - address` inside the reply. */
  points: ResolvedPoint[];
  /** Registers/bits read only to bridge gaps between points. */
  bridged: number;
}

export interface PlanLimits {
  maxRegistersPerRead: number;
  maxBitsPerRead: number;
  forbiddenRanges: readonly ForbiddenRange[];
}

export interface PlanOptions {
  /** false = one request per span, never bridging (the per-point reference schedule). */
  coalesce: boolean;
}

const TABLES: readonly RegisterTable[] = ['coil', 'discrete', 'holding', 'input'];

/** Groups points into spans: points overlapping or sharing a register (bit points) form one span. */
export function spansOf(points: readonly ResolvedPoint[], table: RegisterTable): Span[] {
  const sorted = points
    .filter((p) => p.table === table)
    .sort((a, b) => a.address - b.address || a.count - b.count);
  const spans: Span[] = [];
  for (const point of sorted) {
    const last = spans[spans.length - 1];
    if (last && point.address < last.address + last.count) {
      last.count = Math.max(last.count, point.address + point.count - last.address);
      last.points.push(point);
    } else {
      spans.push({ table, address: point.address, count: point.count, points: [point] });
    }
  }
  return spans;
}

function touchesForbidden(
  table: RegisterTable,
  start: number,
  end: number,
  forbidden: readonly ForbiddenRange[],
): boolean {
  return forbidden.some((f) => f.table === table && f.start <= end && start <= f.end);
}

function maxQuantity(table: RegisterTable, limits: PlanLimits): number {
  return table === 'coil' || table === 'discrete'
    ? Math.min(LIMITS.maxReadBits, limits.maxBitsPerRead)
    : Math.min(LIMITS.maxReadRegisters, limits.maxRegistersPerRead);
}

function toRequest(table: RegisterTable, spans: readonly Span[]): ReadRequestPlan {
  const first = spans[0];
  const last = spans[spans.length - 1];
  if (!first || !last) throw new RangeError('a request needs at least one span');
  const end = Math.max(...spans.map((s) => s.address + s.count));
  const used = spans.reduce((sum, s) => sum + s.count, 0);
  return {
    table,
    fc: READ_FUNCTION[table],
    address: first.address,
    quantity: end - first.address,
    points: spans.flatMap((s) => s.points),
    bridged: end - first.address - used,
  };
}

/** The cheapest requests covering `spans` (sorted, non-overlapping) of one table. */
export function planTable(
  spans: readonly Span[],
  limits: PlanLimits,
  cost: WireCostModel,
  options: PlanOptions,
): ReadRequestPlan[] {
  if (spans.length === 0) return [];
  const table = spans[0]?.table ?? 'holding';
  const max = maxQuantity(table, limits);
  for (const span of spans) {
    if (span.count > max)
      throw new RangeError(`span at ${table} ${span.address} needs ${span.count} > ${max} per read`);
  }
  if (!options.coalesce) return spans.map((s) => toRequest(table, [s]));

  // best[i] = cheapest cover of spans[0..i-1]; from[i] = where its last request starts.
  const n = spans.length;
  const best: number[] = new Array<number>(n + 1).fill(Infinity);
  const requests: number[] = new Array<number>(n + 1).fill(0);
  const from: number[] = new Array<number>(n + 1).fill(0);
  best[0] = 0;
  for (let i = 1; i <= n; i++) {
    const lastSpan = spans[i - 1] as Span;
    const end = lastSpan.address + lastSpan.count - 1;
    for (let j = i - 1; j >= 0; j--) {
      const start = (spans[j] as Span).address;
      const quantity = end - start + 1;
      if (quantity > max) break; // going further left only grows the request
      if (j < i - 1 && touchesForbidden(table, start, end, limits.forbiddenRanges)) break;
      const total = (best[j] as number) + cost.readCostMs(table, quantity);
      const count = (requests[j] as number) + 1;
      // Prefer the cheaper cover; on a tie, fewer requests (fewer chances to fail).
      if (
        total < (best[i] as number) - 1e-9 ||
        (Math.abs(total - (best[i] as number)) <= 1e-9 && count < (requests[i] as number))
      ) {
        best[i] = total;
        requests[i] = count;
        from[i] = j;
      }
    }
  }
  const plan: ReadRequestPlan[] = [];
  for (let i = n; i > 0; i = from[i] as number) plan.unshift(toRequest(table, spans.slice(from[i], i)));
  return plan;
}

/** The read plan for every readable point of a device, all four tables. */
export function planReads(
  points: readonly ResolvedPoint[],
  limits: PlanLimits,
  cost: WireCostModel,
  options: PlanOptions,
): ReadRequestPlan[] {
  return TABLES.flatMap((table) => planTable(spansOf(points, table), limits, cost, options));
}

export function planDevice(
  profile: LoadedProfile,
  cost: WireCostModel,
  options: PlanOptions,
): ReadRequestPlan[] {
  return planReads(profile.points, profile.quirks, cost, options);
}

/** Total modelled wire time of a plan, in ms. */
export function planCostMs(plan: readonly ReadRequestPlan[], cost: WireCostModel): number {
  return plan.reduce((sum, r) => sum + cost.readCostMs(r.table, r.quantity), 0);
}
