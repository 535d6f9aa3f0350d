/**
 * HTTP routes of the component registry (docs/domain.md "Component ids";
 * docs/component-registry.md). Register after authPlugin: `await app.register(registryRoutes, { db,
 * config })`.
 *
 *   GET    /api/v1/components                 any operator; filters gatewayId, classCode, ownerUnit, gridCell
 *   GET    /api/v1/components/:componentId    any operator
 *   PUT    /api/v1/components/:componentId    admin; registers or replaces (class code from the id)
 *   DELETE /api/v1/components/:componentId    admin
 *   GET    /api/v1/component-classes          any operator; the configured class code table
 *
 * Errors: 400 REGISTRY_INVALID with every issue, 404 REGISTRY_NOT_FOUND, 409 REGISTRY_CONFLICT when
 * the device already belongs to another component id.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { CasesConfig } from '../cases/config.js';
import type { CloudSchema } from '../db/schema.js';
import { errorAnswerSchema, OFFSET_PARAMETER } from '../http.js';
import {
  DEFAULT_LIST_LIMIT,
  deleteComponent,
  getComponent,
  listComponents,
  MAX_LIST_LIMIT,
  MAX_TEXT,
  REQUIRED_TEXT,
  upsertComponent,
  type ComponentFilter,
  type ComponentInput,
} from './registry.js';

export interface RegistryRoutesOptions {
  db: Kysely<CloudSchema>;
  config: CasesConfig;
  now?: () => Date;
}

// The API's one error answer (http.ts): registry issues are a pointer and a message like every other area's.
const errorSchema = errorAnswerSchema;

const text = { type: 'string', minLength: 1, maxLength: MAX_TEXT } as const;
const nullableText = { type: ['string', 'null'], minLength: 1, maxLength: MAX_TEXT } as const;

const componentSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'componentId',
    'classCode',
    'gatewayId',
    'deviceId',
    'family',
    'name',
    'gridCell',
    'address',
    'latitude',
    'longitude',
    'competentDepartment',
    'ownerUnit',
    'maintenanceUnit',
    'updatedAt',
  ],
  properties: {
    componentId: {
      type: 'string',
      description: '16 digits: county 6 + major class 2 + subclass 2 + serial 6',
    },
    classCode: { type: 'string' },
    gatewayId: { type: 'string' },
    deviceId: { type: 'string' },
    family: { type: 'string' },
    name: { type: 'string' },
    gridCell: { type: ['string', 'null'] },
    address: { type: ['string', 'null'] },
    latitude: { type: ['number', 'null'] },
    longitude: { type: ['number', 'null'] },
    competentDepartment: { type: 'string' },
    ownerUnit: { type: 'string' },
    maintenanceUnit: { type: 'string' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['componentId'],
  additionalProperties: false,
  properties: { componentId: { type: 'string', maxLength: 64 } },
} as const;

const putBody = {
  type: 'object',
  additionalProperties: false,
  required: ['gatewayId', ...REQUIRED_TEXT],
  properties: {
    gatewayId: { type: 'string', maxLength: 64 },
    deviceId: text,
    family: text,
    name: text,
    gridCell: { type: ['string', 'null'], maxLength: 15 },
    address: nullableText,
    latitude: { type: ['number', 'null'] },
    longitude: { type: ['number', 'null'] },
    competentDepartment: text,
    ownerUnit: text,
    maintenanceUnit: text,
  },
} as const;

interface IdParams {
  componentId: string;
}

export async function registryRoutes(app: FastifyInstance, opts: RegistryRoutesOptions): Promise<void> {
  const { db, config } = opts;
  const now = opts.now ?? (() => new Date());

  app.get<{ Querystring: ComponentFilter }>(
    '/api/v1/components',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'Registered components, by component id',
        tags: ['components'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            gatewayId: { type: 'string', maxLength: 64 },
            classCode: { type: 'string', pattern: '^\\d{4}$' },
            ownerUnit: { type: 'string', maxLength: MAX_TEXT },
            gridCell: { type: 'string', pattern: '^\\d{15}$' },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT },
            offset: OFFSET_PARAMETER,
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['components'],
            additionalProperties: false,
            properties: { components: { type: 'array', items: componentSchema } },
          },
          400: errorSchema,
        },
      },
    },
    async (request) => ({ components: await listComponents(db, request.query) }),
  );

  app.get<{ Params: IdParams }>(
    '/api/v1/components/:componentId',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'One registered component',
        tags: ['components'],
        params: idParams,
        response: { 200: componentSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const component = await getComponent(db, request.params.componentId);
      if (component === null) {
        return reply
          .code(404)
          .send({ error: 'REGISTRY_NOT_FOUND', message: `no component ${request.params.componentId}` });
      }
      return component;
    },
  );

  app.put<{ Params: IdParams; Body: ComponentInput }>(
    '/api/v1/components/:componentId',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Register or replace a component (its class code is taken from the id)',
        tags: ['components'],
        params: idParams,
        body: putBody,
        response: { 200: componentSchema, 201: componentSchema, 400: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { componentId } = request.params;
      request.auditTarget = componentId;
      const { component, created } = await upsertComponent(db, config, componentId, request.body, now());
      request.auditDetail = {
        created,
        gatewayId: component.gatewayId,
        deviceId: component.deviceId,
        ownerUnit: component.ownerUnit,
      };
      return reply.code(created ? 201 : 200).send(component);
    },
  );

  app.delete<{ Params: IdParams }>(
    '/api/v1/components/:componentId',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Remove a component from the registry (cases keep the id they copied)',
        tags: ['components'],
        params: idParams,
        response: {
          200: {
            type: 'object',
            required: ['deleted'],
            additionalProperties: false,
            properties: { deleted: { type: 'string' } },
          },
          404: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { componentId } = request.params;
      request.auditTarget = componentId;
      if (!(await deleteComponent(db, componentId))) {
        return reply.code(404).send({ error: 'REGISTRY_NOT_FOUND', message: `no component ${componentId}` });
      }
      return { deleted: componentId };
    },
  );

  app.get(
    '/api/v1/component-classes',
    {
      config: { access: { roles: 'any' } },
      schema: {
        summary: 'The configured component class table (GB/T 30428.2 major class + subclass)',
        tags: ['components'],
        response: {
          200: {
            type: 'object',
            required: ['countyCode', 'classes'],
            additionalProperties: false,
            properties: {
              countyCode: { type: ['string', 'null'] },
              classes: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['code', 'majorClass', 'subclass', 'name'],
                  additionalProperties: false,
                  properties: {
                    code: { type: 'string' },
                    majorClass: { type: 'string' },
                    subclass: { type: 'string' },
                    name: {
                      type: 'object',
                      required: ['zh-CN', 'en'],
                      additionalProperties: false,
                      properties: { 'zh-CN': { type: 'string' }, en: { type: 'string' } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({
      countyCode: config.countyCode,
      classes: config.classes.map((entry) => ({
        code: entry.code,
        majorClass: entry.code.slice(0, 2),
        subclass: entry.code.slice(2, 4),
        name: entry.name,
      })),
    }),
  );
}
