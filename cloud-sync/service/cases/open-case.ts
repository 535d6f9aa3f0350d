/**
 * Opening a case by hand (POST /api/v1/cases, monitoring centre): a report that did not come from
 * a filing rule (a phone call, a patrol, an alarm no rule files). It starts in `reported` like any
 * report (docs/domain.md "The case workflow") and the monitoring centre files or cancels it.
 *
 * When it names an alarm (alarmKey), the case follows that alarm like a filed one: its activations
 * attach (filing.ts) and its return to normal can sensor-verify it (monitor.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CloudSchema } from '../db/schema.js';
import type { WorkingCalendar } from './calendar.js';
import {
  categoryOf,
  componentColumns,
  findComponent,
  findOpenCase,
  insertHistory,
  newCaseNo,
  newCaseRow,
} from './case-store.js';
import type { CasesConfig, Severity } from './config.js';
import { deadlineAfter } from './deadlines.js';
import { CaseError } from './errors.js';
import { collectTrend, minutesBefore, type CaseEvidence } from './evidence.js';
import type { Actor, CaseRow } from './workflow.js';

/** What the monitoring centre says about the case it opens (the body of POST /api/v1/cases, routes.ts). */
export interface OpenCaseFields {
  gatewayId: string;
  deviceId: string;
  category: string;
  severity: Severity;
  /** `${deviceId}:${ruleKey}` of the alarm the case is about; absent: a case about the device only. */
  alarmKey?: string;
  /** Condition kind (as alarms name them); defaults to `manual`. */
  condition?: string;
  /** Overrides the component's owner unit (or gives one to an unregistered device). */
  ownerUnit?: string;
}

export interface OpenCaseRequest extends OpenCaseFields {
  note?: string | null;
  actor: Actor;
  now: Date;
  config: CasesConfig;
  calendar: WorkingCalendar;
}

export async function openCaseByHand(db: Kysely<CloudSchema>, request: OpenCaseRequest): Promise<CaseRow> {
  const category = categoryOf(request.config, request.category);
  if (request.alarmKey !== undefined && !request.alarmKey.startsWith(`${request.deviceId}:`)) {
    throw new CaseError(
      'CASE_INVALID',
      `alarmKey must be ${request.deviceId}:<ruleKey>, got ${request.alarmKey}`,
    );
  }
  const now = request.now.toISOString();
  const note = request.note?.trim() ? request.note.trim() : null;
  return db.transaction().execute(async (trx) => {
    const alarmKey = request.alarmKey ?? `${request.deviceId}:manual-${randomUUID().slice(0, 8)}`;
    if (request.alarmKey !== undefined) {
      const open = await findOpenCase(trx, request.gatewayId, alarmKey);
      if (open !== undefined) {
        throw new CaseError('CASE_CONFLICT', `case ${open.case_no} is already open for alarm ${alarmKey}`);
      }
    }
    const alarm =
      request.alarmKey === undefined
        ? undefined
        : await trx
            .selectFrom('alarm_state')
            .select(['active', 'level'])
            .where('gateway_id', '=', request.gatewayId)
            .where('alarm_key', '=', alarmKey)
            .executeTakeFirst();
    const component = await findComponent(trx, request.gatewayId, request.deviceId);
    const owning = componentColumns(component);
    const ownerUnit = request.ownerUnit?.trim() ? request.ownerUnit.trim() : owning.owner_unit;
    const trend = await collectTrend(trx, {
      gatewayId: request.gatewayId,
      deviceId: request.deviceId,
      since: minutesBefore(now, request.config.trendWindowMin),
      until: now,
    });
    const evidence: CaseEvidence = {
      alarm: null,
      trend,
      openedBy: { username: request.actor.username, note },
    };
    const active = alarm?.active === 1;
    const row = newCaseRow({
      id: randomUUID(),
      case_no: await newCaseNo(trx, now, request.config.calendar.timeZone),
      state: 'reported',
      hold_reason: null,
      category: category.id,
      severity: request.severity,
      rule_id: null,
      gateway_id: request.gatewayId,
      device_id: request.deviceId,
      alarm_key: alarmKey,
      // Only a case that follows a real alarm takes that alarm's one open slot.
      open_alarm_key: request.alarmKey === undefined ? null : alarmKey,
      condition: request.condition ?? 'manual',
      ...owning,
      owner_unit: ownerUnit,
      evidence: JSON.stringify(evidence),
      max_level: alarm?.level ?? 0,
      activations: 0,
      alarm_active: active ? 1 : 0,
      // A known alarm that is normal now is known normal since at least now; no alarm: never.
      alarm_normal_since: alarm !== undefined && !active ? now : null,
      reported_at: now,
      filed_at: null,
      dispatch_deadline: deadlineAfter(
        request.now,
        category.dispatchWithin[request.severity],
        request.calendar,
      ).toISOString(),
      revision: 0,
    });
    await trx.insertInto('cases').values(row).execute();
    await insertHistory(trx, {
      caseId: row.id,
      at: now,
      actor: request.actor.username,
      role: 'monitoring',
      action: 'report',
      fromState: null,
      toState: 'reported',
      note,
      detail: { byHand: true, alarmKey: request.alarmKey ?? null, componentId: row.component_id },
    });
    return row;
  });
}
