/**
 * Errors of the profile area (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable code from
 * the area's catalogue, listed in docs/errors.md). A profile is data written by people, so an invalid one is reported as a list of issues,
 * each naming the file, the JSON pointer (RFC 6901) of the offending value and, where known, its
 * line.
 */
import {
  formatIssue,
  KerbsideError,
  type ErrorCatalogue,
  type Issue,
} from '../../cloud-sync/contract/errors.js';

export const PROFILE_ERRORS = {
  PROFILE_INVALID: {
    means:
      'A device profile breaks its schema or a semantic rule (`issues` names each file, pointer and line).',
  },
} as const satisfies ErrorCatalogue<string>;

export type ProfileErrorCode = keyof typeof PROFILE_ERRORS;

export class ProfileError extends KerbsideError<ProfileErrorCode> {
  override readonly name = 'ProfileError';

  constructor(issues: Issue[], options: { message?: string; cause?: unknown } = {}) {
    super(PROFILE_ERRORS, 'PROFILE_INVALID', options.message ?? ProfileError.summarise(issues), {
      cause: options.cause,
      issues,
    });
  }

  private static summarise(issues: Issue[]): string {
    const files = [...new Set(issues.map((i) => i.file))].join(', ');
    const head = `invalid device profile (${issues.length} issue${issues.length === 1 ? '' : 's'}) in ${files}`;
    return [head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n');
  }
}
