/**
 * The error of an invalid cases configuration (ARCHITECTURE.md, "Invariants": a KerbsideError with a
 * stable code from the area's catalogue, listed in docs/errors.md). It carries every issue found, each with a JSON pointer into the
 * configuration, so an operator fixes the whole file in one go instead of one complaint per
 * restart.
 */
import { KerbsideError, type ErrorCatalogue, type Issue } from '../../contract/errors.js';

export const CASES_CONFIG_ERRORS = {
  CASES_CONFIG_INVALID: {
    means:
      'The cases configuration (calendar, deadlines, categories) is invalid; `issues` lists every problem.',
  },
} as const satisfies ErrorCatalogue<string>;

export type CasesConfigErrorCode = keyof typeof CASES_CONFIG_ERRORS;

export class CasesConfigError extends KerbsideError<CasesConfigErrorCode> {
  override readonly name = 'CasesConfigError';
  // Narrowed to the mutable Issue[] the constructor takes: callers hand the list on as it is.
  declare readonly issues: Issue[];

  constructor(issues: Issue[], context = 'cases configuration') {
    super(
      CASES_CONFIG_ERRORS,
      'CASES_CONFIG_INVALID',
      `${context} is invalid: ${issues.map((issue) => `${issue.pointer || '/'}: ${issue.message}`).join('; ')}`,
      { issues },
    );
  }
}

/** Prefixes every issue's pointer, e.g. the calendar's own issues placed under `/calendar`. */
export function underPointer(prefix: string, issues: Issue[]): Issue[] {
  return issues.map((issue) => ({ pointer: `${prefix}${issue.pointer}`, message: issue.message }));
}
