/**
 * Errors of the config area (ARCHITECTURE.md, "Invariants": a KerbsideError with a stable code from
 * the area's catalogue, listed in docs/errors.md). A configuration is written by people, so an invalid one is reported as a list of issues,
 * each with the JSON pointer (RFC 6901) of the offending value and, when read from a file, its
 * line: the installer fixes everything in one go instead of one error per start attempt.
 */
import { KerbsideError, type ErrorCatalogue, type Issue } from '../../cloud-sync/contract/errors.js';

export const CONFIG_ERRORS = {
  CONFIG_UNREADABLE: { means: 'The gateway configuration file could not be read.' },
  CONFIG_INVALID: {
    means:
      'The configuration is not JSON, or breaks the schema or a semantic rule (`issues` lists every problem).',
  },
} as const satisfies ErrorCatalogue<string>;

export type ConfigErrorCode = keyof typeof CONFIG_ERRORS;

/** One line per issue, `file:line pointer: message`, the form editors and terminals link to. */
export function formatConfigIssue(issue: Issue, file?: string): string {
  const place = file === undefined ? '' : issue.line === undefined ? `${file} ` : `${file}:${issue.line} `;
  return `${place}${issue.pointer === '' ? '(document)' : issue.pointer}: ${issue.message}`;
}

export class ConfigError extends KerbsideError<ConfigErrorCode> {
  override readonly name = 'ConfigError';
  /** The configuration file, when there is one. */
  readonly file: string | undefined;

  constructor(code: ConfigErrorCode, issues: Issue[], file?: string, options?: { cause?: unknown }) {
    super(CONFIG_ERRORS, code, ConfigError.summarise(issues, file), { cause: options?.cause, issues });
    this.file = file;
  }

  private static summarise(issues: Issue[], file: string | undefined): string {
    const head = `invalid gateway configuration${file === undefined ? '' : ` ${file}`} (${issues.length} issue${issues.length === 1 ? '' : 's'})`;
    return [head, ...issues.map((issue) => `  ${formatConfigIssue(issue, file)}`)].join('\n');
  }
}
