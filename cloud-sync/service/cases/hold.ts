/**
 * The monitoring queue (docs/cases.md): a case opened from an alarm waits at the monitoring desk,
 * reported and not filed on its own, when nobody could be dispatched to it: its device is not a
 * registered component, or the component names no owner unit. The desk reads why in words, and
 * registering the component lifts the hold (case-store.ts adoptHeldCases).
 */
import type { ComponentsTable } from '../db/case-tables.js';

export type HoldReason = 'unregistered_component' | 'no_owner_unit';

export interface Hold {
  reason: HoldReason;
  /** For the operator: what is missing and what to do. */
  words: string;
}

export function holdFor(
  component: ComponentsTable | undefined,
  gatewayId: string,
  deviceId: string,
): Hold | null {
  if (component === undefined) {
    return {
      reason: 'unregistered_component',
      words:
        `device ${deviceId} of gateway ${gatewayId} is not a registered component: register it ` +
        '(PUT /api/v1/components/{componentId} or cloud-admin components import) and the case takes its owners, ' +
        'or file or cancel the case',
    };
  }
  if (component.owner_unit.trim() === '') {
    return {
      reason: 'no_owner_unit',
      words: `component ${component.component_id} has no owner unit: set one in the registry before dispatch, or cancel the case`,
    };
  }
  return null;
}
