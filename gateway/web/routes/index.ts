/**
 * The cabinet's data routes (overview, devices, trends, alarms, lighting, bus, strain, overrides)
 * and the live stream. Placeholder until they are written; gateway/web/app.ts calls the function a
 * composition root passes it, so the server core does not import this file.
 */
import type { FastifyInstance } from 'fastify';

export function registerCabinetRoutes(_app: FastifyInstance): void {
  // Filled in by the data routes.
}
