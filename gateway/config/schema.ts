/**
 * JSON Schema check of the configuration document (schema.json, draft-07, so editors can use the
 * same file for completion). ajv runs with allErrors, so every problem is reported at once, and
 * useDefaults, so the defaults written in the schema are the only copy of them.
 */
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import schema from './schema.json' with { type: 'json' };
import { escapePointerToken } from '../profiles/json-source.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

// ajv is CommonJS: under NodeNext the default import is module.exports, whose `default` is the class.
const Ajv = AjvModule.default;

export const GATEWAY_CONFIG_SCHEMA: Readonly<Record<string, unknown>> = schema;

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  // discriminator: a bus is checked only against the branch its `kind` selects, so a typo in
  // one field of a tcp bus does not also produce the complaints of the rtu branches.
  validator ??= new Ajv({ allErrors: true, strict: true, useDefaults: true, discriminator: true }).compile(
    schema,
  );
  return validator;
}

/**
 * Checks `doc` against the schema and fills in defaults IN PLACE (pass a copy). Returns every
 * violation, translated into a pointer to the offending value and a plain message.
 */
export function checkSchema(doc: unknown): Issue[] {
  const validate = getValidator();
  if (validate(doc)) return [];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    const issue = toIssue(error, doc);
    if (issue === null) continue;
    const key = `${issue.pointer}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues;
}

/** Messages that explain a pattern in words; the regular expression itself helps nobody. */
const PATTERN_HINTS: Record<string, string> = {
  '^[a-z0-9]+(-[a-z0-9]+)*$': 'must be lower-case letters and digits separated by single hyphens',
  '^[a-z0-9]+([_-][a-z0-9]+)*$': "must be lower-case letters and digits separated by single '-' or '_'",
  '^[A-Za-z0-9._:-]+$': 'must be a host name, an IPv4 address or an IPv6 address without brackets',
  '^([01][0-9]|2[0-3]):[0-5][0-9]$': 'must be a time of day HH:MM (00:00..23:59)',
  '^[0-9]{4}-[0-9]{2}-[0-9]{2}$': 'must be a date YYYY-MM-DD',
};

/** Returns null for errors that only repeat another one. */
function toIssue(error: ErrorObject, doc: unknown): Issue | null {
  const params = error.params as Record<string, unknown>;
  const pointer = error.instancePath;
  const actual = describeValue(valueAt(doc, pointer));
  switch (error.keyword) {
    case 'discriminator':
      // A missing or unknown `kind` is already reported by the `required` / `enum` keywords.
      return null;
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      return { pointer: `${pointer}/${escapePointerToken(name)}`, message: `unknown property '${name}'` };
    }
    case 'required': {
      const name = String(params['missingProperty']);
      return { pointer, message: `missing required property '${name}'` };
    }
    case 'dependencies':
      return {
        pointer,
        message: `'${String(params['property'])}' needs '${String(params['missingProperty'])}' as well`,
      };
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { pointer, message: `must be one of ${allowed}, not ${actual}` };
    }
    case 'const':
      return { pointer, message: `must be ${JSON.stringify(params['allowedValue'])}, not ${actual}` };
    case 'type':
      return { pointer, message: `must be ${article(String(params['type']))}, not ${actual}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        pointer,
        message: `must be ${String(params['comparison'])} ${String(params['limit'])}, not ${actual}`,
      };
    case 'minLength':
      return Number(params['limit']) === 1
        ? { pointer, message: 'must not be empty' }
        : { pointer, message: `must be at least ${String(params['limit'])} characters long` };
    case 'maxLength':
      return { pointer, message: `must be at most ${String(params['limit'])} characters long` };
    case 'pattern': {
      const hint = PATTERN_HINTS[String(params['pattern'])];
      return { pointer, message: `${hint ?? `must match ${String(params['pattern'])}`}, not ${actual}` };
    }
    default:
      return { pointer, message: error.message ?? `breaks the schema rule '${error.keyword}'` };
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** The value a JSON pointer names, or undefined. */
export function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let current: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) current = current[Number(token)];
    else if (typeof current === 'object' && current !== null)
      current = (current as Record<string, unknown>)[token];
    else return undefined;
  }
  return current;
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
