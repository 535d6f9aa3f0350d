/**
 * JSON Schema check of the configuration document (schema.json, draft-07, so editors can use the
 * same file for completion). ajv runs with allErrors, so every problem is reported at once, and
 * useDefaults, so the defaults written in the schema are the only copy of them.
 */
import type { ValidateFunction } from 'ajv';
import schema from './schema.json' with { type: 'json' };
import { createAjv, issuesOf, type IssueWords } from '../../cloud-sync/contract/ajv.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

export const GATEWAY_CONFIG_SCHEMA: Readonly<Record<string, unknown>> = schema;

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  validator ??= createAjv({ useDefaults: true }).compile(schema);
  return validator;
}

/**
 * How the issues of a configuration file are worded: the file is the technician's own, so a
 * message names the value found ("must be <= 90, not 95"); patterns are explained in words, as
 * the regular expression itself helps nobody.
 */
const CONFIG_WORDS: IssueWords = {
  values: true,
  patterns: {
    '^[a-z0-9]+(-[a-z0-9]+)*$': 'must be lower-case letters and digits separated by single hyphens',
    '^[a-z0-9]+([_-][a-z0-9]+)*$': "must be lower-case letters and digits separated by single '-' or '_'",
    '^[A-Za-z0-9._:-]+$': 'must be a host name, an IPv4 address or an IPv6 address without brackets',
    '^([01][0-9]|2[0-3]):[0-5][0-9]$': 'must be a time of day HH:MM (00:00..23:59)',
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}$': 'must be a date YYYY-MM-DD',
  },
};

/**
 * Checks `doc` against the schema and fills in defaults IN PLACE (pass a copy). Returns every
 * violation, translated into a pointer to the offending value and a plain message.
 */
export function checkSchema(doc: unknown): Issue[] {
  const validate = getValidator();
  return validate(doc) ? [] : issuesOf(validate.errors ?? [], CONFIG_WORDS);
}

/** The value a JSON pointer names (own properties only: never Object.prototype's), or undefined. */
export function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let current: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) current = current[Number(token)];
    else if (typeof current === 'object' && current !== null && Object.hasOwn(current, token))
      current = (current as Record<string, unknown>)[token];
    else return undefined;
  }
  return current;
}
