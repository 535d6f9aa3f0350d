/**
 * Device profile model. Profiles are data (device-profiles/<family>/<vendor>-<model>.json, checked
 * against device-profiles/schema/profile.schema.json); this file is their TypeScript shape before
 * (`ProfileDocument`) and after (`LoadedProfile`) the loader expands templates and applies defaults.
 *
 * Addresses are 0-based PDU addresses (Modbus Application Protocol v1.1b3 section 4.4), never the
 * "40001" notation: the profile README explains how to convert from vendor manuals.
 */

export type DeviceFamily = 'lamp-concentrator' | 'manhole-cover' | 'gas-detector' | 'bridge-strain';

/** The four Modbus data tables (MAP v1.1b3 section 4.3). */
export type RegisterTable = 'coil' | 'discrete' | 'holding' | 'input';

// Data types and word orders are protocol facts, so they live with the codec in drivers/.
import type { DataType, WordOrder } from '../../drivers/modbus/datatypes.js';
export type { DataType, WordOrder };

export interface LocalizedText {
  'zh-CN': string;
  en: string;
}

export interface PointDefinition {
  /** snake_case, unique within the device (for template points: unique within the template). */
  id: string;
  name: LocalizedText;
  table: RegisterTable;
  /** 0-based PDU address; inside a template, relative to the block instance's base for that table. */
  address: number;
  /** coil and discrete points are always 'bool'. */
  type: DataType;
  /** For a bool packed into a holding/input register: bit 0 (LSB) .. 15. */
  bit?: number;
  /** Only for 32-bit types; defaults to the profile's quirks.wordOrder, then ABCD. */
  wordOrder?: WordOrder;
  /** engineering value = raw * scale + offset. Defaults 1 and 0. */
  scale?: number;
  offset?: number;
  /** Required for every non-bool point (use "1" for dimensionless counts, "%" for percentages). */
  unit?: string;
  writable?: boolean;
  /** Engineering range. Required on writable non-bool points; min <= max. */
  min?: number;
  max?: number;
  description?: string;
}

/** A repeated register block (e.g. 16 single-lamp controllers behind one concentrator). */
export interface BlockDefinition {
  /** snake_case; child ids are `${id}_${nn}` with nn 1-based and zero-padded to 2 digits. */
  id: string;
  /** Name of a template in device-profiles/templates/ (file `<template>.json`). */
  template: string;
  count: number;
  /** Base address per table for instance 1. Instance n adds (n-1) * stride. */
  base: Partial<Record<RegisterTable, number>>;
  stride: number;
  name?: LocalizedText;
}

export interface ForbiddenRange {
  table: RegisterTable;
  /** Inclusive first and last address that must never be read (the device answers with an exception or hangs). */
  start: number;
  end: number;
  /**
   * Why, for people: the refusal of a technician's on-demand read quotes it (BusScheduler.read,
   * BUS_FORBIDDEN_RANGE). Optional: the range is forbidden either way.
   */
  reason?: LocalizedText;
}

/** Device quirks are flags, never `if (model === ...)` in code (ARCHITECTURE.md, "Invariants"). */
export interface ModbusQuirks {
  wordOrder?: WordOrder;
  /** Cap for FC3/FC4 quantity; the protocol maximum is 125 (MAP v1.1b3 section 6.3). */
  maxRegistersPerRead?: number;
  /** Cap for FC1/FC2 quantity; the protocol maximum is 2000 (MAP v1.1b3 section 6.1). */
  maxBitsPerRead?: number;
  /** Device lacks FC16: multi-register writes go out as FC6 per register. */
  noFc16?: boolean;
  /** Extra silence the device needs between frames, on top of t3.5. */
  interFrameDelayMs?: number;
  forbiddenRanges?: ForbiddenRange[];
  responseTimeoutMs?: number;
}

export type AlarmKind = 'high' | 'low' | 'boolean' | 'rate' | 'stale' | 'comm_loss';

export interface AlarmLevel {
  level: 1 | 2 | 3;
  setpoint: number;
  priority?: 'low' | 'medium' | 'high' | 'critical';
}

export interface AlarmRuleDefault {
  /** snake_case, unique within the profile (template rules: unique within the template). */
  id: string;
  kind: AlarmKind;
  /** Point the rule watches; absent only for comm_loss (the device as a whole). */
  point?: string;
  levels?: AlarmLevel[];
  /** For boolean rules: the value that means "in alarm" (default true). */
  activeWhen?: boolean;
  deadband?: number;
  onDelayS?: number;
  offDelayS?: number;
  /** For rate rules: engineering units per second. For stale/comm_loss: seconds without data. */
  rateLimit?: number;
  staleAfterS?: number;
  /**
   * Stale rules only: a numeric value that repeats exactly also counts as no new data (heartbeat
   * counters, frozen sensors). Off by default: a clean-air gas sensor legitimately reads 0.0 for hours.
   */
  staleWhenUnchanged?: boolean;
  latched?: boolean;
  /** Where the default comes from (docs/domain.md), e.g. "GB/T 50493-2019: level 1 at 100% of MAC". */
  source: string;
  message?: LocalizedText;
}

export interface ProfileDocument {
  $schema?: string;
  id: string;
  family: DeviceFamily;
  vendor: string;
  model: string;
  name: LocalizedText;
  description?: string;
  protocol: 'modbus';
  poll: { intervalMs: number };
  quirks?: ModbusQuirks;
  points: PointDefinition[];
  blocks?: BlockDefinition[];
  alarms?: AlarmRuleDefault[];
}

export interface TemplateDocument {
  $schema?: string;
  id: string;
  name: LocalizedText;
  description?: string;
  points: PointDefinition[];
  alarms?: AlarmRuleDefault[];
}

/** A point after template expansion with every default applied. */
export interface ResolvedPoint {
  /** Unique within the device: `id` for device points, `${child}.${id}` for block points. */
  key: string;
  id: string;
  /** Child (logical device) id such as "lamp_03", or null for the device's own points. */
  child: string | null;
  name: LocalizedText;
  table: RegisterTable;
  /** Absolute 0-based PDU address. */
  address: number;
  /** Registers (holding/input) or bits (coil/discrete) occupied: 1, or 2 for 32-bit types. */
  count: number;
  type: DataType;
  bit: number | null;
  wordOrder: WordOrder;
  scale: number;
  offset: number;
  unit: string | null;
  writable: boolean;
  min: number | null;
  max: number | null;
}

export interface ResolvedChild {
  id: string;
  blockId: string;
  index: number;
  template: string;
  name: LocalizedText;
}

export interface ResolvedAlarmRule extends AlarmRuleDefault {
  /** Rule key unique within the device: `id` or `${child}.${id}`. */
  key: string;
  child: string | null;
  /** Resolved point key, absent for comm_loss. */
  pointKey?: string;
}

export interface ResolvedQuirks {
  wordOrder: WordOrder;
  maxRegistersPerRead: number;
  maxBitsPerRead: number;
  noFc16: boolean;
  interFrameDelayMs: number;
  forbiddenRanges: ForbiddenRange[];
  responseTimeoutMs: number;
}

export interface LoadedProfile {
  id: string;
  family: DeviceFamily;
  vendor: string;
  model: string;
  name: LocalizedText;
  /** Path the profile was loaded from (for error messages). */
  file: string;
  pollIntervalMs: number;
  quirks: ResolvedQuirks;
  points: ResolvedPoint[];
  children: ResolvedChild[];
  alarms: ResolvedAlarmRule[];
}
