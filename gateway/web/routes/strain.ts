/**
 * GET /api/strain/:deviceId: a bridge strain logger's per-channel minute statistics and its recent
 * vehicle and overweight events with their kept raw windows (issue 13, part 4, "Strain";
 * docs/strain.md).
 *
 * Minute statistics and events come from the strain analyzer as the gateway committed them
 * since the web server started (CabinetPort.strainMinutes / strainEvents). After a restart, before
 * the first minute ends, the minutes come from the stored 1-minute aggregates of the strain
 * channels (source 'aggregates', no RMS), and overweight events from their kept windows.
 */
import type { FastifyInstance } from 'fastify';
import type { StrainChannelMinute, StrainEventView, StrainView } from '../api-types.js';
import { CabinetError } from '../cabinet-errors.js';
import type { CabinetPort } from '../cabinet-port.js';
import { recentWindows, STRAIN_POINT, strainMinuteAggregates, windowSeries } from '../queries/strain.js';
import { deviceOf } from './devices.js';
import { refuse } from './refusals.js';
import { requireRunning } from './running.js';
import { ACCESS, DEVICE_ID, errors, STRAIN_VIEW } from './schemas.js';

/** Kept windows looked at per answer (each is plotted: a few hundred polls of a dozen points). */
const WINDOWS = 10;
const HOUR_MS = 3_600_000;

export function registerStrainRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  app.get<{ Params: { deviceId: string } }>(
    '/api/strain/:deviceId',
    {
      config: ACCESS,
      schema: {
        summary: "A strain logger's minute statistics and recent vehicle and overweight events",
        tags: ['strain'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceId'],
          properties: { deviceId: DEVICE_ID },
        },
        response: { 200: STRAIN_VIEW, ...errors(404, 503) },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        return strainView(cabinet, request.params.deviceId);
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
}

function strainView(cabinet: CabinetPort, deviceId: string): StrainView {
  const device = deviceOf(cabinet, deviceId);
  if (device.profile.family !== 'bridge-strain')
    throw new CabinetError('CABINET_NOT_STRAIN', `${deviceId} is not a bridge strain logger`);
  const channels = device.profile.points
    .filter((p) => STRAIN_POINT.test(p.key))
    .map((p) => ({ key: p.key, name: { ...p.name } }));
  let minutes: StrainChannelMinute[] = cabinet.strainMinutes(deviceId).flatMap((event) =>
    Object.entries(event.channels).map(([channel, s]) => ({
      channel,
      periodStartWallMs: event.periodStartMs,
      ...s,
      source: 'analyzer' as const,
    })),
  );
  const now = cabinet.now();
  const { aggregates, windows } = cabinet.store.read((db) => ({
    aggregates: minutes.length > 0 ? [] : strainMinuteAggregates(db, deviceId, now.monoMs - HOUR_MS),
    windows: recentWindows(db, deviceId, WINDOWS).map((w) => ({ ...w, series: windowSeries(db, w.id) })),
  }));
  if (minutes.length === 0)
    minutes = aggregates.map((row) => ({
      channel: row.pointKey,
      periodStartWallMs: row.wallMs,
      min: row.min,
      max: row.max,
      mean: row.mean,
      rms: null,
      count: row.count,
      source: 'aggregates',
    }));
  const windowById = new Map(windows.map((w) => [w.id, w]));
  const events: StrainEventView[] = cabinet.strainEvents(deviceId).map((event) => {
    const window = event.kind === 'overweight' ? windowById.get(event.windowId) : undefined;
    if (window !== undefined) windowById.delete(window.id);
    return {
      id: event.id,
      kind: event.kind,
      deviceId,
      wallMs: event.wallMs,
      peak: event.peakMicrostrain,
      channel: event.channel,
      estimatedTonnes: event.estimatedTonnes,
      level: event.kind === 'overweight' ? event.level : null,
      window: window?.series ?? null,
    };
  });
  // Overweight events of an earlier run, known from their kept windows only.
  for (const window of windowById.values()) {
    const level = /overweight level (\d)/.exec(window.reason);
    events.push({
      id: window.id,
      kind: 'overweight',
      deviceId,
      wallMs: window.createdWallMs,
      peak: null,
      channel: null,
      estimatedTonnes: null,
      level: level === null ? null : Number(level[1]),
      window: window.series,
    });
  }
  return { deviceId, channels, minutes, events };
}
