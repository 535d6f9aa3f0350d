/** Scenario catalogue: what runs on which family, for --list and for callers choosing a plan. */
import type { DeviceFamily } from '../../gateway/profiles/types.js';
import { NORMAL } from './player.js';
import { allFamilyModels } from './registry.js';

export { parsePlan, formatPlan, type ScenarioPlan, type ScenarioStep, type ScenarioItem } from './plan.js';
export { LightingPlant, CONTACTOR_DELAY_MS } from './lamp-concentrator.js';
export type { ScenarioDefinition, ScenarioOptions, Overlay, DeviceBehaviour, FamilyModel } from './types.js';

export interface ScenarioInfo {
  family: DeviceFamily;
  name: string;
  description: string;
  durationS: number | null;
  options: Readonly<Record<string, string>>;
}

export function listScenarios(): ScenarioInfo[] {
  return allFamilyModels().flatMap((model) =>
    [NORMAL, ...model.scenarios].map((s) => ({
      family: model.family,
      name: s.name,
      description: s.description,
      durationS: s.durationMs === null ? null : s.durationMs / 1000,
      options: s.options ?? {},
    })),
  );
}
