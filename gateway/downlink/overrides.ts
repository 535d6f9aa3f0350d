/**
 * The technician's local changes (docs/config-downlink.md "Local changes"): pieces shared by
 * Gateway.setLocalOverride / clearLocalOverride and the SIGHUP re-read of the configuration file.
 * A local change is never silently lost: it is stored, stays in force over later cloud
 * documents until cleared, and is reported upstream as a config_override event.
 */
import type { ConfigOverrideEvent } from '../../cloud-sync/contract/events.js';
import type { RemoteConfig } from '../../cloud-sync/contract/config-document.js';
import { overlaid, valueAtDocumentPointer, type PointerValue } from '../config/overlay.js';
import type { LocalOverrideRow } from '../store/downlink-rows.js';

/** Who and why of a file change turned into overrides (SIGHUP). */
export const FILE_CHANGE_BY = 'local-file';
export const FILE_CHANGE_REASON = 'configuration file changed';

/** The overrides as the overlay takes them. */
export function pointerValues(rows: readonly LocalOverrideRow[]): PointerValue[] {
  return rows.map((r) => ({ pointer: r.pointer, value: r.value }));
}

/**
 * What the file and the cloud's document have at `pointer`, the technician's overrides left out:
 * the `previous` of a config_override event (null when nothing is set there).
 */
export function documentValueAt(
  fileDocument: unknown,
  document: RemoteConfig | null,
  pointer: string,
): unknown {
  const { merged } = overlaid(fileDocument, document, []);
  return valueAtDocumentPointer(merged, pointer) ?? null;
}

/** The overrides with `row` in place of any earlier one at the same pointer. */
export function withOverride(rows: readonly LocalOverrideRow[], row: LocalOverrideRow): LocalOverrideRow[] {
  return [...rows.filter((r) => r.pointer !== row.pointer), row].sort((a, b) =>
    a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0,
  );
}

export function overrideEvent(
  action: 'set' | 'clear',
  pointer: string,
  value: unknown,
  previous: unknown,
  by: string,
  reason: string | null,
): ConfigOverrideEvent {
  return {
    kind: 'config_override',
    pointer,
    action,
    value: action === 'clear' ? null : (value ?? null),
    previous: previous ?? null,
    by,
    reason,
  };
}
