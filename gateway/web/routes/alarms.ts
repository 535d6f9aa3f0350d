/**
 * The alarms page (issue 13, part 4, "Alarms"): the list with filters, one alarm's history, and
 * the ISA-18.2 operator actions, each calling the alarm engine's own operation (through
 * Gateway.operateAlarm, which commits the transition with an audit record carrying the client's
 * address) with the signed-in user as the actor.
 *
 * - GET  /api/alarms?state=&priority=&device=        state: a state name, `not_normal` (the
 *   default: everything but normal) or `any`.
 * - GET  /api/alarms/:alarmKey/history?limit=
 * - POST /api/alarms/:alarmKey/:operation            {reason?, durationS?}: acknowledge, shelve
 *   (timed with durationS, one-shot without; the engine's maximum is enforced), unshelve, reset,
 *   remove-from-service, return-to-service. Answers the alarm after the operation.
 *   An operation the alarm's state or the rules refuse is 409 with the reason in words; an
 *   unknown alarm 404.
 */
import type { FastifyInstance } from 'fastify';
import {
  ALARM_STATES,
  type AlarmPriority,
  type AlarmStateName,
} from '../../../cloud-sync/contract/events.js';
import { AlarmError } from '../../alarms/types.js';
import type { AlarmOperationName } from '../../pipeline/pipeline.js';
import type {
  AlarmHistory,
  AlarmList,
  AlarmOperationPath,
  AlarmOperationRequest,
  AlarmView,
} from '../api-types.js';
import type { CabinetPort } from '../cabinet-port.js';
import { actorOf } from '../ports.js';
import { alarmHistory } from '../queries/alarm-history.js';
import { alarmView, historyEntry } from '../views/alarms.js';
import { buildIndex } from '../views/cabinet-index.js';
import { alarmViews } from '../views/overview.js';
import { refuse } from './refusals.js';
import { requireRunning } from './running.js';
import { ACCESS, ALARM_HISTORY_ENTRY, ALARM_VIEW, DEVICE_ID, errors, REASON } from './schemas.js';

const OPERATIONS: Readonly<Record<AlarmOperationPath, AlarmOperationName>> = {
  acknowledge: 'acknowledge',
  shelve: 'shelve',
  unshelve: 'unshelve',
  reset: 'reset',
  'remove-from-service': 'remove_from_service',
  'return-to-service': 'return_to_service',
};

/** A timed shelve longer than a week is nonsense whatever the engine allows; the engine's own maximum is enforced by it (409). */
const SHELVE_SCHEMA_MAX_S = 7 * 86_400;

const ALARM_KEY = { type: 'string', minLength: 1, maxLength: 256 } as const;

interface ListQuery {
  state?: AlarmStateName | 'not_normal' | 'any';
  priority?: AlarmPriority;
  device?: string;
}

export function registerAlarmRoutes(app: FastifyInstance, cabinet: CabinetPort): void {
  app.get<{ Querystring: ListQuery }>(
    '/api/alarms',
    {
      config: ACCESS,
      schema: {
        summary: 'Alarms by state, priority and device, the most urgent first',
        tags: ['alarms'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...ALARM_STATES, 'not_normal', 'any'] },
            priority: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] },
            device: DEVICE_ID,
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['alarms', 'maxShelveS'],
            properties: { alarms: { type: 'array', items: ALARM_VIEW }, maxShelveS: { type: 'number' } },
          },
          ...errors(400, 503),
        },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        const { state = 'not_normal', priority, device } = request.query;
        const alarms = alarmViews(cabinet, buildIndex(cabinet)).filter(
          (a) =>
            (state === 'any' || (state === 'not_normal' ? a.state !== 'normal' : a.state === state)) &&
            (priority === undefined || a.priority === priority) &&
            (device === undefined || a.deviceId === device),
        );
        const list: AlarmList = { alarms, maxShelveS: cabinet.maxShelveMs / 1000 };
        return list;
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  app.get<{ Params: { alarmKey: string }; Querystring: { limit?: number } }>(
    '/api/alarms/:alarmKey/history',
    {
      config: ACCESS,
      schema: {
        summary: "One alarm's transitions, newest first",
        tags: ['alarms'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['alarmKey'],
          properties: { alarmKey: ALARM_KEY },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['alarm', 'entries'],
            properties: { alarm: ALARM_VIEW, entries: { type: 'array', items: ALARM_HISTORY_ENTRY } },
          },
          ...errors(400, 404, 503),
        },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        const { alarmKey } = request.params;
        const alarm = currentView(cabinet, alarmKey);
        const rows = cabinet.store.read((db) => alarmHistory(db, alarmKey, request.query.limit ?? 100));
        const history: AlarmHistory = { alarm, entries: rows.map(historyEntry) };
        return history;
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );

  app.post<{
    Params: { alarmKey: string; operation: AlarmOperationPath };
    Body: AlarmOperationRequest;
  }>(
    '/api/alarms/:alarmKey/:operation',
    {
      config: ACCESS,
      bodyLimit: 4096,
      schema: {
        summary: 'An ISA-18.2 operator action on one alarm, by the signed-in user',
        tags: ['alarms'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['alarmKey', 'operation'],
          properties: { alarmKey: ALARM_KEY, operation: { type: 'string', enum: Object.keys(OPERATIONS) } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            reason: REASON,
            durationS: { type: 'integer', minimum: 1, maximum: SHELVE_SCHEMA_MAX_S },
          },
        },
        response: { 200: ALARM_VIEW, ...errors(400, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      try {
        requireRunning(cabinet);
        const { alarmKey, operation } = request.params;
        const { reason = '', durationS } = request.body;
        const name = OPERATIONS[operation];
        if (durationS !== undefined && name !== 'shelve')
          throw new AlarmError(
            'ALARM_ILLEGAL_OPERATION',
            `durationS belongs to a shelve, not to ${operation}`,
          );
        cabinet.operateAlarm(
          name,
          alarmKey,
          actorOf(request),
          reason,
          name === 'shelve'
            ? durationS === undefined
              ? { mode: 'one-shot' }
              : { mode: 'timed', durationMs: durationS * 1000 }
            : undefined,
        );
        return currentView(cabinet, alarmKey);
      } catch (error) {
        return refuse(reply, error);
      }
    },
  );
}

function currentView(cabinet: CabinetPort, alarmKey: string): AlarmView {
  const record = cabinet.alarmRecords().find((r) => r.alarmKey === alarmKey);
  if (record === undefined) throw new AlarmError('ALARM_UNKNOWN', `no alarm ${alarmKey}`);
  return alarmView(buildIndex(cabinet), record, cabinet.now());
}
