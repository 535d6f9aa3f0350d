/**
 * The cloud-side audit trail: who did what to which gateway or service account (docs/enrollment.md).
 * Rows are written in the same transaction as the change they describe, so an action and its
 * record commit or vanish together. Details never carry a token or secret.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { CloudSchema } from '../db/schema.js';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'detail'>> {
  id: string;
  at: string;
  detail: Record<string, unknown> | null;
}

let lastMs = 0;
let counter = 0;

/**
 * A row id that sorts in insertion order: wall-clock milliseconds, a per-process counter within
 * the same millisecond, then random bytes so two processes (service and CLI) never collide. Text,
 * because auto-increment columns are spelt differently in SQLite and PostgreSQL.
 */
function auditId(): string {
  const ms = Date.now();
  counter = ms === lastMs ? counter + 1 : 0;
  lastMs = ms;
  return `${ms.toString(16).padStart(12, '0')}-${counter.toString(16).padStart(4, '0')}-${randomBytes(8).toString('hex')}`;
}

export async function recordAudit(
  db: Kysely<CloudSchema> | Transaction<CloudSchema>,
  entry: AuditEntry,
  at: Date,
): Promise<void> {
  await db
    .insertInto('admin_audit')
    .values({
      id: auditId(),
      at: at.toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
    })
    .execute();
}

/** The audit trail in insertion order; optionally of one target only. */
export async function listAudit(db: Kysely<CloudSchema>, target?: string): Promise<AuditRecord[]> {
  let query = db.selectFrom('admin_audit').selectAll().orderBy('id');
  if (target !== undefined) query = query.where('target', '=', target);
  const rows = await query.execute();
  return rows.map((row) => ({
    ...row,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  }));
}
