/**
 * The case monitor (docs/cases.md): every config.monitorIntervalS it escalates overdue cases
 * and marks cases sensor-verified once their alarm stayed normal long enough after feedback.
 *
 * Several cloud-sync instances may run it against one PostgreSQL database (docs/uplink-contract.md,
 * "Scale"): every change is a conditional update (`escalation_level < level`, `sensor_verified_at
 * is null`) whose row count decides who writes the history row, so each step happens once.
 */
import type { Kysely, Transaction, UpdateResult } from 'kysely';
import type { CloudSchema } from '../db/schema.js';
import type { WorkingCalendar } from './calendar.js';
import { currentDeadline } from './case-view.js';
import { insertHistory } from './case-store.js';
import type { CaseCategory, CasesConfig } from './config.js';
import { minutesBetween } from './deadlines.js';
import type { CaseLogger } from './filing.js';
import type { CaseRow, HistoryAction } from './workflow.js';

export interface CaseEscalation {
  caseId: string;
  caseNo: string;
  level: number;
  kind: 'dispatch' | 'handle';
  deadline: string;
  ownerUnit: string | null;
  category: string;
}

export interface CaseMonitorOptions {
  db: Kysely<CloudSchema>;
  config: CasesConfig;
  calendar: WorkingCalendar;
  logger: CaseLogger;
  now?: () => Date;
  /** Called once per escalation raised (after it committed), e.g. to notify someone. */
  onEscalation?: (escalation: CaseEscalation) => void;
}

export interface OverdueCase {
  row: CaseRow;
  kind: 'dispatch' | 'handle';
  deadline: string;
  /** Calendar minutes past the deadline. */
  overdueMinutes: number;
}

/**
 * Open, not suspended cases past their current deadline at `now`: not yet dispatched past
 * dispatch_deadline, dispatched or in progress past handle_deadline. Most overdue first.
 */
export async function listOverdue(db: Kysely<CloudSchema>, now: Date): Promise<OverdueCase[]> {
  const nowIso = now.toISOString();
  const rows = await db
    .selectFrom('cases')
    .selectAll()
    .where('suspended', '=', 0)
    .where((eb) =>
      eb.or([
        eb.and([eb('state', 'in', ['reported', 'filed']), eb('dispatch_deadline', '<', nowIso)]),
        eb.and([eb('state', 'in', ['dispatched', 'in_progress']), eb('handle_deadline', '<', nowIso)]),
      ]),
    )
    .execute();
  const overdue: OverdueCase[] = [];
  for (const row of rows) {
    const current = currentDeadline(row);
    if (current === null) continue;
    overdue.push({
      row,
      ...current,
      overdueMinutes: (now.getTime() - Date.parse(current.deadline)) / 60_000,
    });
  }
  return overdue.sort((a, b) => b.overdueMinutes - a.overdueMinutes);
}

/**
 * Escalation level of a case `past` minutes beyond its deadline: 1 from the first minute, one more
 * every category.escalateEveryMin, at most maxEscalationLevel.
 */
export function escalationLevel(category: CaseCategory, past: number): number {
  const every = Math.max(1, category.escalateEveryMin);
  return Math.min(category.maxEscalationLevel, 1 + Math.floor(Math.max(0, past) / every));
}

/** The history row of a monitor step: the step leaves the case in its state. */
interface MonitorStep {
  row: CaseRow;
  at: string;
  action: HistoryAction;
  detail: Record<string, unknown>;
}

/**
 * One monitor step, once across instances (see the module comment): `claim` is the conditional
 * update; only the instance whose update changed the row writes the history row, in the same
 * transaction. False when another instance, or a change since the row was read, came first.
 */
async function changeOnce(
  db: Kysely<CloudSchema>,
  claim: (trx: Transaction<CloudSchema>) => Promise<UpdateResult>,
  step: MonitorStep,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await claim(trx);
    if (Number(result.numUpdatedRows) !== 1) return false;
    await insertHistory(trx, {
      caseId: step.row.id,
      at: step.at,
      actor: 'system',
      role: null,
      action: step.action,
      fromState: step.row.state,
      toState: step.row.state,
      note: null,
      detail: step.detail,
    });
    return true;
  });
}

export class CaseMonitor {
  private readonly options: CaseMonitorOptions;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(options: CaseMonitorOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), this.options.config.monitorIntervalS * 1000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    // A slow database must not stack rounds on top of each other.
    if (this.running !== null) return;
    this.running = this.runOnce()
      .catch((error: unknown) => {
        // A failed round is retried at the next tick; the service keeps running.
        this.options.logger.error({ err: error }, 'case monitor round failed');
      })
      .finally(() => {
        this.running = null;
      });
  }

  /** One round: escalations first, then sensor verification. */
  async runOnce(): Promise<{ escalated: number; sensorVerified: number }> {
    const now = this.now();
    const escalated = await this.escalate(now);
    const sensorVerified = await this.verifySensors(now);
    return { escalated, sensorVerified };
  }

  private category(id: string): CaseCategory | undefined {
    return this.options.config.categories.find((candidate) => candidate.id === id);
  }

  private async escalate(now: Date): Promise<number> {
    const { db, calendar, logger } = this.options;
    const at = now.toISOString();
    let raised = 0;
    for (const overdue of await listOverdue(db, now)) {
      const { row, kind, deadline } = overdue;
      const category = this.category(row.category);
      if (category === undefined) continue;
      // Minutes past the deadline in the mode the deadline was counted in (working or calendar time).
      const mode =
        kind === 'dispatch'
          ? category.dispatchWithin[row.severity === 'urgent' ? 'urgent' : 'normal']
          : category.handleWithin;
      const past = minutesBetween(new Date(deadline), now, mode.workingTime, calendar);
      const level = escalationLevel(category, past);
      if (level <= row.escalation_level) continue;
      const won = await changeOnce(
        db,
        (trx) =>
          trx
            .updateTable('cases')
            .set({ escalation_level: level, updated_at: at })
            .where('id', '=', row.id)
            .where('escalation_level', '<', level)
            .executeTakeFirst(),
        { row, at, action: 'escalation', detail: { level, deadline, kind } },
      );
      if (!won) continue;
      raised++;
      const escalation: CaseEscalation = {
        caseId: row.id,
        caseNo: row.case_no,
        level,
        kind,
        deadline,
        ownerUnit: row.owner_unit,
        category: row.category,
      };
      // `level` would collide with pino's own field; in the log it is the escalation level.
      const { level: _level, ...logged } = escalation;
      logger.warn({ ...logged, escalationLevel: level }, 'case overdue: escalated');
      this.options.onEscalation?.(escalation);
    }
    return raised;
  }

  /**
   * docs/cases.md: the sensor returned to normal and stayed normal after feedback for the
   * category's sensorVerifyAfterS. Counted from the later of feedback and the return to normal;
   * a re-activation clears alarm_normal_since (filing.ts), so the count starts again. A case
   * without an alarm that is known normal (opened by hand for no alarm) is never sensor-verified.
   */
  private async verifySensors(now: Date): Promise<number> {
    const { db, logger } = this.options;
    const at = now.toISOString();
    const candidates = await db
      .selectFrom('cases')
      .selectAll()
      .where('state', 'in', ['feedback', 'verified'])
      .where('feedback_at', 'is not', null)
      .where('alarm_active', '=', 0)
      .where('alarm_normal_since', 'is not', null)
      .where('sensor_verified_at', 'is', null)
      .execute();
    let verified = 0;
    for (const row of candidates) {
      const category = this.category(row.category);
      if (category === undefined || row.feedback_at === null || row.alarm_normal_since === null) continue;
      const since = Math.max(Date.parse(row.feedback_at), Date.parse(row.alarm_normal_since));
      const normalForS = (now.getTime() - since) / 1000;
      if (normalForS < category.sensorVerifyAfterS) continue;
      const won = await changeOnce(
        db,
        // The row must still be what was read: not re-activated, not reworked, not verified by another instance.
        (trx) =>
          trx
            .updateTable('cases')
            .set({ sensor_verified_at: at, updated_at: at })
            .where('id', '=', row.id)
            .where('sensor_verified_at', 'is', null)
            .where('alarm_active', '=', 0)
            .where('alarm_normal_since', '=', row.alarm_normal_since)
            .where('feedback_at', '=', row.feedback_at)
            .executeTakeFirst(),
        {
          row,
          at,
          action: 'sensor_verified',
          detail: {
            feedbackAt: row.feedback_at,
            alarmNormalSince: row.alarm_normal_since,
            normalForS: Math.floor(normalForS),
          },
        },
      );
      if (!won) continue;
      verified++;
      logger.info({ caseId: row.id, caseNo: row.case_no }, 'case sensor-verified');
    }
    return verified;
  }
}
