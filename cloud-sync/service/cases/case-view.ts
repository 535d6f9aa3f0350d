/**
 * How a case looks on the API (routes.ts): camelCase, booleans as booleans, JSON columns parsed,
 * plus whether it is overdue now. The JSON schemas beside the types make the OpenAPI document
 * complete and let fastify serialise fast; a field missing from a schema is dropped from the
 * answer, which the route tests would notice.
 */
import type { CaseActivationsTable, CaseHistoryTable } from '../db/case-tables.js';
import type { CaseRow } from './workflow.js';

export interface CaseView {
  id: string;
  caseNo: string;
  state: string;
  suspended: boolean;
  suspendedAt: string | null;
  category: string;
  severity: string;
  /** Why it waits at the monitoring desk instead of being filed on its own (cases/hold.ts); null: nothing holds it. */
  holdReason: string | null;
  ruleId: string | null;
  gatewayId: string;
  deviceId: string;
  alarmKey: string;
  condition: string;
  componentId: string | null;
  gridCell: string | null;
  location: { address: string | null; latitude: number | null; longitude: number | null } | null;
  competentDepartment: string | null;
  ownerUnit: string | null;
  maintenanceUnit: string | null;
  maxLevel: number;
  activations: number;
  alarmActive: boolean;
  alarmNormalSince: string | null;
  sensorVerifiedAt: string | null;
  reportedAt: string;
  filedAt: string | null;
  dispatchedAt: string | null;
  acceptedAt: string | null;
  feedbackAt: string | null;
  closedAt: string | null;
  cancelledAt: string | null;
  dispatchDeadline: string;
  handleDeadline: string | null;
  reworkCount: number;
  escalationLevel: number;
  closedOnTime: boolean | null;
  revision: number;
  updatedAt: string;
  /** Past its current deadline now (docs/cases.md overdue list); never while suspended. */
  overdue: boolean;
}

export interface HistoryView {
  id: string;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  fromState: string | null;
  toState: string | null;
  note: string | null;
  detail: unknown;
}

export interface ActivationView {
  eventId: string;
  at: string;
  level: number;
  value: unknown;
}

/**
 * Which deadline a case is measured against now, if any (docs/domain.md: the handling clock starts
 * at dispatch).
 */
export function currentDeadline(row: CaseRow): { kind: 'dispatch' | 'handle'; deadline: string } | null {
  if (row.suspended === 1) return null;
  if (row.state === 'reported' || row.state === 'filed')
    return { kind: 'dispatch', deadline: row.dispatch_deadline };
  if ((row.state === 'dispatched' || row.state === 'in_progress') && row.handle_deadline !== null) {
    return { kind: 'handle', deadline: row.handle_deadline };
  }
  return null;
}

export function isOverdue(row: CaseRow, now: Date): boolean {
  const current = currentDeadline(row);
  return current !== null && now.getTime() > Date.parse(current.deadline);
}

function parseJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

export function caseView(row: CaseRow, now: Date): CaseView {
  return {
    id: row.id,
    caseNo: row.case_no,
    state: row.state,
    suspended: row.suspended === 1,
    suspendedAt: row.suspended_at,
    category: row.category,
    severity: row.severity,
    holdReason: row.hold_reason,
    ruleId: row.rule_id,
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    alarmKey: row.alarm_key,
    condition: row.condition,
    componentId: row.component_id,
    gridCell: row.grid_cell,
    location: parseJson(row.location) as CaseView['location'],
    competentDepartment: row.competent_department,
    ownerUnit: row.owner_unit,
    maintenanceUnit: row.maintenance_unit,
    maxLevel: row.max_level,
    activations: row.activations,
    alarmActive: row.alarm_active === 1,
    alarmNormalSince: row.alarm_normal_since,
    sensorVerifiedAt: row.sensor_verified_at,
    reportedAt: row.reported_at,
    filedAt: row.filed_at,
    dispatchedAt: row.dispatched_at,
    acceptedAt: row.accepted_at,
    feedbackAt: row.feedback_at,
    closedAt: row.closed_at,
    cancelledAt: row.cancelled_at,
    dispatchDeadline: row.dispatch_deadline,
    handleDeadline: row.handle_deadline,
    reworkCount: row.rework_count,
    escalationLevel: row.escalation_level,
    closedOnTime: row.closed_on_time === null ? null : row.closed_on_time === 1,
    revision: row.revision,
    updatedAt: row.updated_at,
    overdue: isOverdue(row, now),
  };
}

export function historyView(row: CaseHistoryTable): HistoryView {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    role: row.role,
    action: row.action,
    fromState: row.from_state,
    toState: row.to_state,
    note: row.note,
    detail: parseJson(row.detail),
  };
}

export function activationView(row: CaseActivationsTable): ActivationView {
  return { eventId: row.event_id, at: row.at, level: row.level, value: parseJson(row.value) };
}

// JSON schemas: nullable fields use type arrays, which @fastify/swagger turns into OpenAPI 3.0 `nullable`.
const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;

export const caseViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'caseNo',
    'state',
    'suspended',
    'category',
    'severity',
    'gatewayId',
    'deviceId',
    'alarmKey',
    'reportedAt',
    'dispatchDeadline',
    'revision',
    'overdue',
  ],
  properties: {
    id: str,
    caseNo: str,
    state: str,
    suspended: bool,
    suspendedAt: nstr,
    category: str,
    severity: { type: 'string', enum: ['urgent', 'normal'] },
    holdReason: {
      type: ['string', 'null'],
      description:
        'why the case waits at the monitoring desk (no registered component, no owner unit); null when nothing holds it',
    },
    ruleId: nstr,
    gatewayId: str,
    deviceId: str,
    alarmKey: str,
    condition: str,
    componentId: nstr,
    gridCell: nstr,
    location: {
      type: ['object', 'null'],
      properties: {
        address: nstr,
        latitude: { type: ['number', 'null'] },
        longitude: { type: ['number', 'null'] },
      },
    },
    competentDepartment: nstr,
    ownerUnit: nstr,
    maintenanceUnit: nstr,
    maxLevel: int,
    activations: int,
    alarmActive: bool,
    alarmNormalSince: nstr,
    sensorVerifiedAt: nstr,
    reportedAt: str,
    filedAt: nstr,
    dispatchedAt: nstr,
    acceptedAt: nstr,
    feedbackAt: nstr,
    closedAt: nstr,
    cancelledAt: nstr,
    dispatchDeadline: str,
    handleDeadline: nstr,
    reworkCount: int,
    escalationLevel: int,
    closedOnTime: { type: ['boolean', 'null'] },
    revision: int,
    updatedAt: str,
    overdue: bool,
  },
} as const;

export const historyViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'at', 'actor', 'action'],
  properties: {
    id: str,
    at: str,
    actor: str,
    role: nstr,
    action: str,
    fromState: nstr,
    toState: nstr,
    note: nstr,
    detail: {},
  },
} as const;

export const activationViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['eventId', 'at', 'level'],
  properties: { eventId: str, at: str, level: int, value: {} },
} as const;
