/**
 * The project's one error vocabulary (docs/errors.md lists every code). It lives in the contract
 * because the contract is the one module every side may import: the gateway imports only the
 * contract, the cloud service imports it too (ARCHITECTURE.md, "Invariants"). drivers/ imports
 * nothing of ours, so drivers/errors.ts has a base of the same shape of its own.
 *
 * - KerbsideError: a stable `code` (what a program, a test or an operator's search matches on),
 *   a message for people, an optional `cause`, an optional HTTP `status` (the API error handler
 *   answers with it) and optional `issues`.
 * - Issue: one problem of an input, by JSON pointer, in every area (a config file, a profile, an
 *   uplink message, an API request).
 * - ErrorCatalogue: each area declares its codes as a data table (meaning and HTTP status), from
 *   which its code type is derived and docs/errors.md is generated (npm run docs:errors).
 *
 * Bad input from the wire is never thrown: the contract's parse functions return it as a result,
 * because a malformed message from a peer is expected and must not crash a broker hook or the
 * uplink. ContractError is only for programmer misuse, such as building a topic for an invalid
 * gateway id.
 */

/** One problem of an input. */
export interface Issue {
  /** RFC 6901 JSON pointer to the offending value, e.g. "/devices/3/unitId"; '' is the whole input. */
  pointer: string;
  message: string;
  /** The file the input was read from, when it was read from a file. */
  file?: string;
  /** 1-based line of the value in that file, when the file's text is known. */
  line?: number;
}

/** What a code means, for docs/errors.md, and the HTTP status an API answers it with, if any. */
export interface ErrorCodeSpec {
  means: string;
  status?: number;
}

/** An area's codes: the one place its codes are declared. */
export type ErrorCatalogue<Code extends string> = Readonly<Record<Code, ErrorCodeSpec>>;

export interface KerbsideErrorOptions {
  cause?: unknown;
  issues?: readonly Issue[];
}

export abstract class KerbsideError<Code extends string = string> extends Error {
  readonly code: Code;
  /** The HTTP status an API answers this error with; undefined for errors no API answers. */
  readonly status: number | undefined;
  readonly issues: readonly Issue[];

  protected constructor(
    catalogue: ErrorCatalogue<Code>,
    code: Code,
    message: string,
    options: KerbsideErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = catalogue[code].status;
    this.issues = options.issues ?? [];
  }
}

/**
 * The class of an area whose errors carry nothing beyond the base:
 * `export class CaseError extends errorClass('CaseError', CASE_ERRORS) {}`. Its codes are the
 * catalogue's and its `status` comes from there. A class that carries more (a file, the issues of
 * a whole document) extends KerbsideError with a constructor of its own.
 */
export function errorClass<Code extends string>(
  name: string,
  catalogue: ErrorCatalogue<Code>,
): new (code: Code, message: string, options?: KerbsideErrorOptions) => KerbsideError<Code> {
  return class extends KerbsideError<Code> {
    override readonly name: string = name;

    constructor(code: Code, message: string, options?: KerbsideErrorOptions) {
      super(catalogue, code, message, options);
    }
  };
}

export function isKerbsideError(value: unknown): value is KerbsideError {
  return value instanceof KerbsideError;
}

/**
 * One line per issue, `/devices/3/unitId: must be >= 1`, in the `file:line pointer: message` form
 * editors and terminals link to when the input was a file.
 */
export function formatIssue(issue: Issue): string {
  const line = issue.line === undefined ? '' : `:${issue.line}`;
  const where = issue.file === undefined ? '' : `${issue.file}${line} `;
  return `${where}${issue.pointer === '' ? '(document)' : issue.pointer}: ${issue.message}`;
}

/** "2 issues: /a: ...; /b: ..." for messages and logs. */
export function describeIssues(issues: readonly Issue[]): string {
  return `${issues.length} issue${issues.length === 1 ? '' : 's'}: ${issues.map(formatIssue).join('; ')}`;
}

export const CONTRACT_ERRORS = {
  CONTRACT_INVALID: {
    means: 'Programmer misuse of the contract, such as building a topic for an invalid gateway id.',
  },
} as const satisfies ErrorCatalogue<string>;

export class ContractError extends errorClass('ContractError', CONTRACT_ERRORS) {}
