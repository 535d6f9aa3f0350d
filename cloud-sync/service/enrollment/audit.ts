/**
 * The cloud-side audit trail: who did what to which gateway, account or case (docs/enrollment.md,
 * docs/auth.md). Administrative changes write their row in the same transaction as the change, so
 * an action and its record commit or vanish together; the HTTP auth plugin (auth/plugin.ts) writes
 * one row per mutating or refused request. Details never carry a password, token or secret.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { CloudSchema } from '../db/schema.js';

/** 'denied' for a refused caller (401/403), 'failed' for any other error answer. */
export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  detail?: Record<string, unknown>;
  /** Left null when not given (rows of callers that predate migration 0004). */
  outcome?: AuditOutcome;
  /** `http:{ip}`, `cli`, `mqtt:{gatewayId}`; null when not given. */
  source?: string;
}

export interface AuditRecord {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown> | null;
  outcome: string | null;
  source: string | null;
}

/** Which rows listAudit returns; every field is optional and they combine with AND. */
export interface AuditFilter {
  actor?: string;
  target?: string;
  /** ISO 8601; rows at or after it. */
  from?: string;
  /** ISO 8601; rows strictly before it. */
  to?: string;
  /** At most this many rows (the newest ones when newestFirst). */
  limit?: number;
  /** Newest first instead of insertion order. */
  newestFirst?: boolean;
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
      outcome: entry.outcome ?? null,
      source: entry.source ?? null,
    })
    .execute();
}

/**
 * The audit trail in insertion order (or newest first); `filter` may be a target id alone, as the
 * enrollment callers pass it.
 */
export async function listAudit(
  db: Kysely<CloudSchema>,
  filter: string | AuditFilter = {},
): Promise<AuditRecord[]> {
  const f: AuditFilter = typeof filter === 'string' ? { target: filter } : filter;
  let query = db
    .selectFrom('admin_audit')
    .selectAll()
    .orderBy('id', f.newestFirst === true ? 'desc' : 'asc');
  if (f.actor !== undefined) query = query.where('actor', '=', f.actor);
  if (f.target !== undefined) query = query.where('target', '=', f.target);
  // Timestamps are toISOString() text, so text order is time order on both dialects.
  if (f.from !== undefined) query = query.where('at', '>=', f.from);
  if (f.to !== undefined) query = query.where('at', '<', f.to);
  if (f.limit !== undefined) query = query.limit(f.limit);
  const rows = await query.execute();
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
    outcome: row.outcome,
    source: row.source,
  }));
}
