/**
 * Rules of the `storage` section the schema cannot express because they relate two of its fields.
 * Like semantic.ts they read the document defensively (the schema may have found problems too).
 * The schema pass has filled its defaults in by then, so an absent quota reads as its default.
 */
import { isObj } from './json-object.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

export function checkStorage(doc: unknown, issues: Issue[]): void {
  if (!isObj(doc) || !isObj(doc['storage'])) return;
  const outbox = doc['storage']['outbox'];
  if (!isObj(outbox)) return;
  const evictRows = outbox['telemetryEvictRows'];
  const quotas = outbox['quotas'];
  const quota = isObj(quotas) ? quotas['telemetry'] : undefined;
  if (!isInteger(evictRows) || !isInteger(quota)) return;
  // Evicting more than the quota holds would delete events committed in the same cycle.
  if (evictRows > quota) {
    issues.push({
      pointer: '/storage/outbox/telemetryEvictRows',
      message: `must be at most the telemetry quota (/storage/outbox/quotas/telemetry is ${quota}), not ${evictRows}`,
    });
  }
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}
