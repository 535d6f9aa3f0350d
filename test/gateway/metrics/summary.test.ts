/**
 * The periodic summary (gateway/metrics/summary.ts): per-bus tallies and counters, the info line a
 * person scans, at warn while storage is short, and a summary that fails is logged, never thrown.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { BusCounters, DeviceCounters, DevicePollResult } from '../../../gateway/bus/types.js';
import {
  alarmsByState,
  busSummary,
  emptyTally,
  SummaryLog,
  summaryLine,
  tallyPoll,
  type GatewaySummary,
} from '../../../gateway/metrics/summary.js';
import { openGatewayStore, type GatewayStoreStats } from '../../../gateway/store/event-store.js';
import { silentLogger, tempDirs } from '../store/helpers.js';

const dirs = tempDirs('kerbside-summary-');
after(() => dirs.cleanup());

const counters = { transactions: 0, timeouts: 0, crcErrors: 0, exceptions: 0, otherErrors: 0, retries: 0 };
const rtt = { lastRttMs: null, meanRttMs: null, maxRttMs: null };

function device(deviceId: string, health: DeviceCounters['health']): DeviceCounters {
  return {
    ...counters,
    ...rtt,
    deviceId,
    health,
    consecutiveFailures: 0,
    effectiveIntervalMs: 1_000,
    lastSuccessMonotonicMs: null,
  };
}

function pollOf(quality: DevicePollResult['quality'], errors = 0): DevicePollResult {
  return {
    busId: 'rs485-1',
    deviceId: 'gas-1',
    wallTimeMs: 0,
    monotonicMs: 0,
    quality,
    readings: [],
    errors: Array.from({ length: errors }, () => ({ code: 'MODBUS_TIMEOUT', message: 'no answer' })),
  };
}

/** Real store statistics (a fresh store), so the summary reads the shape the gateway has. */
function storeStats(): GatewayStoreStats {
  const store = openGatewayStore(dirs.fresh(), { logger: silentLogger });
  try {
    return store.stats();
  } finally {
    store.close();
  }
}

function summaryOf(store: GatewayStoreStats | null): GatewaySummary {
  const bus: BusCounters = {
    ...counters,
    ...rtt,
    busId: 'rs485-1',
    timeouts: 4,
    utilisation: 0.123456,
    devices: [device('a', 'healthy'), device('b', 'degraded'), device('c', 'dead'), device('d', 'dead')],
  };
  const tally = emptyTally();
  for (const p of [pollOf('good'), pollOf('partial', 1), pollOf('failed', 2)]) tallyPoll(tally, p);
  return {
    buses: [busSummary('rs485-1', tally, bus)],
    store,
    pipeline: { bufferedPolls: 5, pendingEvents: 0, droppedPolls: 0, droppedCycles: 0 },
    alarms: {},
  };
}

describe('gateway summary', () => {
  it('tallies polls and failed requests, counts devices by health, rounds the utilisation', () => {
    const [bus] = summaryOf(null).buses;
    assert.deepEqual(bus, {
      busId: 'rs485-1',
      polls: 3,
      good: 1,
      partial: 1,
      failed: 1,
      errors: 3,
      devices: { healthy: 1, degraded: 1, dead: 2 },
      timeouts: 4,
      crcErrors: 0,
      exceptions: 0,
      utilisation: 0.123,
    });
  });

  it('counts alarms by state', () => {
    const records = [{ state: 'unacknowledged' }, { state: 'normal' }, { state: 'unacknowledged' }];
    assert.deepEqual(alarmsByState(records), { unacknowledged: 2, normal: 1 });
  });

  it('says the few numbers a person scans for at info', () => {
    const line = summaryLine(summaryOf(storeStats()));
    assert.equal(line.level, 'info');
    assert.equal(
      line.text,
      'summary: 3 polls, 1 failed, 3 request errors; 1 devices degraded, 2 dead; ' +
        '0 readings stored, 5 buffered, 0 events in the outbox',
    );
    assert.deepEqual(line.fields, {
      polls: 3,
      failed: 1,
      errors: 3,
      degradedDevices: 1,
      deadDevices: 2,
      readingsWritten: 0,
      bufferedPolls: 5,
      outbox: 0,
      storage: 'ok',
    });
  });

  it('storage short: the line says so, at warn, every time', () => {
    const stats = storeStats();
    const short = { ...stats, storage: { ...stats.storage, state: 'low' as const, reason: '90 MiB free' } };
    const line = summaryLine(summaryOf(short));
    assert.equal(line.level, 'warn');
    assert.match(line.text, /; STORAGE LOW: 90 MiB free$/);
    assert.equal(line.fields['storage'], 'low');
  });

  it('logs the detail at debug and the line at info; a failing summary is logged, not thrown', () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString('utf8')) as { level: number; msg: string });
          done();
        },
      }),
    );
    new SummaryLog(() => summaryOf(null), logger, 0).log();
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg.split(':')[0]]),
      [
        [20, 'summary detail'],
        [30, 'summary'],
      ],
    );
    lines.length = 0;
    const failing = new SummaryLog(
      () => {
        throw new Error('store closed');
      },
      logger,
      0,
    );
    assert.doesNotThrow(() => failing.log());
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [[50, 'summary failed']],
    );
  });
});
