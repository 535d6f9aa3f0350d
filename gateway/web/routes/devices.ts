/**
 * GET /api/devices/:deviceId: one device's live values with units and quality, its profile's
 * register map, the alarm rules in force with where their settings come from, and its forbidden
 * ranges (issue 13, part 4, "Device"). Memory only: no database read.
 */
import type { FastifyInstance } from 'fastify';
import type { DeviceDetail } from '../api-types.js';
import { CabinetError } from '../cabinet-errors.js';
import type { CabinetDevice, CabinetPort } from '../cabinet-port.js';
import { ruleViews } from '../views/alarms.js';
import { buildIndex } from '../views/cabinet-index.js';
import { deviceCounters, deviceSummary, pointDefinitions, pointValues } from '../views/devices.js';
import { alarmViews } from '../views/overview.js';
import { refuse } from './refusals.js';
import { requireRunning } from './running.js';
import { ACCESS, DEVICE_DETAIL, DEVICE_ID, errors } from './schemas.js';

export function registerDeviceRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  app.get<{ Params: { deviceId: string } }>(
    '/api/devices/:deviceId',
    {
      config: ACCESS,
      schema: {
        summary: 'One device: live values, register map, alarm rules in force',
        tags: ['cabinet'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceId'],
          properties: { deviceId: DEVICE_ID },
        },
        response: { 200: DEVICE_DETAIL, ...errors(404, 503) },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        return deviceDetail(cabinet, request.params.deviceId);
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
}

export function deviceOf(cabinet: CabinetPort, deviceId: string): CabinetDevice {
  const device = cabinet.devices().find((d) => d.id === deviceId);
  if (device === undefined)
    throw new CabinetError('CABINET_UNKNOWN_DEVICE', `no device ${deviceId} in this cabinet`);
  return device;
}

function deviceDetail(cabinet: CabinetPort, deviceId: string): DeviceDetail {
  const device = deviceOf(cabinet, deviceId);
  const index = buildIndex(cabinet);
  const counters = deviceCounters(cabinet).get(deviceId);
  const latest = cabinet.latest(deviceId);
  const documents = cabinet.configDocuments();
  return {
    device: deviceSummary(device, latest, counters, alarmViews(cabinet, index)),
    points: pointDefinitions(device.profile),
    values: pointValues(
      device.profile,
      latest,
      counters?.effectiveIntervalMs ?? device.config.pollIntervalMs,
    ),
    rules: ruleViews(index, deviceId, {
      overrides: cabinet.localOverrides(),
      file: documents.file,
      active: documents.active,
    }),
    forbiddenRanges: device.profile.quirks.forbiddenRanges.map((r) => ({
      table: r.table,
      start: r.start,
      end: r.end,
      reason: r.reason === undefined ? null : { ...r.reason },
    })),
  };
}
