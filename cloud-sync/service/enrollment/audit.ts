/**
 * The cloud-side audit trail: who did what to which gateway, account or case (docs/enrollment.md,
 * docs/auth.md). Administrative changes write their row in the same transaction as the change, so
 * an action and its record commit or vanish together; the HTTP auth plugin (auth/plugin.ts) writes
 * one row per mutating or refused request. Details never carry a password, token or secret.
 */
import { createHash, randomBytes } from 'node:crypto';
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
  /** A summary row (recordAnonymousRefusal): how many refusals it stands for; null otherwise. */
  count: number | null;
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
      count: null,
    })
    .execute();
}

/** An anonymous caller's refusal, as recordAnonymousRefusal counts it. */
export interface AnonymousRefusal {
  /** `{METHOD} {route pattern}`, as in an ordinary row. */
  action: string;
  /** The HTTP status answered (401, 403, 413, 429 ...). */
  status: number;
  /** `http:{ip}`. */
  source: string;
}

/** The length of a summary row's window. */
export const REFUSAL_SUMMARY_MS = 60_000;

/**
 * Counts a refusal of an anonymous caller into the summary row of its route, address, status and
 * minute (issue 12, finding 6): one row with a `count` instead of one row per request, so a flood
 * of unauthenticated requests writes a few rows a minute per address, and the trail still shows
 * who knocked, where and how often. The row's id is derived from the minute and the key, so every
 * instance on the database counts into the same row (one upsert, never a lost count); it sorts
 * with the other rows of that minute (auditId's millisecond prefix).
 */
export async function recordAnonymousRefusal(
  db: Kysely<CloudSchema>,
  refusal: AnonymousRefusal,
  at: Date,
): Promise<void> {
  const windowStart = at.getTime() - (at.getTime() % REFUSAL_SUMMARY_MS);
  const key = createHash('sha256')
    .update(`${refusal.action}\n${refusal.status}\n${refusal.source}`)
    .digest('hex')
    .slice(0, 16);
  await db
    .insertInto('admin_audit')
    .values({
      id: `${windowStart.toString(16).padStart(12, '0')}-summ-${key}`,
      at: new Date(windowStart).toISOString(),
      actor: 'anonymous',
      action: refusal.action,
      target: '',
      detail: JSON.stringify({ status: refusal.status, summary: 'refusals of this minute' }),
      outcome: refusal.status === 401 || refusal.status === 403 ? 'denied' : 'failed',
      source: refusal.source,
      count: 1,
    })
    .onConflict((conflict) =>
      conflict.column('id').doUpdateSet((eb) => ({ count: eb('admin_audit.count', '+', 1) })),
    )
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
    count: row.count === null ? null : Number(row.count),
  }));
}
