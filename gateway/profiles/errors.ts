/**
 * Errors of the profile area (ARCHITECTURE.md, "Invariants": one error class per area with a stable
 * code). A profile is data written by people, so an invalid one is reported as a list of issues,
 * each naming the file, the JSON pointer (RFC 6901) of the offending value and, where known, its
 * line.
 */
import { formatIssue, type Issue } from '../../cloud-sync/contract/errors.js';

export type ProfileErrorCode = 'PROFILE_INVALID';

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  readonly code: ProfileErrorCode = 'PROFILE_INVALID';
  readonly issues: Issue[];

  constructor(issues: Issue[], options: { message?: string; cause?: unknown } = {}) {
    super(
      options.message ?? ProfileError.summarise(issues),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.issues = issues;
  }

  private static summarise(issues: Issue[]): string {
    const files = [...new Set(issues.map((i) => i.file))].join(', ');
    const head = `invalid device profile (${issues.length} issue${issues.length === 1 ? '' : 's'}) in ${files}`;
    return [head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n');
  }
}

export function isProfileError(value: unknown): value is ProfileError {
  return value instanceof ProfileError;
}
