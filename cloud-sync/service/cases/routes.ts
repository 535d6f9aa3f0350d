/**
 * The case API (docs/cases.md): list, read (by id, or by the case number people see in logs and
 * messages), the overdue list, opening a case by hand, and one POST per workflow action. Register after auth/plugin.ts:
 * `app.register(caseRoutes, { db, config, calendar, logger })`.
 *
 * Every route declares its roles in `config.access` (auth/roles.ts), so a caller without one is
 * refused by the guard before the handler runs; the workflow checks the role again (403
 * CASE_ROLE), then the owner unit, revision and state (workflow.ts). Owner-unit operators see only
 * their unit's cases; a case of another unit is "not found" to them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { operatorOf, type AuthenticatedOperator } from '../auth/roles.js';
import type { CloudSchema } from '../db/schema.js';
import { issuesSchema, OFFSET_PARAMETER } from '../http.js';
import type { WorkingCalendar } from './calendar.js';
import {
  applyCaseAction,
  caseActivations,
  caseHistory,
  getCase,
  listCases,
  type CaseFilters,
} from './case-store.js';
import {
  activationView,
  activationViewSchema,
  caseView,
  caseViewSchema,
  historyView,
  historyViewSchema,
} from './case-view.js';
import type { CasesConfig } from './config.js';
import { CaseError } from './errors.js';
import type { CaseLogger } from './filing.js';
import { listOverdue } from './monitor.js';
import { openCaseByHand, type OpenCaseFields } from './open-case.js';
import {
  allowedActions,
  CASE_ACTIONS,
  CASE_STATES,
  MAX_EXTENSION_MINUTES,
  TRANSITIONS,
  type ActionInput,
  type CaseAction,
  type CaseRow,
} from './workflow.js';

export interface CaseRoutesOptions {
  db: Kysely<CloudSchema>;
  config: CasesConfig;
  calendar: WorkingCalendar;
  logger: CaseLogger;
  /** Clock for deadlines and overdue (tests). */
  now?: () => Date;
}

const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, issues: issuesSchema },
} as const;

const errorResponses = { 400: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema } as const;

const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

const caseNoParams = {
  type: 'object',
  required: ['caseNo'],
  additionalProperties: false,
  properties: {
    caseNo: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'the case number as printed in logs and messages, e.g. 20261207-A55CD5',
    },
  },
} as const;

/** The answer of the case-by-id and case-by-number routes. */
const detailSchema = {
  type: 'object',
  required: ['case', 'evidence', 'history', 'activations', 'allowedActions'],
  properties: {
    case: caseViewSchema,
    evidence: {},
    history: { type: 'array', items: historyViewSchema },
    activations: { type: 'array', items: activationViewSchema },
    allowedActions: { type: 'array', items: { type: 'string', enum: [...CASE_ACTIONS] } },
  },
} as const;

const NOTE = { type: 'string', maxLength: 4000 } as const;

/** Body fields each action reads (workflow.ts ActionInput); every body also takes note and revision. */
const ACTION_FIELDS: Readonly<
  Record<CaseAction, { properties: Record<string, unknown>; required: string[] }>
> = {
  file: { properties: {}, required: [] },
  cancel: { properties: {}, required: ['note'] },
  dispatch: { properties: { ownerUnit: { type: 'string', minLength: 1, maxLength: 128 } }, required: [] },
  return: { properties: {}, required: ['note'] },
  request_return: { properties: {}, required: ['note'] },
  accept: { properties: {}, required: [] },
  feedback: { properties: {}, required: ['note'] },
  request_extension: {
    properties: { minutes: { type: 'integer', minimum: 1, maximum: MAX_EXTENSION_MINUTES } },
    required: ['minutes', 'note'],
  },
  extend: {
    properties: { minutes: { type: 'integer', minimum: 1, maximum: MAX_EXTENSION_MINUTES } },
    required: ['minutes', 'note'],
  },
  suspend: { properties: {}, required: ['note'] },
  resume: { properties: {}, required: [] },
  inspect: { properties: { passed: { type: 'boolean' } }, required: ['passed'] },
  verify: { properties: { passed: { type: 'boolean' } }, required: ['passed'] },
  close: { properties: {}, required: [] },
};

function actionBodySchema(action: CaseAction): Record<string, unknown> {
  const fields = ACTION_FIELDS[action];
  return {
    type: 'object',
    additionalProperties: false,
    required: fields.required,
    properties: {
      note: NOTE,
      revision: {
        type: 'integer',
        minimum: 0,
        description: 'the case revision you saw; refused (409 CASE_STALE) if it changed',
      },
      ...fields.properties,
    },
  };
}

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: [...CASE_STATES] },
    category: { type: 'string', maxLength: 64 },
    ownerUnit: { type: 'string', maxLength: 128 },
    gatewayId: { type: 'string', maxLength: 128 },
    deviceId: { type: 'string', maxLength: 128 },
    overdue: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    offset: OFFSET_PARAMETER,
  },
} as const;

/** The open-case body: the case's own fields, and a note that may be left out. */
interface OpenBody extends OpenCaseFields {
  note?: string;
}

const openBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['gatewayId', 'deviceId', 'category', 'severity'],
  properties: {
    gatewayId: { type: 'string', minLength: 1, maxLength: 128 },
    deviceId: { type: 'string', minLength: 1, maxLength: 128 },
    category: { type: 'string', minLength: 1, maxLength: 64 },
    severity: { type: 'string', enum: ['urgent', 'normal'] },
    alarmKey: { type: 'string', minLength: 3, maxLength: 256 },
    condition: { type: 'string', minLength: 1, maxLength: 64 },
    ownerUnit: { type: 'string', minLength: 1, maxLength: 128 },
    note: NOTE,
  },
} as const;

/**
 * The unit an operator is confined to: an operator whose only role is owner_unit sees only the
 * cases of its unit (auth/roles.ts). Null: sees every case.
 */
export function unitScope(operator: AuthenticatedOperator): string | null {
  const confined = operator.roles.length > 0 && operator.roles.every((role) => role === 'owner_unit');
  return confined ? (operator.unit ?? '') : null;
}

function sendError(reply: FastifyReply, error: CaseError): FastifyReply {
  return reply.code(error.status).send({ error: error.code, message: error.message });
}

export async function caseRoutes(app: FastifyInstance, opts: CaseRoutesOptions): Promise<void> {
  const { db, config, calendar, logger } = opts;
  const now = opts.now ?? (() => new Date());

  /**
   * The detail answer of a case the operator may see; another unit's case is answered like a
   * missing one (`asked` is what the caller named it by): a unit does not learn what others hold.
   */
  async function answerDetail(
    request: FastifyRequest,
    reply: FastifyReply,
    row: CaseRow | undefined,
    asked: string,
  ): Promise<unknown> {
    const operator = operatorOf(request);
    const scope = unitScope(operator);
    if (row === undefined || (scope !== null && row.owner_unit !== scope)) {
      return sendError(reply, new CaseError('CASE_NOT_FOUND', `no case ${asked}`));
    }
    const [history, activations] = await Promise.all([caseHistory(db, row.id), caseActivations(db, row.id)]);
    return {
      case: caseView(row, now()),
      evidence: JSON.parse(row.evidence) as unknown,
      history: history.map(historyView),
      activations: activations.map(activationView),
      allowedActions: allowedActions(row, operator),
    };
  }

  app.get<{ Querystring: CaseFilters }>(
    '/api/v1/cases',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'List cases (owner units see only their own)',
        tags: ['cases'],
        querystring: listQuery,
        response: {
          200: {
            type: 'object',
            required: ['cases', 'limit', 'offset'],
            properties: {
              cases: { type: 'array', items: caseViewSchema },
              limit: { type: 'integer' },
              offset: { type: 'integer' },
            },
          },
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const scope = unitScope(operatorOf(request));
      const { limit, offset, ...filters } = request.query;
      const at = now();
      if (scope !== null && filters.ownerUnit !== undefined && filters.ownerUnit !== scope) {
        return { cases: [], limit, offset };
      }
      const rows = await listCases(
        db,
        { ...filters, ...(scope === null ? {} : { ownerUnit: scope }), limit, offset },
        at,
      );
      return { cases: rows.map((row) => caseView(row, at)), limit, offset };
    },
  );

  app.get(
    '/api/v1/cases/overdue',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'Open cases past their dispatch or handling deadline, most overdue first',
        tags: ['cases'],
        response: {
          200: {
            type: 'object',
            required: ['overdue'],
            properties: {
              overdue: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['case', 'kind', 'deadline', 'overdueMinutes'],
                  properties: {
                    case: caseViewSchema,
                    kind: { type: 'string', enum: ['dispatch', 'handle'] },
                    deadline: { type: 'string' },
                    overdueMinutes: { type: 'number' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const scope = unitScope(operatorOf(request));
      const at = now();
      const overdue = await listOverdue(db, at);
      return {
        overdue: overdue
          .filter((entry) => scope === null || entry.row.owner_unit === scope)
          .map((entry) => ({
            case: caseView(entry.row, at),
            kind: entry.kind,
            deadline: entry.deadline,
            overdueMinutes: Math.round(entry.overdueMinutes * 10) / 10,
          })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/cases/:id',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'One case with its evidence, history, attached activations and the actions you may take',
        tags: ['cases'],
        params: idParams,
        response: { 200: detailSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) =>
      answerDetail(request, reply, await getCase(db, request.params.id), request.params.id),
  );

  app.get<{ Params: { caseNo: string } }>(
    '/api/v1/cases/by-number/:caseNo',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'One case by its case number (e.g. 20261207-A55CD5), answered like GET /api/v1/cases/{id}',
        tags: ['cases'],
        params: caseNoParams,
        response: { 200: detailSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { caseNo } = request.params;
      const row = await db.selectFrom('cases').selectAll().where('case_no', '=', caseNo).executeTakeFirst();
      return answerDetail(request, reply, row, caseNo);
    },
  );

  app.post<{ Body: OpenBody }>(
    '/api/v1/cases',
    {
      config: { access: { roles: ['monitoring'] } },
      schema: {
        summary: 'Open a case by hand (state reported)',
        tags: ['cases'],
        body: openBodySchema,
        response: { 201: caseViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const operator = operatorOf(request);
      const at = now();
      const { note, ...fields } = request.body;
      const row = await openCaseByHand(db, {
        ...fields,
        note: note ?? null,
        actor: operator,
        now: at,
        config,
        calendar,
      });
      request.auditTarget = row.id;
      request.auditDetail = { caseNo: row.case_no, gatewayId: row.gateway_id, deviceId: row.device_id };
      logger.info({ caseId: row.id, caseNo: row.case_no, actor: operator.username }, 'case opened by hand');
      return reply.code(201).send(caseView(row, at));
    },
  );

  for (const action of CASE_ACTIONS) {
    app.post<{ Params: { id: string }; Body: ActionInput | undefined }>(
      `/api/v1/cases/:id/${action.replaceAll('_', '-')}`,
      {
        config: { access: { roles: TRANSITIONS[action].roles } },
        // Actions that need no field (accept, close ...) may be posted without a body.
        preValidation: async (request: FastifyRequest<{ Body: ActionInput | undefined }>) => {
          if (request.body === undefined || request.body === null) request.body = {};
        },
        schema: {
          summary: `Case action ${action} (${TRANSITIONS[action].roles.join(', ')})`,
          tags: ['cases'],
          params: idParams,
          body: actionBodySchema(action),
          response: { 200: caseViewSchema, ...errorResponses },
        },
      },
      async (request: FastifyRequest<{ Params: { id: string }; Body: ActionInput | undefined }>) => {
        const operator = operatorOf(request);
        request.auditTarget = request.params.id;
        const at = now();
        const result = await applyCaseAction(db, {
          caseId: request.params.id,
          action,
          actor: operator,
          input: request.body ?? {},
          now: at,
          config,
          calendar,
        }).catch((error: unknown) => {
          // To an operator confined to its unit, another unit's case does not exist: the same 404
          // as a missing id, not the workflow's 403 that names the case number (docs/security.md,
          // "another unit's object is a 404, not a 403").
          if (
            error instanceof CaseError &&
            error.code === 'CASE_NOT_YOUR_UNIT' &&
            unitScope(operator) !== null
          ) {
            throw new CaseError('CASE_NOT_FOUND', `no case ${request.params.id}`);
          }
          throw error;
        });
        request.auditDetail = {
          action: result.historyAction,
          caseNo: result.row.case_no,
          from: result.fromState,
          to: result.toState,
        };
        logger.info(
          {
            caseId: result.row.id,
            caseNo: result.row.case_no,
            action: result.historyAction,
            actor: operator.username,
            from: result.fromState,
            to: result.toState,
          },
          'case action',
        );
        return caseView(result.row, at);
      },
    );
  }
}
