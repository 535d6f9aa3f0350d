/**
 * A fleet of gateways losing the same broker, drawn from the real reconnect schedule
 * (gateway/uplink/reconnect.ts) with a seeded random source: computed, never timed. Used by
 * reconnect.test.ts (the measured spread) and by `npm run bench -- outage` (its reference line).
 */
import { ReconnectSchedule, type ReconnectPolicy } from '../../../gateway/uplink/reconnect.js';

export { seededRandom } from '../../helpers/random.js';

export interface OutageModel {
  policy: ReconnectPolicy;
  random: () => number;
  /** The broker is gone from 0 (every gateway loses its connection then) until outageMs. */
  outageMs: number;
  /** How long an attempt against the absent broker takes to fail (a refused TCP connect). */
  failedAttemptMs?: number;
}

/**
 * One gateway: from the broker's return to the start of its first connect attempt that meets
 * the broker. Attempts before the return fail after failedAttemptMs and draw the next wait.
 */
export function returnDelayMs(model: OutageModel): number {
  let t = 0;
  const schedule = new ReconnectSchedule(model.policy, model.random, () => t);
  for (;;) {
    t += schedule.next().delayMs;
    if (t >= model.outageMs) return t - model.outageMs;
    t += model.failedAttemptMs ?? 1;
  }
}

/** `gateways` gateways' return delays, one random source drawn in turn (seeded: reproducible). */
export function fleetReturnDelaysMs(gateways: number, model: OutageModel): number[] {
  return Array.from({ length: gateways }, () => returnDelayMs(model));
}

export interface Spread {
  count: number;
  maxMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  /** Standard deviation over mean. */
  cv: number;
  /** The fullest 1-second bucket's share of the fleet (0..1). */
  maxBucketShare: number;
  /** 1-second buckets holding at least one connect. */
  buckets: number;
}

export function spreadOf(delaysMs: readonly number[]): Spread {
  const sorted = [...delaysMs].sort((a, b) => a - b);
  const count = sorted.length;
  const mean = sorted.reduce((s, d) => s + d, 0) / count;
  const variance = sorted.reduce((s, d) => s + (d - mean) ** 2, 0) / count;
  const byBucket = new Map<number, number>();
  for (const d of sorted) byBucket.set(Math.floor(d / 1000), (byBucket.get(Math.floor(d / 1000)) ?? 0) + 1);
  const quantile = (q: number): number => sorted[Math.min(count - 1, Math.floor(q * count))] ?? 0;
  return {
    count,
    maxMs: sorted.at(-1) ?? 0,
    meanMs: mean,
    p50Ms: quantile(0.5),
    p95Ms: quantile(0.95),
    cv: mean === 0 ? 0 : Math.sqrt(variance) / mean,
    maxBucketShare: Math.max(...byBucket.values()) / count,
    buckets: byBucket.size,
  };
}

/** One line for logs and the benchmark. */
export function describeSpread(spread: Spread): string {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  return (
    `max ${s(spread.maxMs)} s, mean ${s(spread.meanMs)} s, p50 ${s(spread.p50Ms)} s, p95 ${s(spread.p95Ms)} s, ` +
    `fullest 1-s bucket ${(spread.maxBucketShare * 100).toFixed(1)} % (${Math.round(spread.maxBucketShare * spread.count)} connects), ` +
    `${spread.buckets} buckets, CV ${spread.cv.toFixed(2)}`
  );
}
