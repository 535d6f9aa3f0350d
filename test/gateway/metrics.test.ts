/**
 * /metrics of a running gateway (fake buses, real store and alarm engine), through fastify's
 * inject(): the Prometheus text names the bus counters, alarms by state, outbox depth per class.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import type { BusCounters, DevicePollResult } from '../../gateway/bus/types.js';
import { validateGatewayConfig } from '../../gateway/config/validate.js';
import { Gateway, type PollingBus } from '../../gateway/gateway.js';
import { createGatewayRegistry } from '../../gateway/metrics/metrics.js';
import { buildMetricsApp } from '../../gateway/metrics/server.js';
import { loadProfileDirectory } from '../../gateway/profiles/loader.js';
import { waitFor } from '../helpers/wait.js';

const tmp = mkdtempSync(join(tmpdir(), 'kerbside-metrics-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

class CountingBus implements PollingBus {
  private listener: ((r: DevicePollResult) => void) | undefined;
  constructor(readonly id: string) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async write(): Promise<void> {}
  onPoll(listener: (r: DevicePollResult) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  emit(result: DevicePollResult): void {
    this.listener?.(result);
  }
  counters(): BusCounters {
    return {
      busId: this.id,
      transactions: 120,
      timeouts: 3,
      crcErrors: 2,
      exceptions: 1,
      otherErrors: 0,
      retries: 4,
      lastRttMs: 12,
      meanRttMs: 11,
      maxRttMs: 40,
      utilisation: 0.42,
      devices: [
        {
          deviceId: 'gas',
          transactions: 120,
          timeouts: 3,
          crcErrors: 2,
          exceptions: 1,
          otherErrors: 0,
          retries: 4,
          lastRttMs: 12,
          meanRttMs: 11,
          maxRttMs: 40,
          health: 'healthy',
          consecutiveFailures: 0,
          effectiveIntervalMs: 1000,
          lastSuccessMonotonicMs: 1,
        },
      ],
    };
  }
}

describe('gateway /metrics', () => {
  it('exposes bus counters, alarms by state and outbox depth in Prometheus text', async () => {
    const { profiles } = loadProfileDirectory();
    const validated = validateGatewayConfig(
      {
        gatewayId: 'gw-m',
        site: { name: 'm' },
        dataDir: join(tmp, 'd'),
        buses: [{ id: 'lan', kind: 'tcp', host: '127.0.0.1' }],
        devices: [{ id: 'gas', bus: 'lan', unitId: 1, profile: 'anqi-gd300' }],
      },
      profiles,
    );
    assert.ok(validated.ok);
    assert.deepEqual(validated.config.metrics, { enabled: true, host: '127.0.0.1', port: 9464 }, 'defaults');
    let bus: CountingBus | undefined;
    const gateway = new Gateway(validated.config, profiles, pino({ level: 'silent' }), {
      createBus: ({ config }) => (bus = new CountingBus(config.id)),
      summaryIntervalMs: 0,
      flushIntervalMs: 20,
    });
    await gateway.start();
    const app = buildMetricsApp(createGatewayRegistry(gateway));
    try {
      // H2S above its level-1 set point: one alarm unacknowledged, its event waiting in the outbox.
      bus?.emit({
        busId: 'lan',
        deviceId: 'gas',
        wallTimeMs: Date.now(),
        monotonicMs: performance.now(),
        quality: 'good',
        readings: [{ key: 'h2s', value: 12 }],
        errors: [],
      });
      // Scrape until the poll's alarm and its outbox event show (the gateway takes the poll in
      // asynchronously); every assertion below is on that scrape.
      let last = '';
      const response = await waitFor(
        'the alarm and its outbox event in /metrics',
        async () => {
          const scraped = await app.inject({ method: 'GET', url: '/metrics' });
          last = scraped.body;
          return /kerbside_alarms\{state="unacknowledged"\} 1/.test(scraped.body) &&
            /kerbside_outbox_events\{class="alarm"\} [1-9]/.test(scraped.body)
            ? scraped
            : undefined;
        },
        { detail: () => last },
      );
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /text\/plain/);
      const text = response.body;
      assert.match(text, /kerbside_bus_transactions_total\{bus="lan"\} 120/);
      assert.match(text, /kerbside_bus_crc_errors_total\{bus="lan"\} 2/);
      assert.match(text, /kerbside_bus_utilisation_ratio\{bus="lan"\} 0\.42/);
      assert.match(text, /kerbside_device_up\{bus="lan",device="gas",health="healthy"\} 1/);
      assert.match(text, /kerbside_alarms\{state="unacknowledged"\} 1/);
      assert.match(text, /kerbside_outbox_events\{class="alarm"\} [1-9]/);
      assert.match(text, /kerbside_store_wal_bytes \d+/);
      assert.match(text, /kerbside_process_cpu_user_seconds_total/);
      const missing = await app.inject({ method: 'GET', url: '/nope' });
      assert.equal(missing.statusCode, 404);
    } finally {
      await app.close();
      await gateway.stop();
    }
  });
});
