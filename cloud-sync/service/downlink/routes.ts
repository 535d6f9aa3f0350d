/**
 * HTTP API of the downlink (docs/downlink.md): operators send commands to gateways and manage
 * their configuration documents. Register with
 * `app.register(downlinkRoutes, { commands, configs, db })` after auth/plugin.ts, which enforces
 * each route's `config.access` and writes the audit row from `request.auditTarget/auditDetail`.
 *
 * Who may do what (auth/roles.ts, docs/domain.md "The case workflow"): lighting overrides by the
 * monitoring centre and the dispatch desk; alarm acknowledge and shelve by the monitoring centre
 * only (ISA-18.2 operator actions belong to the operator watching the alarms); configuration
 * documents by admins; reading by any signed-in operator, except that an operator confined to an
 * owner unit (only the owner_unit role, cases/routes.ts unitScope) reads only its unit's gateways:
 * those with at least one component of the registry owned by the unit (components.owner_unit,
 * docs/component-registry.md). Any other gateway, and its commands, are "not found" to it, the
 * same 404 as an id that does not exist (issue 12, finding 9).
 *
 * The command body is published per action (OpenAPI `oneOf` with a discriminator on `action`): each
 * branch's `params` is the contract's schema of that action (COMMAND_PARAMS_SCHEMAS) without `by`,
 * which the service sets from the signed-in operator. The same schema checks the request.
 */
// `summary` and `tags` in route schemas are @fastify/swagger's additions to FastifySchema.
import type {} from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { RemoteConfig } from '../../contract/config-document.js';
import { COMMAND_ACTIONS, COMMAND_PARAMS_SCHEMAS, type JsonSchema } from '../../contract/schemas.js';
import { GATEWAY_ID_PATTERN } from '../../contract/topics.js';
import type { CommandAction } from '../../contract/types.js';
import { operatorOf, type AuthenticatedOperator, type Role } from '../auth/roles.js';
import { unitScope } from '../cases/routes.js';
import type { CloudSchema } from '../db/schema.js';
import { BODY_LIMITS, errorAnswerSchema, issuesSchema } from '../http.js';
import {
  COMMAND_STATUSES,
  DEFAULT_COMMAND_TTL_S,
  MAX_COMMAND_TTL_S,
  type CommandService,
  type CommandStatus,
} from './commands.js';
import { CONFIG_STATUSES, type ConfigDocumentService } from './config-documents.js';
import { DownlinkError } from './errors.js';
import { requireGateway } from './gateways.js';

export interface DownlinkRoutesOptions {
  commands: CommandService;
  configs: ConfigDocumentService;
  db: Kysely<CloudSchema>;
}

/** Roles allowed to issue each action; the route admits the union and the handler checks the action. */
export const COMMAND_ACTION_ROLES: Readonly<Record<CommandAction, readonly Role[]>> = {
  'lamp.switch': ['monitoring', 'dispatcher'],
  'lamp.dim': ['monitoring', 'dispatcher'],
  'loop.switch': ['monitoring', 'dispatcher'],
  'alarm.acknowledge': ['monitoring'],
  'alarm.shelve': ['monitoring'],
};

const MAX_LIST = 500;
const MAX_NOTE = 2048;

// ---- schemas (complete, so the OpenAPI document describes every route) -----------------------

const issueSchema = issuesSchema.items;

const errorSchema = errorAnswerSchema;

const nullableString = { type: ['string', 'null'] } as const;

const commandSchema = {
  type: 'object',
  required: [
    'id',
    'gatewayId',
    'action',
    'target',
    'params',
    'issuedAt',
    'expiresAt',
    'issuedBy',
    'caseId',
    'status',
    'publishedAt',
    'publishCount',
    'resultAt',
    'error',
    'resultEventId',
  ],
  properties: {
    id: { type: 'string' },
    gatewayId: { type: 'string' },
    action: { type: 'string' },
    target: { type: 'string' },
    params: { type: 'object', additionalProperties: true },
    issuedAt: { type: 'string' },
    expiresAt: { type: 'string' },
    issuedBy: { type: 'string' },
    caseId: nullableString,
    status: { type: 'string', enum: [...COMMAND_STATUSES] },
    publishedAt: nullableString,
    publishCount: { type: 'integer' },
    resultAt: nullableString,
    error: nullableString,
    resultEventId: nullableString,
  },
} as const;

const versionSchema = {
  type: 'object',
  required: [
    'gatewayId',
    'version',
    'hash',
    'document',
    'createdBy',
    'createdAt',
    'note',
    'restoresVersion',
    'status',
    'resultAt',
    'errors',
  ],
  properties: {
    gatewayId: { type: 'string' },
    version: { type: 'integer' },
    hash: { type: 'string' },
    document: { type: 'object', additionalProperties: true },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    note: nullableString,
    restoresVersion: { type: ['integer', 'null'] },
    status: { type: 'string', enum: [...CONFIG_STATUSES] },
    resultAt: nullableString,
    errors: { type: ['array', 'null'], items: issueSchema },
  },
} as const;

const overrideSchema = {
  type: 'object',
  required: [
    'eventId',
    'gatewayId',
    'pointer',
    'action',
    'value',
    'previous',
    'actor',
    'reason',
    'ts',
    'receivedAt',
  ],
  properties: {
    eventId: { type: 'string' },
    gatewayId: { type: 'string' },
    pointer: { type: 'string' },
    action: { type: 'string', enum: ['set', 'clear'] },
    value: {},
    previous: {},
    actor: { type: 'string' },
    reason: nullableString,
    ts: { type: 'string' },
    receivedAt: { type: 'string' },
  },
} as const;

const nullableVersion = { anyOf: [versionSchema, { type: 'null' }] } as const;

const gatewayParams = {
  type: 'object',
  required: ['gatewayId'],
  additionalProperties: false,
  properties: { gatewayId: { type: 'string', pattern: GATEWAY_ID_PATTERN } },
} as const;

/** What each action does (docs/commands.md), for the OpenAPI document. */
const ACTION_DESCRIPTIONS: Readonly<Record<CommandAction, string>> = {
  'lamp.switch':
    'Switch a lamp (target `<device>:lamp_NN`) on or off against its schedule for `durationS` seconds',
  'lamp.dim': 'Dim a lamp (target `<device>:lamp_NN`) to `level` % for `durationS` seconds',
  'loop.switch':
    'Switch a lighting loop (target `<device>:loop_N`) on or off against its schedule for `durationS` seconds',
  'alarm.acknowledge': 'Acknowledge an alarm (target: alarm key `<device>:<rule>`)',
  'alarm.shelve':
    'Shelve an alarm (target: alarm key `<device>:<rule>`): `one-shot` until it clears, or `timed` for `durationS` seconds',
};

/** Descriptions of the params fields; their schemas are the contract's. */
const PARAM_DESCRIPTIONS: Readonly<Record<string, string>> = {
  on: 'true: switch on; false: switch off',
  level: 'dim level, percent (0 to 100)',
  durationS: 'how long the override holds, seconds',
  reason: 'why; recorded with the override or alarm operation at the cabinet',
  mode: '`one-shot`: until the alarm returns to normal; `timed`: for durationS',
};

/** Where an action reads a field differently from the others. */
const ACTION_PARAM_DESCRIPTIONS: Partial<Record<CommandAction, Readonly<Record<string, string>>>> = {
  'alarm.shelve': { durationS: 'how long a `timed` shelve holds, seconds (mode `timed` only)' },
};

/**
 * The params an operator sends for `action`: the contract's schema without `by` (set from the
 * signed-in operator), with field descriptions.
 */
export function commandParamsRequestSchema(action: CommandAction): JsonSchema {
  const contract = COMMAND_PARAMS_SCHEMAS[action] as {
    properties: Record<string, JsonSchema>;
    required?: readonly string[];
  };
  const properties = Object.entries(contract.properties)
    .filter(([name]) => name !== 'by')
    .map(([name, schema]) => {
      const description = ACTION_PARAM_DESCRIPTIONS[action]?.[name] ?? PARAM_DESCRIPTIONS[name];
      return [name, description === undefined ? schema : { ...schema, description }] as const;
    });
  return {
    ...COMMAND_PARAMS_SCHEMAS[action],
    description: `params of ${action} (without \`by\`: the signed-in operator is recorded)`,
    properties: Object.fromEntries(properties),
    required: (contract.required ?? []).filter((name) => name !== 'by'),
  };
}

/** The body of POST /api/v1/gateways/{gatewayId}/commands: one branch per action. */
const issueBodySchema = {
  type: 'object',
  discriminator: { propertyName: 'action' },
  oneOf: COMMAND_ACTIONS.map((action) => ({
    type: 'object',
    title: action,
    description: ACTION_DESCRIPTIONS[action],
    required: ['action', 'target', 'params'],
    additionalProperties: false,
    properties: {
      action: { type: 'string', enum: [action] },
      target: { type: 'string', minLength: 1, maxLength: 256, description: 'what the command acts on' },
      params: commandParamsRequestSchema(action),
      ttlS: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_COMMAND_TTL_S,
        description: `seconds until the command expires unrun (default ${DEFAULT_COMMAND_TTL_S})`,
      },
      caseId: { type: 'string', minLength: 1, maxLength: 256, description: 'the case the command serves' },
    },
  })),
} as const;

const limitQuery = { type: 'integer', minimum: 1, maximum: MAX_LIST, default: 100 } as const;

const errorResponses = { 400: errorSchema, 404: errorSchema, 409: errorSchema } as const;

// ---- request types ----------------------------------------------------------------------------

interface GatewayParams {
  gatewayId: string;
}
interface IssueBody {
  action: CommandAction;
  target: string;
  params: Record<string, unknown>;
  ttlS?: number;
  caseId?: string;
}
interface ListCommandsQuery {
  status?: CommandStatus;
  limit: number;
}
interface ProposeBody {
  document: RemoteConfig;
  note?: string;
}
interface RollbackBody {
  toVersion?: number;
  note: string;
}

/**
 * Whether `operator` may see `gatewayId` (see the header): every gateway unless confined to an
 * owner unit, then only a gateway with a component of that unit.
 */
export async function gatewayVisibleTo(
  db: Kysely<CloudSchema>,
  operator: AuthenticatedOperator,
  gatewayId: string,
): Promise<boolean> {
  const unit = unitScope(operator);
  if (unit === null) return true;
  const row = await db
    .selectFrom('components')
    .select('component_id')
    .where('gateway_id', '=', gatewayId)
    .where('owner_unit', '=', unit)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** requireGateway, and to a confined operator another unit's gateway is as unknown as a missing one. */
async function requireVisibleGateway(
  db: Kysely<CloudSchema>,
  request: FastifyRequest,
  gatewayId: string,
): Promise<void> {
  await requireGateway(db, gatewayId);
  if (!(await gatewayVisibleTo(db, operatorOf(request), gatewayId))) {
    throw new DownlinkError(
      'DOWNLINK_UNKNOWN_GATEWAY',
      `gateway ${JSON.stringify(gatewayId)} is not enrolled`,
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function downlinkRoutes(app: FastifyInstance, opts: DownlinkRoutesOptions): Promise<void> {
  const { commands, configs, db } = opts;

  // ---- commands ----------------------------------------------------------------------------

  app.post<{ Params: GatewayParams; Body: IssueBody }>(
    '/api/v1/gateways/:gatewayId/commands',
    {
      config: { access: { roles: ['monitoring', 'dispatcher'] } },
      // Before the schema, which would call `by` merely unknown: say where it comes from instead.
      preValidation: async (request: FastifyRequest) => {
        const body: unknown = request.body;
        if (isPlainObject(body) && isPlainObject(body['params']) && 'by' in body['params']) {
          throw new DownlinkError('DOWNLINK_INVALID', 'the command breaks the downlink contract', {
            issues: [
              { pointer: '/params/by', message: 'is set from the signed-in operator, not from the request' },
            ],
          });
        }
      },
      schema: {
        tags: ['downlink'],
        summary: 'Send a command to a gateway (down/cmd); its result arrives as a command_result event',
        description:
          'The body is one of the actions below, told apart by `action`; `params` is checked against the ' +
          'downlink contract (the service also checks what the schema cannot say, e.g. durationS with ' +
          'mode `timed` only) and a 400 lists every issue by pointer.',
        params: gatewayParams,
        body: issueBodySchema,
        response: { 201: commandSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const operator = operatorOf(request);
      const { gatewayId } = request.params;
      const body = request.body;
      request.auditTarget = gatewayId;
      request.auditDetail = { action: body.action, target: body.target };
      const allowed = COMMAND_ACTION_ROLES[body.action];
      if (!operator.roles.some((role) => allowed.includes(role))) {
        return reply.code(403).send({
          error: 'AUTH_FORBIDDEN',
          message: `${body.action} needs one of the roles ${allowed.join(', ')}; you have ${operator.roles.join(', ')}`,
        });
      }
      const record = await commands.issue({
        gatewayId,
        action: body.action,
        target: body.target,
        params: body.params,
        issuedBy: operator.username,
        ...(body.ttlS === undefined ? {} : { ttlS: body.ttlS }),
        ...(body.caseId === undefined ? {} : { caseId: body.caseId }),
      });
      request.auditDetail = { ...request.auditDetail, commandId: record.id };
      return reply.code(201).send(record);
    },
  );

  app.get<{ Params: GatewayParams; Querystring: ListCommandsQuery }>(
    '/api/v1/gateways/:gatewayId/commands',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['downlink'],
        summary: "A gateway's commands, newest first",
        params: gatewayParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: [...COMMAND_STATUSES] }, limit: limitQuery },
        },
        response: { 200: { type: 'array', items: commandSchema }, ...errorResponses },
      },
    },
    async (request) => {
      await requireVisibleGateway(db, request, request.params.gatewayId);
      return commands.list({
        gatewayId: request.params.gatewayId,
        limit: request.query.limit,
        ...(request.query.status === undefined ? {} : { status: request.query.status }),
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/commands/:id',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['downlink'],
        summary: 'One command with its status and result',
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: { 200: commandSchema, ...errorResponses },
      },
    },
    async (request) => {
      const record = await commands.get(request.params.id);
      if (record === null || !(await gatewayVisibleTo(db, operatorOf(request), record.gatewayId))) {
        throw new DownlinkError('DOWNLINK_NOT_FOUND', `no command ${request.params.id}`);
      }
      return record;
    },
  );

  // ---- configuration documents -----------------------------------------------------------

  app.get<{ Params: GatewayParams }>(
    '/api/v1/gateways/:gatewayId/config',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['downlink'],
        summary: 'The applied and the newest configuration version, and the local overrides in force',
        params: gatewayParams,
        response: {
          200: {
            type: 'object',
            required: ['gatewayId', 'applied', 'latest', 'overridesInForce'],
            properties: {
              gatewayId: { type: 'string' },
              applied: nullableVersion,
              latest: nullableVersion,
              overridesInForce: { type: 'array', items: overrideSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await requireVisibleGateway(db, request, request.params.gatewayId);
      return configs.current(request.params.gatewayId);
    },
  );

  app.post<{ Params: GatewayParams; Body: ProposeBody }>(
    '/api/v1/gateways/:gatewayId/config',
    {
      config: { access: { roles: ['admin'] } },
      // The one large body of the API: a whole configuration document (http.ts BODY_LIMITS).
      bodyLimit: BODY_LIMITS.document,
      schema: {
        tags: ['downlink'],
        summary: 'Publish a new configuration version (retained on down/config)',
        params: gatewayParams,
        body: {
          type: 'object',
          required: ['document'],
          additionalProperties: false,
          properties: {
            // Checked in full against REMOTE_CONFIG_SCHEMA (400 lists every issue by pointer).
            document: { type: 'object' },
            note: { type: 'string', maxLength: MAX_NOTE },
          },
        },
        response: { 201: versionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const operator = operatorOf(request);
      const { gatewayId } = request.params;
      request.auditTarget = gatewayId;
      const record = await configs.propose({
        gatewayId,
        document: request.body.document,
        createdBy: operator.username,
        note: request.body.note ?? null,
      });
      request.auditDetail = { version: record.version, hash: record.hash };
      return reply.code(201).send(record);
    },
  );

  app.post<{ Params: GatewayParams; Body: RollbackBody }>(
    '/api/v1/gateways/:gatewayId/config/rollback',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        tags: ['downlink'],
        summary:
          'Publish a new version restoring an earlier document (default: the applied version before the current one)',
        params: gatewayParams,
        body: {
          type: 'object',
          required: ['note'],
          additionalProperties: false,
          properties: {
            toVersion: { type: 'integer', minimum: 1 },
            note: { type: 'string', minLength: 1, maxLength: MAX_NOTE },
          },
        },
        response: { 201: versionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const operator = operatorOf(request);
      const { gatewayId } = request.params;
      request.auditTarget = gatewayId;
      const record = await configs.rollback({
        gatewayId,
        createdBy: operator.username,
        note: request.body.note,
        ...(request.body.toVersion === undefined ? {} : { toVersion: request.body.toVersion }),
      });
      request.auditDetail = { version: record.version, restoresVersion: record.restoresVersion };
      return reply.code(201).send(record);
    },
  );

  app.get<{ Params: GatewayParams; Querystring: { limit: number } }>(
    '/api/v1/gateways/:gatewayId/config/versions',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['downlink'],
        summary: "A gateway's configuration versions, newest first",
        params: gatewayParams,
        querystring: { type: 'object', additionalProperties: false, properties: { limit: limitQuery } },
        response: { 200: { type: 'array', items: versionSchema }, ...errorResponses },
      },
    },
    async (request) => {
      await requireVisibleGateway(db, request, request.params.gatewayId);
      return configs.versions(request.params.gatewayId, { limit: request.query.limit });
    },
  );

  app.get<{ Params: GatewayParams; Querystring: { limit: number } }>(
    '/api/v1/gateways/:gatewayId/config/overrides',
    {
      config: { access: { roles: 'any' } },
      schema: {
        tags: ['downlink'],
        summary: "A gateway's reported local overrides (set and clear), newest first",
        params: gatewayParams,
        querystring: { type: 'object', additionalProperties: false, properties: { limit: limitQuery } },
        response: { 200: { type: 'array', items: overrideSchema }, ...errorResponses },
      },
    },
    async (request) => {
      await requireVisibleGateway(db, request, request.params.gatewayId);
      return configs.overrides(request.params.gatewayId, { limit: request.query.limit });
    },
  );
}
