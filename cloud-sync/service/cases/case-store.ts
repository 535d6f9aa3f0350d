/**
 * Cases in the database (Kysely only, so the same code runs on SQLite and PostgreSQL): reading and
 * listing, opening a case, and applying a workflow plan (workflow.ts) together with its
 * case_history row in one transaction (docs/cases.md: a case carries its full history).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely';
import { DateTime } from 'luxon';
import type { CaseActivationsTable, CaseHistoryTable, ComponentsTable } from '../db/case-tables.js';
import type { CloudSchema } from '../db/schema.js';
import type { WorkingCalendar } from './calendar.js';
import type { CaseCategory, CasesConfig } from './config.js';
import { CaseError } from './errors.js';
import {
  OPEN_STATES,
  planTransition,
  type ActionInput,
  type Actor,
  type CaseAction,
  type CaseRow,
  type HistoryAction,
} from './workflow.js';

import { holdFor } from './hold.js';

type Db = Kysely<CloudSchema> | Transaction<CloudSchema>;

let lastHistoryMs = 0;
let historyCounter = 0;

/**
 * A time-ordered UUID (RFC 9562 version 7, with a 12-bit counter in rand_a): history rows written
 * in the same millisecond (report then file) still sort in the order they were written.
 */
export function historyId(): string {
  const ms = Date.now();
  if (ms === lastHistoryMs) historyCounter = (historyCounter + 1) & 0xfff;
  else {
    lastHistoryMs = ms;
    historyCounter = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (historyCounter >> 8);
  bytes[7] = historyCounter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface HistoryEntry {
  caseId: string;
  at: string;
  /** Operator username, or 'system'. */
  actor: string;
  role: string | null;
  action: HistoryAction;
  fromState: string | null;
  toState: string | null;
  note: string | null;
  detail: Record<string, unknown> | null;
}

export async function insertHistory(db: Db, entry: HistoryEntry): Promise<void> {
  await db
    .insertInto('case_history')
    .values({
      id: historyId(),
      case_id: entry.caseId,
      at: entry.at,
      actor: entry.actor,
      role: entry.role,
      action: entry.action,
      from_state: entry.fromState,
      to_state: entry.toState,
      note: entry.note,
      detail: entry.detail === null ? null : JSON.stringify(entry.detail),
    })
    .execute();
}

/** The category of a case; a category removed from the configuration while cases of it are open is an error. */
export function categoryOf(config: CasesConfig, id: string): CaseCategory {
  const category = config.categories.find((candidate) => candidate.id === id);
  if (category === undefined) {
    throw new CaseError('CASE_INVALID', `case category ${id} is not in the cases configuration`);
  }
  return category;
}

export async function getCase(db: Db, id: string): Promise<CaseRow | undefined> {
  return db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The open (not closed, not cancelled) case following an alarm, if any. */
export async function findOpenCase(
  db: Db,
  gatewayId: string,
  alarmKey: string,
): Promise<CaseRow | undefined> {
  return db
    .selectFrom('cases')
    .selectAll()
    .where('gateway_id', '=', gatewayId)
    .where('alarm_key', '=', alarmKey)
    .where('state', 'in', OPEN_STATES)
    .orderBy('reported_at', 'desc')
    .forUpdate()
    .executeTakeFirst();
}

/**
 * A component was registered for a device whose open cases wait for it (hold.ts): each takes the
 * component's columns (id, grid cell, location, owners) and its hold is lifted, or becomes
 * no_owner_unit; one history row each says so. Runs in the registry's transaction.
 */
export async function adoptHeldCases(db: Db, component: ComponentsTable, at: string): Promise<number> {
  const held = await db
    .selectFrom('cases')
    .select(['id', 'state'])
    .where('gateway_id', '=', component.gateway_id)
    .where('device_id', '=', component.device_id)
    .where('component_id', 'is', null)
    .where('state', 'in', OPEN_STATES)
    .execute();
  const hold = holdFor(component, component.gateway_id, component.device_id);
  for (const row of held) {
    await db
      .updateTable('cases')
      .set({ ...componentColumns(component), hold_reason: hold?.words ?? null, updated_at: at })
      .where('id', '=', row.id)
      .execute();
    await insertHistory(db, {
      caseId: row.id,
      at,
      actor: 'system',
      role: null,
      action: 'component_registered',
      fromState: row.state,
      toState: row.state,
      note: hold === null ? null : hold.words,
      detail: { componentId: component.component_id, ownerUnit: component.owner_unit },
    });
  }
  return held.length;
}

export async function findComponent(
  db: Db,
  gatewayId: string,
  deviceId: string,
): Promise<ComponentsTable | undefined> {
  return db
    .selectFrom('components')
    .selectAll()
    .where('gateway_id', '=', gatewayId)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
}

export async function caseHistory(db: Db, caseId: string): Promise<CaseHistoryTable[]> {
  return db
    .selectFrom('case_history')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('at')
    .orderBy('id')
    .execute();
}

export async function caseActivations(db: Db, caseId: string): Promise<CaseActivationsTable[]> {
  return db
    .selectFrom('case_activations')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('at')
    .orderBy('event_id')
    .execute();
}

export interface CaseFilters {
  state?: string;
  category?: string;
  ownerUnit?: string;
  gatewayId?: string;
  deviceId?: string;
  /** true: only overdue cases now; false: only cases not overdue. */
  overdue?: boolean;
  limit: number;
  offset: number;
}

/** Cases matching the filters, newest report first. */
export async function listCases(db: Db, filters: CaseFilters, now: Date): Promise<CaseRow[]> {
  const nowIso = now.toISOString();
  let query = db.selectFrom('cases').selectAll();
  if (filters.state !== undefined) query = query.where('state', '=', filters.state);
  if (filters.category !== undefined) query = query.where('category', '=', filters.category);
  if (filters.ownerUnit !== undefined) query = query.where('owner_unit', '=', filters.ownerUnit);
  if (filters.gatewayId !== undefined) query = query.where('gateway_id', '=', filters.gatewayId);
  if (filters.deviceId !== undefined) query = query.where('device_id', '=', filters.deviceId);
  if (filters.overdue !== undefined) {
    // Same rule as case-view.ts isOverdue, in SQL: ISO 8601 UTC text compares in time order.
    const overdue = (eb: ExpressionBuilder<CloudSchema, 'cases'>) =>
      eb.and([
        eb('suspended', '=', 0),
        eb.or([
          eb.and([eb('state', 'in', ['reported', 'filed']), eb('dispatch_deadline', '<', nowIso)]),
          eb.and([eb('state', 'in', ['dispatched', 'in_progress']), eb('handle_deadline', '<', nowIso)]),
        ]),
      ]);
    query = filters.overdue ? query.where(overdue) : query.where((eb) => eb.not(overdue(eb)));
  }
  return query
    .orderBy('reported_at', 'desc')
    .orderBy('id')
    .limit(filters.limit)
    .offset(filters.offset)
    .execute();
}

/** `YYYYMMDD-` of the reporting day in the city's zone + 6 upper-case hex digits. */
export async function newCaseNo(db: Db, reportedAt: string, timeZone: string): Promise<string> {
  const day = DateTime.fromISO(reportedAt, { zone: 'utc' }).setZone(timeZone).toFormat('yyyyLLdd');
  for (;;) {
    const caseNo = `${day}-${randomUUID().replaceAll('-', '').slice(0, 6).toUpperCase()}`;
    const taken = await db.selectFrom('cases').select('id').where('case_no', '=', caseNo).executeTakeFirst();
    if (taken === undefined) return caseNo;
  }
}

export interface ApplyActionRequest {
  caseId: string;
  action: CaseAction;
  actor: Actor;
  input: ActionInput;
  now: Date;
  config: CasesConfig;
  calendar: WorkingCalendar;
}

export interface ApplyActionResult {
  row: CaseRow;
  fromState: string;
  toState: string;
  historyAction: HistoryAction;
}

/**
 * Runs one workflow action: reads the case row-locked, plans (workflow.ts checks), updates it with
 * a bumped revision and writes its history row, all in one transaction. Throws CaseError.
 */
export async function applyCaseAction(
  db: Kysely<CloudSchema>,
  request: ApplyActionRequest,
): Promise<ApplyActionResult> {
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('cases')
      .selectAll()
      .where('id', '=', request.caseId)
      .forUpdate()
      .executeTakeFirst();
    if (current === undefined) throw new CaseError('CASE_NOT_FOUND', `no case ${request.caseId}`);
    const plan = planTransition(current, request.action, request.actor, request.input, {
      now: request.now,
      category: categoryOf(request.config, current.category),
      calendar: request.calendar,
    });
    const at = request.now.toISOString();
    const change = { ...plan.patch, revision: current.revision + 1, updated_at: at };
    await trx.updateTable('cases').set(change).where('id', '=', current.id).execute();
    await insertHistory(trx, {
      caseId: current.id,
      at,
      actor: request.actor.username,
      role: plan.role,
      action: plan.historyAction,
      fromState: plan.fromState,
      toState: plan.toState,
      note: plan.note,
      detail: plan.detail,
    });
    return {
      row: { ...current, ...change },
      fromState: plan.fromState,
      toState: plan.toState,
      historyAction: plan.historyAction,
    };
  });
}

/** What differs between new cases; the rest of a row starts the same for every case. */
export type NewCaseFields = Omit<CaseRow, keyof typeof LIFECYCLE_START | 'updated_at'>;

/**
 * Every timestamp and counter of the workflow still empty, not suspended, not escalated: how a
 * case starts, whether filed from an alarm (filing.ts) or opened by hand (open-case.ts).
 */
const LIFECYCLE_START = {
  suspended: 0,
  suspended_at: null,
  sensor_verified_at: null,
  dispatched_at: null,
  accepted_at: null,
  feedback_at: null,
  closed_at: null,
  cancelled_at: null,
  handle_deadline: null,
  rework_count: 0,
  escalation_level: 0,
  closed_on_time: null,
} as const satisfies Partial<CaseRow>;

/** A new case row: the fields that differ, the lifecycle at its start, updated when reported. */
export function newCaseRow(fields: NewCaseFields): CaseRow {
  return { ...LIFECYCLE_START, ...fields, updated_at: fields.reported_at };
}

/**
 * The columns a new case copies from its component (docs/domain.md "Component ids": three owning
 * parties).
 */
export function componentColumns(
  component: ComponentsTable | undefined,
): Pick<
  CaseRow,
  'component_id' | 'grid_cell' | 'location' | 'competent_department' | 'owner_unit' | 'maintenance_unit'
> {
  if (component === undefined) {
    return {
      component_id: null,
      grid_cell: null,
      location: null,
      competent_department: null,
      owner_unit: null,
      maintenance_unit: null,
    };
  }
  const hasLocation =
    component.address !== null || component.latitude !== null || component.longitude !== null;
  return {
    component_id: component.component_id,
    grid_cell: component.grid_cell,
    location: hasLocation
      ? JSON.stringify({
          address: component.address,
          latitude: component.latitude,
          longitude: component.longitude,
        })
      : null,
    competent_department: component.competent_department,
    owner_unit: component.owner_unit,
    maintenance_unit: component.maintenance_unit,
  };
}
