/**
 * Store-and-forward to the cloud over MQTT (docs/uplink-contract.md; docs/uplink.md).
 *
 *   outbox (kerbside.db) ──lane batches──> up/events ──> cloud commits ──> down/ack ──> delete <= upTo
 *
 * - One fixed client id (`gw-{id}`), QoS 1, persistent session, credential from enrollment.
 * - Two lanes (docs/uplink-lanes.md): the priority lane (alarms, results, audit, gaps) is always
 *   filled first; the telemetry lane follows, paced (rule 6: live alarms go first, replay is paced).
 * - A bounded window of batches in flight per lane (lane-window.ts); a PUBACK is never taken as
 *   delivery, only `down/ack` deletes (rules 3 and 4).
 * - Retained `up/status` (online, version, uptime, backlog) and the same topic as last will with
 *   online false, so the console sees a dead cabinet without waiting for a timeout.
 * - Reconnects itself (mqtt.js reconnectPeriod 0) on the schedule of reconnect.ts: exponential
 *   backoff with full jitter, capped so a gateway is back within 15 s of the broker returning.
 *   TLS (mqtts) verifies the broker against the enrolled CA bundle and never turns verification off.
 *
 * - Downlink (docs/uplink-contract.md, delivery rule 7): `down/cmd` and the retained `down/config`
 * of this
 *   gateway are subscribed with QoS 1 next to `down/ack` and handed, as raw payloads, to the
 *   handlers in the options (gateway/downlink): the uplink carries them, it does not interpret them.
 *
 * We write this protocol ourselves (docs/uplink.md says why): the exactly-once-in-effect argument
 * lives in the interplay of the outbox transaction, `after` and the ack, and no MQTT library knows it.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { LANES, type EventClass, type Lane } from '../../cloud-sync/contract/events.js';
import {
  ackTopic,
  commandTopic,
  configTopic,
  eventsTopic,
  gatewayClientId,
  statusTopic,
} from '../../cloud-sync/contract/topics.js';
import type { EventsBatch, Status, StatusStorage } from '../../cloud-sync/contract/types.js';
import type { StorageState } from '../store/storage-guard.js';
import { parseAck } from '../../cloud-sync/contract/validate.js';
import { MAX_EVENTS_PER_BATCH } from '../../cloud-sync/contract/schemas.js';
import type { GatewayStore } from '../store/event-store.js';
import { LaneWindow } from './lane-window.js';
import { requireSecureMqttUrl } from '../enrollment/transport-policy.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RECONNECT_POLICY,
  RECOVERY_BUDGET_MS,
  ReconnectSchedule,
  worstRecoveryMs,
  type ReconnectPolicy,
  type ReconnectWait,
} from './reconnect.js';

/** What the uplink needs of the store (GatewayStore implements it). */
export type UplinkStore = Pick<
  GatewayStore,
  'epoch' | 'outboxLaneAfter' | 'laneState' | 'acknowledgeUpTo' | 'outboxStats' | 'storageState'
>;

export interface UplinkOptions {
  gatewayId: string;
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  username: string;
  password: string;
  /** PEM CA bundle that must have signed the broker's certificate (mqtts). */
  ca?: string;
  /**
   * Accept an mqtt:// (no TLS) URL to a host that is not loopback (the gateway setting
   * `uplink.allowInsecureMqtt`); otherwise the constructor throws UPLINK_INSECURE.
   */
  allowInsecureMqtt?: boolean;
  /**
   * The cloud's pinned downlink public keys (credentials.ts): not used by the uplink itself, but
   * carried with the credential to the command and configuration handlers (gateway.ts), which
   * refuse every `down/` message they do not verify (docs/downlink-signing.md). Absent or empty:
   * every command and document is refused.
   */
  downlinkKeys?: readonly string[];
  /** Gateway software version, reported in the status. */
  version: string;
  /** Events per batch, at most MAX_EVENTS_PER_BATCH. Default 500. */
  batchSize?: number;
  /** Batches in flight per lane. Default 4. */
  maxInFlightBatches?: number;
  /** Telemetry-lane replay pace, events per second; 0 = unpaced. Default 2000. */
  telemetryEventsPerS?: number;
  /** Resend from the acknowledged mark when the oldest batch waits this long. Default 15 s. */
  ackTimeoutMs?: number;
  /** After a go-back on a refusal, further refusals are ignored this long. Default 1 s. */
  goBackHoldMs?: number;
  /**
   * Reconnect backoff, full jitter (reconnect.ts). Default 1 s doubling to a cap of 10 s: with the
   * connect timeout, back within 15 s of the broker returning.
   */
  reconnect?: ReconnectPolicy;
  /** Status refresh period. Default 30 s. */
  statusIntervalMs?: number;
  /** How often the outbox is looked at when nothing told us it changed. Default 250 ms. */
  pollIntervalMs?: number;
  /** A connect (TCP, TLS, CONNACK, SUBACK) not done in this time failed. Default 5 s. */
  connectTimeoutMs?: number;
  keepaliveS?: number;
  /** Randomness for the jitter, [0, 1). */
  random?: () => number;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** Receives every `down/cmd` payload (gateway/downlink/commands.ts); absent: not subscribed. */
  onCommand?: (payload: Buffer) => void;
  /** Receives every `down/config` payload, retained ones included; absent: not subscribed. */
  onConfig?: (payload: Buffer) => void;
  /** The configuration document version in force, for `configVersion` in up/status. */
  configVersion?: () => number | null;
}

export interface UplinkStats {
  connected: boolean;
  connects: number;
  connectFailures: number;
  /** Connections opened (the first one and every reconnect). */
  connectAttempts: number;
  /** Failed attempts since the last successful connect: the exponent of the next wait. */
  reconnectAttempt: number;
  /** The last wait before a reconnect (reconnect.ts), null before the first. */
  lastReconnectWait: ReconnectWait | null;
  batchesSent: number;
  eventsSent: number;
  acks: number;
  /** Times a lane resent from its acknowledged mark (refusal, timeout). */
  goBacks: number;
  /** Acks ignored: other epoch, invalid, or above what this database assigned. */
  rejectedAcks: number;
  /** Wall time of the last acknowledgement that moved a lane's mark (the cabinet UI's overview); null before one. */
  lastAckWallMs: number | null;
  lanes: Record<Lane, { ackedSeq: number; inFlightBatches: number; inFlightEvents: number }>;
}

const DEFAULTS = {
  batchSize: 500,
  maxInFlightBatches: 4,
  telemetryEventsPerS: 2000,
  ackTimeoutMs: 15_000,
  goBackHoldMs: 1000,
  reconnect: DEFAULT_RECONNECT_POLICY,
  statusIntervalMs: 30_000,
  pollIntervalMs: 250,
  connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  keepaliveS: 30,
};

export class Uplink {
  private readonly o: Required<
    Omit<
      UplinkOptions,
      'ca' | 'onCommand' | 'onConfig' | 'configVersion' | 'allowInsecureMqtt' | 'downlinkKeys'
    >
  > &
    Pick<
      UplinkOptions,
      'ca' | 'onCommand' | 'onConfig' | 'configVersion' | 'allowInsecureMqtt' | 'downlinkKeys'
    >;
  private client: MqttClient | undefined;
  private connected = false;
  private stopped = true;
  private readonly schedule: ReconnectSchedule;
  /** The injected clock when the current connect attempt began. */
  private connectStartedMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private windows: Record<Lane, LaneWindow> | undefined;
  private pumping = false;
  private readonly lastGoBackMs: Record<Lane, number> = { priority: -Infinity, telemetry: -Infinity };
  /** Token bucket of the telemetry lane: events that may be sent now. */
  private telemetryTokens = 0;
  private tokensAtMs = 0;
  private lastAckWallMs: number | null = null;
  private readonly counters = {
    connects: 0,
    connectFailures: 0,
    connectAttempts: 0,
    batchesSent: 0,
    eventsSent: 0,
    acks: 0,
    goBacks: 0,
    rejectedAcks: 0,
  };

  constructor(
    private readonly store: UplinkStore,
    options: UplinkOptions,
    private readonly logger: Logger,
  ) {
    const batchSize = options.batchSize ?? DEFAULTS.batchSize;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_EVENTS_PER_BATCH) {
      throw new RangeError(`uplink batchSize must be 1..${MAX_EVENTS_PER_BATCH}, got ${batchSize}`);
    }
    // No TLS beyond loopback only when asked for (issue 12, finding 9): throws UPLINK_INSECURE.
    requireSecureMqttUrl(options.url, options.allowInsecureMqtt === true);
    this.o = {
      ...DEFAULTS,
      random: Math.random,
      now: () => performance.now(),
      ...options,
      batchSize,
      // An option passed as undefined keeps its default (the recovery bound depends on these).
      reconnect: options.reconnect ?? DEFAULTS.reconnect,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    };
    this.schedule = new ReconnectSchedule(this.o.reconnect, this.o.random, this.o.now);
    const worst = worstRecoveryMs(this.o.reconnect, this.o.connectTimeoutMs);
    if (worst > RECOVERY_BUDGET_MS) {
      logger.warn(
        { reconnectMaxMs: this.o.reconnect.maxMs, connectTimeoutMs: this.o.connectTimeoutMs },
        `reconnect cap plus connect timeout is ${worst} ms: after an outage this gateway may be back ` +
          `later than ${RECOVERY_BUDGET_MS / 1000} s after the broker returns`,
      );
    }
  }

  /** Connects in the background; never throws for a network problem (it retries). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
    this.pollTimer = setInterval(() => this.pump(), this.o.pollIntervalMs);
    this.statusTimer = setInterval(() => this.publishStatus(), this.o.statusIntervalMs);
  }

  /** Publishes the status now (e.g. after a configuration change: configVersion moved). */
  refreshStatus(): void {
    this.publishStatus();
  }

  /** New events were committed: send them now rather than at the next poll. */
  notify(): void {
    this.pump();
  }

  /** Publishes online:false (retained), then disconnects cleanly. Never throws. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.statusTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    try {
      if (this.connected) {
        const published = client.publishAsync(
          statusTopic(this.o.gatewayId),
          JSON.stringify(this.status(false)),
          {
            qos: 1,
            retain: true,
          },
        );
        // The broker may be gone already: wait for its PUBACK only briefly (the will covers it).
        await withTimeout(published, STOP_STATUS_TIMEOUT_MS);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not publish the offline status before stopping');
    }
    this.connected = false;
    await client.endAsync(true).catch(() => undefined);
  }

  stats(): UplinkStats {
    const lane = (name: Lane): UplinkStats['lanes'][Lane] => {
      const window = this.windows?.[name];
      return {
        ackedSeq: window?.ackedSeq ?? this.store.laneState(name).ackedSeq,
        inFlightBatches: window?.inFlightCount ?? 0,
        inFlightEvents: window?.inFlightEvents ?? 0,
      };
    };
    return {
      connected: this.connected,
      ...this.counters,
      lastAckWallMs: this.lastAckWallMs,
      reconnectAttempt: this.schedule.attempt,
      lastReconnectWait: this.schedule.last(),
      lanes: { priority: lane('priority'), telemetry: lane('telemetry') },
    };
  }

  /** The recent reconnect waits, oldest first (the last 256): what the schedule drew, and when. */
  reconnectWaits(): readonly ReconnectWait[] {
    return this.schedule.history();
  }

  private clientOptions(): IClientOptions {
    const will: Status = { ...this.status(false) };
    return {
      clientId: gatewayClientId(this.o.gatewayId),
      username: this.o.username,
      password: this.o.password,
      // Persistent session (MQTT 3.1.1 section 3.1.2.4): acks published while we were away are
      // kept for us. Correctness does not depend on it: we resend from the acked mark anyway.
      clean: false,
      keepalive: this.o.keepaliveS,
      connectTimeout: this.o.connectTimeoutMs,
      // We reconnect ourselves, with backoff and jitter (rule 6).
      reconnectPeriod: 0,
      will: {
        topic: statusTopic(this.o.gatewayId),
        payload: Buffer.from(JSON.stringify(will)),
        qos: 1,
        retain: true,
      },
      ...(this.o.ca === undefined ? {} : { ca: this.o.ca }),
      // Never accept an unverified broker: the credential would go to whoever answers.
      rejectUnauthorized: true,
    };
  }

  private connect(): void {
    if (this.stopped) return;
    this.counters.connectAttempts++;
    this.connectStartedMs = this.o.now();
    const client = mqtt.connect(this.o.url, this.clientOptions());
    this.client = client;
    client.on('connect', () => void this.onConnect(client));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (error) => {
      // Refused credentials, TLS failures, socket errors: 'close' follows and schedules a retry.
      this.logger.warn(
        { err: { message: error.message, code: (error as { code?: unknown }).code } },
        'uplink error',
      );
    });
    client.on('close', () => this.onClose(client));
  }

  private async onConnect(client: MqttClient): Promise<void> {
    if (client !== this.client) return;
    try {
      const topics = [ackTopic(this.o.gatewayId)];
      if (this.o.onCommand !== undefined) topics.push(commandTopic(this.o.gatewayId));
      if (this.o.onConfig !== undefined) topics.push(configTopic(this.o.gatewayId));
      // Part of the connect: a broker that never answers the SUBSCRIBE is retried like one that
      // never answers the CONNECT (the recovery bound counts on connectTimeoutMs).
      const left = this.o.connectTimeoutMs - (this.o.now() - this.connectStartedMs);
      await withTimeout(client.subscribeAsync(topics, { qos: 1 }), Math.max(1, left));
    } catch (error) {
      this.logger.warn({ err: error }, 'could not subscribe to the down/ topics; reconnecting');
      client.end(true);
      return;
    }
    if (client !== this.client) return;
    this.connected = true;
    this.schedule.reset();
    this.counters.connects++;
    // Everything not acknowledged is resent: batches in flight on the old connection may be lost.
    this.windows = {
      priority: new LaneWindow(this.store.laneState('priority').ackedSeq, this.o.maxInFlightBatches),
      telemetry: new LaneWindow(this.store.laneState('telemetry').ackedSeq, this.o.maxInFlightBatches),
    };
    this.telemetryTokens = 0;
    this.tokensAtMs = this.o.now();
    this.logger.info({ url: redactUrl(this.o.url) }, 'uplink connected');
    this.publishStatus();
    this.pump();
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    const wasConnected = this.connected;
    this.connected = false;
    this.windows = undefined;
    client.removeAllListeners('connect');
    client.end(true);
    if (this.stopped) return;
    if (!wasConnected) this.counters.connectFailures++;
    const wait = this.schedule.next();
    this.logger.info(
      { delayMs: Math.round(wait.delayMs), attempt: wait.attempt + 1 },
      'uplink disconnected; reconnecting',
    );
    this.reconnectTimer = setTimeout(() => this.connect(), wait.delayMs);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === commandTopic(this.o.gatewayId)) return this.deliver('down/cmd', this.o.onCommand, payload);
    if (topic === configTopic(this.o.gatewayId)) return this.deliver('down/config', this.o.onConfig, payload);
    if (topic !== ackTopic(this.o.gatewayId)) return;
    const parsed = parseAck(payload);
    if (!parsed.ok) {
      this.counters.rejectedAcks++;
      this.logger.warn({ errors: parsed.errors }, 'ignored an invalid down/ack');
      return;
    }
    const ack = parsed.value;
    if (ack.epoch !== this.store.epoch) {
      // An ack for a replaced database (rule 1): deleting on its word would lose events.
      this.counters.rejectedAcks++;
      this.logger.warn({ ackEpoch: ack.epoch, epoch: this.store.epoch }, 'ignored an ack for another epoch');
      return;
    }
    this.handleAck(ack.lane ?? 'priority', ack.upTo);
  }

  /** Hands a downlink payload over; a throwing handler is logged, the connection goes on. */
  private deliver(channel: string, handler: ((payload: Buffer) => void) | undefined, payload: Buffer): void {
    if (handler === undefined) return;
    try {
      handler(payload);
    } catch (error) {
      this.logger.error({ err: error, channel }, 'downlink handler failed');
    }
  }

  private handleAck(lane: Lane, upTo: number): void {
    const window = this.windows?.[lane];
    if (window === undefined) return;
    this.counters.acks++;
    if (upTo > this.store.laneState(lane).lastSeq) {
      this.counters.rejectedAcks++;
      this.logger.error({ lane, upTo }, 'ignored an ack above the highest seq this database assigned');
      return;
    }
    const outcome = window.acknowledged(upTo);
    if (outcome.kind === 'progress') {
      try {
        this.store.acknowledgeUpTo(lane, upTo);
        this.lastAckWallMs = Date.now();
      } catch (error) {
        // The mark did not move in the database: resend from there later, never delete more.
        this.logger.error({ err: error, lane, upTo }, 'could not record the acknowledgement');
        window.goBack();
      }
    } else if (outcome.kind === 'no_progress') {
      // The cloud refused a batch whose predecessor it has not committed (lost, or still being
      // processed by another instance): resend from its mark. The other batches of the same
      // window are refused the same way; one go-back per hold time answers them all.
      const now = this.o.now();
      if (now - this.lastGoBackMs[lane] >= this.o.goBackHoldMs) {
        this.lastGoBackMs[lane] = now;
        this.counters.goBacks++;
        window.goBack();
      }
    }
    this.pump();
  }

  /** Fills the windows: the priority lane first, then the paced telemetry lane. */
  private pump(): void {
    if (this.pumping || !this.connected || this.windows === undefined) return;
    this.pumping = true;
    try {
      const now = this.o.now();
      for (const lane of LANES) {
        const window = this.windows[lane];
        if (window.timedOut(now, this.o.ackTimeoutMs)) {
          this.counters.goBacks++;
          this.logger.warn(
            { lane, ackedSeq: window.ackedSeq },
            'no ack in time; resending from the acknowledged mark',
          );
          window.goBack();
        }
      }
      const priorityIdle = this.fill('priority', now);
      if (priorityIdle) this.fill('telemetry', now);
    } catch (error) {
      this.logger.error({ err: error }, 'uplink could not read the outbox; retrying at the next poll');
    } finally {
      this.pumping = false;
    }
  }

  /** Sends batches of one lane while its window allows; true when the lane has nothing left to send. */
  private fill(lane: Lane, now: number): boolean {
    const window = this.windows?.[lane];
    const client = this.client;
    if (window === undefined || client === undefined) return false;
    while (window.canSend()) {
      const limit = lane === 'telemetry' ? this.telemetryAllowance(now) : this.o.batchSize;
      if (limit === 0) return false;
      const events = this.store.outboxLaneAfter(lane, window.nextAfter, limit);
      const last = events.at(-1);
      if (last === undefined) return true;
      const batch: EventsBatch = {
        gw: this.o.gatewayId,
        epoch: this.store.epoch,
        lane,
        after: window.nextAfter,
        events,
      };
      window.sent({ after: batch.after, last: last.seq, count: events.length }, now);
      if (lane === 'telemetry' && this.o.telemetryEventsPerS > 0) this.telemetryTokens -= events.length;
      this.counters.batchesSent++;
      this.counters.eventsSent += events.length;
      client.publish(eventsTopic(this.o.gatewayId), JSON.stringify(batch), { qos: 1 }, (error) => {
        // A failed publish means the connection is going; 'close' resets the windows.
        if (error !== undefined && error !== null) this.logger.debug({ err: error }, 'publish failed');
      });
    }
    return false;
  }

  /** Events the telemetry lane may send now (token bucket refilled at telemetryEventsPerS). */
  private telemetryAllowance(now: number): number {
    const rate = this.o.telemetryEventsPerS;
    if (rate <= 0) return this.o.batchSize;
    const burst = Math.max(this.o.batchSize, rate);
    this.telemetryTokens = Math.min(burst, this.telemetryTokens + ((now - this.tokensAtMs) / 1000) * rate);
    this.tokensAtMs = now;
    return Math.max(0, Math.min(this.o.batchSize, Math.floor(this.telemetryTokens)));
  }

  private status(online: boolean): Status {
    const stats = this.store.outboxStats();
    const byClass: Partial<Record<EventClass, number>> = {};
    for (const [eventClass, value] of Object.entries(stats.byClass) as [EventClass, { count: number }][]) {
      if (value.count > 0) byClass[eventClass] = value.count;
    }
    return {
      online,
      version: this.o.version,
      uptimeS: Math.round(process.uptime()),
      backlog: {
        count: stats.count,
        oldestAgeS: stats.oldestAgeMs === null ? null : Math.round(stats.oldestAgeMs / 1000),
        byClass,
      },
      epoch: this.store.epoch,
      lanes: stats.lanes,
      ...(this.o.configVersion === undefined ? {} : { configVersion: this.o.configVersion() }),
      // From memory (the last check), so a full disk is reported without writing anything.
      storage: storageOf(this.store.storageState()),
    };
  }

  private publishStatus(): void {
    const client = this.client;
    if (!this.connected || client === undefined) return;
    try {
      const payload = JSON.stringify(this.status(true));
      client.publish(statusTopic(this.o.gatewayId), payload, { qos: 1, retain: true }, () => undefined);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not build the status');
    }
  }
}

const STOP_STATUS_TIMEOUT_MS = 2000;

/** The status's storage field from the store's storage state (freeBytes as a whole number). */
function storageOf(state: StorageState): StatusStorage {
  return {
    state: state.state,
    freeBytes: state.freeBytes === null ? null : Math.max(0, Math.floor(state.freeBytes)),
    reason: state.reason,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** The URL without user info, for logs (secrets are never logged). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
