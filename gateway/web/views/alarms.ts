/**
 * Alarm records and rules as the pages show them (api-types.ts AlarmView, AlarmCounts,
 * AlarmRuleView, AlarmHistoryEntry). ISA-18.2 / IEC 62682 vocabulary: an alarm is annunciated when
 * it is in a state that asks for the operator (unacknowledged, acknowledged and still active,
 * returned to normal unacknowledged, latched), not when it is normal, shelved, suppressed or out
 * of service.
 */
import type { AlarmPriority, AlarmStateName } from '../../../cloud-sync/contract/events.js';
import type { RemoteConfig } from '../../../cloud-sync/contract/config-document.js';
import type { AlarmRecord, AlarmRule, Instant } from '../../alarms/types.js';
import type { LocalOverrideRow } from '../../store/downlink-rows.js';
import type { AlarmHistoryRow } from '../queries/alarm-history.js';
import type { AlarmCounts, AlarmHistoryEntry, AlarmRuleView, AlarmView } from '../api-types.js';
import type { CabinetIndex } from './cabinet-index.js';

const NOT_ANNUNCIATED: ReadonlySet<AlarmStateName> = new Set([
  'normal',
  'shelved',
  'suppressed',
  'out_of_service',
]);

const PRIORITY_RANK: Readonly<Record<AlarmPriority, number>> = { critical: 4, high: 3, medium: 2, low: 1 };

export const PRIORITIES: readonly AlarmPriority[] = ['critical', 'high', 'medium', 'low'];

export function annunciated(record: Pick<AlarmRecord, 'state'>): boolean {
  return !NOT_ANNUNCIATED.has(record.state);
}

/** The priority of the level in force (a level rule's level 2 may be 'high' where level 1 is 'medium'). */
export function priorityOf(rule: AlarmRule | undefined, record: AlarmRecord): AlarmPriority {
  if (rule === undefined) return 'medium';
  const level = rule.levels.find((l) => l.level === record.level);
  return level?.priority ?? rule.priority;
}

export function alarmView(index: CabinetIndex, record: AlarmRecord, now: Instant): AlarmView {
  const rule = index.rules.get(record.alarmKey);
  const point = rule?.pointKey === undefined ? undefined : index.point(record.deviceId, rule.pointKey);
  const shelve = record.shelve;
  return {
    alarmKey: record.alarmKey,
    deviceId: record.deviceId,
    deviceName: index.deviceName(record.deviceId),
    ruleKey: record.ruleKey,
    message: rule?.message === null || rule?.message === undefined ? null : { ...rule.message },
    priority: priorityOf(rule, record),
    state: record.state,
    active: record.active,
    acknowledged: record.acknowledged,
    level: record.level,
    lastValue: record.lastValue,
    unit: point?.unit ?? null,
    // A record the engine made at start and never changed has no time of change (both clocks 0).
    sinceWallMs:
      record.lastChangeWallMs === 0 && record.lastChangeMonoMs === 0 ? null : record.lastChangeWallMs,
    shelve:
      shelve === null
        ? null
        : {
            mode: shelve.mode,
            // Shelve ends run on the store's uptime clock; shown on the wall clock of now.
            untilWallMs:
              shelve.untilMonoMs === null ? null : Math.round(now.wallMs + (shelve.untilMonoMs - now.monoMs)),
            by: shelve.by,
            reason: shelve.reason,
          },
    outOfService: record.outOfService === null ? null : { ...record.outOfService },
    suppressedBy: record.suppressedBy,
    latched: rule?.latched ?? false,
  };
}

/** Most urgent first: priority, then unacknowledged before acknowledged, then the newest. */
export function byUrgency(a: AlarmView, b: AlarmView): number {
  return (
    PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] ||
    Number(a.acknowledged) - Number(b.acknowledged) ||
    (b.sinceWallMs ?? 0) - (a.sinceWallMs ?? 0)
  );
}

export function alarmCounts(views: readonly AlarmView[]): AlarmCounts {
  const counts: AlarmCounts = {
    byPriority: { critical: 0, high: 0, medium: 0, low: 0 },
    byState: {},
    unacknowledged: 0,
  };
  for (const view of views) {
    if (view.state !== 'normal') counts.byState[view.state] = (counts.byState[view.state] ?? 0) + 1;
    if (!annunciated(view)) continue;
    counts.byPriority[view.priority]++;
    if (!view.acknowledged) counts.unacknowledged++;
  }
  return counts;
}

export interface RuleOriginSources {
  overrides: readonly LocalOverrideRow[];
  file: unknown;
  active: { version: number; document: RemoteConfig } | null;
}

/** The rules of one device as the device page shows them, with where their settings come from. */
export function ruleViews(
  index: CabinetIndex,
  deviceId: string,
  sources: RuleOriginSources,
): AlarmRuleView[] {
  return [...index.rules.values()]
    .filter((rule) => rule.deviceId === deviceId)
    .map((rule) => {
      const point = rule.pointKey === undefined ? undefined : index.point(deviceId, rule.pointKey);
      const origin = originOf(rule, sources);
      return {
        alarmKey: rule.alarmKey,
        ruleKey: rule.ruleKey,
        pointKey: rule.pointKey ?? null,
        kind: rule.kind === 'derived' ? (rule.derivedKind ?? 'derived') : rule.kind,
        priority: rule.priority,
        unit: point?.unit ?? null,
        levels: rule.levels.map((l) => ({
          level: l.level,
          setpoint: l.setpoint,
          priority: l.priority ?? rule.priority,
        })),
        deadband: rule.deadband,
        onDelayS: rule.onDelayMs / 1000,
        offDelayS: rule.offDelayMs / 1000,
        latched: rule.latched,
        enabled: rule.enabled,
        origin: origin.origin,
        documentVersion: origin.documentVersion,
        source: rule.source,
        override: origin.override,
        message: rule.message === null ? null : { ...rule.message },
      };
    });
}

/** RFC 6901: '~' and '/' inside a reference token are escaped. */
export function pointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function originOf(
  rule: AlarmRule,
  sources: RuleOriginSources,
): Pick<AlarmRuleView, 'origin' | 'documentVersion' | 'override'> {
  const rulePointer = `/alarms/${pointerToken(rule.deviceId)}/${pointerToken(rule.ruleKey)}`;
  const devicePointer = `/alarms/${pointerToken(rule.deviceId)}`;
  const local = sources.overrides
    .filter(
      (o) =>
        o.pointer === devicePointer || o.pointer === rulePointer || o.pointer.startsWith(`${rulePointer}/`),
    )
    .sort((a, b) => b.setWallMs - a.setWallMs)[0];
  if (local !== undefined)
    return {
      origin: 'technician',
      documentVersion: sources.active?.version ?? null,
      override: { pointer: local.pointer, by: local.by, wallMs: local.setWallMs, reason: local.reason },
    };
  if (sources.active?.document.alarms?.[rule.deviceId]?.[rule.ruleKey] !== undefined)
    return { origin: 'document', documentVersion: sources.active.version, override: null };
  if (fileOverrides(sources.file, rule.deviceId, rule.ruleKey))
    return { origin: 'file', documentVersion: null, override: null };
  return { origin: 'profile', documentVersion: null, override: null };
}

/** Whether the configuration file's `devices[id].alarms[ruleKey]` is set (the file as read, unchecked). */
function fileOverrides(file: unknown, deviceId: string, ruleKey: string): boolean {
  if (typeof file !== 'object' || file === null) return false;
  const devices = (file as { devices?: unknown }).devices;
  if (!Array.isArray(devices)) return false;
  const device: unknown = devices.find(
    (d: unknown) => typeof d === 'object' && d !== null && (d as { id?: unknown }).id === deviceId,
  );
  if (typeof device !== 'object' || device === null) return false;
  const alarms = (device as { alarms?: unknown }).alarms;
  return typeof alarms === 'object' && alarms !== null && ruleKey in alarms;
}

export function historyEntry(row: AlarmHistoryRow): AlarmHistoryEntry {
  const t = row.transition;
  return {
    wallMs: row.wallMs,
    fromState: t.from,
    toState: t.to,
    cause: t.cause,
    by: row.actor ?? t.by,
    reason: t.reason,
    value: t.value,
  };
}
