/**
 * The lighting page (issue 13, part 4, "Lighting"):
 * - GET  /api/lighting: loops and lamps with state, dim level, power and faults, the overrides in
 *   force, the rates, today's sun and switching times and the calendar rules (404
 *   LIGHTING_NOT_CONFIGURED on a cabinet without lighting);
 * - POST /api/lighting/:target {action, level?, durationS, reason}: switch or dim a lamp, a loop or
 *   the whole cabinet as an override with an expiry, by the signed-in user. Answered only once
 *   the concentrator answered the write (or it failed: 409 LIGHTING_NOT_WRITTEN, 502 for the
 *   device's Modbus error); audited with the result either way (lighting/local-command.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { LightingCommandRequest, LightingCommandResult } from '../api-types.js';
import type { CabinetPort } from '../cabinet-port.js';
import { actorOf } from '../ports.js';
import { lightingView } from '../views/overview.js';
import { LightingError } from '../../lighting/types.js';
import { refuse } from './refusals.js';
import { requireRunning } from './running.js';
import { ACCESS, errors, LIGHTING_VIEW, REASON } from './schemas.js';

/** Lighting overrides last at most 7 days (lighting/overrides.ts); the schema says the same. */
const MAX_OVERRIDE_S = 7 * 86_400;

export function registerLightingRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  app.get(
    '/api/lighting',
    {
      config: ACCESS,
      schema: {
        summary: "Loops and lamps, overrides, rates, today's switching times and the calendar rules",
        tags: ['lighting'],
        response: { 200: LIGHTING_VIEW, ...errors(404, 503) },
      },
    },
    async (_request, reply) => {
      try {
        requireRunning(cabinet);
        const snapshot = cabinet.lighting();
        if (snapshot === null)
          throw new LightingError(
            'LIGHTING_NOT_CONFIGURED',
            'this cabinet runs no lighting (no lighting section)',
          );
        return lightingView(snapshot);
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  app.post<{ Params: { target: string }; Body: LightingCommandRequest }>(
    '/api/lighting/:target',
    {
      config: ACCESS,
      bodyLimit: 4096,
      schema: {
        summary:
          'Switch or dim a lamp, loop or cabinet as an override; answered once the concentrator answered',
        tags: ['lighting'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['target'],
          properties: { target: { type: 'string', minLength: 1, maxLength: 160 } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action', 'durationS', 'reason'],
          properties: {
            action: { type: 'string', enum: ['on', 'off', 'dim'] },
            level: { type: 'number', minimum: 0, maximum: 100 },
            durationS: { type: 'integer', minimum: 1, maximum: MAX_OVERRIDE_S },
            reason: { ...REASON, minLength: 1 },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['target', 'result', 'untilWallMs'],
            properties: {
              target: { type: 'string' },
              result: { type: 'string', enum: ['succeeded'] },
              untilWallMs: { type: 'number' },
            },
          },
          ...errors(400, 404, 409, 502, 503),
        },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        const { action, level, durationS, reason } = request.body;
        const outcome = await cabinet.commandLighting(
          {
            target: request.params.target,
            action,
            ...(level === undefined ? {} : { level }),
            durationMs: durationS * 1000,
            reason,
          },
          actorOf(request),
        );
        const result: LightingCommandResult = {
          target: outcome.target,
          result: 'succeeded',
          untilWallMs: outcome.untilWallMs,
        };
        return result;
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
}
