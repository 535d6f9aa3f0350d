/**
 * The component registry (docs/domain.md "Component ids"): which field device (gateway id + device
 * id) is which registered component, its class, grid cell, location and its three owning parties
 * (competent department, owner unit, maintenance unit). Cases copy these when they are filed
 * (docs/cases.md: each case carries the component id, location and owning unit).
 *
 * One device is one component: (gateway_id, device_id) is unique (migration 0004), and giving a
 * device that another component id holds is a conflict, never a silent move. Kysely only, portable
 * queries (SQLite and PostgreSQL alike); timestamps ISO 8601 UTC text.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { isGatewayId } from '../../contract/topics.js';
import { adoptHeldCases } from '../cases/case-store.js';
import type { CasesConfig } from '../cases/config.js';
import type { ComponentsTable } from '../db/case-tables.js';
import type { CloudSchema } from '../db/schema.js';
import { recordAudit } from '../enrollment/audit.js';
import { componentIdIssues, gridCellIssue, splitComponentId } from './component-id.js';
import { describeIssues, type Issue } from '../../contract/errors.js';
import { RegistryError } from './errors.js';

type Db = Kysely<CloudSchema> | Transaction<CloudSchema>;

/** What a caller gives for one component (the class code is taken from the id). */
export interface ComponentInput {
  gatewayId: string;
  deviceId: string;
  family: string;
  name: string;
  gridCell?: string | null;
  address?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  competentDepartment: string;
  ownerUnit: string;
  maintenanceUnit: string;
}

export interface Component {
  componentId: string;
  classCode: string;
  gatewayId: string;
  deviceId: string;
  family: string;
  name: string;
  gridCell: string | null;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  competentDepartment: string;
  ownerUnit: string;
  maintenanceUnit: string;
  updatedAt: string;
}

export interface ComponentFilter {
  gatewayId?: string;
  classCode?: string;
  ownerUnit?: string;
  gridCell?: string;
  limit?: number;
  offset?: number;
}

/** A record of a bulk import: a component input with its id. */
export interface ComponentRecord extends ComponentInput {
  componentId: string;
}

export const MAX_TEXT = 200;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/** The text fields a component must have (besides its gateway id); the PUT body schema requires them too. */
export const REQUIRED_TEXT = [
  'deviceId',
  'family',
  'name',
  'competentDepartment',
  'ownerUnit',
  'maintenanceUnit',
] as const satisfies ReadonlyArray<keyof ComponentInput>;
const KNOWN_FIELDS = new Set<string>([
  'componentId',
  'gatewayId',
  ...REQUIRED_TEXT,
  'gridCell',
  'address',
  'latitude',
  'longitude',
]);

function toComponent(row: Selectable<ComponentsTable>): Component {
  return {
    componentId: row.component_id,
    classCode: row.class_code,
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    family: row.family,
    name: row.name,
    gridCell: row.grid_cell,
    address: row.address,
    latitude: row.latitude,
    longitude: row.longitude,
    competentDepartment: row.competent_department,
    ownerUnit: row.owner_unit,
    maintenanceUnit: row.maintenance_unit,
    updatedAt: row.updated_at,
  };
}

const isText = (value: unknown): value is string =>
  typeof value === 'string' && value.trim() !== '' && value.length <= MAX_TEXT;

/**
 * Every problem of one component: the id against the configured county and class table (pointer
 * `/componentId`), then each field of `input` (pointers into it). Empty when valid.
 */
export function componentIssues(componentId: unknown, input: unknown, config: CasesConfig): Issue[] {
  const issues: Issue[] = componentIdIssues(componentId, config).map((message) => ({
    pointer: '/componentId',
    message,
  }));
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    issues.push({ pointer: '', message: 'a component must be an object' });
    return issues;
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KNOWN_FIELDS.has(key)) issues.push({ pointer: `/${key}`, message: 'is not a component field' });
  }
  if (!isGatewayId(record.gatewayId)) {
    issues.push({
      pointer: '/gatewayId',
      message: `${JSON.stringify(record.gatewayId)} is not a gateway id`,
    });
  }
  for (const key of REQUIRED_TEXT) {
    if (!isText(record[key])) {
      issues.push({
        pointer: `/${key}`,
        message: `must be a non-empty text of at most ${MAX_TEXT} characters`,
      });
    }
  }
  if (record.gridCell !== undefined && record.gridCell !== null) {
    const problem = gridCellIssue(record.gridCell);
    if (problem !== null) issues.push({ pointer: '/gridCell', message: problem });
  }
  if (record.address !== undefined && record.address !== null && !isText(record.address)) {
    issues.push({
      pointer: '/address',
      message: `must be a non-empty text of at most ${MAX_TEXT} characters`,
    });
  }
  const coordinates = [
    ['latitude', 90],
    ['longitude', 180],
  ] as const;
  for (const [key, bound] of coordinates) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > bound) {
      issues.push({ pointer: `/${key}`, message: `must be a number of degrees within ±${bound}` });
    }
  }
  return issues;
}

function toRow(componentId: string, input: ComponentInput, now: Date): ComponentsTable {
  return {
    component_id: componentId,
    gateway_id: input.gatewayId,
    device_id: input.deviceId,
    family: input.family,
    // The class is part of the id (GB/T 30428.2), never a second source of truth.
    class_code: splitComponentId(componentId)?.classCode ?? '',
    name: input.name,
    grid_cell: input.gridCell ?? null,
    address: input.address ?? null,
    latitude: input.latitude ?? null,
    longitude: input.longitude ?? null,
    competent_department: input.competentDepartment,
    owner_unit: input.ownerUnit,
    maintenance_unit: input.maintenanceUnit,
    updated_at: now.toISOString(),
  };
}

async function holderOf(db: Db, gatewayId: string, deviceId: string): Promise<string | null> {
  const row = await db
    .selectFrom('components')
    .select('component_id')
    .where('gateway_id', '=', gatewayId)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return row?.component_id ?? null;
}

/** Inserts or replaces one row (portable: look first, then update or insert, inside `trx`). */
async function writeRow(trx: Db, row: ComponentsTable): Promise<boolean> {
  const existing = await trx
    .selectFrom('components')
    .select('component_id')
    .where('component_id', '=', row.component_id)
    .executeTakeFirst();
  if (existing === undefined) {
    await trx.insertInto('components').values(row).execute();
  } else {
    const { component_id: _id, ...changes } = row;
    await trx.updateTable('components').set(changes).where('component_id', '=', row.component_id).execute();
  }
  // Cases that waited at the monitoring desk for this component take it now (cases/hold.ts).
  await adoptHeldCases(trx, row, row.updated_at);
  return existing === undefined;
}

/**
 * Registers or replaces a component. @throws RegistryError REGISTRY_INVALID (every issue) or
 * REGISTRY_CONFLICT (the device belongs to another component id).
 */
export async function upsertComponent(
  db: Kysely<CloudSchema>,
  config: CasesConfig,
  componentId: string,
  input: ComponentInput,
  now: Date = new Date(),
): Promise<{ component: Component; created: boolean }> {
  const issues = componentIssues(componentId, input, config);
  if (issues.length > 0)
    throw new RegistryError('REGISTRY_INVALID', `invalid component: ${describeIssues(issues)}`, issues);
  const row = toRow(componentId, input, now);
  const created = await db.transaction().execute(async (trx) => {
    const holder = await holderOf(trx, input.gatewayId, input.deviceId);
    if (holder !== null && holder !== componentId) {
      throw new RegistryError(
        'REGISTRY_CONFLICT',
        `device ${input.deviceId} of gateway ${input.gatewayId} is already component ${holder}; delete that component first to move the device`,
      );
    }
    return writeRow(trx, row);
  });
  return { component: toComponent({ ...row }), created };
}

export async function getComponent(db: Db, componentId: string): Promise<Component | null> {
  const row = await db
    .selectFrom('components')
    .selectAll()
    .where('component_id', '=', componentId)
    .executeTakeFirst();
  return row === undefined ? null : toComponent(row);
}

/** The component a gateway's device is registered as (case filing looks devices up this way). */
export async function findComponentByDevice(
  db: Db,
  gatewayId: string,
  deviceId: string,
): Promise<Component | null> {
  const row = await db
    .selectFrom('components')
    .selectAll()
    .where('gateway_id', '=', gatewayId)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return row === undefined ? null : toComponent(row);
}

export async function listComponents(db: Db, filter: ComponentFilter = {}): Promise<Component[]> {
  let query = db.selectFrom('components').selectAll();
  if (filter.gatewayId !== undefined) query = query.where('gateway_id', '=', filter.gatewayId);
  if (filter.classCode !== undefined) query = query.where('class_code', '=', filter.classCode);
  if (filter.ownerUnit !== undefined) query = query.where('owner_unit', '=', filter.ownerUnit);
  if (filter.gridCell !== undefined) query = query.where('grid_cell', '=', filter.gridCell);
  const limit = Math.min(Math.max(filter.limit ?? DEFAULT_LIST_LIMIT, 1), MAX_LIST_LIMIT);
  const rows = await query
    .orderBy('component_id')
    .limit(limit)
    .offset(Math.max(filter.offset ?? 0, 0))
    .execute();
  return rows.map(toComponent);
}

/** Removes a component; false when there was none. Cases keep the id they copied. */
export async function deleteComponent(db: Db, componentId: string): Promise<boolean> {
  const result = await db.deleteFrom('components').where('component_id', '=', componentId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export interface ImportResult {
  imported: number;
  created: number;
  updated: number;
}

/**
 * Bulk import for the CLI: validates every record first (shape, id, fields, duplicates inside the
 * file, devices held by other component ids in the database) and reports every bad record with its
 * index; only a clean file is written, in one transaction with one audit row (actor, source cli).
 * @throws RegistryError REGISTRY_INVALID listing every issue; nothing is written then.
 */
export async function importComponents(
  db: Kysely<CloudSchema>,
  config: CasesConfig,
  records: readonly unknown[],
  actor: string,
  now: Date = new Date(),
): Promise<ImportResult> {
  const issues: Issue[] = [];
  const valid: Array<{ index: number; record: ComponentRecord }> = [];
  const ids = new Map<string, number>();
  const devices = new Map<string, number>();
  records.forEach((record, index) => {
    const componentId = (record as { componentId?: unknown } | null)?.componentId;
    const found = componentIssues(componentId, record, config).map((issue) => ({
      ...issue,
      pointer: `/${index}${issue.pointer}`,
    }));
    if (found.length > 0) {
      issues.push(...found);
      return;
    }
    const checked = record as ComponentRecord;
    const firstId = ids.get(checked.componentId);
    if (firstId !== undefined) {
      issues.push({
        pointer: `/${index}/componentId`,
        message: `${checked.componentId} is also record ${firstId}`,
      });
      return;
    }
    const deviceKey = JSON.stringify([checked.gatewayId, checked.deviceId]);
    const firstDevice = devices.get(deviceKey);
    if (firstDevice !== undefined) {
      issues.push({
        pointer: `/${index}/deviceId`,
        message: `device ${checked.deviceId} of gateway ${checked.gatewayId} is also record ${firstDevice}`,
      });
      return;
    }
    ids.set(checked.componentId, index);
    devices.set(deviceKey, index);
    valid.push({ index, record: checked });
  });

  for (const { index, record } of valid) {
    const holder = await holderOf(db, record.gatewayId, record.deviceId);
    if (holder !== null && holder !== record.componentId) {
      issues.push({
        pointer: `/${index}/deviceId`,
        message: `device ${record.deviceId} of gateway ${record.gatewayId} is already component ${holder}`,
      });
    }
  }
  if (issues.length > 0) {
    throw new RegistryError(
      'REGISTRY_INVALID',
      `component import refused, nothing written: ${describeIssues(issues)}`,
      issues,
    );
  }

  return db.transaction().execute(async (trx) => {
    let created = 0;
    for (const { record } of valid) {
      const { componentId, ...input } = record;
      if (await writeRow(trx, toRow(componentId, input, now))) created++;
    }
    const result = { imported: valid.length, created, updated: valid.length - created };
    await recordAudit(
      trx,
      {
        actor,
        action: 'component.import',
        target: 'components',
        detail: { ...result },
        outcome: 'ok',
        source: 'cli',
      },
      now,
    );
    return result;
  });
}
