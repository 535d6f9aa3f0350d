/**
 * Loads device profiles: parse (with a source map for line numbers) -> JSON Schema -> semantic
 * lint -> expansion of templates and defaults into a LoadedProfile. Every problem found on the way
 * is a Issue naming file, JSON pointer and line; loading fails with one ProfileError that
 * carries all of them (ARCHITECTURE.md, "Models we imitate": "every error printed", as Zigbee2MQTT
 * does for settings).
 *
 * Layout (ARCHITECTURE.md, "Code map"): <dir>/<family>/<vendor>-<model>.json for profiles,
 * <dir>/templates/<template>.json for block templates, <dir>/schema/ for the schemas.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ProfileError } from './errors.js';
import { expandProfile } from './expand.js';
import { parseJsonSource } from './json-source.js';
import type { Finding, SourceDocument } from './json-source.js';
import { lintProfileDocument, lintTemplateDocument } from './lint.js';
import type { TemplateLookup } from './lint.js';
import { defaultProfileDirectory } from './paths.js';
import { validateProfileSchema, validateTemplateSchema } from './schema.js';
import type { LoadedProfile, ProfileDocument, TemplateDocument } from './types.js';
import type { Issue } from '../../cloud-sync/contract/errors.js';

export { ProfileError } from './errors.js';
export { defaultProfileDirectory } from './paths.js';

export interface ProfileLoadOptions {
  /**
   * Templates by name, already checked (e.g. from loadTemplateFile). When given, only these are
   * used; otherwise templates are read from `templatesDir` as blocks name them.
   */
  templates?: ReadonlyMap<string, TemplateDocument>;
  /** Default: the `templates/` folder beside the profile's family folder (`<file>/../../templates`). */
  templatesDir?: string;
  /** Check that the file sits at `<family>/<id>.json` (default true). */
  checkLayout?: boolean;
}

export interface TemplateLoadOptions {
  /** Check that the file is named `<id>.json` (default true). */
  checkLayout?: boolean;
}

export interface ProfileDirectory {
  /** Valid profiles by id; a profile with any issue is left out. */
  profiles: Map<string, LoadedProfile>;
  issues: Issue[];
}

/** Every issue of a profile text (empty when it loads); template issues are included. */
export function lintProfile(text: string, file: string, options: ProfileLoadOptions = {}): Issue[] {
  return analyseProfileText(text, file, options).issues;
}

/** Every issue of a template text (empty when it is valid). */
export function lintTemplate(text: string, file: string, options: TemplateLoadOptions = {}): Issue[] {
  return analyseTemplate(text, file, options.checkLayout ?? true).issues;
}

/** Loads a profile from text; throws ProfileError listing every issue. */
export function loadProfileText(text: string, file: string, options: ProfileLoadOptions = {}): LoadedProfile {
  const { issues, value } = analyseProfileText(text, file, options);
  if (issues.length > 0 || value === undefined) throw new ProfileError(issues);
  return value;
}

/** Loads `<family>/<vendor>-<model>.json`; throws ProfileError listing every issue. */
export function loadProfileFile(file: string, options: ProfileLoadOptions = {}): LoadedProfile {
  return loadProfileText(readText(file), file, options);
}

export function loadTemplateText(
  text: string,
  file: string,
  options: TemplateLoadOptions = {},
): TemplateDocument {
  const result = analyseTemplate(text, file, options.checkLayout ?? true);
  if (result.issues.length > 0 || result.value === undefined) throw new ProfileError(result.issues);
  return result.value;
}

export function loadTemplateFile(file: string, options: TemplateLoadOptions = {}): TemplateDocument {
  return loadTemplateText(readText(file), file, options);
}

/**
 * Loads every template and profile under `dir` (default: this repository's device-profiles/).
 * Never throws for bad content: a bad file becomes issues and is left out, so one broken profile
 * cannot stop the gateway from polling the devices whose profiles are fine.
 */
export function loadProfileDirectory(dir: string = defaultProfileDirectory()): ProfileDirectory {
  const issues: Issue[] = [];
  const profiles = new Map<string, LoadedProfile>();
  if (!isDirectory(dir)) {
    return { profiles, issues: [{ file: dir, pointer: '', message: 'profile directory does not exist' }] };
  }

  const templates = new Map<string, TemplateDocument>();
  const invalidTemplates = new Set<string>();
  const templatesDir = join(dir, 'templates');
  for (const file of jsonFiles(templatesDir)) {
    const name = basename(file, '.json');
    const result = analyseTemplate(readTextOr(file, issues), file, true);
    issues.push(...result.issues);
    if (result.value !== undefined && result.issues.length === 0) templates.set(name, result.value);
    else invalidTemplates.add(name);
  }
  const lookup: TemplateLookup = (name) =>
    templates.get(name) ?? (invalidTemplates.has(name) ? 'invalid' : undefined);

  for (const file of jsonFiles(dir)) {
    issues.push({
      file,
      pointer: '',
      message: 'profiles belong in a <family>/ folder, templates in templates/',
    });
  }
  const folders = readdirSync(dir)
    .filter((name) => name !== 'schema' && name !== 'templates' && !name.startsWith('.'))
    .filter((name) => isDirectory(join(dir, name)))
    .sort();
  for (const folder of folders) {
    for (const file of jsonFiles(join(dir, folder))) {
      const result = analyseProfile(readTextOr(file, issues), file, lookup, true);
      issues.push(...result.issues);
      if (result.value === undefined || result.issues.length > 0) continue;
      const other = profiles.get(result.value.id);
      if (other !== undefined) {
        issues.push({
          file,
          pointer: '/id',
          message: `duplicate profile id '${result.value.id}' (also ${other.file})`,
        });
        continue;
      }
      profiles.set(result.value.id, result.value);
    }
  }
  return { profiles, issues };
}

interface Analysis<T> {
  issues: Issue[];
  value?: T;
}

type SchemaChecked<T> = { ok: true; source: SourceDocument; doc: T } | { ok: false; issues: Issue[] };

/**
 * The first two steps for profiles and templates alike: parse, then the JSON Schema. Lint runs
 * only on a document that passed, since it assumes the schema's shapes; running it on a misshapen
 * document would only add noise.
 */
function schemaChecked<T>(
  text: string,
  file: string,
  validateSchema: (data: unknown) => Finding[],
): SchemaChecked<T> {
  const parsed = parseJsonSource(text);
  if (!parsed.ok) {
    return {
      ok: false,
      issues: [{ file, pointer: parsed.pointer, line: parsed.line, message: parsed.message }],
    };
  }
  const source = parsed.doc;
  const schemaFindings = validateSchema(source.data);
  if (schemaFindings.length > 0) return { ok: false, issues: attach(file, source, schemaFindings) };
  // The schema accepted it, so it has T's shape.
  return { ok: true, source, doc: source.data as T };
}

/** One profile text on its own: its issues followed by those of the templates it names. */
function analyseProfileText(
  text: string,
  file: string,
  options: ProfileLoadOptions,
): Analysis<LoadedProfile> {
  const templateIssues: Issue[] = [];
  const result = analyseProfile(
    text,
    file,
    lookupFor(file, options, templateIssues),
    options.checkLayout ?? true,
  );
  return { ...result, issues: [...result.issues, ...templateIssues] };
}

function analyseTemplate(text: string, file: string, checkLayout: boolean): Analysis<TemplateDocument> {
  const checked = schemaChecked<TemplateDocument>(text, file, validateTemplateSchema);
  if (!checked.ok) return { issues: checked.issues };
  const { source, doc } = checked;
  const findings = lintTemplateDocument(doc);
  const name = basename(file, '.json');
  if (checkLayout && doc.id !== name) {
    findings.push({ pointer: '/id', message: `template id '${doc.id}' must equal its file name '${name}'` });
  }
  if (findings.length > 0) return { issues: attach(file, source, findings) };
  return { issues: [], value: doc };
}

function analyseProfile(
  text: string,
  file: string,
  lookup: TemplateLookup,
  checkLayout: boolean,
): Analysis<LoadedProfile> {
  const checked = schemaChecked<ProfileDocument>(text, file, validateProfileSchema);
  if (!checked.ok) return { issues: checked.issues };
  const { source, doc } = checked;
  const findings = lintProfileDocument(doc, lookup);
  if (checkLayout) findings.push(...layoutFindings(doc, file));
  if (findings.length > 0) return { issues: attach(file, source, findings) };
  const loaded = expandProfile(
    doc,
    (name) => {
      const template = lookup(name);
      return typeof template === 'object' ? template : undefined;
    },
    file,
  );
  return { issues: [], value: loaded };
}

/** The file's place must agree with its content, so a profile is found where its id says. */
function layoutFindings(doc: ProfileDocument, file: string): Finding[] {
  const findings: Finding[] = [];
  const name = basename(file, '.json');
  if (doc.id !== name) {
    findings.push({
      pointer: '/id',
      message: `id '${doc.id}' must equal the file name '${name}' (<vendor>-<model>)`,
    });
  }
  const folder = basename(dirname(file));
  if (doc.family !== folder) {
    findings.push({
      pointer: '/family',
      message: `family '${doc.family}' must equal the folder name '${folder}'`,
    });
  }
  return findings;
}

function lookupFor(file: string, options: ProfileLoadOptions, templateIssues: Issue[]): TemplateLookup {
  const given = options.templates;
  if (given !== undefined) return (name) => given.get(name);
  const dir = options.templatesDir ?? join(dirname(file), '..', 'templates');
  const cache = new Map<string, TemplateDocument | 'invalid' | undefined>();
  return (name) => {
    if (cache.has(name)) return cache.get(name);
    // `name` passed the schema's kebab-case pattern, so it cannot climb out of `dir`.
    const templateFile = join(dir, `${name}.json`);
    let found: TemplateDocument | 'invalid' | undefined;
    if (existsSync(templateFile)) {
      const result = analyseTemplate(readTextOr(templateFile, templateIssues), templateFile, true);
      templateIssues.push(...result.issues);
      found = result.value !== undefined && result.issues.length === 0 ? result.value : 'invalid';
    }
    cache.set(name, found);
    return found;
  };
}

function attach(file: string, source: SourceDocument, findings: readonly Finding[]): Issue[] {
  return findings.map((f) => {
    const line = source.lineOf(f.pointer);
    return line === undefined
      ? { file, pointer: f.pointer, message: f.message }
      : { file, pointer: f.pointer, line, message: f.message };
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const issue: Issue = { file, pointer: '', message: `cannot read file: ${errorMessage(err)}` };
    throw new ProfileError([issue], { cause: err });
  }
}

/** Reads a file or records why not; the empty text then adds a "malformed JSON" issue of its own. */
function readTextOr(file: string, issues: Issue[]): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    issues.push({ file, pointer: '', message: `cannot read file: ${errorMessage(err)}` });
    return '';
  }
}

function jsonFiles(dir: string): string[] {
  if (!isDirectory(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !isDirectory(join(dir, name)))
    .sort()
    .map((name) => join(dir, name));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
