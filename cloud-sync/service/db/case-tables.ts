/**
 * Kysely table types of the case service (migration 0004, docs/cases.md): the component registry,
 * cases with their history, operator accounts and sessions, downlink commands and configuration
 * documents. Portable column types as in schema.ts: booleans 0/1, JSON as text, timestamps as
 * ISO 8601 UTC text (the cloud's clock; a gateway's clock is display only).
 */

/** A registered component (部件): one field device with its GB/T 30428.2 16-digit id. */
export interface ComponentsTable {
  /** 16 digits: county (6, GB/T 2260) + major class (2) + subclass (2) + serial (6). */
  component_id: string;
  gateway_id: string;
  /** The device id in that gateway's configuration. */
  device_id: string;
  /** Device family: lamp_concentrator, manhole_cover, gas_detector, strain_gauge (config may add more). */
  family: string;
  /** Major class + subclass, 4 digits (a key of the configured class code table). */
  class_code: string;
  name: string;
  /** Grid cell id (单元网格), 15 digits in the Beijing scheme; null when not assigned. */
  grid_cell: string | null;
  address: string | null;
  latitude: number | null;
  longitude: number | null;
  /** The three owning parties (docs/domain.md "Component ids"). */
  competent_department: string;
  owner_unit: string;
  maintenance_unit: string;
  updated_at: string;
}

/**
 * One case (案卷). `state` is one of cases/workflow.ts CASE_STATES; `suspended` is a flag beside it
 * (a suspended case keeps its state and its clock stops).
 */
export interface CasesTable {
  id: string;
  /** Human-readable number, unique: `YYYYMMDD-NNNNN` of the reporting day (cloud clock, calendar zone). */
  case_no: string;
  state: string;
  /** 1 while suspended (parked): the deadline clock does not run. */
  suspended: number;
  suspended_at: string | null;
  /** Category id from the cases configuration (deadlines and sensor verification come from it). */
  category: string;
  /** 'urgent' or 'normal' (filing/dispatch deadline: 10 / 30 minutes by default, docs/domain.md). */
  severity: string;
  /**
   * Why the case waits at the monitoring desk instead of being filed on its own (migration 0005):
   * its device is not a registered component, or the component has no owner unit. Words for the
   * operator; null when nothing holds it.
   */
  hold_reason: string | null;
  /** The filing rule that opened it; null for a case opened by hand. */
  rule_id: string | null;
  gateway_id: string;
  device_id: string;
  /** `${deviceId}:${ruleKey}` of the alarm the case follows; activations of it attach here. */
  alarm_key: string;
  /** alarm_key while the case is open, NULL once closed or cancelled: unique per gateway (one open case per alarm). */
  open_alarm_key: string | null;
  condition: string;
  /** Null when the device is not in the component registry (the case says so). */
  component_id: string | null;
  grid_cell: string | null;
  /** JSON {address, latitude, longitude} or null. */
  location: string | null;
  competent_department: string | null;
  owner_unit: string | null;
  maintenance_unit: string | null;
  /** JSON: {alarm: the activating alarm_transition event, trend: recent telemetry of the device}. */
  evidence: string;
  /** Highest alarm level seen while the case was open. */
  max_level: number;
  /** Activations attached (the first one included). */
  activations: number;
  /** 1 while the case's alarm condition is active (from the latest transition). */
  alarm_active: number;
  /** Cloud time the alarm last returned to normal, while it stays normal; null when active. */
  alarm_normal_since: string | null;
  /** Set once the alarm stayed normal for the category's time after feedback (for the inspector). */
  sensor_verified_at: string | null;
  reported_at: string;
  filed_at: string | null;
  dispatched_at: string | null;
  accepted_at: string | null;
  feedback_at: string | null;
  closed_at: string | null;
  cancelled_at: string | null;
  /** Filing + dispatch must happen by this time (from reported_at). */
  dispatch_deadline: string;
  /** Handling must be finished (feedback) by this time; set at dispatch, moved by extensions and suspensions. */
  handle_deadline: string | null;
  /** Times the case went back after a failed verification. */
  rework_count: number;
  /** Highest escalation level raised for being overdue (0 = none). */
  escalation_level: number;
  /** 1 when closed at or before handle_deadline (set at closure). */
  closed_on_time: number | null;
  /** Optimistic concurrency: every transition bumps it. */
  revision: number;
  updated_at: string;
}

/** Every step of a case: transitions, attached activations, sensor verification, escalations. */
export interface CaseHistoryTable {
  id: string;
  case_id: string;
  at: string;
  /** Operator username, or 'system' for automatic steps. */
  actor: string;
  /** The role the actor acted in (null for system steps). */
  role: string | null;
  /** A workflow action (file, dispatch ...) or activation, sensor_verified, escalation, alarm_normal. */
  action: string;
  from_state: string | null;
  to_state: string | null;
  note: string | null;
  /** JSON with action-specific detail (deadline moved to, event id attached ...). */
  detail: string | null;
}

/** Alarm activations attached to a case, once each (event_id is unique). */
export interface CaseActivationsTable {
  event_id: string;
  case_id: string;
  gateway_id: string;
  at: string;
  level: number;
  /** JSON of the transition's value. */
  value: string | null;
}

/** Operator accounts of the cloud console and API. */
export interface OperatorsTable {
  username: string;
  display_name: string;
  /** scrypt hash `scrypt$N$r$p$salt$hash` (auth/passwords.ts, runtime/scrypt.ts); never the password. */
  password_hash: string;
  /** JSON array of roles (auth/roles.ts ROLES). */
  roles: string;
  /** For owner-unit operators: the unit whose cases they work; null otherwise. */
  unit: string | null;
  disabled: number;
  created_at: string;
  updated_at: string;
}

/** Bearer sessions; only the SHA-256 of the token is stored. */
export interface SessionsTable {
  token_hash: string;
  username: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  revoked: number;
}

/** Downlink commands (docs/uplink-contract.md, delivery rule 7), one row per command id. */
export interface CommandsTable {
  id: string;
  gateway_id: string;
  action: string;
  target: string;
  /** JSON of the command's params. */
  params: string;
  issued_at: string;
  expires_at: string;
  issued_by: string;
  /** The case this command was issued from, if any. */
  case_id: string | null;
  /**
   * pending (not yet published), sent (published, no result yet), then the gateway's result:
   * succeeded, failed, rejected, expired; or 'unconfirmed' when expired in the cloud without a result.
   */
  status: string;
  published_at: string | null;
  /** Times published (resent while the gateway was away). */
  publish_count: number;
  result_at: string | null;
  error: string | null;
  /** The command_result event that settled it. */
  result_event_id: string | null;
}

/** Versioned configuration documents per gateway (docs/uplink-contract.md, delivery rule 7). */
export interface ConfigVersionsTable {
  gateway_id: string;
  version: number;
  /** SHA-256 of the canonical JSON of the document (contract/config-document.ts). */
  hash: string;
  /** JSON of the document. */
  document: string;
  created_by: string;
  created_at: string;
  note: string | null;
  /** For a rollback: the version whose document this one restores. */
  restores_version: number | null;
  /** pending, applied, rejected, rolled_back, superseded (a newer one was published before a result). */
  status: string;
  result_at: string | null;
  /** JSON array of {pointer, message} from the gateway, for rejected / rolled_back. */
  errors: string | null;
}

/** A technician's local change on a cabinet, reported upstream as a config_override event. */
export interface ConfigOverridesTable {
  /** The config_override event's id. */
  event_id: string;
  gateway_id: string;
  /** JSON pointer in the configuration document's shape (contract/config-document.ts). */
  pointer: string;
  /** 'set' or 'clear'. */
  action: string;
  /** JSON of the value in force locally (null for clear). */
  value: string | null;
  /** JSON of the value the cloud document had there (null when it had none). */
  previous: string | null;
  actor: string;
  reason: string | null;
  /** Gateway wall clock of the change (display only) and cloud time received. */
  ts: string;
  received_at: string;
}

export interface CaseTables {
  components: ComponentsTable;
  cases: CasesTable;
  case_history: CaseHistoryTable;
  case_activations: CaseActivationsTable;
  operators: OperatorsTable;
  sessions: SessionsTable;
  commands: CommandsTable;
  config_versions: ConfigVersionsTable;
  config_overrides: ConfigOverridesTable;
}
