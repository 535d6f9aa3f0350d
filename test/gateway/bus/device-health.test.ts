import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceHealthTracker } from '../../../gateway/bus/device-health.js';

const policy = { deadAfterFailures: 3, slowAfterPolls: 3, minBackoffMs: 1_000, maxBackoffMs: 8_000 };

describe('device health', () => {
  it('goes healthy -> degraded -> dead after the configured failures', () => {
    const tracker = new DeviceHealthTracker(200, policy);
    const seen: string[] = [tracker.health];
    for (let i = 0; i < 3; i++) {
      tracker.recordPoll(false);
      seen.push(tracker.health);
    }
    assert.deepEqual(seen, ['healthy', 'degraded', 'degraded', 'dead']);
  });

  it('keeps the normal cadence until dead, then doubles the probe interval up to the ceiling', () => {
    const tracker = new DeviceHealthTracker(200, policy);
    const intervals: number[] = [];
    for (let i = 0; i < 8; i++) {
      intervals.push(tracker.intervalMs);
      tracker.recordPoll(false);
    }
    intervals.push(tracker.intervalMs);
    // failures: 0,1,2 -> 200 ms; 3 -> 1000 (min backoff); 4 -> 2000; 5 -> 4000; 6.. -> 8000 (ceiling)
    assert.deepEqual(intervals, [200, 200, 200, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('never probes a dead device faster than its own poll interval', () => {
    const tracker = new DeviceHealthTracker(5_000, policy);
    for (let i = 0; i < 3; i++) tracker.recordPoll(false);
    assert.equal(tracker.intervalMs, 5_000);
  });

  it('returns to healthy and the normal cadence on the first answer', () => {
    const tracker = new DeviceHealthTracker(200, policy);
    for (let i = 0; i < 6; i++) tracker.recordPoll(false);
    tracker.recordPoll(true);
    assert.equal(tracker.health, 'healthy');
    assert.equal(tracker.intervalMs, 200);
  });
});

describe('slow devices', () => {
  it('doubles the interval of a device that answers slowly three polls in a row, and recovers', () => {
    const tracker = new DeviceHealthTracker(200, policy);
    const intervals: number[] = [];
    for (let i = 0; i < 5; i++) {
      tracker.recordPoll(true, true);
      intervals.push(tracker.intervalMs);
    }
    assert.deepEqual(intervals, [200, 200, 400, 800, 1600]);
    assert.equal(tracker.health, 'degraded');
    tracker.recordPoll(true, false);
    assert.equal(tracker.health, 'healthy');
    assert.equal(tracker.intervalMs, 200);
  });
});
