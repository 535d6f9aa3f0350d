/**
 * Prometheus metrics of the cloud-sync service (prom-client, on its own Registry so two services
 * in one process, as in the tests, never share counters). Counters are incremented by the
 * consumer as batches go through; the per-gateway lag gauges are read from the database at scrape
 * time (see readFleet), so every instance of a scaled-out deployment reports the whole fleet.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FleetSnapshot } from './consumer/status.js';

export type BatchOutcome = 'accepted' | 'refused' | 'invalid' | 'db_error';
export type StatusOutcome = 'stored' | 'invalid' | 'cleared' | 'db_error';

export interface CloudMetrics {
  registry: Registry;
  eventsCommitted: Counter<'lane' | 'class'>;
  duplicates: Counter<'lane'>;
  batches: Counter<'outcome'>;
  ingestDuration: Histogram<'lane'>;
  acksPublished: Counter<'lane'>;
  ackPublishFailures: Counter;
  statusMessages: Counter<'outcome'>;
  mqttConnected: Gauge;
  /** Overdue escalations raised by the case monitor (docs/cases.md). */
  caseEscalations: Counter<'kind' | 'level'>;
  /** Events a batch carried that break the contract, kept in dead_letters (docs/uplink-contract.md). */
  deadLetters: Counter<'lane' | 'kind'>;
  /** Active alarms that filed no case, and why (docs/cases.md, "alarms that file nothing"). */
  alarmsUnfiled: Counter<'reason'>;
  /** Cases held at the monitoring desk instead of filed on their own, and why. */
  casesHeld: Counter<'reason'>;
}

export interface CloudMetricsOptions {
  /** Reads the fleet for the lag gauges; called at most once per scrape. */
  readFleet?: () => Promise<FleetSnapshot>;
  /** Where a failed fleet read is reported; the scrape then omits the lag gauges. */
  onReadError?: (error: unknown) => void;
  /** Default process metrics (CPU, memory, event loop lag); on unless false. */
  processMetrics?: boolean;
  now?: () => number;
}

export const METRIC_PREFIX = 'kerbside_cloud_';

export function createCloudMetrics(options: CloudMetricsOptions = {}): CloudMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const registers = [registry];
  const now = options.now ?? Date.now;

  // prom-client calls every gauge's collect() on a scrape; they share one database read. The
  // promise is dropped on the next macrotask, so the following scrape reads afresh.
  let snapshot: Promise<FleetSnapshot | null> | null = null;
  const fleet = (): Promise<FleetSnapshot | null> => {
    if (options.readFleet === undefined) return Promise.resolve(null);
    if (snapshot === null) {
      snapshot = options.readFleet().catch((error: unknown) => {
        options.onReadError?.(error);
        return null;
      });
      setTimeout(() => (snapshot = null), 0);
    }
    return snapshot;
  };

  new Gauge({
    name: `${METRIC_PREFIX}gateway_backlog_events`,
    help: 'Unacknowledged outbox events on the gateway, from its latest status',
    labelNames: ['gateway'],
    registers,
    async collect() {
      this.reset();
      for (const g of (await fleet())?.gateways ?? []) this.set({ gateway: g.gatewayId }, g.backlogCount);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}gateway_backlog_oldest_age_seconds`,
    help: "Age of the gateway's oldest unacknowledged event (its monotonic clock), from its latest status",
    labelNames: ['gateway'],
    registers,
    async collect() {
      this.reset();
      for (const g of (await fleet())?.gateways ?? [])
        if (g.backlogOldestAgeS !== null) this.set({ gateway: g.gatewayId }, g.backlogOldestAgeS);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}gateway_last_commit_age_seconds`,
    help: 'Seconds since events of this gateway and lane were last committed (cloud clock)',
    labelNames: ['gateway', 'lane'],
    registers,
    async collect() {
      this.reset();
      const at = now();
      for (const s of (await fleet())?.streams ?? []) {
        const committed = Date.parse(s.lastCommitAt);
        if (Number.isFinite(committed))
          this.set({ gateway: s.gatewayId, lane: s.lane }, Math.max(0, (at - committed) / 1000));
      }
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}gateways_online`,
    help: 'Gateways whose latest status says online (a will with online false turns one off)',
    registers,
    async collect() {
      const gateways = (await fleet())?.gateways;
      if (gateways !== undefined) this.set(gateways.filter((g) => g.online).length);
    },
  });

  return {
    registry,
    eventsCommitted: new Counter({
      name: `${METRIC_PREFIX}events_committed_total`,
      help: 'Events newly committed by ingest, by lane and outbox class',
      labelNames: ['lane', 'class'],
      registers,
    }),
    duplicates: new Counter({
      name: `${METRIC_PREFIX}event_duplicates_total`,
      help: 'Events received again at or below lastCommitted (redeliveries), counted and not stored',
      labelNames: ['lane'],
      registers,
    }),
    batches: new Counter({
      name: `${METRIC_PREFIX}batches_total`,
      help: 'up/events batches by outcome: accepted, refused (gateway mismatch, after ahead, or a disabled gateway), invalid, db_error, over_share (dropped unacked: the gateway held its share of the queue)',
      labelNames: ['outcome'],
      registers,
    }),
    ingestDuration: new Histogram({
      name: `${METRIC_PREFIX}ingest_duration_seconds`,
      help: 'Time of one ingest transaction, from start to commit (or failure)',
      labelNames: ['lane'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    acksPublished: new Counter({
      name: `${METRIC_PREFIX}acks_published_total`,
      help: 'down/ack messages published (confirmed by the broker)',
      labelNames: ['lane'],
      registers,
    }),
    ackPublishFailures: new Counter({
      name: `${METRIC_PREFIX}ack_publish_failures_total`,
      help: 'down/ack messages the broker did not take (the gateway resends; the ack follows then)',
      registers,
    }),
    caseEscalations: new Counter({
      name: `${METRIC_PREFIX}case_escalations_total`,
      help: 'cases escalated for being overdue, by deadline kind (dispatch, handle) and escalation level',
      labelNames: ['kind', 'level'],
      registers,
    }),
    deadLetters: new Counter({
      name: `${METRIC_PREFIX}dead_letters_total`,
      help: 'events refused by the contract and kept in the dead-letter table; their lane moved past them',
      labelNames: ['lane', 'kind'],
      registers,
    }),
    alarmsUnfiled: new Counter({
      name: `${METRIC_PREFIX}alarms_unfiled_total`,
      help: 'active alarms that filed no case, by reason (no_rule, category_missing, silenced)',
      labelNames: ['reason'],
      registers,
    }),
    casesHeld: new Counter({
      name: `${METRIC_PREFIX}cases_held_total`,
      help: 'cases held at the monitoring desk instead of filed on their own, by reason (unregistered_component, no_owner_unit)',
      labelNames: ['reason'],
      registers,
    }),
    statusMessages: new Counter({
      name: `${METRIC_PREFIX}status_messages_total`,
      help: 'up/status messages by outcome: stored, invalid, cleared (empty retained), refused (a disabled gateway), db_error, over_share (dropped: the gateway held its share of the queue)',
      labelNames: ['outcome'],
      registers,
    }),
    mqttConnected: new Gauge({
      name: `${METRIC_PREFIX}mqtt_connected`,
      help: "1 while the service's consumer is connected to the broker",
      registers,
    }),
  };
}
