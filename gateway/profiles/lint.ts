/**
 * Semantic lint of profile and template documents: the rules a JSON Schema cannot express
 * comfortably (overlapping registers, units, alarm references ...). Input documents have already
 * passed the schema, so shapes and enums can be trusted here. Every finding carries the JSON
 * pointer of the value to fix; the loader adds file and line.
 */
import type { Finding } from './json-source.js';
import { childId, occupiedCount } from './expand.js';
import type {
  AlarmRuleDefault,
  ForbiddenRange,
  PointDefinition,
  ProfileDocument,
  RegisterTable,
  TemplateDocument,
} from './types.js';

/** Finds a template by name: the document, 'invalid' (its own issues are reported elsewhere), or undefined. */
export type TemplateLookup = (name: string) => TemplateDocument | 'invalid' | undefined;

const LAST_ADDRESS = 0xffff; // 16-bit PDU address space (MAP v1.1b3 section 4.4)

const TABLE_WORDS: Record<RegisterTable, string> = {
  coil: 'coil',
  discrete: 'discrete input',
  holding: 'holding register',
  input: 'input register',
};

function where(table: RegisterTable, address: number, bit: number | null): string {
  return bit === null ? `${TABLE_WORDS[table]} ${address}` : `${TABLE_WORDS[table]} ${address} bit ${bit}`;
}

export function lintProfileDocument(doc: ProfileDocument, templates: TemplateLookup): Finding[] {
  const findings: Finding[] = [];
  const forbidden = doc.quirks?.forbiddenRanges ?? [];
  lintQuirks(doc, templates, findings);

  const points = lintPointList(doc.points, '/points', findings);
  const map = new RegisterMap();
  doc.points.forEach((point, i) => {
    const P = `/points/${i}`;
    const count = occupiedCount(point);
    if (point.address + count - 1 > LAST_ADDRESS) {
      findings.push({
        pointer: `${P}/address`,
        message: `${point.type} at ${point.address} runs past address 65535`,
      });
      return;
    }
    const placed = { table: point.table, address: point.address, count, bit: point.bit ?? null };
    const clash = map.place(placed, `point '${point.id}'`, 'points');
    if (clash !== undefined) {
      // Two bools on the same bit: the bit is what to fix; otherwise the address is.
      const sameBit = placed.bit !== null && clash.bit === placed.bit;
      findings.push({
        pointer: sameBit ? `${P}/bit` : `${P}/address`,
        message: `${where(point.table, clash.address, placed.bit)} is already used by ${clash.label}`,
      });
    }
    const range = forbiddenHit(forbidden, placed.table, placed.address, count);
    if (range !== undefined) {
      findings.push({
        pointer: `${P}/address`,
        message: `${where(point.table, point.address, null)} lies in forbidden range ${range.start}..${range.end}`,
      });
    }
  });

  lintBlocks(doc, templates, map, forbidden, findings);
  lintAlarmList(doc.alarms ?? [], points, 'profile', findings);
  return findings;
}

export function lintTemplateDocument(doc: TemplateDocument): Finding[] {
  const findings: Finding[] = [];
  const points = lintPointList(doc.points, '/points', findings);
  // Template addresses are relative; overlaps inside one instance are checked here, overlaps
  // between instances (stride) and with the device's own points when a profile uses the template.
  const map = new RegisterMap();
  doc.points.forEach((point, i) => {
    const placed = {
      table: point.table,
      address: point.address,
      count: occupiedCount(point),
      bit: point.bit ?? null,
    };
    const clash = map.place(placed, `point '${point.id}'`, 'points');
    if (clash !== undefined) {
      const sameBit = placed.bit !== null && clash.bit === placed.bit;
      findings.push({
        pointer: sameBit ? `/points/${i}/bit` : `/points/${i}/address`,
        message: `${where(point.table, clash.address, placed.bit)} (relative) is already used by ${clash.label}`,
      });
    }
  });
  lintAlarmList(doc.alarms ?? [], points, 'template', findings);
  return findings;
}

function lintQuirks(doc: ProfileDocument, templates: TemplateLookup, findings: Finding[]): void {
  const quirks = doc.quirks;
  if (quirks === undefined) return;
  quirks.forbiddenRanges?.forEach((range, i) => {
    if (range.start > range.end) {
      findings.push({
        pointer: `/quirks/forbiddenRanges/${i}/end`,
        message: `end ${range.end} is before start ${range.start}`,
      });
    }
  });
  // A 32-bit value must come back in one read, or its two halves could be from different moments.
  if (quirks.maxRegistersPerRead !== undefined && quirks.maxRegistersPerRead < 2) {
    const templatePoints = (doc.blocks ?? []).flatMap((b) => {
      const t = templates(b.template);
      return typeof t === 'object' ? t.points : [];
    });
    const wide = [...doc.points, ...templatePoints].find((p) => occupiedCount(p) === 2);
    if (wide !== undefined) {
      findings.push({
        pointer: '/quirks/maxRegistersPerRead',
        message: `must be at least 2: point '${wide.id}' is ${wide.type} and spans two registers`,
      });
    }
  }
}

/** Per-point rules and unique ids; returns the points by id for alarm references. */
function lintPointList(
  points: readonly PointDefinition[],
  prefix: string,
  findings: Finding[],
): Map<string, PointDefinition> {
  const byId = new Map<string, PointDefinition>();
  const firstIndex = new Map<string, number>();
  points.forEach((point, i) => {
    const P = `${prefix}/${i}`;
    const first = firstIndex.get(point.id);
    if (first !== undefined) {
      findings.push({
        pointer: `${P}/id`,
        message: `duplicate point id '${point.id}' (first at ${prefix}/${first})`,
      });
    } else {
      firstIndex.set(point.id, i);
      byId.set(point.id, point);
    }
    lintPoint(point, P, findings);
  });
  return byId;
}

function lintPoint(point: PointDefinition, P: string, findings: Finding[]): void {
  const bitTable = point.table === 'coil' || point.table === 'discrete';
  const isBool = point.type === 'bool';
  // Coils and discrete inputs are single-bit objects (MAP v1.1b3 section 4.3).
  if (bitTable && !isBool) {
    findings.push({
      pointer: `${P}/type`,
      message: `${point.table} points are single bits and must be type 'bool'`,
    });
  }
  if (point.bit !== undefined) {
    if (bitTable) {
      findings.push({
        pointer: `${P}/bit`,
        message: `'bit' is only for bools packed into holding/input registers`,
      });
    } else if (!isBool) {
      findings.push({
        pointer: `${P}/bit`,
        message: `'bit' needs type 'bool' (a ${point.type} fills its register)`,
      });
    }
  }
  if (point.wordOrder !== undefined && occupiedCount(point) !== 2) {
    findings.push({
      pointer: `${P}/wordOrder`,
      message: `'wordOrder' applies only to 32-bit types, not ${point.type}`,
    });
  }
  // Only coils (FC5/FC15) and holding registers (FC6/FC16) can be written (MAP v1.1b3 section 4.3).
  if (point.writable === true && (point.table === 'discrete' || point.table === 'input')) {
    findings.push({ pointer: `${P}/writable`, message: `${TABLE_WORDS[point.table]}s are read-only` });
  }
  if (isBool) {
    for (const field of ['unit', 'scale', 'offset', 'min', 'max'] as const) {
      if (point[field] !== undefined) {
        findings.push({ pointer: `${P}/${field}`, message: `'${field}' has no meaning on a bool point` });
      }
    }
    return;
  }
  if (point.unit === undefined) {
    findings.push({
      pointer: P,
      message: `point '${point.id}' needs a unit ("1" for counts, "%" for percentages)`,
    });
  }
  if (point.scale === 0) {
    findings.push({ pointer: `${P}/scale`, message: 'scale must not be 0 (writes divide by it)' });
  }
  if (point.writable === true && (point.min === undefined || point.max === undefined)) {
    findings.push({ pointer: P, message: `writable point '${point.id}' needs both 'min' and 'max'` });
  }
  if (point.min !== undefined && point.max !== undefined && point.min > point.max) {
    findings.push({ pointer: `${P}/max`, message: `max ${point.max} is below min ${point.min}` });
  }
}

function lintBlocks(
  doc: ProfileDocument,
  templates: TemplateLookup,
  map: RegisterMap,
  forbidden: readonly ForbiddenRange[],
  findings: Finding[],
): void {
  const firstIndex = new Map<string, number>();
  (doc.blocks ?? []).forEach((block, b) => {
    const B = `/blocks/${b}`;
    const first = firstIndex.get(block.id);
    if (first !== undefined) {
      findings.push({
        pointer: `${B}/id`,
        message: `duplicate block id '${block.id}' (first at /blocks/${first})`,
      });
      return;
    }
    firstIndex.set(block.id, b);
    const template = templates(block.template);
    if (template === undefined) {
      findings.push({
        pointer: `${B}/template`,
        message: `no template '${block.template}' (expected templates/${block.template}.json)`,
      });
      return;
    }
    if (template === 'invalid') {
      findings.push({
        pointer: `${B}/template`,
        message: `template '${block.template}' is invalid (see the issues reported for its file)`,
      });
      return;
    }
    const usedTables = new Set(template.points.map((p) => p.table));
    for (const table of usedTables) {
      if (block.base[table] === undefined) {
        findings.push({
          pointer: `${B}/base`,
          message: `no base address for table '${table}' used by the template`,
        });
      }
    }
    for (const table of Object.keys(block.base) as RegisterTable[]) {
      if (!usedTables.has(table)) {
        findings.push({
          pointer: `${B}/base/${table}`,
          message: `template '${block.template}' has no ${table} points`,
        });
      }
    }

    // Report each kind of problem once per block (or per block and table), not once per instance.
    const reported = new Set<string>();
    const report = (key: string, finding: Finding): void => {
      if (reported.has(key)) return;
      reported.add(key);
      findings.push(finding);
    };
    const owner = `block:${b}`;
    for (let n = 1; n <= block.count; n++) {
      const child = childId(block.id, n);
      for (const point of template.points) {
        const base = block.base[point.table];
        if (base === undefined) continue;
        const count = occupiedCount(point);
        const address = base + (n - 1) * block.stride + point.address;
        const label = `${child}.${point.id}`;
        if (address + count - 1 > LAST_ADDRESS) {
          report('range', {
            pointer: `${B}/count`,
            message: `instance ${n} (${label}) runs past address 65535`,
          });
          continue;
        }
        const placed = { table: point.table, address, count, bit: point.bit ?? null };
        const clash = map.place(placed, `'${label}'`, owner);
        if (clash !== undefined) {
          if (clash.owner === owner) {
            report('stride', {
              pointer: `${B}/stride`,
              message: `instances overlap: '${label}' at ${where(point.table, clash.address, placed.bit)} collides with ${clash.label}; stride ${block.stride} is smaller than the template's ${point.table} span of ${templateSpan(template, point.table)}`,
            });
          } else {
            report(`clash:${point.table}`, {
              pointer: `${B}/base/${point.table}`,
              message: `'${label}' at ${where(point.table, clash.address, placed.bit)} overlaps ${clash.label}`,
            });
          }
        }
        const range = forbiddenHit(forbidden, point.table, address, count);
        if (range !== undefined) {
          report(`forbidden:${point.table}`, {
            pointer: `${B}/base/${point.table}`,
            message: `'${label}' at ${where(point.table, address, null)} lies in forbidden range ${range.start}..${range.end}`,
          });
        }
      }
    }
  });
}

/** Addresses one template instance occupies in `table`: the smallest stride that avoids overlap. */
function templateSpan(template: TemplateDocument, table: RegisterTable): number {
  let span = 0;
  for (const p of template.points) if (p.table === table) span = Math.max(span, p.address + occupiedCount(p));
  return span;
}

function forbiddenHit(
  ranges: readonly ForbiddenRange[],
  table: RegisterTable,
  address: number,
  count: number,
): ForbiddenRange | undefined {
  return ranges.find((r) => r.table === table && address <= r.end && address + count - 1 >= r.start);
}

const LEVEL_KINDS = new Set(['high', 'low']);
const DEADBAND_KINDS = new Set(['high', 'low', 'rate']);
const STALE_KINDS = new Set(['stale', 'comm_loss']);

function lintAlarmList(
  rules: readonly AlarmRuleDefault[],
  points: ReadonlyMap<string, PointDefinition>,
  scope: 'profile' | 'template',
  findings: Finding[],
): void {
  const firstIndex = new Map<string, number>();
  rules.forEach((rule, i) => {
    const A = `/alarms/${i}`;
    const first = firstIndex.get(rule.id);
    if (first !== undefined) {
      findings.push({
        pointer: `${A}/id`,
        message: `duplicate alarm rule id '${rule.id}' (first at /alarms/${first})`,
      });
    } else {
      firstIndex.set(rule.id, i);
    }
    lintAlarmRule(rule, A, points, scope, findings);
  });
}

function lintAlarmRule(
  rule: AlarmRuleDefault,
  A: string,
  points: ReadonlyMap<string, PointDefinition>,
  scope: 'profile' | 'template',
  findings: Finding[],
): void {
  const misplaced = (field: keyof AlarmRuleDefault, allowed: string): void => {
    if (rule[field] !== undefined) {
      findings.push({ pointer: `${A}/${field}`, message: `'${field}' applies only to ${allowed} rules` });
    }
  };
  if (rule.kind !== 'boolean') misplaced('activeWhen', 'boolean');
  if (!LEVEL_KINDS.has(rule.kind)) misplaced('levels', 'high and low');
  if (!DEADBAND_KINDS.has(rule.kind)) misplaced('deadband', 'high, low and rate');
  if (rule.kind !== 'rate') misplaced('rateLimit', 'rate');
  if (!STALE_KINDS.has(rule.kind)) misplaced('staleAfterS', 'stale and comm_loss');

  if (rule.kind === 'comm_loss') {
    if (scope === 'template') {
      // A child behind a concentrator has no link of its own; its presence is a status point.
      findings.push({
        pointer: `${A}/kind`,
        message: `templates cannot have comm_loss rules: use a boolean rule on the child's status point`,
      });
    }
    if (rule.point !== undefined) {
      findings.push({
        pointer: `${A}/point`,
        message: `comm_loss watches the whole device and takes no point`,
      });
    }
  } else if (rule.point === undefined) {
    findings.push({ pointer: A, message: `${rule.kind} rule '${rule.id}' needs a 'point'` });
  } else {
    const point = points.get(rule.point);
    if (point === undefined) {
      findings.push({ pointer: `${A}/point`, message: `no point '${rule.point}' in this ${scope}` });
    } else if (rule.kind === 'boolean' && point.type !== 'bool') {
      findings.push({
        pointer: `${A}/point`,
        message: `boolean rule needs a bool point, '${point.id}' is ${point.type}`,
      });
    } else if ((LEVEL_KINDS.has(rule.kind) || rule.kind === 'rate') && point.type === 'bool') {
      findings.push({
        pointer: `${A}/point`,
        message: `${rule.kind} rule needs a numeric point, '${point.id}' is bool`,
      });
    }
  }

  if (STALE_KINDS.has(rule.kind) && rule.staleAfterS === undefined) {
    findings.push({ pointer: A, message: `${rule.kind} rule '${rule.id}' needs 'staleAfterS'` });
  }
  if (rule.kind === 'rate' && rule.rateLimit === undefined) {
    findings.push({ pointer: A, message: `rate rule '${rule.id}' needs 'rateLimit'` });
  }
  if (LEVEL_KINDS.has(rule.kind)) {
    if (rule.levels === undefined) {
      findings.push({ pointer: A, message: `${rule.kind} rule '${rule.id}' needs 'levels'` });
    } else {
      lintLevels(rule, A, findings);
    }
  }
}

/** Levels are listed 1, 2, 3 and get more severe: rising setpoints for high, falling for low. */
function lintLevels(rule: AlarmRuleDefault, A: string, findings: Finding[]): void {
  const levels = rule.levels ?? [];
  levels.forEach((level, k) => {
    if (level.level !== k + 1) {
      findings.push({
        pointer: `${A}/levels/${k}/level`,
        message: `expected level ${k + 1}: list levels as 1, 2, 3`,
      });
    }
    const previous = levels[k - 1];
    if (previous === undefined) return;
    if (rule.kind === 'high' && !(level.setpoint > previous.setpoint)) {
      findings.push({
        pointer: `${A}/levels/${k}/setpoint`,
        message: `high rule setpoints must rise with the level: ${level.setpoint} is not above ${previous.setpoint}`,
      });
    }
    if (rule.kind === 'low' && !(level.setpoint < previous.setpoint)) {
      findings.push({
        pointer: `${A}/levels/${k}/setpoint`,
        message: `low rule setpoints must fall with the level: ${level.setpoint} is not below ${previous.setpoint}`,
      });
    }
  });
}

interface Placed {
  table: RegisterTable;
  address: number;
  count: number;
  bit: number | null;
}

interface Clash {
  /** The address of the first register (or bit object) in conflict. */
  address: number;
  /** The earlier occupant's bit, null when it fills the register. */
  bit: number | null;
  label: string;
  owner: string;
}

/**
 * Which registers (and which bits of them) are taken. Bools packed into a register may share it
 * with other packed bools on different bits; anything else needs the register to itself.
 */
class RegisterMap {
  private readonly cells = new Map<string, { bit: number | null; label: string; owner: string }[]>();

  /** Records `placed` and returns the first earlier occupant it collides with, if any. */
  place(placed: Placed, label: string, owner: string): Clash | undefined {
    let clash: Clash | undefined;
    for (let a = placed.address; a < placed.address + placed.count; a++) {
      const key = `${placed.table}:${a}`;
      const cell = this.cells.get(key) ?? [];
      if (clash === undefined) {
        const other = cell.find((o) => o.bit === null || placed.bit === null || o.bit === placed.bit);
        if (other !== undefined)
          clash = { address: a, bit: other.bit, label: other.label, owner: other.owner };
      }
      cell.push({ bit: placed.bit, label, owner });
      this.cells.set(key, cell);
    }
    return clash;
  }
}
