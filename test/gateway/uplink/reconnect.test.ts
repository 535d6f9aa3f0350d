/**
 * The uplink's reconnect schedule (gateway/uplink/reconnect.ts), drawn with injected random
 * sources and clocks: capped, exponential up to the cap, full jitter over the whole range; and
 * the spread of 500 gateways returning after a common outage, computed from the same schedule
 * with a seeded random source (issue 10: back within 15 s, yet spread).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkReconnectPolicy,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RECONNECT_POLICY,
  PREVIOUS_RECONNECT_POLICY,
  RECOVERY_BUDGET_MS,
  reconnectCeilingMs,
  reconnectDelayMs,
  ReconnectSchedule,
  worstRecoveryMs,
} from '../../../gateway/uplink/reconnect.js';
import { fleetReturnDelaysMs, seededRandom, spreadOf, describeSpread, returnDelayMs } from './fleet.js';

const ALMOST_ONE = 1 - 2 ** -53;

describe('reconnect schedule (full jitter, capped)', () => {
  it('by default a gateway is back within 15 s of the broker returning: cap + connect timeout <= 15 s', () => {
    assert.ok(
      worstRecoveryMs(DEFAULT_RECONNECT_POLICY, DEFAULT_CONNECT_TIMEOUT_MS) <= RECOVERY_BUDGET_MS,
      `${DEFAULT_RECONNECT_POLICY.maxMs} + ${DEFAULT_CONNECT_TIMEOUT_MS} ms`,
    );
    // The schedule of issue 10's report could sleep a minute after the broker was back.
    assert.ok(worstRecoveryMs(PREVIOUS_RECONNECT_POLICY, DEFAULT_CONNECT_TIMEOUT_MS) > RECOVERY_BUDGET_MS);
  });

  it('never waits longer than its cap, over many attempts and whatever the random source returns', () => {
    const policy = DEFAULT_RECONNECT_POLICY;
    const sources: Array<[string, () => number]> = [
      ['seeded', seededRandom(1)],
      ['almost one', () => ALMOST_ONE],
      ['one (out of range)', () => 1],
      ['1.5 (out of range)', () => 1.5],
      ['negative', () => -3],
      ['NaN', () => Number.NaN],
    ];
    for (const [name, random] of sources) {
      const schedule = new ReconnectSchedule(policy, random, () => 0);
      for (let i = 0; i < 2000; i++) {
        const wait = schedule.next();
        assert.ok(
          wait.delayMs >= 0 && wait.delayMs <= policy.maxMs,
          `${name}: attempt ${wait.attempt} waited ${wait.delayMs} ms`,
        );
        assert.ok(wait.delayMs <= wait.ceilingMs && wait.ceilingMs <= policy.maxMs);
      }
      assert.equal(schedule.attempt, 2000);
    }
    // Attempt numbers far beyond any real outage do not overflow the exponent.
    assert.equal(reconnectCeilingMs(1e9, policy), policy.maxMs);
    assert.equal(reconnectDelayMs(Number.MAX_SAFE_INTEGER, policy, () => ALMOST_ONE) <= policy.maxMs, true);
  });

  it('grows exponentially from initialMs up to the cap, and starts again after a connect', () => {
    let clock = 5000;
    const schedule = new ReconnectSchedule(
      { initialMs: 1000, maxMs: 10_000 },
      () => ALMOST_ONE,
      () => clock,
    );
    const ceilings: number[] = [];
    for (let i = 0; i < 7; i++) {
      const wait = schedule.next();
      ceilings.push(wait.ceilingMs);
      assert.ok(wait.ceilingMs - wait.delayMs < 1e-9, 'a random source near 1 waits the whole ceiling');
      clock += wait.delayMs;
    }
    assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    assert.deepEqual(
      schedule.history().map((w) => Math.round(w.atMs)),
      [5000, 6000, 8000, 12_000, 20_000, 30_000, 40_000],
      'each wait is stamped with the injected clock',
    );
    schedule.reset();
    assert.equal(schedule.next().ceilingMs, 1000, 'after a successful connect the next wait is short again');
  });

  it('uses the whole range [0, ceiling): full jitter, not equal jitter', () => {
    const cap = 10_000;
    const schedule = new ReconnectSchedule({ initialMs: cap, maxMs: cap }, seededRandom(7), () => 0);
    const draws = Array.from({ length: 20_000 }, () => schedule.next().delayMs);
    assert.ok(Math.min(...draws) < cap * 0.001, 'waits reach down to 0');
    assert.ok(Math.max(...draws) > cap * 0.999, 'waits reach up to the cap');
    const deciles = Array.from({ length: 10 }, () => 0);
    for (const d of draws) {
      const i = Math.min(9, Math.floor((d / cap) * 10));
      deciles[i] = (deciles[i] ?? 0) + 1;
    }
    for (const [i, n] of deciles.entries())
      assert.ok(n > 1800 && n < 2200, `decile ${i} holds ${n} of 20 000 (uniform: 2000)`);
    assert.equal(
      reconnectDelayMs(3, { initialMs: 1000, maxMs: 10_000 }, () => 0),
      0,
    );
    assert.equal(
      reconnectDelayMs(3, { initialMs: 1000, maxMs: 10_000 }, () => 0.5),
      4000,
    );
  });

  it('refuses a policy that cannot work', () => {
    assert.throws(() => checkReconnectPolicy({ initialMs: 0, maxMs: 1000 }), RangeError);
    assert.throws(() => checkReconnectPolicy({ initialMs: 2000, maxMs: 1000 }), RangeError);
    assert.throws(() => new ReconnectSchedule({ initialMs: 1, maxMs: Infinity }, Math.random, () => 0));
    checkReconnectPolicy(DEFAULT_RECONNECT_POLICY);
  });
});

describe('500 gateways returning after a common outage (seeded, computed from the schedule)', () => {
  const GATEWAYS = 500;

  it('all start their connect within 15 s minus the connect timeout of the return, after an outage of any length', () => {
    for (const outageMs of [500, 2000, 7000, 30_000, 60_000, 600_000, 3_600_000]) {
      const spread = spreadOf(
        fleetReturnDelaysMs(GATEWAYS, {
          policy: DEFAULT_RECONNECT_POLICY,
          random: seededRandom(outageMs),
          outageMs,
        }),
      );
      assert.ok(
        spread.maxMs <= DEFAULT_RECONNECT_POLICY.maxMs &&
          spread.maxMs + DEFAULT_CONNECT_TIMEOUT_MS <= RECOVERY_BUDGET_MS,
        `outage ${outageMs} ms: ${describeSpread(spread)}`,
      );
    }
  });

  it('spread their connects over the cap after a 60 s outage: no second holds more than a quarter', () => {
    const spread = spreadOf(
      fleetReturnDelaysMs(GATEWAYS, {
        policy: DEFAULT_RECONNECT_POLICY,
        random: seededRandom(20261208),
        outageMs: 60_000,
      }),
    );
    const detail = describeSpread(spread);
    // Full jitter at the cap: the wait that straddles the return is length-biased, so the delay
    // after the return falls from 2/cap per ms at 0 to nothing at the cap (mean cap/3, about 19 %
    // in the first second). Every second of the cap carries connects.
    assert.ok(spread.maxMs <= DEFAULT_RECONNECT_POLICY.maxMs, detail);
    assert.equal(spread.buckets, DEFAULT_RECONNECT_POLICY.maxMs / 1000, detail);
    assert.ok(spread.maxBucketShare <= 0.25, detail);
    assert.ok(spread.cv >= 0.5, detail);
    assert.ok(spread.meanMs >= 2500, detail);

    // The measure tells a herd from a spread: without jitter every gateway lands in one second.
    const herd = spreadOf(
      fleetReturnDelaysMs(GATEWAYS, {
        policy: DEFAULT_RECONNECT_POLICY,
        random: () => 0.999,
        outageMs: 60_000,
      }),
    );
    assert.equal(herd.maxBucketShare, 1, describeSpread(herd));
  });

  it('the old 60 s cap kept gateways away for up to a minute after the same outage', () => {
    const old = spreadOf(
      fleetReturnDelaysMs(GATEWAYS, {
        policy: PREVIOUS_RECONNECT_POLICY,
        random: seededRandom(20261208),
        outageMs: 60_000,
      }),
    );
    assert.ok(old.maxMs > 30_000 && old.meanMs > 15_000, `old schedule: ${describeSpread(old)}`);
    // One gateway whose 32 s wait began just before a 32 s outage ended: back half a minute later.
    const unlucky = returnDelayMs({
      policy: PREVIOUS_RECONNECT_POLICY,
      random: () => 0.999,
      outageMs: 32_000,
    });
    assert.ok(unlucky > 15_000, `${unlucky} ms`);
    const now = returnDelayMs({ policy: DEFAULT_RECONNECT_POLICY, random: () => 0.999, outageMs: 32_000 });
    assert.ok(now <= DEFAULT_RECONNECT_POLICY.maxMs, `${now} ms`);
  });
});
