/**
 * Events that broke the uplink contract, as operators see them (docs/uplink-contract.md, "invalid
 * events"): ingest keeps each in dead_letters and moves its lane past it, so the only trace of a
 * gateway bug is here, in the log and in kerbside_cloud_dead_letters_total. The monitoring desk and
 * admins read them; nobody edits them (they are evidence).
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { CloudSchema } from '../db/schema.js';
import { errorAnswerSchema, issuesSchema, OFFSET_PARAMETER } from '../http.js';

export interface DeadLetterRoutesOptions {
  db: Kysely<CloudSchema>;
}

interface DeadLetterQuery {
  gatewayId?: string;
  limit: number;
  offset: number;
}

export interface DeadLetter {
  gatewayId: string;
  epoch: string;
  lane: string;
  seq: number;
  eventId: string | null;
  kind: string | null;
  /** The event as it arrived (JSON text: it broke the contract, so no schema describes it). */
  raw: string;
  reasons: Array<{ pointer: string; message: string }>;
  receivedAt: string;
}

const MAX_LIMIT = 500;

/** The total of the filter and one page of it, newest first. */
export async function listDeadLetters(
  db: Kysely<CloudSchema>,
  query: DeadLetterQuery,
): Promise<{ total: number; deadLetters: DeadLetter[] }> {
  let base = db.selectFrom('dead_letters');
  if (query.gatewayId !== undefined) base = base.where('gateway_id', '=', query.gatewayId);
  const { total } = await base.select((eb) => eb.fn.countAll().as('total')).executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy('received_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(query.limit)
    .offset(query.offset)
    .execute();
  return {
    total: Number(total),
    deadLetters: rows.map((row) => ({
      gatewayId: row.gateway_id,
      epoch: row.epoch,
      lane: row.lane,
      seq: Number(row.seq),
      eventId: row.event_id,
      kind: row.kind,
      raw: row.raw,
      reasons: JSON.parse(row.reasons) as DeadLetter['reasons'],
      receivedAt: row.received_at,
    })),
  };
}

const nullableString = { type: ['string', 'null'] } as const;

const deadLetterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['gatewayId', 'epoch', 'lane', 'seq', 'eventId', 'kind', 'raw', 'reasons', 'receivedAt'],
  properties: {
    gatewayId: { type: 'string' },
    epoch: { type: 'string' },
    lane: { type: 'string', enum: ['priority', 'telemetry'] },
    seq: { type: 'integer' },
    eventId: nullableString,
    kind: nullableString,
    raw: { type: 'string', description: 'the event as it arrived (JSON text)' },
    reasons: issuesSchema,
    receivedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const errorSchema = errorAnswerSchema;

export function deadLetterRoutes(app: FastifyInstance, options: DeadLetterRoutesOptions): void {
  const { db } = options;

  app.get<{ Querystring: DeadLetterQuery }>(
    '/api/v1/dead-letters',
    {
      config: { access: { roles: ['monitoring', 'admin'] } },
      schema: {
        summary: 'Events that broke the uplink contract, kept aside while their lane moved on; newest first',
        tags: ['ingest'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            gatewayId: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 },
            offset: OFFSET_PARAMETER,
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['total', 'deadLetters'],
            properties: {
              total: { type: 'integer', description: 'all dead letters matching the filter' },
              deadLetters: { type: 'array', items: deadLetterSchema },
            },
          },
          400: errorSchema,
        },
      },
    },
    async (request) => listDeadLetters(db, request.query),
  );
}
