/**
 * The error of an invalid cases configuration (ARCHITECTURE.md, "Invariants": one error class per
 * area with a stable code). It carries every issue found, each with a JSON pointer into the
 * configuration, so an operator fixes the whole file in one go instead of one complaint per
 * restart.
 */
import type { Issue } from '../../contract/errors.js';

export type CasesConfigErrorCode = 'CASES_CONFIG_INVALID';

export class CasesConfigError extends Error {
  override readonly name = 'CasesConfigError';
  readonly code: CasesConfigErrorCode = 'CASES_CONFIG_INVALID';
  readonly issues: Issue[];

  constructor(issues: Issue[], context = 'cases configuration') {
    super(
      `${context} is invalid: ${issues.map((issue) => `${issue.pointer || '/'}: ${issue.message}`).join('; ')}`,
    );
    this.issues = issues;
  }
}

/** Prefixes every issue's pointer, e.g. the calendar's own issues placed under `/calendar`. */
export function underPointer(prefix: string, issues: Issue[]): Issue[] {
  return issues.map((issue) => ({ pointer: `${prefix}${issue.pointer}`, message: issue.message }));
}
