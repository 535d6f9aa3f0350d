/**
 * Rules of the per-device `alarms` overrides the schema cannot express, because they relate the
 * override to the device's profile: the rule key must name a rule of the profile (or comm_loss,
 * which every device has), the fields must fit the rule's kind, and levels must be listed 1, 2, 3
 * getting more severe. The checks are the ones the alarm engine applies (gateway/alarms/rules.ts),
 * so what passes here resolves there. Reads defensively, like semantic.ts.
 */
import { overrideProblems, profileRuleKinds } from '../alarms/rules.js';
import { escapePointerToken } from '../profiles/json-source.js';
import type { LoadedProfile } from '../profiles/types.js';
import { isObj, type Obj } from './json-object.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

export function checkAlarmOverrides(
  doc: Obj,
  profiles: ReadonlyMap<string, LoadedProfile>,
  issues: Issue[],
): void {
  const devices = doc['devices'];
  if (!Array.isArray(devices)) return;
  devices.forEach((device: unknown, index) => {
    if (!isObj(device) || !isObj(device['alarms'])) return;
    const profileId = device['profile'];
    // An unknown profile is reported by checkDevices; without it the rule keys cannot be checked.
    const profile = typeof profileId === 'string' ? profiles.get(profileId) : undefined;
    if (profile === undefined) return;
    const kinds = profileRuleKinds(profile);
    for (const [ruleKey, override] of Object.entries(device['alarms'])) {
      const at = `/devices/${index}/alarms/${escapePointerToken(ruleKey)}`;
      const kind = kinds.get(ruleKey);
      if (kind === undefined) {
        issues.push({ pointer: at, message: unknownRuleMessage(ruleKey, profile, kinds) });
        continue;
      }
      for (const problem of overrideProblems(kind, override)) {
        issues.push({
          pointer: problem.path === '' ? at : `${at}/${problem.path}`,
          message: problem.message,
        });
      }
    }
  });
}

function unknownRuleMessage(
  ruleKey: string,
  profile: LoadedProfile,
  kinds: ReadonlyMap<string, unknown>,
): string {
  const keys = [...kinds.keys()];
  const shown = keys
    .slice(0, 12)
    .map((k) => `'${k}'`)
    .join(', ');
  const more = keys.length > 12 ? ` and ${keys.length - 12} more` : '';
  return `no alarm rule '${ruleKey}' in profile '${profile.id}' (rules: ${shown}${more})`;
}
