/**
 * GET /api/devices/:deviceId/trend?point=&range= (or &fromWallMs=&toWallMs= when zoomed): one
 * point's trend (issue 13, part 4, "Device"; queries/trend.ts says how it is read).
 *
 * - range 1h reads the raw readings, 24h the 1-minute aggregates, 7d the 1-hour aggregates;
 * - a zoomed span takes the finest resolution that fits (queries/trend.ts resolutionFor);
 * - a boolean point is always read raw (the aggregates keep numbers only), thinned like any raw span.
 *
 * The span is asked for in wall time and read on the store's uptime clock, mapped through the
 * offset between the two now: rows carry their own wall times, which is what the chart shows.
 */
import type { FastifyInstance } from 'fastify';
import type { Trend } from '../api-types.js';
import { CabinetError } from '../cabinet-errors.js';
import type { CabinetPort } from '../cabinet-port.js';
import {
  aggregateTrend,
  rawTrend,
  resolutionFor,
  seriesIdOf,
  type TrendColumns,
  type TrendResolution,
} from '../queries/trend.js';
import { deviceOf } from './devices.js';
import { refuse } from './refusals.js';
import { requireRunning } from './running.js';
import { ACCESS, DEVICE_ID, errors, TREND } from './schemas.js';

const RANGES = {
  '1h': { ms: 3_600_000, resolution: 'raw' },
  '24h': { ms: 86_400_000, resolution: '1m' },
  '7d': { ms: 7 * 86_400_000, resolution: '1h' },
} as const;

/** The longest zoomed span: the hour aggregates' default retention is far longer; a year is plenty. */
const MAX_SPAN_MS = 366 * 86_400_000;

interface TrendQuery {
  point: string;
  range?: keyof typeof RANGES;
  fromWallMs?: number;
  toWallMs?: number;
}

export function registerTrendRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  app.get<{ Params: { deviceId: string }; Querystring: TrendQuery }>(
    '/api/devices/:deviceId/trend',
    {
      config: ACCESS,
      schema: {
        summary: "One point's trend: raw, 1-minute or 1-hour resolution, at most about 2,000 points",
        tags: ['cabinet'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceId'],
          properties: { deviceId: DEVICE_ID },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['point'],
          properties: {
            point: { type: 'string', minLength: 1, maxLength: 128 },
            range: { type: 'string', enum: Object.keys(RANGES) },
            fromWallMs: { type: 'integer', minimum: 0 },
            toWallMs: { type: 'integer', minimum: 0 },
          },
          dependencies: { fromWallMs: ['toWallMs'], toWallMs: ['fromWallMs'] },
        },
        response: { 200: TREND, ...errors(400, 404, 503) },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        return await trend(cabinet, request.params.deviceId, request.query);
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
}

async function trend(cabinet: CabinetPort, deviceId: string, query: TrendQuery): Promise<Trend> {
  const device = deviceOf(cabinet, deviceId);
  const point = device.profile.points.find((p) => p.key === query.point);
  if (point === undefined)
    throw new CabinetError('CABINET_UNKNOWN_POINT', `device ${deviceId} has no point ${query.point}`);
  const now = cabinet.now();
  let fromWallMs: number;
  let toWallMs: number;
  let resolution: TrendResolution;
  if (query.fromWallMs !== undefined && query.toWallMs !== undefined) {
    fromWallMs = query.fromWallMs;
    toWallMs = query.toWallMs;
    const span = toWallMs - fromWallMs;
    if (!(span > 0) || span > MAX_SPAN_MS)
      throw new CabinetError(
        'CABINET_BAD_SPAN',
        `a trend span runs forward, at most ${MAX_SPAN_MS / 86_400_000} days`,
      );
    resolution = resolutionFor(span);
  } else {
    const range = RANGES[query.range ?? '1h'];
    toWallMs = now.wallMs;
    fromWallMs = toWallMs - range.ms;
    resolution = range.resolution;
  }
  if (point.type === 'bool') resolution = 'raw';
  // Wall time -> the store's uptime clock, through the offset between the two now.
  const offset = now.wallMs - now.monoMs;
  const span = { fromMonoMs: fromWallMs - offset, toMonoMs: toWallMs - offset };
  const seriesId = cabinet.store.read((db) => seriesIdOf(db, deviceId, point.key));
  let columns: TrendColumns = { t: [], mean: [], min: [], max: [] };
  if (seriesId !== null)
    columns =
      resolution === 'raw'
        ? await rawTrend((fn) => cabinet.store.read(fn), seriesId, span)
        : cabinet.store.read((db) => aggregateTrend(db, resolution === '1m' ? '1m' : '1h', seriesId, span));
  return { deviceId, pointKey: point.key, resolution, fromWallMs, toWallMs, ...columns };
}
