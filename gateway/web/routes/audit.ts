/**
 * GET /api/audit?beforeId=&limit= (admin): who did what on the cabinet, when and from which
 * address, newest first (api-types.ts AuditPage). The rows are kerbside.db's `audit` table: one per
 * `audit` event, whatever wrote it (the web UI's sign-ins and account changes, alarm operations,
 * lamp commands, overrides, the CLI), read in one short read transaction. `address` is the
 * detail's `address`, which every action taken through the web UI records.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditEntry, AuditPage } from '../api-types.js';
import type { WebStorePort } from '../ports.js';

export const AUDIT_PAGE_DEFAULT = 100;
export const AUDIT_PAGE_MAX = 500;

interface AuditSqlRow {
  id: number;
  wall_ms: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

interface AuditQuery {
  beforeId?: number;
  limit: number;
}

/** The detail as an object; a row that is not (it always is, the contract says so) reads as {}. */
function detailOf(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return { unreadable: text.slice(0, 200) };
  }
}

function entryOf(row: AuditSqlRow): AuditEntry {
  const detail = detailOf(row.detail);
  const address = detail['address'];
  return {
    id: row.id,
    wallMs: row.wall_ms,
    actor: row.actor,
    action: row.action,
    target: row.target,
    address: typeof address === 'string' ? address : null,
    detail,
  };
}

/** One page of the audit trail, newest first, older than `beforeId` when given. */
export function readAuditPage(
  store: Pick<WebStorePort, 'read'>,
  beforeId: number | undefined,
  limit: number,
): AuditPage {
  const rows = store.read((db) =>
    db
      .prepare<[number, number], AuditSqlRow>(
        'SELECT id, wall_ms, actor, action, target, detail FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?',
      )
      .all(beforeId ?? Number.MAX_SAFE_INTEGER, limit + 1),
  );
  const page = rows.slice(0, limit).map(entryOf);
  const last = page[page.length - 1];
  return { entries: page, nextBeforeId: rows.length > limit && last !== undefined ? last.id : null };
}

const entrySchema = {
  type: 'object',
  required: ['id', 'wallMs', 'actor', 'action', 'target', 'address', 'detail'],
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    wallMs: { type: 'integer' },
    actor: { type: 'string' },
    action: { type: 'string' },
    target: { type: 'string' },
    address: { type: ['string', 'null'] },
    detail: { type: 'object', additionalProperties: true },
  },
} as const;

export function registerAuditRoutes(app: FastifyInstance, options: { store: WebStorePort }): void {
  app.get<{ Querystring: AuditQuery }>(
    '/api/audit',
    {
      config: { cabinetAccess: { roles: ['admin'] } },
      schema: {
        summary: 'The audit trail, newest first',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            beforeId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            limit: { type: 'integer', minimum: 1, maximum: AUDIT_PAGE_MAX, default: AUDIT_PAGE_DEFAULT },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['entries', 'nextBeforeId'],
            additionalProperties: false,
            properties: {
              entries: { type: 'array', items: entrySchema },
              nextBeforeId: { type: ['integer', 'null'] },
            },
          },
        },
      },
    },
    async (request): Promise<AuditPage> =>
      readAuditPage(options.store, request.query.beforeId, request.query.limit),
  );
}
