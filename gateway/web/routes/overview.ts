/**
 * GET /api/overview: what is wrong first, then devices, uplink, lighting and the cabinet's facts
 * (issue 13, part 4, "Overview"). Memory only: no database read.
 */
import type { FastifyInstance } from 'fastify';
import type { CabinetPort } from '../cabinet-port.js';
import { buildIndex } from '../views/cabinet-index.js';
import { overview } from '../views/overview.js';
import { requireRunning } from './running.js';
import { refuse } from './refusals.js';
import { ACCESS, errors, OVERVIEW } from './schemas.js';

export function registerOverviewRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  app.get(
    '/api/overview',
    {
      config: ACCESS,
      schema: {
        summary: 'The cabinet at a glance: alarms, devices, uplink, lighting, facts',
        tags: ['cabinet'],
        response: { 200: OVERVIEW, ...errors(503) },
      },
    },
    async (_request, reply) => {
      try {
        requireRunning(cabinet);
        return overview(cabinet, buildIndex(cabinet));
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
}
