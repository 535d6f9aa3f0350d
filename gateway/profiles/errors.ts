/**
 * Errors of the profile area (ARCHITECTURE.md, "Invariants": one error class per area with a stable
 * code). A profile is data written by people, so an invalid one is reported as a list of issues,
 * each naming the file, the JSON pointer (RFC 6901) of the offending value and, where known, its
 * line.
 */

export interface ProfileIssue {
  file: string;
  /** JSON pointer into the document, e.g. "/points/3/max"; "" for the whole document. */
  pointer: string;
  /** 1-based line in the file, when the file text is known. */
  line?: number;
  message: string;
}

export type ProfileErrorCode = 'PROFILE_INVALID';

/** One line per issue, in the `file:line pointer: message` form editors and terminals link to. */
export function formatIssue(issue: ProfileIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return `${where} ${issue.pointer === '' ? '(document)' : issue.pointer}: ${issue.message}`;
}

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
  readonly code: ProfileErrorCode = 'PROFILE_INVALID';
  readonly issues: ProfileIssue[];

  constructor(issues: ProfileIssue[], options: { message?: string; cause?: unknown } = {}) {
    super(
      options.message ?? ProfileError.summarise(issues),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.issues = issues;
  }

  private static summarise(issues: ProfileIssue[]): string {
    const files = [...new Set(issues.map((i) => i.file))].join(', ');
    const head = `invalid device profile (${issues.length} issue${issues.length === 1 ? '' : 's'}) in ${files}`;
    return [head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n');
  }
}

export function isProfileError(value: unknown): value is ProfileError {
  return value instanceof ProfileError;
}
