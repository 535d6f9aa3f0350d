/**
 * Shared fixtures of the case tests: a migrated cloud database (SQLite file, or a database on a
 * private PostgreSQL cluster: the case code must run on both), contract-valid event batches fed
 * through the real ingestBatch, a registered component, and a logger that keeps its lines.
 */
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type {
  AlarmStateName,
  GatewayEventBody,
  Lane,
  OutboxEvent,
} from '../../../../cloud-sync/contract/events.js';
import type { EventsBatch } from '../../../../cloud-sync/contract/types.js';
import { validateEventsBatch } from '../../../../cloud-sync/contract/validate.js';
import type { CaseLogger } from '../../../../cloud-sync/service/cases/filing.js';
import type { ComponentsTable } from '../../../../cloud-sync/service/db/case-tables.js';
import type { CloudSchema } from '../../../../cloud-sync/service/db/schema.js';
import {
  ingestBatch,
  type IngestHook,
  type IngestResult,
} from '../../../../cloud-sync/service/ingest/ingest.js';

export const GW = 'cab-7';
export const EPOCH = '5a1c9e20-3b4d-4e6f-8a9b-0c1d2e3f4a5b';

export {
  CLOUD_DB_BACKENDS as BACKENDS,
  openSqliteCloudDb as openSqlite,
  type OpenedDatabase,
} from '../../../helpers/cloud-db.js';

export interface LoggedLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

export function memoryLogger(): CaseLogger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
  };
}

export function alarmEvent(fields: {
  deviceId: string;
  ruleKey: string;
  condition: string;
  to: AlarmStateName;
  active: boolean;
  level: number;
  from?: AlarmStateName;
  value?: number | boolean | null;
}): GatewayEventBody {
  return {
    kind: 'alarm_transition',
    alarmKey: `${fields.deviceId}:${fields.ruleKey}`,
    deviceId: fields.deviceId,
    ruleKey: fields.ruleKey,
    condition: fields.condition,
    from: fields.from ?? 'normal',
    to: fields.to,
    level: fields.level,
    priority: 'high',
    active: fields.active,
    value: fields.value ?? (fields.active ? 12.5 : 3.1),
    setpoint: 10,
    cause: 'reading',
    by: null,
    reason: null,
    message: null,
  };
}

export function telemetryEvent(deviceId: string, values: Record<string, number | boolean>): GatewayEventBody {
  return { kind: 'telemetry', deviceId, values };
}

/**
 * Feeds batches of one gateway epoch through ingestBatch with the given hooks, one lane counter
 * each, with the cloud clock at `at` for every batch.
 */
export class Feeder {
  private readonly seqs: Record<Lane, number> = { priority: 0, telemetry: 0 };
  readonly sent: EventsBatch[] = [];

  constructor(
    private readonly db: Kysely<CloudSchema>,
    private readonly hooks: readonly IngestHook[],
    /** A replaced gateway database starts a new epoch (docs/uplink-contract.md, delivery rule 1). */
    private readonly epoch: string = EPOCH,
  ) {}

  /** Sends one batch of `bodies` on `lane`; returns the batch (for re-delivery) and the result. */
  async send(
    at: Date,
    bodies: GatewayEventBody[],
    lane: Lane = 'priority',
  ): Promise<{ batch: EventsBatch; result: IngestResult; events: OutboxEvent[] }> {
    const afterSeq = this.seqs[lane];
    const events = bodies.map((body): OutboxEvent => {
      const seq = ++this.seqs[lane];
      const tag = lane === 'priority' ? '0' : '1';
      return {
        ...body,
        seq,
        id: `${this.epoch.slice(0, 8)}-0000-4000-8${tag}00-${seq.toString(16).padStart(12, '0')}`,
        ts: at.toISOString(),
      };
    });
    const batch: EventsBatch = { gw: GW, epoch: this.epoch, lane, after: afterSeq, events };
    const checked = validateEventsBatch(batch);
    assert.ok(checked.ok, `test batch must satisfy the contract: ${JSON.stringify(checked)}`);
    const result = await this.resend(at, batch);
    assert.ok(result.accepted);
    this.sent.push(batch);
    return { batch, result, events };
  }

  /** Delivers a batch again (MQTT at-least-once). */
  resend(at: Date, batch: EventsBatch): Promise<IngestResult> {
    return ingestBatch(this.db, batch, GW, { now: () => at, hooks: this.hooks });
  }
}

export async function registerComponent(
  db: Kysely<CloudSchema>,
  fields: Partial<ComponentsTable> & {
    device_id: string;
    family: string;
    component_id: string;
    class_code: string;
  },
): Promise<ComponentsTable> {
  const row: ComponentsTable = {
    gateway_id: GW,
    name: `component ${fields.device_id}`,
    grid_cell: '110101001001001',
    address: 'Example Road 1',
    latitude: 39.9,
    longitude: 116.4,
    competent_department: 'City Management Bureau',
    owner_unit: 'drainage-co',
    maintenance_unit: 'drainage-maint',
    updated_at: new Date(0).toISOString(),
    ...fields,
  };
  await db.insertInto('components').values(row).execute();
  return row;
}

export const at = (iso: string): Date => new Date(iso);
export const plusMinutes = (date: Date, minutes: number): Date => new Date(date.getTime() + minutes * 60_000);
