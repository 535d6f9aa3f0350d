/**
 * Component ids of the urban-management component registry (docs/domain.md "Component ids", GB/T
 * 30428.2, formerly CJ/T 214): 16 digits = county code (6, GB/T 2260) + major class (2) +
 * subclass (2) + serial (6). The class code table differs between cities, so which 4-digit codes
 * exist comes from configuration (cases/config.ts `classes`), as does the county the deployment
 * serves (`countyCode`; null accepts any county). Grid cells (单元网格) are 15 digits (Beijing scheme).
 */
import type { CasesConfig } from '../cases/config.js';

export interface ComponentIdParts {
  countyCode: string;
  majorClass: string;
  subclass: string;
  /** majorClass + subclass, the key of the class table. */
  classCode: string;
  serial: string;
}

export type ComponentIdConfig = Pick<CasesConfig, 'countyCode' | 'classes'>;

const COMPONENT_ID_RE = /^\d{16}$/;
const GRID_CELL_RE = /^\d{15}$/;

/** Splits a 16-digit id into its fields (no table checks); null when it is not 16 digits. */
export function splitComponentId(id: string): ComponentIdParts | null {
  if (!COMPONENT_ID_RE.test(id)) return null;
  return {
    countyCode: id.slice(0, 6),
    majorClass: id.slice(6, 8),
    subclass: id.slice(8, 10),
    classCode: id.slice(6, 10),
    serial: id.slice(10, 16),
  };
}

/** Every reason `id` is not a valid component id of this deployment (empty when valid). */
export function componentIdIssues(id: unknown, config: ComponentIdConfig): string[] {
  if (typeof id !== 'string' || !COMPONENT_ID_RE.test(id)) {
    return [`${JSON.stringify(id)} is not a component id: 16 digits (county 6 + class 4 + serial 6)`];
  }
  const parts = splitComponentId(id) as ComponentIdParts;
  const issues: string[] = [];
  if (config.countyCode !== null && parts.countyCode !== config.countyCode) {
    issues.push(`county code ${parts.countyCode} is not this deployment's county ${config.countyCode}`);
  }
  if (!config.classes.some((entry) => entry.code === parts.classCode)) {
    issues.push(
      `class code ${parts.classCode} (major ${parts.majorClass}, subclass ${parts.subclass}) is not in the configured class table`,
    );
  }
  if (parts.serial === '000000') issues.push('serial 000000 is not a component serial');
  return issues;
}

/** The parts of a valid component id; throws a RangeError listing the issues otherwise. */
export function parseComponentId(id: string, config: ComponentIdConfig): ComponentIdParts {
  const issues = componentIdIssues(id, config);
  if (issues.length > 0) throw new RangeError(issues.join('; '));
  return splitComponentId(id) as ComponentIdParts;
}

/** Why a grid cell id is invalid (15 digits), or null when it is valid. */
export function gridCellIssue(cell: unknown): string | null {
  if (typeof cell === 'string' && GRID_CELL_RE.test(cell)) return null;
  return `${JSON.stringify(cell)} is not a grid cell id (15 digits)`;
}
