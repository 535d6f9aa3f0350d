/**
 * Report-by-exception deadbands. A numeric point is reported when it has moved by more than its
 * deadband since it was last reported; a boolean on every change. Defaults follow alarm-management
 * practice (docs/domain.md: deadband typically 1-5 % of span): 1 % of the point's span when the
 * profile gives one (min/max), otherwise 1 % of the last reported magnitude, never finer than the
 * point's resolution (its scale), so register noise of one count is not reported.
 */
import type { ResolvedPoint } from '../profiles/types.js';

export interface DeadbandOptions {
  /** Fraction of span (or of magnitude when there is no span). Default 0.01. */
  relative: number;
  /** Absolute deadbands per point key, overriding the rule above. */
  absolute: ReadonlyMap<string, number>;
}

export function deadbandFor(point: ResolvedPoint, lastReported: number, options: DeadbandOptions): number {
  const explicit = options.absolute.get(point.key);
  if (explicit !== undefined) return explicit;
  const resolution = point.type === 'f32' ? 0 : Math.abs(point.scale);
  const span = point.min !== null && point.max !== null ? point.max - point.min : null;
  const relative =
    span !== null && span > 0 ? span * options.relative : Math.abs(lastReported) * options.relative;
  return Math.max(relative, resolution);
}

/** True when `value` should be reported given the last reported value. */
export function exceedsDeadband(
  value: number | boolean,
  last: number | boolean | undefined,
  deadband: number,
): boolean {
  if (last === undefined) return true;
  if (typeof value === 'boolean' || typeof last === 'boolean') return value !== last;
  if (Number.isNaN(value) !== Number.isNaN(last)) return true;
  return Math.abs(value - last) > deadband;
}
