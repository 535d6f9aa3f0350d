/**
 * The ingest consumer: an MQTT client under a service account that takes every gateway's
 * `up/events` and `up/status`, commits batches with ingestBatch and, only after the commit,
 * publishes `down/ack {epoch, lane, upTo}` to that gateway (docs/uplink-contract.md, delivery rule
 * 3; the ordering is explained in docs/cloud-service.md).
 *
 * Session: clean (`clean: true`), deliberately, although the gateways use persistent sessions.
 * - Nothing is lost by it: a batch the broker dropped while no consumer was connected is still in
 *   the gateway's outbox, because the gateway deletes only at or below an `upTo` it received
 *   (rule 4), and it resends unacked batches. Status is retained, so a new subscription gets each
 *   gateway's latest at once.
 * - A persistent session would queue batches at the broker for an instance that may never return
 *   (instance ids are per process start), and with a shared subscription some brokers keep
 *   routing a group member's share to its offline session: those batches would wait for that
 *   instance instead of going to a live one. The gateway's resend is the better recovery.
 * - Every start is a fresh subscription, so a changed share group or filter cannot linger.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { EVENT_CLASS, LANES, type Lane } from '../../contract/events.js';
import { ackTopic, allGatewaysFilter, parseTopic } from '../../contract/topics.js';
import type { Ack, EventsBatch, Status } from '../../contract/types.js';
import { parseStatus, sortEventsBatch, type InvalidEvent } from '../../contract/validate.js';
import { SERVICE_USERNAME_PREFIX } from '../broker/acl.js';
import type { CloudSchema } from '../db/schema.js';
import { ingestBatch, UnserialisableEventsError, type IngestHook } from '../ingest/ingest.js';
import type { CloudMetrics } from '../metrics.js';
import { KeyedSerialQueue } from './queue.js';
import { upsertGatewayStatus } from './status.js';
import type { Issue } from '../../contract/errors.js';

export interface ConsumerOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  url: string;
  /** CA certificate(s) to trust for `mqtts://` (PEM). */
  ca?: Buffer;
  /** Service account name; the username is `service.{name}`. */
  serviceAccount: string;
  /** The service account's secret; absent only for a broker that needs none (tests). */
  secret?: string;
  /** Suffix of the client id `svc-{name}-{instanceId}` (acl.ts isServiceClientId: 1-23 of [A-Za-z0-9-]). */
  instanceId: string;
  /**
   * Share group for `$share/{group}/...` (MQTT 5 section 4.8.2; mosquitto and EMQX also accept
   * it from 3.1.1 clients): several instances then split the `up/events` load. Null: a plain
   * subscription (the embedded aedes broker does not implement shared subscriptions).
   */
  shareGroup: string | null;
  db: Kysely<CloudSchema>;
  metrics: CloudMetrics;
  logger: Logger;
  /** Streams processed at once (different gateways/lanes). */
  concurrency: number;
  /** Messages queued or in process at which the consumer stops reading from the broker. */
  maxPending: number;
  /** Messages of one gateway queued or in process at most (default GATEWAY_QUEUE_SHARE). */
  maxPendingPerGateway?: number;
  /** Milliseconds between reconnect attempts. */
  reconnectPeriodMs?: number;
  now?: () => Date;
  /** Run inside each batch's ingest transaction (cases, command and config results; ingest.ts). */
  ingestHooks?: readonly IngestHook[];
  /** Called after a gateway's status was stored (the downlink resends pending commands on `online`). */
  onStatusStored?: (gatewayId: string, status: Status) => void;
}

/** Health of the consumer, for /healthz. */
export interface ConsumerHealth {
  connected: boolean;
  subscribed: boolean;
  /** Why it is not healthy, when it is not. */
  reason: string | null;
}

/**
 * Messages of one gateway queued or in process at most (queue.ts, the per-group share): the most an
 * honest gateway has in flight, 64 batches per lane (the gateway configuration's maximum of
 * `uplink.maxInFlightBatches`, gateway/config/schema.json) on each of its lanes, plus room for its
 * statuses. A flooding gateway takes no more than this of the queue, and the others keep flowing;
 * its messages over it are dropped unacked, and the gateway resends them (delivery rule 4).
 */
export const GATEWAY_QUEUE_SHARE = 64 * LANES.length + 8;

/** Messages of one kind and gateway are logged at most once per this interval (flood guard). */
const LOG_INTERVAL_MS = 10_000;
/** Issues shown in a log line, each message cut to this length: enough to fix it, never a dump. */
const LOG_ISSUES = 5;
const LOG_TEXT_MAX = 200;

/** At most one line per key per interval; reports how many were suppressed in between. */
class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly intervalMs: number) {}

  /** The number of lines suppressed since the last one, or null when this one is suppressed too. */
  take(key: string, at = Date.now()): number | null {
    const entry = this.last.get(key);
    if (entry !== undefined && at - entry.at < this.intervalMs) {
      entry.suppressed += 1;
      return null;
    }
    // Bounded: entries older than the interval carry nothing worth keeping.
    if (this.last.size > 10_000) {
      for (const [k, e] of this.last) if (at - e.at >= this.intervalMs) this.last.delete(k);
    }
    this.last.set(key, { at, suppressed: 0 });
    return entry?.suppressed ?? 0;
  }
}

function clip(text: string): string {
  return text.length > LOG_TEXT_MAX ? `${text.slice(0, LOG_TEXT_MAX)}...` : text;
}

function summariseIssues(errors: Issue[]): { issues: string[]; issueCount: number } {
  return {
    issues: errors
      .slice(0, LOG_ISSUES)
      .map((e) => clip(`${e.pointer === '' ? '(payload)' : e.pointer}: ${e.message}`)),
    issueCount: errors.length,
  };
}

export class IngestConsumer {
  private client: MqttClient | null = null;
  private readonly queue: KeyedSerialQueue;
  private readonly throttle = new LogThrottle(LOG_INTERVAL_MS);
  private connectedFlag = false;
  private subscribedFlag = false;
  private lastProblem: string | null = 'not started';
  private closing = false;
  private subscribedWaiters: (() => void)[] = [];

  constructor(private readonly options: ConsumerOptions) {
    this.queue = new KeyedSerialQueue({
      concurrency: options.concurrency,
      maxPending: options.maxPending,
      maxPendingPerGroup: Math.min(options.maxPending, options.maxPendingPerGateway ?? GATEWAY_QUEUE_SHARE),
      onError: (error, key) => {
        // Tasks catch their own errors; reaching here is a bug, logged and survived.
        options.logger.error({ err: error, stream: key.replaceAll('\u0000', '/') }, 'consumer task failed');
      },
    });
  }

  /**
   * Publishes a downlink message (down/cmd, down/config) with the consumer's service-account
   * session. Resolves once the broker took it (QoS 1 PUBACK); rejects when not connected or the
   * broker refused it. A PUBACK is not delivery to the gateway: its result event is
   * (docs/uplink-contract.md, delivery rule 7).
   */
  publish(topic: string, payload: string, options: { retain: boolean }): Promise<void> {
    const client = this.client;
    if (client === null || !this.connectedFlag) {
      return Promise.reject(new Error('not connected to the broker'));
    }
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: 1, retain: options.retain }, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  get clientId(): string {
    return `svc-${this.options.serviceAccount}-${this.options.instanceId}`;
  }

  /** The `up/events` filter, shared when a share group is configured. */
  get eventsFilter(): string {
    const filter = allGatewaysFilter('up/events');
    return this.options.shareGroup === null ? filter : `$share/${this.options.shareGroup}/${filter}`;
  }

  /**
   * The `up/status` filter is never shared: a broker sends no retained messages to a new shared
   * subscription (MQTT 5 section 4.8.2), and retained status is how an instance learns the fleet's
   * state at start. Every instance storing every status is idempotent (one row per gateway, and
   * each instance applies a gateway's messages in order, so all converge on the latest).
   */
  get statusFilter(): string {
    return allGatewaysFilter('up/status');
  }

  health(): ConsumerHealth {
    const healthy = this.connectedFlag && this.subscribedFlag;
    return {
      connected: this.connectedFlag,
      subscribed: this.subscribedFlag,
      reason: healthy ? null : (this.lastProblem ?? 'not connected'),
    };
  }

  /** Resolves once the consumer is connected and subscribed (now, if it already is). */
  whenSubscribed(): Promise<void> {
    if (this.subscribedFlag) return Promise.resolve();
    return new Promise((resolve) => this.subscribedWaiters.push(resolve));
  }

  /** Connects (retrying in the background on failure); call whenSubscribed() to wait for it. */
  start(): void {
    const { options } = this;
    const clientOptions: IClientOptions = {
      clientId: this.clientId,
      username: `${SERVICE_USERNAME_PREFIX}${options.serviceAccount}`,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: options.reconnectPeriodMs ?? 2000,
      connectTimeout: 10_000,
      // The subscriptions are made on every 'connect' below, so their SUBACKs are checked each time.
      resubscribe: false,
    };
    if (options.secret !== undefined) clientOptions.password = options.secret;
    if (options.ca !== undefined) clientOptions.ca = options.ca;
    const client = mqtt.connect(options.url, clientOptions);
    this.client = client;
    // mqtt.js sends the PUBACK of a QoS 1 message and reads the next packet only after this
    // callback: holding it while the queue is full is the backpressure that bounds memory.
    client.handleMessage = (packet: IPublishPacket, callback) => {
      // Closing: leave it unacknowledged; the gateway resends what was never acked (rule 4).
      if (this.closing) return;
      this.dispatch(packet.topic, packet.payload);
      this.queue.whenRoom(() => callback());
    };
    client.on('connect', () => {
      this.connectedFlag = true;
      options.metrics.mqttConnected.set(1);
      options.logger.info(
        { url: this.safeUrl(), clientId: this.clientId },
        'consumer connected to the broker',
      );
      void this.subscribe(client);
    });
    client.on('close', () => {
      // close() ends the connection itself (the event fires inside endAsync, still connected):
      // that is no loss to warn about.
      if (this.connectedFlag && !this.closing) {
        options.logger.warn({ url: this.safeUrl() }, 'consumer lost the broker connection; reconnecting');
      }
      this.connectedFlag = false;
      this.subscribedFlag = false;
      this.lastProblem ??= 'not connected to the broker';
      options.metrics.mqttConnected.set(0);
    });
    client.on('error', (error) => {
      // One line per distinct problem, not one per reconnect attempt.
      const problem = `broker connection: ${error.message}`;
      if (problem !== this.lastProblem)
        options.logger.warn({ url: this.safeUrl(), err: error.message }, 'consumer cannot connect');
      this.lastProblem = problem;
    });
  }

  /** Stops taking messages, lets batches in process finish (and ack), then disconnects. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const dropped = this.queue.dropWaiting();
    if (dropped > 0)
      this.options.logger.info({ dropped }, 'consumer closing: queued messages left for resend');
    await withTimeout(this.queue.onIdle(), timeoutMs);
    const client = this.client;
    this.client = null;
    if (client !== null) {
      // A graceful end flushes the acks just published; a broker that is gone cannot take them.
      await withTimeout(client.endAsync(false), timeoutMs).catch(() => undefined);
      await client.endAsync(true).catch(() => undefined);
    }
    this.connectedFlag = false;
    this.subscribedFlag = false;
    this.lastProblem = 'closed';
    this.options.metrics.mqttConnected.set(0);
  }

  private safeUrl(): string {
    // A URL may carry user:password; only scheme, host and port are logged.
    try {
      const url = new URL(this.options.url);
      return `${url.protocol}//${url.host}`;
    } catch {
      return '(unparsable url)';
    }
  }

  private async subscribe(client: MqttClient): Promise<void> {
    const filters = [this.eventsFilter, this.statusFilter];
    let granted: number[];
    try {
      granted = (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
    } catch (error) {
      // mqtt.js rejects when a filter gets SUBACK 0x80 (MQTT 3.1.1 section 3.9.3), with the packet.
      const packet = (error as { packet?: { granted?: number[] } }).packet;
      if (packet?.granted === undefined) {
        this.lastProblem = `subscribe failed: ${error instanceof Error ? error.message : String(error)}`;
        this.options.logger.error({ filters }, this.lastProblem);
        return;
      }
      granted = packet.granted;
    }
    const refused = filters.filter((_, i) => granted[i] === undefined || granted[i] === 0x80);
    if (refused.length > 0) {
      this.lastProblem = `subscription refused by the broker: ${refused.join(', ')}`;
      this.options.logger.error({ refused }, 'consumer subscription refused; check the service account ACL');
      return;
    }
    if (client !== this.client || !client.connected) return;
    this.subscribedFlag = true;
    this.lastProblem = null;
    this.options.logger.info({ filters }, 'consumer subscribed');
    for (const resolve of this.subscribedWaiters.splice(0)) resolve();
  }

  private warnThrottled(key: string, fields: Record<string, unknown>, message: string): void {
    const suppressed = this.throttle.take(key);
    if (suppressed === null) return;
    this.options.logger.warn(
      suppressed > 0 ? { ...fields, suppressedSinceLast: suppressed } : fields,
      message,
    );
  }

  /** Routes one message; never throws (a bad message must not stop the consumer). */
  private dispatch(topic: string, payload: Buffer | string): void {
    const parsed = parseTopic(topic);
    if (parsed === null) {
      this.warnThrottled('topic', { topic: clip(topic) }, 'message on a topic outside the contract ignored');
      return;
    }
    if (parsed.channel === 'up/events') this.onEvents(parsed.gatewayId, payload);
    else if (parsed.channel === 'up/status') this.onStatus(parsed.gatewayId, payload);
  }

  private onEvents(gatewayId: string, payload: Buffer | string): void {
    const { metrics } = this.options;
    // Envelope and seqs must be sound; an event breaking the contract is set aside, not the batch.
    const result = sortEventsBatch(payload);
    if (!result.ok) {
      metrics.batches.inc({ outcome: 'invalid' });
      this.warnThrottled(
        `invalid-events\u0000${gatewayId}`,
        { gatewayId, bytes: payload.length, ...summariseIssues(result.errors) },
        'invalid up/events batch refused, not acked',
      );
      return;
    }
    const { batch, invalid } = result.value;
    const lane: Lane = batch.lane ?? 'priority';
    // The topic's gateway (authenticated by the broker), not the payload's: a mismatching payload
    // is refused by ingest without touching anything, whatever queue it waits in. The gateway is
    // also the group whose share of the queue the batch takes.
    const queued = this.queue.push(
      `events\u0000${gatewayId}\u0000${batch.epoch}\u0000${lane}`,
      () => this.ingest(gatewayId, batch, invalid, lane),
      gatewayId,
    );
    if (!queued) this.overShare(gatewayId, 'batches');
  }

  /** A message dropped because its gateway holds its whole share of the queue (queue.ts). */
  private overShare(gatewayId: string, what: 'batches' | 'status'): void {
    if (what === 'batches') this.options.metrics.batches.inc({ outcome: 'over_share' });
    else this.options.metrics.statusMessages.inc({ outcome: 'over_share' });
    this.warnThrottled(
      `over-share\u0000${gatewayId}`,
      { gatewayId, pending: this.queue.pendingOf(gatewayId), dropped: what },
      'gateway holds its whole share of the ingest queue: message dropped unacked, the gateway resends it',
    );
  }

  private async ingest(
    gatewayId: string,
    batch: EventsBatch,
    invalid: readonly InvalidEvent[],
    lane: Lane,
  ): Promise<void> {
    const { db, metrics, logger } = this.options;
    const stopTimer = metrics.ingestDuration.startTimer({ lane });
    let result;
    try {
      result = await ingestBatch(db, batch, gatewayId, {
        ...(this.options.now ? { now: this.options.now } : {}),
        ...(this.options.ingestHooks ? { hooks: this.options.ingestHooks } : {}),
        invalid,
      });
    } catch (error) {
      stopTimer();
      if (error instanceof UnserialisableEventsError) {
        // Valid events JSON.stringify cannot write (defence in depth: the contract's MAX_DEPTH
        // should make this impossible) are the gateway's bad input, never a database failure:
        // nothing was stored, so the batch goes again with them set aside like any invalid event.
        // Each round removes at least one event, so this ends.
        const setAside = new Set(error.events.map((event) => event.seq));
        return this.ingest(
          gatewayId,
          { ...batch, events: batch.events.filter((event) => !setAside.has(event.seq)) },
          [...invalid, ...error.events].sort((a, b) => a.seq - b.seq),
          lane,
        );
      }
      // Rolled back: nothing of the batch is stored and no ack goes out; the gateway resends it.
      metrics.batches.inc({ outcome: 'db_error' });
      logger.error(
        { err: error, gatewayId, epoch: batch.epoch, lane, after: batch.after, events: batch.events.length },
        'ingest failed on the database: batch not acked, the gateway will resend it',
      );
      return;
    }
    stopTimer();
    if (result.refusal === 'gateway_mismatch') {
      // No ack: the topic's gateway did not send this batch, and the payload's gateway must not
      // be told anything by someone else's message.
      metrics.batches.inc({ outcome: 'refused' });
      this.warnThrottled(
        `mismatch\u0000${gatewayId}`,
        { gatewayId, payloadGw: clip(batch.gw) },
        'up/events batch names another gateway than its topic: refused, not acked',
      );
      return;
    }
    if (result.refusal === 'gateway_disabled') {
      // No ack: a disabled gateway's events are not taken (the broker cuts its session within
      // seconds, broker/revocation.ts); counted as refused and logged once per interval.
      metrics.batches.inc({ outcome: 'refused' });
      this.warnThrottled(
        `disabled\u0000${gatewayId}`,
        { gatewayId, epoch: batch.epoch, lane },
        'up/events batch of a disabled gateway refused: nothing stored, not acked',
      );
      return;
    }
    if (result.refusal === 'after_ahead') {
      metrics.batches.inc({ outcome: 'refused' });
      logger.info(
        { gatewayId, epoch: batch.epoch, lane, after: batch.after, upTo: result.upTo },
        'batch starts beyond what is committed: acking lastCommitted so the gateway resends from there',
      );
    } else {
      metrics.batches.inc({ outcome: 'accepted' });
      // Events are in seq order and the fresh ones are those above the old lastCommitted, so the
      // committed ones are the last `committed` of the batch.
      for (const event of batch.events.slice(batch.events.length - result.committed)) {
        metrics.eventsCommitted.inc({ lane, class: EVENT_CLASS[event.kind] });
      }
      if (result.duplicates > 0) metrics.duplicates.inc({ lane }, result.duplicates);
      // Set-aside events are in seq order and the new ones lie above the old lastCommitted, so the
      // stored ones are the last `deadLettered`, as with committed events above.
      if (result.deadLettered > 0)
        this.reportDeadLetters(
          gatewayId,
          batch.epoch,
          lane,
          invalid.slice(invalid.length - result.deadLettered),
        );
      logger.debug(
        {
          gatewayId,
          epoch: batch.epoch,
          lane,
          upTo: result.upTo,
          committed: result.committed,
          duplicates: result.duplicates,
        },
        'batch committed',
      );
    }
    this.publishAck(gatewayId, batch, result.upTo);
  }

  /**
   * Every event set aside is counted by lane and kind, and each batch holding some gets one warn
   * line naming their seqs and first reasons (never throttled: each is a gateway bug to fix, and
   * the rows in dead_letters hold the rest).
   */
  private reportDeadLetters(
    gatewayId: string,
    epoch: string,
    lane: Lane,
    stored: readonly InvalidEvent[],
  ): void {
    for (const event of stored)
      this.options.metrics.deadLetters.inc({ lane, kind: event.kind ?? 'unreadable' });
    const first = stored[0];
    this.options.logger.warn(
      {
        gatewayId,
        epoch,
        lane,
        deadLettered: stored.length,
        seqs: stored.slice(0, LOG_ISSUES).map((event) => event.seq),
        ...(first === undefined ? {} : { kind: first.kind, ...summariseIssues(first.issues) }),
      },
      'events breaking the contract kept in dead_letters; the lane moved past them',
    );
  }

  /**
   * Publishes `down/ack` after the commit. Not awaited: the stream's next batch need not wait for
   * the broker's PUBACK, and mqtt.js sends in call order, so a gateway sees its acks in order. An
   * ack only ever states what is committed, so a late or repeated one is harmless (rule 4).
   */
  private publishAck(gatewayId: string, batch: EventsBatch, upTo: number): void {
    const { metrics, logger } = this.options;
    const client = this.client;
    // The lane is echoed as the batch gave it: absent means priority on both sides.
    const ack: Ack =
      batch.lane === undefined
        ? { epoch: batch.epoch, upTo }
        : { epoch: batch.epoch, lane: batch.lane, upTo };
    const lane = batch.lane ?? 'priority';
    if (client === null) return;
    client.publish(ackTopic(gatewayId), JSON.stringify(ack), { qos: 1, retain: false }, (error) => {
      if (error) {
        metrics.ackPublishFailures.inc();
        logger.warn(
          { gatewayId, lane, upTo, err: error.message },
          'ack not published; the gateway will resend',
        );
      } else {
        metrics.acksPublished.inc({ lane });
      }
    });
  }

  private onStatus(gatewayId: string, payload: Buffer | string): void {
    const { metrics, logger, db } = this.options;
    if (payload.length === 0) {
      // An empty retained message deletes the retained status (MQTT 3.1.1 section 3.3.1.3); it is
      // not a status, so the stored one stays.
      metrics.statusMessages.inc({ outcome: 'cleared' });
      logger.info({ gatewayId }, 'retained status of gateway cleared');
      return;
    }
    const result = parseStatus(payload);
    if (!result.ok) {
      metrics.statusMessages.inc({ outcome: 'invalid' });
      this.warnThrottled(
        `invalid-status\u0000${gatewayId}`,
        { gatewayId, bytes: payload.length, ...summariseIssues(result.errors) },
        'invalid up/status refused',
      );
      return;
    }
    const status = result.value;
    const receivedAt = (this.options.now ?? (() => new Date()))();
    // Same queue as batches, keyed per gateway, so one gateway's statuses are stored in order.
    const queued = this.queue.push(
      `status\u0000${gatewayId}`,
      async () => {
        let outcome;
        try {
          outcome = await upsertGatewayStatus(db, gatewayId, status, receivedAt);
        } catch (error) {
          metrics.statusMessages.inc({ outcome: 'db_error' });
          logger.error({ err: error, gatewayId }, 'gateway status not stored (database error)');
          return;
        }
        if (outcome === 'gateway_disabled') {
          metrics.statusMessages.inc({ outcome: 'refused' });
          this.warnThrottled(
            `disabled-status\u0000${gatewayId}`,
            { gatewayId },
            'up/status of a disabled gateway refused: not stored',
          );
          return;
        }
        this.statusStored(gatewayId, status);
      },
      gatewayId,
    );
    if (!queued) this.overShare(gatewayId, 'status');
  }

  private statusStored(gatewayId: string, status: Status): void {
    const { metrics, logger } = this.options;
    metrics.statusMessages.inc({ outcome: 'stored' });
    if (!status.online) logger.info({ gatewayId }, 'gateway reported offline (status or last will)');
    if (status.storage !== undefined && status.storage.state !== 'ok') {
      // Each status of a cabinet whose disk is short (every 30 s) says so: an operator must act.
      this.warnThrottled(
        `storage\u0000${gatewayId}`,
        {
          gatewayId,
          storage: status.storage.state,
          freeBytes: status.storage.freeBytes,
          reason: status.storage.reason,
        },
        'gateway storage short: it stores decisions only',
      );
    }
    try {
      this.options.onStatusStored?.(gatewayId, status);
    } catch (error) {
      logger.error({ err: error, gatewayId }, 'status listener failed');
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
