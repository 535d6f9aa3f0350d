/**
 * Thresholds as local overrides (issue 13, part 4, "Thresholds"; docs/config-downlink.md "Local
 * changes"):
 * - GET    /api/overrides: the technician's overrides in force;
 * - PUT    /api/overrides {pointer, value, reason}: one setting of an alarm rule in the
 *   configuration document's shape (`/alarms/<device>/<rule>/levels`, `.../deadband`,
 *   `.../onDelayS` ...), validated like a document and applied atomically (Gateway.setLocalOverride),
 *   reported upstream as a config_override event by the signed-in user. Only `/alarms/...`: the
 *   web UI changes thresholds; lighting schedules and poll intervals stay with the configuration
 *   file and the console. An invalid value is 400 with the issues by pointer;
 * - DELETE /api/overrides {pointer, reason}: ends an override (any pointer, whoever set it): the
 *   document's or the file's value is back in force.
 * Both are audited with the client's address ('config.override_set' / 'config.override_clear').
 */
import type { FastifyInstance } from 'fastify';
import type { OverrideClearRequest, OverrideList, OverrideRequest } from '../api-types.js';
import type { CabinetPort } from '../cabinet-port.js';
import { actorOf } from '../ports.js';
import { refuse } from './refusals.js';
import { requireRunning } from './running.js';
import { ACCESS, ANY_JSON, errors, OVERRIDE_LIST, POINTER, REASON } from './schemas.js';

export function registerOverrideRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  const list = (): OverrideList => ({
    overrides: cabinet.localOverrides().map((o) => ({
      pointer: o.pointer,
      value: o.value,
      previous: o.previous,
      by: o.by,
      reason: o.reason,
      wallMs: o.setWallMs,
    })),
  });
  const response = { 200: OVERRIDE_LIST, ...errors(400, 404, 409, 503) };

  app.get(
    '/api/overrides',
    {
      config: ACCESS,
      schema: { summary: "The technician's overrides in force", tags: ['thresholds'], response },
    },
    async (_request, reply) => {
      try {
        requireRunning(cabinet);
        return list();
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  app.put<{ Body: OverrideRequest }>(
    '/api/overrides',
    {
      config: ACCESS,
      bodyLimit: 16_384,
      schema: {
        summary: "Change an alarm rule's setting as a local override, reported upstream",
        tags: ['thresholds'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['pointer', 'value', 'reason'],
          properties: {
            pointer: { ...POINTER, pattern: '^/alarms/[^/]+/[^/]+(/.*)?$' },
            value: ANY_JSON,
            reason: { ...REASON, minLength: 1 },
          },
        },
        response,
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        const { pointer, value, reason } = request.body;
        cabinet.setLocalOverride(pointer, value, actorOf(request), reason);
        return list();
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  app.delete<{ Body: OverrideClearRequest }>(
    '/api/overrides',
    {
      config: ACCESS,
      bodyLimit: 4096,
      schema: {
        summary: 'End a local override: the document or file value is back in force',
        tags: ['thresholds'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['pointer', 'reason'],
          properties: { pointer: POINTER, reason: { ...REASON, minLength: 1 } },
        },
        response,
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        const { pointer, reason } = request.body;
        cabinet.clearLocalOverride(pointer, actorOf(request), reason);
        return list();
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
}
