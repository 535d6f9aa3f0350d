/**
 * Writes docs/errors.md (`npm run docs:errors`) from the error catalogues in the source.
 *
 * The catalogues are DISCOVERED, not listed: every `export const <AREA>_ERRORS = ` in a source file
 * under SOURCE_DIRS is imported and documented, so a new area cannot be left out of the document.
 * test/docs/errors.test.ts uses the same functions to fail when docs/errors.md is stale, when a
 * class extends Error directly, or when an error class's codes are in no discovered catalogue.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The folders of shipped source; test/ is not one of them. */
export const SOURCE_DIRS = ['drivers', 'gateway', 'cloud-sync', 'simulators'] as const;
export const DOC_PATH = 'docs/errors.md';

/** The two bases; each is the one class allowed to extend Error itself. */
export const ERROR_BASES: Readonly<Record<string, string>> = {
  KerbsideError: 'cloud-sync/contract/errors.ts',
  DriverError: 'drivers/errors.ts',
};

/** Built-in error classes our classes must not extend directly. */
const BUILT_IN_ERRORS = new Set([
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
]);

export interface SourceFile {
  /** Path from the repository root, with forward slashes. */
  path: string;
  text: string;
}

export interface CatalogueEntry {
  code: string;
  means: string;
  status: number | undefined;
}

export interface Catalogue {
  /** The exported constant, e.g. CASE_ERRORS. */
  name: string;
  path: string;
  entries: CatalogueEntry[];
  /** The error classes whose codes are this catalogue's, subclasses included. */
  classes: string[];
}

export interface ErrorClass {
  name: string;
  path: string;
  /** The class it extends, e.g. KerbsideError, ModbusError, Error. */
  parent: string;
  /** The base's type argument, e.g. CaseErrorCode; undefined when there is none. */
  codeType: string | undefined;
  /** The catalogue the code type is derived from (`keyof typeof X_ERRORS` in the same file). */
  catalogue: string | undefined;
  /** Whether the class body passes that catalogue to super(). */
  passesCatalogue: boolean;
}

const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'data']);

/** Every .ts file under SOURCE_DIRS. */
export function sourceFiles(root = ROOT): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (!SKIPPED_DIRS.has(name) && !name.startsWith('.')) walk(path);
      } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        files.push({ path: relative(root, path).split('\\').join('/'), text: readFileSync(path, 'utf8') });
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return files;
}

const CATALOGUE_DECLARATION = /^export const (\w+_ERRORS) = /gm;
const CODE_TYPE = /\btype (\w+) = keyof typeof (\w+_ERRORS)\b/g;
const CLASS = /\bclass (\w+)(?:<[^{]*?>)?\s+extends\s+([\w.]+)(?:<\s*(\w+)\s*>)?\s*\{/g;
/** `class CaseError extends errorClass('CaseError', CASE_ERRORS)`: the factory passes the catalogue. */
const FACTORY_CLASS = /\bclass (\w+)\s+extends\s+errorClass\(\s*'\w+',\s*(\w+_ERRORS)\s*\)\s*\{/g;

/** The catalogues a file declares, by name. */
export function declaredCatalogues(file: SourceFile): string[] {
  return [...file.text.matchAll(CATALOGUE_DECLARATION)].map((match) => match[1] ?? '');
}

/** The classes a file declares that extend something, with what they extend. */
export function classesOf(file: SourceFile): ErrorClass[] {
  const codeTypes = new Map<string, string>();
  for (const match of file.text.matchAll(CODE_TYPE)) codeTypes.set(match[1] ?? '', match[2] ?? '');
  const classes: ErrorClass[] = [];
  for (const match of file.text.matchAll(CLASS)) {
    const [, name = '', parent = '', codeType] = match;
    const catalogue = codeType === undefined ? undefined : codeTypes.get(codeType);
    // The class body runs to the first closing brace at the start of a line.
    const bodyStart = (match.index ?? 0) + match[0].length;
    const bodyEnd = file.text.indexOf('\n}', bodyStart);
    const body = file.text.slice(bodyStart, bodyEnd === -1 ? undefined : bodyEnd);
    const passesCatalogue =
      catalogue !== undefined && new RegExp(`\\bsuper\\(\\s*${catalogue}\\b`).test(body);
    classes.push({ name, path: file.path, parent, codeType, catalogue, passesCatalogue });
  }
  for (const match of file.text.matchAll(FACTORY_CLASS)) {
    const [, name = '', catalogue = ''] = match;
    classes.push({
      name,
      path: file.path,
      parent: 'KerbsideError',
      codeType: undefined,
      catalogue,
      passesCatalogue: true,
    });
  }
  return classes;
}

/**
 * What breaks the error rules (ARCHITECTURE.md, "Invariants"), one line each: a class extending a
 * built-in error other than the two bases, and a class extending a base whose codes are not those
 * of a discovered catalogue it passes to super().
 */
export function errorRuleViolations(
  files: readonly SourceFile[],
  catalogueNames: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  for (const file of files) {
    for (const cls of classesOf(file)) {
      if (BUILT_IN_ERRORS.has(cls.parent.replace(/^globalThis\./, ''))) {
        if (ERROR_BASES[cls.name] !== file.path)
          problems.push(
            `${file.path}: class ${cls.name} extends ${cls.parent}; extend KerbsideError (DriverError in drivers/)`,
          );
      } else if (ERROR_BASES[cls.parent] !== undefined) {
        if (cls.catalogue === undefined || !catalogueNames.has(cls.catalogue)) {
          problems.push(
            `${file.path}: class ${cls.name} extends ${cls.parent} with codes that are in no catalogue ` +
              `(give it ${cls.parent}<XCode> with \`type XCode = keyof typeof X_ERRORS\` and \`export const X_ERRORS = \`)`,
          );
        } else if (!cls.passesCatalogue) {
          problems.push(`${file.path}: class ${cls.name} does not pass ${cls.catalogue} to super()`);
        }
      }
    }
  }
  return problems;
}

function isEntry(value: unknown): value is { means: string; status?: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { means, status } = value as Record<string, unknown>;
  return typeof means === 'string' && (status === undefined || typeof status === 'number');
}

/** Imports every catalogue declared under SOURCE_DIRS, in the order of SOURCE_DIRS, then path. */
export async function discoverCatalogues(files: readonly SourceFile[] = sourceFiles()): Promise<Catalogue[]> {
  const classes = files.flatMap(classesOf);
  const catalogues: Catalogue[] = [];
  for (const file of files) {
    const names = declaredCatalogues(file);
    if (names.length === 0) continue;
    const module = (await import(pathToFileURL(join(ROOT, file.path)).href)) as Record<string, unknown>;
    for (const name of names) {
      const table = module[name];
      if (typeof table !== 'object' || table === null)
        throw new Error(`${file.path}: ${name} is not an object`);
      const entries: CatalogueEntry[] = [];
      for (const [code, spec] of Object.entries(table)) {
        if (!isEntry(spec)) throw new Error(`${file.path}: ${name}.${code} is not { means, status? }`);
        entries.push({ code, means: spec.means, status: spec.status });
      }
      catalogues.push({ name, path: file.path, entries, classes: classesUsing(name, file.path, classes) });
    }
  }
  return catalogues;
}

/** The classes built on a catalogue: those whose code type is its, and their subclasses. */
function classesUsing(catalogue: string, path: string, classes: readonly ErrorClass[]): string[] {
  const found = classes.filter((cls) => cls.catalogue === catalogue && cls.path === path);
  for (let i = 0; i < found.length; i++) {
    const parent = found[i];
    if (parent === undefined) continue;
    // A subclass names its parent; two classes may share a name (DownlinkError in the gateway and
    // in the cloud), so a shared name counts only for a subclass in the parent's own file.
    const unique = classes.filter((cls) => cls.name === parent.name).length === 1;
    for (const cls of classes) {
      if (cls.parent === parent.name && !found.includes(cls) && (unique || cls.path === parent.path))
        found.push(cls);
    }
  }
  return found.map((cls) => cls.name);
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

const TOP_LEVEL: Readonly<Record<string, string>> = {
  drivers: 'Drivers (`drivers/`)',
  gateway: 'Gateway (`gateway/`)',
  'cloud-sync': 'Contract and cloud service (`cloud-sync/`)',
  simulators: 'Simulators (`simulators/`)',
};

/** docs/errors.md for these catalogues. */
export function renderErrorsDoc(catalogues: readonly Catalogue[]): string {
  const lines = [
    '# Errors',
    '',
    '<!-- Generated by `npm run docs:errors` (scripts/errors-doc.ts) from the catalogues in the source:',
    '     edit the catalogues, not this file. test/docs/errors.test.ts fails when it is out of date. -->',
    '',
    'Every error our code throws is a `KerbsideError`',
    '([cloud-sync/contract/errors.ts](../cloud-sync/contract/errors.ts)), the one base: a stable `code`, a',
    'message for people, an optional `cause`, an optional HTTP `status` and optional `issues` (each',
    'problem of an input, by JSON pointer). `drivers/` imports nothing of ours, so its errors extend',
    '`DriverError` ([drivers/errors.ts](../drivers/errors.ts)), a base of the same shape without `status`',
    'and `issues`. Only `Error` objects are thrown ([ARCHITECTURE.md](../ARCHITECTURE.md), "Invariants").',
    '',
    '**Codes are stable.** Programs, tests and operators match on the code, never on the message: a',
    'code is never renamed or given another meaning, while messages may change. A code names one',
    'failure of its area; the tables below say what each one means.',
    '',
    '**Where `status` comes from.** Each area declares its codes once, in a catalogue: a data table',
    '`export const <AREA>_ERRORS = { CODE: { means, status? } }`; the codes an error of the area may',
    "carry are that table's keys. An error's `status` is its code's `status` in that table, the HTTP",
    'status the API answers it with (`{ error: code, message, issues? }`). A code without one is not an API',
    'answer (a gateway fault, a bad start-up configuration, a programming error).',
    '',
    "**Adding a code.** Add a line to the area's catalogue with a one-line `means` (and a `status` if",
    'the API answers it), throw it, and run `npm run docs:errors`. A new area declares',
    '`export const <AREA>_ERRORS = { ... } as const satisfies ErrorCatalogue<string>` and declares its',
    "class with the factory, `class <Area>Error extends errorClass('<Area>Error', <AREA>_ERRORS) {}`. A",
    'class with fields of its own derives `type <Area>ErrorCode = keyof typeof <AREA>_ERRORS`, extends',
    '`KerbsideError<<Area>ErrorCode>` (`DriverError` in `drivers/`, with `DriverErrorCatalogue`) and',
    'passes the catalogue to `super()`. The script finds the catalogue by its name.',
    'test/docs/errors.test.ts fails when this file is out of date, when a class extends `Error` itself,',
    'and when an error class has codes in no catalogue.',
  ];
  for (const top of SOURCE_DIRS) {
    const inTop = catalogues.filter((catalogue) => catalogue.path.startsWith(`${top}/`));
    if (inTop.length === 0) continue;
    lines.push('', `## ${TOP_LEVEL[top] ?? top}`);
    for (const catalogue of inTop) {
      const thrownAs = catalogue.classes.map((name) => `\`${name}\``).join(', ');
      lines.push(
        '',
        `### ${catalogue.name}`,
        '',
        `Declared in [${catalogue.path}](../${catalogue.path})${thrownAs === '' ? '' : `; thrown as ${thrownAs}`}.`,
        '',
        '| Code | HTTP status | Meaning |',
        '| --- | --- | --- |',
        ...catalogue.entries.map(
          (entry) => `| \`${entry.code}\` | ${entry.status ?? ''} | ${cell(entry.means)} |`,
        ),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The text docs/errors.md should have now. */
export async function generateErrorsDoc(): Promise<string> {
  return renderErrorsDoc(await discoverCatalogues());
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const files = sourceFiles();
  const catalogues = await discoverCatalogues(files);
  const problems = errorRuleViolations(files, new Set(catalogues.map((catalogue) => catalogue.name)));
  // The document would list an incomplete picture: say what to fix instead of writing it.
  if (problems.length > 0) {
    process.stderr.write(`error classes break the rules of ${DOC_PATH}:\n  ${problems.join('\n  ')}\n`);
    process.exitCode = 1;
  } else {
    writeFileSync(join(ROOT, DOC_PATH), renderErrorsDoc(catalogues));
    process.stdout.write(`wrote ${DOC_PATH}: ${catalogues.length} catalogues\n`);
  }
}
