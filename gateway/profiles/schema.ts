/**
 * JSON Schema validation of profile and template documents (device-profiles/schema/). The schema
 * checks shape only; rules that relate several fields live in lint.ts. Validators are compiled on
 * first use, so importing this module does no I/O.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { escapePointerToken } from './json-source.js';
import type { Finding } from './json-source.js';
import { defaultProfileDirectory } from './paths.js';

// ajv is CommonJS: under NodeNext the default import is module.exports, whose `default` is the class.
const Ajv = AjvModule.default;

interface Validators {
  profile: ValidateFunction;
  template: ValidateFunction;
}

let validators: Validators | undefined;

function compile(): Validators {
  const schemaDir = join(defaultProfileDirectory(), 'schema');
  const read = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(schemaDir, name), 'utf8')) as Record<string, unknown>;
  // allErrors: a person fixing a profile wants every problem at once, not one per run.
  const ajv = new Ajv({ allErrors: true, strict: true });
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
  return validate(data) ? [] : toFindings(validate.errors ?? []);
}

export function validateTemplateSchema(data: unknown): Finding[] {
  const validate = getValidators().template;
  return validate(data) ? [] : toFindings(validate.errors ?? []);
}

/** Turns ajv errors into findings whose pointer names the offending value itself where possible. */
function toFindings(errors: readonly ErrorObject[]): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const finding = toFinding(error);
    const key = `${finding.pointer}\u0000${finding.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
  }
  return findings;
}

function toFinding(error: ErrorObject): Finding {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      return {
        pointer: `${error.instancePath}/${escapePointerToken(name)}`,
        message: `unknown property '${name}'`,
      };
    }
    case 'required':
      return {
        pointer: error.instancePath,
        message: `missing required property '${String(params['missingProperty'])}'`,
      };
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { pointer: error.instancePath, message: `must be one of ${allowed}` };
    }
    case 'const':
      return { pointer: error.instancePath, message: `must be ${JSON.stringify(params['allowedValue'])}` };
    case 'pattern': {
      const hint = PATTERN_HINTS[String(params['pattern'])];
      return { pointer: error.instancePath, message: hint ?? error.message ?? 'does not match its pattern' };
    }
    default:
      return {
        pointer: error.instancePath,
        message: error.message ?? `fails schema keyword ${error.keyword}`,
      };
  }
}

const PATTERN_HINTS: Record<string, string> = {
  '^[a-z][a-z0-9]*(_[a-z0-9]+)*$':
    'must be snake_case (lower-case letters and digits separated by single underscores, starting with a letter)',
  '^[a-z0-9]+(-[a-z0-9]+)*$':
    'must be kebab-case (lower-case letters and digits separated by single hyphens)',
};
