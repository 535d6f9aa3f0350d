/**
 * Shared pieces of the downlink tests: a fresh migrated cloud database per test on SQLite and on
 * a private PostgreSQL cluster, an enrolled gateway row, a recording publisher, a settable clock,
 * and result events committed the real way (ingestBatch with the downlink hook).
 */
import { CLOUD_DB_BACKENDS, type CloudDbBackend } from '../../../helpers/cloud-db.js';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { pino, type Logger } from 'pino';
import type { GatewayEventBody, OutboxEvent } from '../../../../cloud-sync/contract/events.js';
import type { EventsBatch } from '../../../../cloud-sync/contract/types.js';
import { validateEventsBatch } from '../../../../cloud-sync/contract/validate.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import type { DownlinkPublisher } from '../../../../cloud-sync/service/downlink/publisher.js';
import { downlinkResultsHook } from '../../../../cloud-sync/service/downlink/results-hook.js';
import { newKeyFile, signerOf } from '../../../../cloud-sync/service/downlink/signing-key.js';
import {
  pinnedKeyMap,
  verifyDownlink,
  type DownlinkChannel,
} from '../../../../cloud-sync/contract/signing.js';
import { ingestBatch, type IngestResult } from '../../../../cloud-sync/service/ingest/ingest.js';

export const GW = 'cab-12';
export const OTHER_GW = 'cab-13';
export const EPOCH = '7d0c2a6e-1f3b-4c5d-9e8f-0a1b2c3d4e5f';

export const silentLogger: Logger = pino({ level: 'silent' });

/** A fresh in-memory downlink signer (docs/downlink-signing.md) for services built by hand. */
export const testSigner = signerOf(newKeyFile());

/**
 * A published message checked like the gateway checks it (signed by testSigner, or by `keys`, for `gatewayId` on
 * `channel`), returned without its `sig` for comparing with what was meant to be sent.
 */
export function verifiedMessage(
  channel: DownlinkChannel,
  gatewayId: string,
  value: object,
  keys: readonly string[] = testSigner.publicKeys(),
): object {
  const verdict = verifyDownlink(pinnedKeyMap(keys), channel, gatewayId, value);
  assert.ok(verdict.ok, JSON.stringify(verdict));
  const { sig: _sig, ...unsigned } = value as Record<string, unknown>;
  return unsigned;
}

export type { OpenedDatabase } from '../../../helpers/cloud-db.js';

/** The backends every storage test runs on (test/helpers/cloud-db.ts). */
export function backends(): { list: readonly CloudDbBackend[]; stop(): Promise<void> } {
  // The cluster is stopped by cloud-db.ts when the file's tests end.
  return { list: CLOUD_DB_BACKENDS, stop: () => Promise.resolve() };
}

/** An enrolled gateway (the downlink refuses ids without a `gateways` row). */
export async function enrollGateway(
  db: Kysely<CloudSchema>,
  gatewayId: string,
  disabled = false,
): Promise<void> {
  await db
    .insertInto('gateways')
    .values({
      gateway_id: gatewayId,
      credential_hash: 'not-used-here',
      mosquitto_hash: 'not-used-here',
      disabled: disabled ? 1 : 0,
      enrolled_at: '2026-01-01T00:00:00.000Z',
      rotated_at: null,
      disabled_changed_at: null,
    })
    .execute();
}

export interface Published {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A publisher that records every message, and fails while `failing` is set (broker away). */
export class RecordingPublisher implements DownlinkPublisher {
  readonly messages: Published[] = [];
  failing = false;
  /** Runs before publish resolves, like a gateway answering before the PUBACK is processed. */
  onPublish: ((message: Published) => Promise<void>) | null = null;

  async publish(topic: string, payload: string, options: { retain: boolean }): Promise<void> {
    if (this.failing) throw new Error('not connected to the broker');
    const message = { topic, payload, retain: options.retain };
    this.messages.push(message);
    await this.onPublish?.(message);
  }
}

/** A clock tests move by hand. */
export class Clock {
  constructor(public current = new Date('2026-03-01T08:00:00.000Z')) {}
  readonly now = (): Date => this.current;
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

let idCounter = 0;
function eventId(): string {
  idCounter += 1;
  return `00000000-0000-4000-9000-${idCounter.toString(16).padStart(12, '0')}`;
}

/**
 * Gateway side of the uplink for result events: numbers events per gateway like an outbox and
 * commits them with ingestBatch and the downlink hook, as the consumer does.
 */
export class ResultUplink {
  private readonly lastSeq = new Map<string, number>();

  constructor(
    private readonly db: Kysely<CloudSchema>,
    private readonly clock: Clock,
  ) {}

  /** Sends `bodies` as one new batch of `gatewayId`; returns the events with their ids. */
  async send(gatewayId: string, bodies: GatewayEventBody[]): Promise<OutboxEvent[]> {
    const after = this.lastSeq.get(gatewayId) ?? 0;
    const events = bodies.map((body, index): OutboxEvent => ({
      ...body,
      seq: after + index + 1,
      id: eventId(),
      ts: '2026-03-01T08:00:00.000Z',
    }));
    await this.deliver({ gw: gatewayId, epoch: EPOCH, lane: 'priority', after, events });
    this.lastSeq.set(gatewayId, after + events.length);
    return events;
  }

  /** Delivers a batch as is (e.g. a re-delivery of one already committed). */
  async deliver(batch: EventsBatch): Promise<IngestResult> {
    const checked = validateEventsBatch(batch);
    assert.ok(checked.ok, `test batch must satisfy the contract: ${JSON.stringify(checked)}`);
    return ingestBatch(this.db, batch, batch.gw, { now: this.clock.now, hooks: [downlinkResultsHook()] });
  }
}
