/**
 * The alarm engine's public shapes. The engine is pure: every call takes the time explicitly and
 * returns what changed (transitions to record, records to persist); the pipeline commits them in
 * the same SQLite transaction as the readings that caused them (docs/alarms.md).
 */
import type {
  AlarmChatteringEvent,
  AlarmPriority,
  AlarmStateName,
  AlarmTransitionEvent,
} from '../../cloud-sync/contract/events.js';
import { errorClass, type ErrorCatalogue } from '../../cloud-sync/contract/errors.js';
import type { AlarmKind, AlarmLevel, LocalizedText } from '../profiles/types.js';

export type { AlarmStateName, AlarmPriority };

/** Both clocks, always together: monotonic for delays and ordering, wall for display. */
export interface Instant {
  monoMs: number;
  wallMs: number;
}

/**
 * Conditions computed outside the engine (lighting verification, strain, rates) and fed in with
 * `setDerivedCondition`; they get the same lifecycle as point-based alarms.
 */
export type DerivedKind =
  | 'switching_error'
  | 'lamp_failure'
  | 'lit_rate_low'
  | 'online_rate_low'
  | 'device_dark'
  | 'bus_dark'
  | 'store_quarantined'
  | 'storage';

/** One rule resolved for one device: profile default, overridden by the device's config. */
export interface AlarmRule {
  /** `${deviceId}:${ruleKey}` */
  alarmKey: string;
  deviceId: string;
  /** Profile rule key (`id` or `${child}.${id}`) or a derived rule's key. */
  ruleKey: string;
  kind: AlarmKind | 'derived';
  derivedKind?: DerivedKind;
  /** Point the rule watches (profile point key); absent for comm_loss and derived rules. */
  pointKey?: string;
  /** Child (logical device, e.g. lamp_03) the rule belongs to, or null. */
  child: string | null;
  levels: AlarmLevel[];
  activeWhen: boolean;
  deadband: number;
  onDelayMs: number;
  offDelayMs: number;
  /** rate rules: engineering units per second. */
  rateLimit: number | null;
  /** stale and comm_loss rules. */
  staleAfterMs: number | null;
  /** stale rules: an exactly repeated numeric value counts as no new data (see AlarmRuleDefault). */
  staleWhenUnchanged: boolean;
  latched: boolean;
  /** ISA-18.2 "suppressed by design": evaluated and recorded, never annunciated. */
  suppressedByDesign: boolean;
  enabled: boolean;
  priority: AlarmPriority;
  message: LocalizedText | null;
  /** Where the default came from (docs/domain.md); kept with the rule for the UI. */
  source: string;
  /** The device's profile family, sent with its transitions (the cloud files by it); none for the gateway's own alarms. */
  family?: string;
}

/** Persisted state of one alarm (one row in the `alarms` table). */
export interface AlarmRecord {
  alarmKey: string;
  deviceId: string;
  ruleKey: string;
  state: AlarmStateName;
  /** Process condition after delays and deadband, regardless of shelving/suppression. */
  active: boolean;
  level: number;
  acknowledged: boolean;
  /** Shelving, when state is 'shelved'. untilMonoMs null = one-shot (ends when the alarm returns to normal). */
  shelve: { mode: 'one-shot' | 'timed'; untilMonoMs: number | null; by: string; reason: string } | null;
  outOfService: { by: string; reason: string } | null;
  /** Suppressed by a dependency (device/bus dark) or by design. */
  suppressedBy: string | null;
  lastValue: number | boolean | null;
  lastChangeMonoMs: number;
  lastChangeWallMs: number;
}

/** What one engine call changed. */
export interface EngineOutput {
  transitions: AlarmTransitionEvent[];
  chattering: AlarmChatteringEvent[];
  /** Records whose persisted state changed (upsert these). */
  records: AlarmRecord[];
}

export type AlarmOperation =
  'acknowledge' | 'shelve' | 'unshelve' | 'reset' | 'remove_from_service' | 'return_to_service';

export interface OperatorAction {
  /** Who: a user name, "cli:root", "cloud:<operator>". Required. */
  by: string;
  /** Why. Required for shelve and remove_from_service (ISA-18.2 management of change). */
  reason: string;
}

export const ALARM_ERRORS = {
  ALARM_UNKNOWN: { means: 'No alarm of that key, or one disabled in the configuration.' },
  ALARM_ILLEGAL_OPERATION: { means: "An operator action the alarm's ISA-18.2 state does not allow." },
  ALARM_SHELVE_TOO_LONG: { means: "A timed shelve longer than the engine's maximum shelve time." },
  ALARM_REASON_REQUIRED: {
    means: 'An operator action without who did it, or a shelve or removal from service without a reason.',
  },
  ALARM_RULE_INVALID: {
    means: 'An alarm rule that cannot be evaluated (duplicate, wrong kind, bad condition).',
  },
} as const satisfies ErrorCatalogue<string>;

export type AlarmErrorCode = keyof typeof ALARM_ERRORS;

export class AlarmError extends errorClass('AlarmError', ALARM_ERRORS) {}

/** Where devices sit, so a dark bus or device can suppress what depends on it. */
export interface AlarmTopology {
  devices: Array<{ deviceId: string; busId: string; children: string[] }>;
}
