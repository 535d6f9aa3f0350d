/**
 * Prometheus metrics of the cabinet (prom-client): bus and device counters, alarm counts by
 * state, outbox depth and oldest age per class, evictions, commits and WAL size. Values are read
 * from the gateway when Prometheus scrapes (collect callbacks), so nothing is counted twice and
 * the hot path pays nothing.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ALARM_STATES, LANES } from '../../cloud-sync/contract/events.js';
import type { AlarmRecord } from '../alarms/types.js';
import type { BusCounters } from '../bus/types.js';
import type { UplinkStats } from '../uplink/uplink.js';
import type { GatewayStoreStats } from '../store/event-store.js';

export interface MetricsSource {
  metricsSnapshot(): {
    buses: BusCounters[];
    store: GatewayStoreStats | null;
    alarms: AlarmRecord[];
    uplink: UplinkStats | null;
  };
  /** Cloud commands by action and result (gateway/downlink); absent in tests that fake a source. */
  downlinkStats?(): { commands: { results: Record<string, number>; unreadable: number } | null };
}

/** A registry whose metrics read `source` at scrape time. */
export function createGatewayRegistry(source: MetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kerbside_' });
  let snapshot: ReturnType<MetricsSource['metricsSnapshot']> | undefined;
  // prom-client calls every collect() on each scrape; read the gateway once per scrape.
  const read = (): ReturnType<MetricsSource['metricsSnapshot']> => (snapshot ??= source.metricsSnapshot());
  const done = (): void => {
    queueMicrotask(() => (snapshot = undefined));
  };

  const busCounter = (name: string, help: string, pick: (b: BusCounters) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['bus'],
      registers: [registry],
      collect() {
        this.reset();
        for (const bus of read().buses) this.inc({ bus: bus.busId }, pick(bus));
        done();
      },
    });
  };
  busCounter('kerbside_bus_transactions_total', 'Modbus transactions on the bus', (b) => b.transactions);
  busCounter('kerbside_bus_timeouts_total', 'Transactions that timed out', (b) => b.timeouts);
  busCounter('kerbside_bus_crc_errors_total', 'Replies with a bad CRC', (b) => b.crcErrors);
  busCounter('kerbside_bus_exceptions_total', 'Modbus exception replies', (b) => b.exceptions);
  busCounter('kerbside_bus_retries_total', 'Retried transactions', (b) => b.retries);
  new Gauge({
    name: 'kerbside_bus_utilisation_ratio',
    help: 'Share of time the bus was busy with transactions since start',
    labelNames: ['bus'],
    registers: [registry],
    collect() {
      this.reset();
      for (const bus of read().buses) this.set({ bus: bus.busId }, bus.utilisation);
      done();
    },
  });
  new Gauge({
    name: 'kerbside_device_rtt_mean_seconds',
    help: 'Mean round-trip time of a device',
    labelNames: ['bus', 'device'],
    registers: [registry],
    collect() {
      this.reset();
      for (const bus of read().buses)
        for (const d of bus.devices)
          if (d.meanRttMs !== null) this.set({ bus: bus.busId, device: d.deviceId }, d.meanRttMs / 1000);
      done();
    },
  });
  new Gauge({
    name: 'kerbside_device_up',
    help: '1 when the device answers (healthy or degraded), 0 when it is dead',
    labelNames: ['bus', 'device', 'health'],
    registers: [registry],
    collect() {
      this.reset();
      for (const bus of read().buses)
        for (const d of bus.devices)
          this.set({ bus: bus.busId, device: d.deviceId, health: d.health }, d.health === 'dead' ? 0 : 1);
      done();
    },
  });
  new Gauge({
    name: 'kerbside_alarms',
    help: 'Alarms by ISA-18.2 state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>(ALARM_STATES.map((s) => [s, 0]));
      for (const record of read().alarms) counts.set(record.state, (counts.get(record.state) ?? 0) + 1);
      for (const [state, count] of counts) this.set({ state }, count);
      done();
    },
  });
  new Gauge({
    name: 'kerbside_outbox_events',
    help: 'Events waiting in the outbox for the cloud, by class',
    labelNames: ['class'],
    registers: [registry],
    collect() {
      this.reset();
      const store = read().store;
      if (store)
        for (const [cls, stats] of Object.entries(store.outbox.byClass))
          this.set({ class: cls }, stats.count);
      done();
    },
  });
  new Gauge({
    name: 'kerbside_outbox_oldest_age_seconds',
    help: 'Age of the oldest waiting event, by class (uptime clock)',
    labelNames: ['class'],
    registers: [registry],
    collect() {
      this.reset();
      const store = read().store;
      if (store) {
        for (const [cls, stats] of Object.entries(store.outbox.byClass)) {
          if (stats.oldestAgeMs !== null) this.set({ class: cls }, stats.oldestAgeMs / 1000);
        }
      }
      done();
    },
  });
  const storeGauge = (name: string, help: string, pick: (s: GatewayStoreStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const store = read().store;
        if (store) this.set(pick(store));
        done();
      },
    });
  };
  storeGauge(
    'kerbside_telemetry_evicted_total',
    'Telemetry events evicted from a full outbox (each reported by a gap record)',
    (s) => s.telemetryEvicted,
  );
  storeGauge('kerbside_store_commits_total', 'Committed cycles', (s) => s.commits);
  storeGauge(
    'kerbside_store_failed_commits_total',
    'Cycles whose commit failed (kept and retried)',
    (s) => s.failedCommits,
  );
  storeGauge(
    'kerbside_store_refused_events_total',
    'Events refused before the outbox because they break the uplink contract (each one a gateway bug)',
    (s) => s.refusedEvents,
  );
  storeGauge(
    'kerbside_store_storage_state',
    'Storage of the data folder: 0 ok, 1 low (decisions only), 2 full (a write failed for want of space)',
    (s) => ({ ok: 0, low: 1, full: 2 })[s.storage.state],
  );
  storeGauge(
    'kerbside_store_free_bytes',
    'Free bytes in the data folder at the last check (-1 when unknown)',
    (s) => s.storage.freeBytes ?? -1,
  );
  storeGauge(
    'kerbside_store_reserve_held',
    'Whether the storage reserve file is in place (0: spent on a full disk, or not yet written back)',
    (s) => (s.storage.reserveHeld ? 1 : 0),
  );
  storeGauge('kerbside_store_readings_written_total', 'Readings stored', (s) => s.readingsWritten);
  storeGauge('kerbside_store_wal_bytes', 'Size of the SQLite write-ahead log', (s) => s.walBytes);
  storeGauge('kerbside_store_database_bytes', 'Size of kerbside.db', (s) => s.databaseBytes);
  registerUplinkMetrics(registry, () => read().uplink, done);
  new Counter({
    name: 'kerbside_commands_total',
    help: 'Cloud commands (down/cmd) by action and result; action "unreadable" counts payloads without a readable id',
    labelNames: ['action', 'status'],
    registers: [registry],
    collect() {
      this.reset();
      const commands = source.downlinkStats?.().commands;
      if (!commands) return;
      for (const [key, count] of Object.entries(commands.results)) {
        const [action = '', status = ''] = key.split(' ');
        this.inc({ action, status }, count);
      }
      if (commands.unreadable > 0) this.inc({ action: 'unreadable', status: 'ignored' }, commands.unreadable);
    },
  });
  return registry;
}

/** The uplink's counters and, per lane, the acknowledged mark and what waits for its ack. */
function registerUplinkMetrics(registry: Registry, uplink: () => UplinkStats | null, done: () => void): void {
  const gauge = (name: string, help: string, pick: (u: UplinkStats) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const stats = uplink();
        if (stats) this.set(pick(stats));
        done();
      },
    });
  };
  gauge('kerbside_uplink_connected', '1 while connected to the cloud broker', (u) => (u.connected ? 1 : 0));
  gauge('kerbside_uplink_connects_total', 'Successful connects', (u) => u.connects);
  gauge('kerbside_uplink_connect_failures_total', 'Connect attempts that failed', (u) => u.connectFailures);
  gauge('kerbside_uplink_batches_sent_total', 'up/events batches published', (u) => u.batchesSent);
  gauge('kerbside_uplink_events_sent_total', 'Events published (resends included)', (u) => u.eventsSent);
  gauge('kerbside_uplink_acks_total', 'down/ack messages handled', (u) => u.acks);
  gauge('kerbside_uplink_go_backs_total', 'Resends from the acknowledged mark', (u) => u.goBacks);
  gauge('kerbside_uplink_rejected_acks_total', 'Acks ignored (invalid, other epoch)', (u) => u.rejectedAcks);
  for (const [name, help, pick] of [
    ['kerbside_uplink_acked_seq', 'Highest seq the cloud acknowledged', 'ackedSeq'],
    ['kerbside_uplink_in_flight_events', 'Events sent and waiting for their ack', 'inFlightEvents'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['lane'],
      registers: [registry],
      collect() {
        const stats = uplink();
        if (stats) for (const lane of LANES) this.set({ lane }, stats.lanes[lane][pick]);
        done();
      },
    });
  }
}
