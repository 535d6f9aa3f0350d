/**
 * Bus diagnostics and the commissioning panel (issue 13, part 4, "Bus diagnostics"):
 * - GET  /api/bus: per bus utilisation and counters, per device round-trip times, timeouts, CRC
 *   errors, exceptions and back-off state (memory only);
 * - POST /api/bus/read: one point, or a raw range of one table, read on demand through the
 *   device's bus scheduler (queued between its polls, never beside them: BusScheduler.read). A
 *   range touching a profile's forbidden range is refused before anything is queued: 403
 *   BUS_FORBIDDEN_RANGE with the profile's reason (both languages in `forbiddenRange`). The read
 *   is audited ('bus.read') with the client's address.
 */
import type { FastifyInstance } from 'fastify';
import type { BusReadRequest as PortReadRequest } from '../../bus/types.js';
import { forbiddenRangeHit, isBusError } from '../../bus/scheduler.js';
import type { BusReadRequest, BusReadResult } from '../api-types.js';
import type { CabinetPort } from '../cabinet-port.js';
import { actorOf } from '../ports.js';
import { buildIndex } from '../views/cabinet-index.js';
import { busDiagnostics } from '../views/devices.js';
import { refuse } from './refusals.js';
import { requireRunning } from './running.js';
import { ACCESS, BUS_DIAGNOSTICS, BUS_READ_REFUSAL, BUS_READ_RESULT, DEVICE_ID, errors } from './schemas.js';

export function registerBusRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  app.get(
    '/api/bus',
    {
      config: ACCESS,
      schema: {
        summary: 'Per bus and per device line counters, round-trip times and back-off',
        tags: ['bus'],
        response: { 200: BUS_DIAGNOSTICS, ...errors(503) },
      },
    },
    async (_request, reply) => {
      try {
        requireRunning(cabinet);
        return busDiagnostics(cabinet, buildIndex(cabinet));
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  app.post<{ Body: BusReadRequest }>(
    '/api/bus/read',
    {
      config: ACCESS,
      bodyLimit: 4096,
      schema: {
        summary: 'Read a point or a raw register range on demand, queued on the bus scheduler',
        tags: ['bus'],
        body: {
          oneOf: [
            {
              type: 'object',
              additionalProperties: false,
              required: ['deviceId', 'point'],
              properties: { deviceId: DEVICE_ID, point: { type: 'string', minLength: 1, maxLength: 128 } },
            },
            {
              type: 'object',
              additionalProperties: false,
              required: ['deviceId', 'table', 'address', 'count'],
              properties: {
                deviceId: DEVICE_ID,
                table: { type: 'string', enum: ['coil', 'discrete', 'input', 'holding'] },
                address: { type: 'integer', minimum: 0, maximum: 65535 },
                // The protocol's limit is checked by the scheduler (125 registers, 2000 bits), so
                // the refusal names it; this bound only keeps nonsense out.
                count: { type: 'integer', minimum: 1, maximum: 65536 },
              },
            },
          ],
        },
        response: { 200: BUS_READ_RESULT, 403: BUS_READ_REFUSAL, ...errors(400, 404, 429, 502, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      try {
        requireRunning(cabinet);
        const portRequest: PortReadRequest =
          'point' in body
            ? { point: body.point }
            : { table: body.table, address: body.address, count: body.count };
        const read = await cabinet.readBus(body.deviceId, portRequest, actorOf(request));
        const device = cabinet.devices().find((d) => d.id === body.deviceId);
        const point =
          read.point === null ? undefined : device?.profile.points.find((p) => p.key === read.point);
        const result: BusReadResult = { ...read, unit: point?.unit ?? null };
        return result;
      } catch (error) {
        if (isBusError(error, 'BUS_FORBIDDEN_RANGE') && !('point' in body)) {
          const device = cabinet.devices().find((d) => d.id === body.deviceId);
          const hit =
            device === undefined
              ? null
              : forbiddenRangeHit(
                  device.profile.quirks.forbiddenRanges,
                  body.table,
                  body.address,
                  body.count,
                );
          if (hit !== null)
            return refuse(reply, error, {
              forbiddenRange: {
                table: hit.table,
                start: hit.start,
                end: hit.end,
                reason: hit.reason === undefined ? null : { ...hit.reason },
              },
            });
        }
        return refuse(reply, error);
      }
    },
  );
}
