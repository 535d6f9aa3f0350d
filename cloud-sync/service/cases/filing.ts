/**
 * Filing cases from alarms (docs/cases.md): an ingest hook (ingest.ts IngestHook) that runs
 * inside the transaction committing a batch, so a case, its history and the alarm that caused it
 * commit together or not at all. An alarm matching a filing rule (cases/config.ts) opens a case;
 * further activations of the same alarm attach to the open case instead of opening another.
 *
 * "Now" is the cloud's commit time (context.receivedAt); the gateway's `ts` is display only (its
 * clock may be untrusted, docs/storage.md). Ingest hands the hook only fresh events, each once
 * (docs/uplink-contract.md, delivery rule 3); case_activations.event_id guards the count as well.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { AlarmTransitionEvent, OutboxEvent } from '../../contract/events.js';
import type { ComponentsTable } from '../db/case-tables.js';
import type { CloudSchema } from '../db/schema.js';
import type { IngestHook, IngestHookContext } from '../ingest/ingest.js';
import type { WorkingCalendar } from './calendar.js';
import {
  componentColumns,
  findComponent,
  findOpenCase,
  insertHistory,
  newCaseNo,
  newCaseRow,
} from './case-store.js';
import type { CasesConfig, FilingRule } from './config.js';
import { deadlineAfter } from './deadlines.js';
import { holdFor, type HoldReason } from './hold.js';
import { collectTrend, minutesBefore, type CaseEvidence } from './evidence.js';
import type { CaseRow } from './workflow.js';

/** The subset of pino's logger filing uses. */
export interface CaseLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Why an active alarm filed no case (counted and logged: an alarm never files nothing silently). */
export type UnfiledReason = 'no_rule' | 'category_missing' | 'silenced';

/** Counters of the filing outcomes nobody would otherwise see (CloudMetrics in the service). */
export interface FilingCounters {
  unfiled(reason: UnfiledReason): void;
  held(reason: HoldReason): void;
}

export interface CaseFilingOptions {
  config: CasesConfig;
  calendar: WorkingCalendar;
  logger: CaseLogger;
  counters?: FilingCounters;
}

type AlarmEvent = Extract<OutboxEvent, { kind: 'alarm_transition' }>;

/** An operator silenced the alarm (ISA-18.2 shelving, suppression, out of service): no case work. */
const SILENCED = new Set<string>(['shelved', 'suppressed', 'out_of_service']);

/**
 * Device families are spelled with `-` in profiles and filing rules (gas-detector) and with `_` in
 * some registry data (gas_detector); both spellings match.
 */
function sameFamily(a: string, b: string): boolean {
  return a.replaceAll('_', '-').toLowerCase() === b.replaceAll('_', '-').toLowerCase();
}

function ruleKeyMatches(pattern: string, ruleKey: string): boolean {
  return pattern.endsWith('*') ? ruleKey.startsWith(pattern.slice(0, -1)) : ruleKey === pattern;
}

/**
 * The first rule matching an alarm at `level` (cases/config.ts FilingRule: rules in order, an empty
 * or absent list matches anything). A rule that names families or class codes needs the device
 * in the component registry to match.
 */
export function matchFilingRule(
  rules: readonly FilingRule[],
  component: Pick<ComponentsTable, 'family' | 'class_code'> | undefined,
  alarm: Pick<AlarmTransitionEvent, 'condition' | 'ruleKey'>,
  level: number,
): FilingRule | undefined {
  return rules.find((rule) => {
    if (level < rule.minLevel) return false;
    if (rule.families !== undefined && rule.families.length > 0) {
      if (component === undefined || !rule.families.some((family) => sameFamily(family, component.family)))
        return false;
    }
    if (rule.classCodes !== undefined && rule.classCodes.length > 0) {
      if (component === undefined || !rule.classCodes.includes(component.class_code)) return false;
    }
    if (
      rule.conditions !== undefined &&
      rule.conditions.length > 0 &&
      !rule.conditions.includes(alarm.condition)
    ) {
      return false;
    }
    if (rule.ruleKeys !== undefined && rule.ruleKeys.length > 0) {
      if (!rule.ruleKeys.some((pattern) => ruleKeyMatches(pattern, alarm.ruleKey))) return false;
    }
    return true;
  });
}

export function caseFilingHook(options: CaseFilingOptions): IngestHook {
  return async (trx, context, fresh) => {
    for (const event of fresh) {
      if (event.kind !== 'alarm_transition') continue;
      await fileTransition(trx, context, event, options);
    }
  };
}

async function fileTransition(
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  event: AlarmEvent,
  options: CaseFilingOptions,
): Promise<void> {
  const open = await findOpenCase(trx, context.gatewayId, event.alarmKey);
  if (SILENCED.has(event.to)) {
    if (event.active && event.level >= 1 && open === undefined)
      unfiled(options, 'silenced', context, event, `the alarm is ${event.to.replaceAll('_', ' ')}`);
    return;
  }
  if (event.active && event.level >= 1) {
    if (open === undefined) await openCase(trx, context, event, options);
    else await activate(trx, context, event, open, options);
    return;
  }
  if (!event.active && open !== undefined && open.alarm_active === 1) {
    await trx
      .updateTable('cases')
      .set({ alarm_active: 0, alarm_normal_since: context.receivedAt, updated_at: context.receivedAt })
      .where('id', '=', open.id)
      .execute();
    await insertHistory(trx, {
      caseId: open.id,
      at: context.receivedAt,
      actor: 'system',
      role: null,
      action: 'alarm_normal',
      fromState: open.state,
      toState: open.state,
      note: null,
      detail: { eventId: event.id, value: event.value, alarmState: event.to },
    });
  }
}

/** Attaches an activation once (event_id is the primary key); false when it was attached before. */
async function attachActivation(
  trx: Transaction<CloudSchema>,
  caseId: string,
  context: IngestHookContext,
  event: AlarmEvent,
): Promise<boolean> {
  const seen = await trx
    .selectFrom('case_activations')
    .select('event_id')
    .where('event_id', '=', event.id)
    .executeTakeFirst();
  if (seen !== undefined) return false;
  await trx
    .insertInto('case_activations')
    .values({
      event_id: event.id,
      case_id: caseId,
      gateway_id: context.gatewayId,
      at: context.receivedAt,
      level: event.level,
      value: JSON.stringify(event.value),
    })
    .execute();
  return true;
}

/** Counts and logs an active alarm that filed no case, with the reason in words. */
function unfiled(
  options: CaseFilingOptions,
  reason: UnfiledReason,
  context: IngestHookContext,
  event: AlarmEvent,
  why: string,
): void {
  // Once per activation or level change, not again for each acknowledgement of the same alarm.
  if (event.cause === 'operation') return;
  options.counters?.unfiled(reason);
  const fields = {
    gatewayId: context.gatewayId,
    alarmKey: event.alarmKey,
    condition: event.condition,
    alarmLevel: event.level,
    reason,
    why,
  };
  // An unconfigured category is a configuration bug; the other reasons are decisions.
  if (reason === 'category_missing') options.logger.error(fields, 'alarm filed no case');
  else options.logger.info(fields, 'alarm filed no case');
}

/**
 * What the filing rules match an alarm against: the registered component, or, for a device not
 * (yet) registered, the family the gateway sent with the alarm (a rule naming class codes cannot
 * match that). Without either, only rules that name no family can match.
 */
function filingSubject(
  component: ComponentsTable | undefined,
  event: AlarmEvent,
): Pick<ComponentsTable, 'family' | 'class_code'> | undefined {
  if (component !== undefined) return component;
  return event.family === undefined ? undefined : { family: event.family, class_code: '' };
}

async function openCase(
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  event: AlarmEvent,
  options: CaseFilingOptions,
): Promise<void> {
  const { config, calendar } = options;
  const component = await findComponent(trx, context.gatewayId, event.deviceId);
  const rule = matchFilingRule(config.rules, filingSubject(component, event), event, event.level);
  if (rule === undefined) {
    const family = component?.family ?? event.family;
    unfiled(
      options,
      'no_rule',
      context,
      event,
      `no filing rule matches condition ${event.condition}, rule ${event.ruleKey}, level ${event.level}` +
        (family === undefined ? ' of a device of unknown family' : ` of a ${family}`),
    );
    return;
  }
  const category = options.config.categories.find((candidate) => candidate.id === rule.category);
  if (category === undefined) {
    // config-validate.ts refuses such a configuration; failing the batch would only make the
    // gateway resend it forever, so the alarm is recorded without a case and the log says why.
    unfiled(
      options,
      'category_missing',
      context,
      event,
      `rule ${rule.id} names category ${rule.category}, which is not configured`,
    );
    return;
  }
  const hold = holdFor(component, context.gatewayId, event.deviceId);
  const autoFile = rule.autoFile && hold === null;

  const now = context.receivedAt;
  const trend = await collectTrend(trx, {
    gatewayId: context.gatewayId,
    deviceId: event.deviceId,
    since: minutesBefore(now, config.trendWindowMin),
    until: now,
  });
  const evidence: CaseEvidence = {
    alarm: { ...event, gatewayId: context.gatewayId, receivedAt: now },
    trend,
  };
  // docs/domain.md: filing and dispatch within 10 min (urgent) / 30 min (normal) of the report.
  const dispatchDeadline = deadlineAfter(new Date(now), category.dispatchWithin[rule.severity], calendar);
  const id = randomUUID();
  const caseNo = await newCaseNo(trx, now, config.calendar.timeZone);
  const row = newCaseRow({
    id,
    case_no: caseNo,
    state: autoFile ? 'filed' : 'reported',
    hold_reason: hold?.words ?? null,
    category: category.id,
    severity: rule.severity,
    rule_id: rule.id,
    gateway_id: context.gatewayId,
    device_id: event.deviceId,
    alarm_key: event.alarmKey,
    open_alarm_key: event.alarmKey,
    condition: event.condition,
    ...componentColumns(component),
    evidence: JSON.stringify(evidence),
    max_level: event.level,
    activations: 1,
    alarm_active: 1,
    alarm_normal_since: null,
    reported_at: now,
    filed_at: autoFile ? now : null,
    dispatch_deadline: dispatchDeadline.toISOString(),
    // Reporting makes revision 0; filing is a transition and bumps it like an operator's would.
    revision: autoFile ? 1 : 0,
  });
  await trx.insertInto('cases').values(row).execute();
  await attachActivation(trx, id, context, event);
  await insertHistory(trx, {
    caseId: id,
    at: now,
    actor: 'system',
    role: null,
    action: 'report',
    fromState: null,
    toState: 'reported',
    note: null,
    detail: {
      ruleId: rule.id,
      eventId: event.id,
      level: event.level,
      value: event.value,
      severity: rule.severity,
      componentId: row.component_id,
      ...(hold === null ? {} : { held: hold.reason }),
    },
  });
  if (autoFile) {
    await insertHistory(trx, {
      caseId: id,
      at: now,
      actor: 'system',
      role: null,
      action: 'file',
      fromState: 'reported',
      toState: 'filed',
      note: `filed automatically by rule ${rule.id}`,
      detail: { ruleId: rule.id },
    });
  }
  options.logger.info(
    {
      caseId: id,
      caseNo,
      gatewayId: context.gatewayId,
      alarmKey: event.alarmKey,
      rule: rule.id,
      state: row.state,
      registered: component !== undefined,
      ...(hold === null ? {} : { held: hold.reason, why: hold.words }),
    },
    hold === null ? 'case opened from alarm' : 'case opened from alarm, held for the monitoring desk',
  );
  if (hold !== null) options.counters?.held(hold.reason);
}

/**
 * An active transition of an alarm whose case is open: a new activation when the case's alarm was
 * normal, else at most a higher level (and with it possibly an urgent severity).
 */
async function activate(
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  event: AlarmEvent,
  open: CaseRow,
  options: CaseFilingOptions,
): Promise<void> {
  const now = context.receivedAt;
  const change: Partial<CaseRow> = { ...(await levelChange(trx, context, event, open, options)) };
  const reactivation = open.alarm_active === 0;
  if (reactivation) {
    if (!(await attachActivation(trx, open.id, context, event))) return;
    Object.assign(change, { activations: open.activations + 1, alarm_active: 1, alarm_normal_since: null });
    // The sensor no longer proves the repair: the inspector must not rely on an old verification.
    if (open.sensor_verified_at !== null) change.sensor_verified_at = null;
  }
  if (Object.keys(change).length === 0) return;
  await trx
    .updateTable('cases')
    .set({ ...change, updated_at: now })
    .where('id', '=', open.id)
    .execute();
  if (!reactivation) return;
  await insertHistory(trx, {
    caseId: open.id,
    at: now,
    actor: 'system',
    role: null,
    action: 'activation',
    fromState: open.state,
    toState: open.state,
    note:
      open.sensor_verified_at === null
        ? null
        : `the alarm is active again: the sensor verification of ${open.sensor_verified_at} is withdrawn`,
    detail: {
      eventId: event.id,
      level: event.level,
      value: event.value,
      activations: open.activations + 1,
      ...(change.severity === undefined ? {} : { severity: change.severity }),
    },
  });
}

/**
 * A level above the case's highest: store it, and make the case urgent when the rule matching the
 * higher level says so; a case not yet dispatched then gets the (earlier) urgent dispatch deadline.
 */
async function levelChange(
  trx: Transaction<CloudSchema>,
  context: IngestHookContext,
  event: AlarmEvent,
  open: CaseRow,
  options: CaseFilingOptions,
): Promise<Partial<CaseRow>> {
  if (event.level <= open.max_level) return {};
  const change: Partial<CaseRow> = { max_level: event.level };
  if (open.severity === 'urgent') return change;
  const component = await findComponent(trx, context.gatewayId, event.deviceId);
  const rule = matchFilingRule(options.config.rules, filingSubject(component, event), event, event.level);
  if (rule?.severity !== 'urgent') return change;
  change.severity = 'urgent';
  const category = options.config.categories.find((candidate) => candidate.id === open.category);
  if (category !== undefined && (open.state === 'reported' || open.state === 'filed')) {
    const urgent = deadlineAfter(
      new Date(open.reported_at),
      category.dispatchWithin.urgent,
      options.calendar,
    );
    if (urgent.getTime() < Date.parse(open.dispatch_deadline))
      change.dispatch_deadline = urgent.toISOString();
  }
  return change;
}
