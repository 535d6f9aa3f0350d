/**
 * The project's one JSON Schema validator set-up (createAjv) and the one translation of its errors
 * into Issues (issuesOf), for every input checked against a schema: uplink messages (validate.ts),
 * the gateway configuration, device profiles, the cloud configuration and every API request
 * (service/http.ts). In the contract because the contract is the one module both sides may import
 * (ARCHITECTURE.md, "Invariants").
 *
 * One set-up, so that a schema means the same everywhere: `strict` (a typo in a schema keyword is a
 * compile error, not a rule silently skipped), `allowUnionTypes` (`type: ['number', 'null']` is how
 * the schemas spell a nullable field), `discriminator` (an input is checked only against the branch
 * its tag selects, so one typo does not also bring the complaints of every other branch), the
 * `date-time` format of RFC 3339, the `maxDepth` keyword of free-form fields, and unknown properties
 * kept (`removeAdditional: false`) so that a closed schema refuses them rather than dropping them.
 * `useDefaults` and `coerceTypes` change the value checked, so only a caller that asks gets them.
 */
import { Ajv, type ErrorObject, type FormatDefinition, type SchemaValidateFunction } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import type { Issue } from './errors.js';

export type { Ajv };

export interface AjvOptions {
  /**
   * Report every problem at once (default), as a person fixing a file or a request wants; false
   * stops at the first. With untrusted input, allErrors makes ajv check every item of it, so the
   * input's size must be bounded (ajv.js.org/security.html, on `allErrors` with untrusted data).
   */
  allErrors?: boolean;
  /** Write the schema's `default`s into the value checked (it is changed in place: pass a copy). */
  useDefaults?: boolean;
  /**
   * Convert strings to the declared type ('array': also a single value to a one-item array). Only
   * for input that is text on the wire, such as a query string or a path parameter: in a JSON
   * document a string where a number belongs is a mistake to report, not to repair.
   */
  coerceTypes?: boolean | 'array';
}

/** A validator with the project's settings (see the header). */
export function createAjv(options: AjvOptions = {}): Ajv {
  const ajv = new Ajv({
    allErrors: options.allErrors ?? true,
    strict: true,
    allowUnionTypes: true,
    discriminator: true,
    removeAdditional: false,
    useDefaults: options.useDefaults ?? false,
    coerceTypes: options.coerceTypes ?? false,
    // Errors carry the failing schema and value: issuesOf names a discriminator's choices from
    // the schema and, when asked, the offending value.
    verbose: true,
  });
  // RFC 3339 allows a leap second (23:59:60), which a JavaScript Date cannot hold: `new Date()`
  // gives Invalid Date and toISOString() throws. Every instant we take is used as a Date, so the
  // format is ajv-formats' date-time AND a date Date.parse can read.
  // ajv-formats declares it as a definition with validate and compare (its full mode).
  const rfc3339 = fullFormats['date-time'] as FormatDefinition<string>;
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (text: string) => {
      const { validate } = rfc3339;
      const wellFormed =
        typeof validate === 'function' ? validate(text) === true : new RegExp(validate).test(text);
      return wellFormed && !Number.isNaN(Date.parse(text));
    },
    compare: rfc3339.compare,
  });
  ajv.addKeyword({ keyword: 'maxDepth', schemaType: 'number', errors: true, validate: maxDepth });
  return ajv;
}

/**
 * The `maxDepth` keyword of the free-form fields (schemas.ts MAX_DEPTH). A keyword rather than a
 * check per message type: it sits on each free-form field in the schema, so it applies wherever
 * that field is validated (an event body, an event in a batch, a config document) and ajv points
 * its error at the field itself, e.g. `/events/0/detail`.
 */
const maxDepth: SchemaValidateFunction = (limit: number, data: unknown): boolean => {
  if (!nestsDeeperThan(data, limit)) return true;
  maxDepth.errors = [
    { keyword: 'maxDepth', params: { limit }, message: `nests deeper than ${limit} levels` },
  ];
  return false;
};

/**
 * Whether objects and arrays nest more than `limit` levels in `value` (`{}` is 1 level). Without
 * recursion, since the values it exists to refuse are deep enough to overflow the stack, and it
 * stops at the first container past the limit; at worst it visits each value of the input once.
 */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ value: unknown; level: number }> = [{ value, level: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.level > limit) return true;
    for (const child of Object.values(next.value)) pending.push({ value: child, level: next.level + 1 });
  }
  return false;
}

/**
 * The fields of an ajv error that issuesOf reads. fastify hands its validator's errors over in a
 * narrower type (FastifySchemaValidationError) than ajv's ErrorObject; both fit this one.
 */
export type SchemaError = Pick<ErrorObject, 'keyword' | 'instancePath' | 'message'> & {
  params: Record<string, unknown>;
  parentSchema?: unknown;
  data?: unknown;
};

/** How a caller words what the translator cannot know. */
export interface IssueWords {
  /**
   * The message of a property the schema does not allow, at the pointer of that property, e.g.
   * 'is not a parameter of this route'. Default: "unknown property 'name'".
   */
  unknownProperty?: string;
  /** Patterns explained in words, by pattern: the regular expression itself helps nobody. */
  patterns?: Readonly<Record<string, string>>;
  /**
   * Name the offending value in the message ("must be >= 1, not 0"). For a person's own file; not
   * for an API answer, which would echo a token or a password into the answer and the log.
   */
  values?: boolean;
}

/** RFC 6901: `~` and `/` inside a reference token are escaped. */
function escapeToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * ajv errors as Issues: each points at the offending value itself (a missing property at the
 * property, not at its parent; an unknown property at that property) with a plain message, and
 * the same issue is given once.
 */
export function issuesOf(errors: readonly SchemaError[], words: IssueWords = {}): Issue[] {
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const tags: Issue[] = [];
  for (const error of errors) {
    const issue = issueOf(error, words);
    // A discriminator's complaint waits: a `required` or `enum` on the tag itself says the same.
    if (error.keyword === 'discriminator') {
      tags.push(issue);
      continue;
    }
    const key = `${issue.pointer}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  for (const tag of tags) {
    if (issues.some((issue) => issue.pointer === tag.pointer)) continue;
    issues.push(tag);
  }
  return issues;
}

function issueOf(error: SchemaError, words: IssueWords): Issue {
  const { params } = error;
  const at = error.instancePath;
  // ", not 95": only for keywords whose failure is about the value itself.
  const not = words.values === true ? `, not ${describeValue(error.data)}` : '';
  switch (error.keyword) {
    case 'required':
      // Point at the field that is missing, not at its parent: that is what the reader looks for.
      return { pointer: `${at}/${escapeToken(String(params['missingProperty']))}`, message: 'is required' };
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      return {
        pointer: `${at}/${escapeToken(name)}`,
        message: words.unknownProperty ?? `unknown property '${name}'`,
      };
    }
    case 'dependencies':
    case 'dependentRequired':
      return {
        pointer: at,
        message: `'${String(params['property'])}' needs '${String(params['missingProperty'])}' as well`,
      };
    case 'discriminator':
      return discriminatorIssue(error);
    case 'enum':
      return { pointer: at, message: `must be one of ${listOf(params['allowedValues'])}${not}` };
    case 'const':
      return { pointer: at, message: `must be ${JSON.stringify(params['allowedValue'])}${not}` };
    case 'type':
      return { pointer: at, message: `must be ${typesOf(params['type'])}${not}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        pointer: at,
        message: `must be ${String(params['comparison'])} ${String(params['limit'])}${not}`,
      };
    case 'minLength':
      return Number(params['limit']) === 1
        ? { pointer: at, message: 'must not be empty' }
        : { pointer: at, message: `must be at least ${String(params['limit'])} characters long` };
    case 'maxLength':
      return { pointer: at, message: `must not be more than ${String(params['limit'])} characters long` };
    case 'pattern': {
      const pattern = String(params['pattern']);
      return { pointer: at, message: `${words.patterns?.[pattern] ?? `must match ${pattern}`}${not}` };
    }
    default:
      return { pointer: at, message: error.message ?? `breaks the schema rule '${error.keyword}'` };
  }
}

/** A missing, non-string or unknown tag, at the tag, with the choices the schema offers. */
function discriminatorIssue(error: SchemaError): Issue {
  const tag = String(error.params['tag']);
  const pointer = `${error.instancePath}/${escapeToken(tag)}`;
  const tagValue = error.params['tagValue'];
  if (tagValue === undefined) return { pointer, message: 'is required' };
  if (error.params['error'] !== 'mapping') return { pointer, message: 'must be a string' };
  const choices = tagChoices(error.parentSchema, tag);
  const unknown = `unknown ${tag} ${JSON.stringify(tagValue)}`;
  return {
    pointer,
    message: choices.length === 0 ? unknown : `${unknown}: must be one of ${listOf(choices)}`,
  };
}

/** The tag values of a discriminated `oneOf` (each branch's `const` or `enum` of the tag). */
function tagChoices(schema: unknown, tag: string): unknown[] {
  const branches = (schema as { oneOf?: unknown } | undefined)?.oneOf;
  if (!Array.isArray(branches)) return [];
  return branches.flatMap((branch: unknown) => {
    const property = (branch as { properties?: Record<string, { const?: unknown; enum?: unknown }> })
      .properties?.[tag];
    if (property === undefined) return [];
    if (property.const !== undefined) return [property.const];
    return Array.isArray(property.enum) ? (property.enum as unknown[]) : [];
  });
}

/** `"a", "b", 3`: each value as JSON. */
function listOf(values: unknown): string {
  return Array.isArray(values) ? values.map((value) => JSON.stringify(value)).join(', ') : String(values);
}

/** `a string`, `an integer`, `a number or null` (ajv gives union types comma-separated). */
function typesOf(types: unknown): string {
  return String(types)
    .split(',')
    .map((type) => (type === 'null' ? 'null' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`))
    .join(' or ');
}

/** A short rendering of a value for a message: numbers and short strings in full. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
