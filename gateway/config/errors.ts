/**
 * Errors of the config area (ARCHITECTURE.md, "Invariants": one error class per area with a stable
 * code). A configuration is written by people, so an invalid one is reported as a list of issues,
 * each with the JSON pointer (RFC 6901) of the offending value and, when read from a file, its
 * line: the installer fixes everything in one go instead of one error per start attempt.
 */
import type { Issue } from '../../cloud-sync/contract/errors.js';

export type ConfigErrorCode =
  | 'CONFIG_UNREADABLE' // the file could not be read
  | 'CONFIG_INVALID'; // the text is not JSON, or the document breaks the schema or a semantic rule

/** One line per issue, `file:line pointer: message`, the form editors and terminals link to. */
export function formatConfigIssue(issue: Issue, file?: string): string {
  const place = file === undefined ? '' : issue.line === undefined ? `${file} ` : `${file}:${issue.line} `;
  return `${place}${issue.pointer === '' ? '(document)' : issue.pointer}: ${issue.message}`;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  readonly issues: Issue[];
  /** The configuration file, when there is one. */
  readonly file: string | undefined;

  constructor(code: ConfigErrorCode, issues: Issue[], file?: string, options?: { cause?: unknown }) {
    super(ConfigError.summarise(issues, file), options);
    this.code = code;
    this.issues = issues;
    this.file = file;
  }

  private static summarise(issues: Issue[], file: string | undefined): string {
    const head = `invalid gateway configuration${file === undefined ? '' : ` ${file}`} (${issues.length} issue${issues.length === 1 ? '' : 's'})`;
    return [head, ...issues.map((issue) => `  ${formatConfigIssue(issue, file)}`)].join('\n');
  }
}

export function isConfigError(value: unknown): value is ConfigError {
  return value instanceof ConfigError;
}
