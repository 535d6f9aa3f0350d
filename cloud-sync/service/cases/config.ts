/**
 * Configuration of the case service (docs/cases.md): the component class code table, case
 * categories with their deadlines, the filing rules that turn alarms into cases, and the working
 * calendar deadlines are counted in. Defaults follow docs/domain.md (sources beside each value); a
 * deployment overrides any part in the `cases` section of the service's configuration file.
 */

/** One entry of the component class table (GB/T 30428.2: major class 2 digits + subclass 2 digits). */
export interface ComponentClass {
  /** 4 digits: major class + subclass, e.g. "0102" sewer cover. */
  code: string;
  name: { 'zh-CN': string; en: string };
}

export type Severity = 'urgent' | 'normal';

/** How long a step may take: minutes of calendar time, or of working time on the calendar. */
export interface Allowance {
  minutes: number;
  /** true: counted in working time (calendar below); false: around the clock. */
  workingTime: boolean;
}

export interface CaseCategory {
  id: string;
  name: { 'zh-CN': string; en: string };
  /** Filing and dispatch, from the report (docs/domain.md: 10 min urgent, 30 min normal). */
  dispatchWithin: Record<Severity, Allowance>;
  /** Handling up to feedback, from dispatch (the deadline clock starts at dispatch). */
  handleWithin: Allowance;
  /** How long the alarm must stay normal after feedback before the case is sensor-verified, s. */
  sensorVerifyAfterS: number;
  /** Escalate again every this many minutes past a deadline (level 1, 2, 3 ...); at most maxEscalationLevel. */
  escalateEveryMin: number;
  maxEscalationLevel: number;
}

/**
 * A filing rule: an alarm activation matching it opens a case (or attaches to the open one of the
 * same device and alarm). Rules are tried in order; the first match wins. An empty or absent
 * match list matches anything.
 */
export interface FilingRule {
  id: string;
  /** Device families (component registry), e.g. gas-detector, manhole-cover. */
  families?: string[];
  /** Component class codes (4 digits), e.g. "0102". */
  classCodes?: string[];
  /** Alarm conditions (high, low, boolean, stale, comm_loss, lamp_failure ...). */
  conditions?: string[];
  /** Rule keys; a trailing `*` matches a prefix (`h2s*`). */
  ruleKeys?: string[];
  /** Lowest alarm level that files (1..3). */
  minLevel: number;
  category: string;
  severity: Severity;
  /**
   * true: filed automatically (docs/cases.md); false: the case waits in `reported` for the
   * monitoring centre to file or cancel it.
   */
  autoFile: boolean;
}

/** A working calendar: which local hours count as working time (deadlines in working time). */
export interface WorkingCalendarConfig {
  /** IANA zone of the city, e.g. Asia/Shanghai. */
  timeZone: string;
  /** ISO weekdays that are working days (1 = Monday ... 7 = Sunday). */
  workingDays: number[];
  /** Working periods of a working day, local "HH:MM"-"HH:MM", in order, not overlapping. */
  hours: Array<{ from: string; to: string }>;
  /** Local dates "YYYY-MM-DD" that are not worked although their weekday is (public holidays). */
  holidays: string[];
  /** Local dates that are worked although their weekday is not (调休 make-up days). */
  extraWorkingDays: string[];
}

export interface CasesConfig {
  /** 6-digit county code (GB/T 2260) every component id must start with; null: any. */
  countyCode: string | null;
  classes: ComponentClass[];
  categories: CaseCategory[];
  rules: FilingRule[];
  calendar: WorkingCalendarConfig;
  /** Minutes of telemetry before the activation kept as the case's trend evidence. */
  trendWindowMin: number;
  /** How often overdue and sensor verification are checked, s. */
  monitorIntervalS: number;
}

const calendarMinutes = (minutes: number): Allowance => ({ minutes, workingTime: false });
const workingMinutes = (minutes: number): Allowance => ({ minutes, workingTime: true });

/** docs/domain.md "The case workflow": filing and dispatch within 10 min (urgent) / 30 min (normal). */
const DISPATCH = { urgent: calendarMinutes(10), normal: calendarMinutes(30) };

export const DEFAULT_CASES_CONFIG: CasesConfig = {
  countyCode: null,
  // docs/domain.md: 0101 water-supply cover and 0102 sewer cover are confirmed by real ids; the
  // others differ between local tables, which is why this is configuration.
  classes: [
    { code: '0101', name: { 'zh-CN': '上水井盖', en: 'Water-supply manhole cover' } },
    { code: '0102', name: { 'zh-CN': '污水井盖', en: 'Sewer manhole cover' } },
    { code: '0103', name: { 'zh-CN': '雨水井盖', en: 'Storm-drain manhole cover' } },
    { code: '0110', name: { 'zh-CN': '路灯', en: 'Street lamp' } },
    { code: '0111', name: { 'zh-CN': '路灯控制箱', en: 'Lighting cabinet' } },
    { code: '0120', name: { 'zh-CN': '有害气体监测点', en: 'Hazardous-gas monitoring point' } },
    { code: '0130', name: { 'zh-CN': '桥梁', en: 'Bridge' } },
  ],
  categories: [
    {
      id: 'hazardous_gas',
      name: { 'zh-CN': '有害气体超标', en: 'Hazardous gas' },
      dispatchWithin: DISPATCH,
      // Treated like a missing cover: on site fast, made safe within hours (docs/domain.md).
      handleWithin: calendarMinutes(240),
      sensorVerifyAfterS: 600,
      escalateEveryMin: 30,
      maxEscalationLevel: 3,
    },
    {
      id: 'manhole_cover',
      name: { 'zh-CN': '井盖异常', en: 'Manhole cover' },
      dispatchWithin: DISPATCH,
      // docs/domain.md: cover missing or broken: on site within 30 min, repaired within 2-6 h.
      handleWithin: calendarMinutes(360),
      sensorVerifyAfterS: 300,
      escalateEveryMin: 30,
      maxEscalationLevel: 3,
    },
    {
      id: 'lighting_fault',
      name: { 'zh-CN': '路灯故障', en: 'Street-lighting fault' },
      dispatchWithin: DISPATCH,
      // docs/domain.md: three lamps out in a row: fixed within one working day (8 working hours).
      handleWithin: workingMinutes(480),
      sensorVerifyAfterS: 900,
      escalateEveryMin: 240,
      maxEscalationLevel: 3,
    },
    {
      id: 'structure',
      name: { 'zh-CN': '桥梁结构预警', en: 'Bridge structure warning' },
      dispatchWithin: DISPATCH,
      handleWithin: workingMinutes(480),
      sensorVerifyAfterS: 900,
      escalateEveryMin: 120,
      maxEscalationLevel: 3,
    },
    {
      id: 'device_fault',
      name: { 'zh-CN': '设备故障', en: 'Device fault' },
      dispatchWithin: DISPATCH,
      // Ordinary faults: within 24 h (docs/domain.md), here three working days of 8 h.
      handleWithin: workingMinutes(1440),
      sensorVerifyAfterS: 900,
      escalateEveryMin: 480,
      maxEscalationLevel: 3,
    },
  ],
  rules: [
    {
      id: 'gas-level-2',
      families: ['gas-detector'],
      conditions: ['high', 'low'],
      minLevel: 2,
      category: 'hazardous_gas',
      severity: 'urgent',
      autoFile: true,
    },
    {
      id: 'gas-level-1',
      families: ['gas-detector'],
      conditions: ['high', 'low'],
      minLevel: 1,
      category: 'hazardous_gas',
      severity: 'normal',
      autoFile: true,
    },
    {
      id: 'cover-off',
      families: ['manhole-cover'],
      ruleKeys: ['cover_off', 'cover_open'],
      minLevel: 1,
      category: 'manhole_cover',
      severity: 'urgent',
      autoFile: true,
    },
    {
      id: 'cover-tilt',
      families: ['manhole-cover'],
      ruleKeys: ['tilt_high', 'water_high'],
      minLevel: 1,
      category: 'manhole_cover',
      severity: 'urgent',
      autoFile: true,
    },
    {
      id: 'lighting',
      families: ['lamp-concentrator'],
      conditions: ['lamp_failure', 'switching_error', 'lit_rate_low', 'high', 'low', 'boolean'],
      minLevel: 1,
      category: 'lighting_fault',
      severity: 'normal',
      autoFile: true,
    },
    {
      id: 'bridge-overload',
      families: ['bridge-strain'],
      conditions: ['high', 'overweight'],
      minLevel: 2,
      category: 'structure',
      severity: 'urgent',
      autoFile: true,
    },
    {
      // Sensor faults and lost communication wait for the monitoring centre to confirm.
      id: 'device-fault',
      conditions: ['boolean', 'stale', 'comm_loss'],
      minLevel: 1,
      category: 'device_fault',
      severity: 'normal',
      autoFile: false,
    },
  ],
  calendar: {
    timeZone: 'Asia/Shanghai',
    workingDays: [1, 2, 3, 4, 5],
    hours: [
      { from: '08:30', to: '12:00' },
      { from: '13:30', to: '17:30' },
    ],
    holidays: [],
    extraWorkingDays: [],
  },
  trendWindowMin: 30,
  monitorIntervalS: 15,
};

const name = {
  type: 'object',
  properties: { 'zh-CN': { type: 'string', minLength: 1 }, en: { type: 'string', minLength: 1 } },
  required: ['zh-CN', 'en'],
  additionalProperties: false,
} as const;
const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' } as const;
const allowance = {
  type: 'object',
  properties: {
    minutes: { type: 'integer', minimum: 1, maximum: 525_600 },
    workingTime: { type: 'boolean' },
  },
  required: ['minutes', 'workingTime'],
  additionalProperties: false,
} as const;
const strings = (pattern?: string): Record<string, unknown> => ({
  type: 'array',
  maxItems: 1000,
  items:
    pattern === undefined ? { type: 'string', minLength: 1, maxLength: 128 } : { type: 'string', pattern },
});
const localDate = '^\\d{4}-\\d{2}-\\d{2}$';
const localTime = '^([01]\\d|2[0-3]):[0-5]\\d$|^24:00$';

/**
 * JSON Schema of the `cases` section of the service configuration. Each key present replaces the
 * default as a whole (a deployment writing `rules` writes all of its rules); semantic checks
 * (ids unique, categories exist, calendar valid) are in config-validate.ts.
 */
export const CASES_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    countyCode: { type: ['string', 'null'], pattern: '^\\d{6}$' },
    classes: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        properties: { code: { type: 'string', pattern: '^\\d{4}$' }, name },
        required: ['code', 'name'],
        additionalProperties: false,
      },
    },
    categories: {
      type: 'array',
      minItems: 1,
      maxItems: 200,
      items: {
        type: 'object',
        properties: {
          id,
          name,
          dispatchWithin: {
            type: 'object',
            properties: { urgent: allowance, normal: allowance },
            required: ['urgent', 'normal'],
            additionalProperties: false,
          },
          handleWithin: allowance,
          sensorVerifyAfterS: { type: 'integer', minimum: 0, maximum: 604_800 },
          escalateEveryMin: { type: 'integer', minimum: 1, maximum: 525_600 },
          maxEscalationLevel: { type: 'integer', minimum: 1, maximum: 10 },
        },
        required: [
          'id',
          'name',
          'dispatchWithin',
          'handleWithin',
          'sensorVerifyAfterS',
          'escalateEveryMin',
          'maxEscalationLevel',
        ],
        additionalProperties: false,
      },
    },
    rules: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        properties: {
          id,
          families: strings(),
          classCodes: strings('^\\d{4}$'),
          conditions: strings(),
          ruleKeys: strings(),
          minLevel: { type: 'integer', minimum: 1, maximum: 3 },
          category: id,
          severity: { enum: ['urgent', 'normal'] },
          autoFile: { type: 'boolean' },
        },
        required: ['id', 'minLevel', 'category', 'severity', 'autoFile'],
        additionalProperties: false,
      },
    },
    calendar: {
      type: 'object',
      properties: {
        timeZone: { type: 'string', minLength: 1, maxLength: 64 },
        workingDays: { type: 'array', maxItems: 7, items: { type: 'integer', minimum: 1, maximum: 7 } },
        hours: {
          type: 'array',
          maxItems: 12,
          items: {
            type: 'object',
            properties: {
              from: { type: 'string', pattern: localTime },
              to: { type: 'string', pattern: localTime },
            },
            required: ['from', 'to'],
            additionalProperties: false,
          },
        },
        holidays: strings(localDate),
        extraWorkingDays: strings(localDate),
      },
      required: ['timeZone', 'workingDays', 'hours', 'holidays', 'extraWorkingDays'],
      additionalProperties: false,
    },
    trendWindowMin: { type: 'integer', minimum: 1, maximum: 1440 },
    monitorIntervalS: { type: 'integer', minimum: 1, maximum: 3600 },
  },
} as const;

/** The defaults with the configured keys replacing theirs. */
export function resolveCasesConfig(configured: Partial<CasesConfig> | undefined): CasesConfig {
  return { ...structuredClone(DEFAULT_CASES_CONFIG), ...structuredClone(configured ?? {}) };
}
