/**
 * JSON Schema validation of profile and template documents (device-profiles/schema/). The schema
 * checks shape only; rules that relate several fields live in lint.ts. Validators are compiled on
 * first use, so importing this module does no I/O.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { createAjv, issuesOf, type IssueWords } from '../../cloud-sync/contract/ajv.js';
import type { Finding } from './json-source.js';
import { defaultProfileDirectory } from './paths.js';

interface Validators {
  profile: ValidateFunction;
  template: ValidateFunction;
}

let validators: Validators | undefined;

function compile(): Validators {
  const schemaDir = join(defaultProfileDirectory(), 'schema');
  const read = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(schemaDir, name), 'utf8')) as Record<string, unknown>;
  // The project's settings (allErrors: a person fixing a profile wants every problem at once).
  const ajv = createAjv();
  // The template schema refers to "profile.schema.json#/definitions/...", relative to its own file
  // so that editors resolve it too; registering under that key makes ajv resolve it the same way.
  ajv.addSchema(read('profile.schema.json'), 'profile.schema.json');
  ajv.addSchema(read('template.schema.json'), 'template.schema.json');
  const profile = ajv.getSchema('profile.schema.json');
  const template = ajv.getSchema('template.schema.json');
  if (profile === undefined || template === undefined) throw new Error('profile schemas failed to compile');
  return { profile, template };
}

function getValidators(): Validators {
  validators ??= compile();
  return validators;
}

export function validateProfileSchema(data: unknown): Finding[] {
  const validate = getValidators().profile;
  return validate(data) ? [] : issuesOf(validate.errors ?? [], PROFILE_WORDS);
}

export function validateTemplateSchema(data: unknown): Finding[] {
  const validate = getValidators().template;
  return validate(data) ? [] : issuesOf(validate.errors ?? [], PROFILE_WORDS);
}

/** Patterns explained in words: the regular expression itself helps nobody editing a profile. */
const PROFILE_WORDS: IssueWords = {
  patterns: {
    '^[a-z][a-z0-9]*(_[a-z0-9]+)*$':
      'must be snake_case (lower-case letters and digits separated by single underscores, starting with a letter)',
    '^[a-z0-9]+(-[a-z0-9]+)*$':
      'must be kebab-case (lower-case letters and digits separated by single hyphens)',
  },
};
