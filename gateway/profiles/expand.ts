/**
 * Expansion of a checked profile into a LoadedProfile: block templates become child points and
 * rules, and every default is applied once here so that no consumer has to know them.
 */
import { registerCount } from '../../drivers/modbus/datatypes.js';
import type {
  AlarmRuleDefault,
  LoadedProfile,
  PointDefinition,
  ProfileDocument,
  ResolvedAlarmRule,
  ResolvedChild,
  ResolvedPoint,
  ResolvedQuirks,
  TemplateDocument,
  WordOrder,
} from './types.js';

/** Defaults for absent quirks (protocol maxima from MAP v1.1b3 sections 6.1 and 6.3). */
export const QUIRK_DEFAULTS: Readonly<Omit<ResolvedQuirks, 'forbiddenRanges'>> = {
  wordOrder: 'ABCD',
  maxRegistersPerRead: 125,
  maxBitsPerRead: 2000,
  noFc16: false,
  interFrameDelayMs: 0,
  responseTimeoutMs: 1000,
};

/** Child (logical device) id of instance `n` (1-based) of a block: `lamp_01`, `lamp_02` ... */
export function childId(blockId: string, n: number): string {
  return `${blockId}_${String(n).padStart(2, '0')}`;
}

/** Registers (holding/input) or bits (coil/discrete) a point occupies. */
export function occupiedCount(point: Pick<PointDefinition, 'table' | 'type'>): number {
  if (point.table === 'coil' || point.table === 'discrete') return 1;
  return registerCount(point.type);
}

export function resolveQuirks(doc: ProfileDocument): ResolvedQuirks {
  const q = doc.quirks ?? {};
  return {
    wordOrder: q.wordOrder ?? QUIRK_DEFAULTS.wordOrder,
    maxRegistersPerRead: q.maxRegistersPerRead ?? QUIRK_DEFAULTS.maxRegistersPerRead,
    maxBitsPerRead: q.maxBitsPerRead ?? QUIRK_DEFAULTS.maxBitsPerRead,
    noFc16: q.noFc16 ?? QUIRK_DEFAULTS.noFc16,
    interFrameDelayMs: q.interFrameDelayMs ?? QUIRK_DEFAULTS.interFrameDelayMs,
    forbiddenRanges: (q.forbiddenRanges ?? []).map((r) => ({ ...r })),
    responseTimeoutMs: q.responseTimeoutMs ?? QUIRK_DEFAULTS.responseTimeoutMs,
  };
}

function resolvePoint(
  point: PointDefinition,
  child: string | null,
  address: number,
  defaultWordOrder: WordOrder,
): ResolvedPoint {
  return {
    key: child === null ? point.id : `${child}.${point.id}`,
    id: point.id,
    child,
    name: { ...point.name },
    table: point.table,
    address,
    count: occupiedCount(point),
    type: point.type,
    bit: point.bit ?? null,
    wordOrder: point.wordOrder ?? defaultWordOrder,
    scale: point.scale ?? 1,
    offset: point.offset ?? 0,
    unit: point.unit ?? null,
    writable: point.writable ?? false,
    min: point.min ?? null,
    max: point.max ?? null,
  };
}

function resolveRule(rule: AlarmRuleDefault, child: string | null): ResolvedAlarmRule {
  const prefix = child === null ? '' : `${child}.`;
  const resolved: ResolvedAlarmRule = { ...structuredClone(rule), key: `${prefix}${rule.id}`, child };
  if (rule.point !== undefined) resolved.pointKey = `${prefix}${rule.point}`;
  return resolved;
}

/**
 * Builds the LoadedProfile. `templates` must hold every template the blocks name; callers run
 * the lint first, which reports missing ones.
 */
export function expandProfile(
  doc: ProfileDocument,
  templates: (name: string) => TemplateDocument | undefined,
  file: string,
): LoadedProfile {
  const quirks = resolveQuirks(doc);
  const points = doc.points.map((p) => resolvePoint(p, null, p.address, quirks.wordOrder));
  const alarms = (doc.alarms ?? []).map((r) => resolveRule(r, null));
  const children: ResolvedChild[] = [];

  for (const block of doc.blocks ?? []) {
    const template = templates(block.template);
    if (template === undefined) throw new Error(`template '${block.template}' missing after lint`);
    for (let n = 1; n <= block.count; n++) {
      const child = childId(block.id, n);
      children.push({
        id: child,
        blockId: block.id,
        index: n,
        template: block.template,
        name: childName(template, n),
      });
      for (const point of template.points) {
        const base = block.base[point.table];
        if (base === undefined) throw new Error(`block '${block.id}' has no ${point.table} base after lint`);
        points.push(
          resolvePoint(point, child, base + (n - 1) * block.stride + point.address, quirks.wordOrder),
        );
      }
      for (const rule of template.alarms ?? []) alarms.push(resolveRule(rule, child));
    }
  }

  return {
    id: doc.id,
    family: doc.family,
    vendor: doc.vendor,
    model: doc.model,
    name: { ...doc.name },
    file,
    pollIntervalMs: doc.poll.intervalMs,
    quirks,
    points,
    children,
    alarms,
  };
}

/** "单灯控制器 03" / "Single-lamp controller 03": the template's name (one device) plus the number. */
function childName(template: TemplateDocument, n: number): ResolvedChild['name'] {
  const base = template.name;
  const nn = String(n).padStart(2, '0');
  return { 'zh-CN': `${base['zh-CN']} ${nn}`, en: `${base.en} ${nn}` };
}
