/**
 * The error rules of ARCHITECTURE.md, "Invariants", and the document that lists every code
 * (docs/errors.md): the document is what scripts/errors-doc.ts generates from the catalogues it
 * discovers, no source class extends Error but the two bases, and every error class's codes come
 * from a discovered catalogue.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DOC_PATH,
  ROOT,
  discoverCatalogues,
  errorRuleViolations,
  renderErrorsDoc,
  sourceFiles,
  type Catalogue,
} from '../../scripts/errors-doc.js';

const files = sourceFiles();
const catalogues: Catalogue[] = await discoverCatalogues(files);
const catalogueNames = new Set(catalogues.map((catalogue) => catalogue.name));

describe('errors', () => {
  it('docs/errors.md is what npm run docs:errors generates', () => {
    const written = readFileSync(join(ROOT, DOC_PATH), 'utf8');
    assert.ok(
      written === renderErrorsDoc(catalogues),
      `${DOC_PATH} is out of date with the error catalogues: run npm run docs:errors`,
    );
  });

  it('no class outside test/ extends Error but the two bases, and every error class has a catalogue', () => {
    assert.deepEqual(errorRuleViolations(files, catalogueNames), []);
  });

  it('every code has a one-line meaning and at most an HTTP error status', () => {
    const wrong: string[] = [];
    for (const catalogue of catalogues) {
      for (const { code, means, status } of catalogue.entries) {
        const where = `${catalogue.path} ${catalogue.name}.${code}`;
        if (!/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(code)) wrong.push(`${where}: not an AREA_WHAT code`);
        if (means.trim() === '' || means.includes('\n')) wrong.push(`${where}: means must be one line`);
        if (status !== undefined && !(Number.isInteger(status) && status >= 400 && status <= 599))
          wrong.push(`${where}: status ${status} is not an HTTP error status`);
      }
      if (catalogue.entries.length === 0) wrong.push(`${catalogue.path} ${catalogue.name}: no codes`);
    }
    assert.deepEqual(wrong, []);
  });

  it('finds the catalogues and classes it checks', () => {
    for (const name of [
      'CONTRACT_ERRORS',
      'MODBUS_ERRORS',
      'CASE_ERRORS',
      'STORE_ERRORS',
      'SIMULATOR_ERRORS',
    ])
      assert.ok(catalogueNames.has(name), name);
    const thrownAs = (name: string): string[] => catalogues.find((c) => c.name === name)?.classes ?? [];
    // Subclasses count with their parent's catalogue.
    assert.deepEqual(thrownAs('MODBUS_ERRORS'), ['ModbusError', 'RequestRejection']);
    assert.ok(thrownAs('CLOUD_SERVICE_ERRORS').includes('UnserialisableEventsError'));
    assert.equal(catalogues.find((c) => c.name === 'AUTH_ERRORS')?.entries[0]?.status, 400);
  });

  it('reports a class that extends Error, and one whose codes are in no catalogue (factory too)', () => {
    const sample = [
      {
        path: 'gateway/sample/errors.ts',
        text: [
          'export class Plain extends Error {}',
          "type LooseCode = 'LOOSE_ONE';",
          'export class Loose extends KerbsideError<LooseCode> {',
          "  constructor() { super({ LOOSE_ONE: { means: 'x' } }, 'LOOSE_ONE', 'x'); }",
          '}',
          'export const SAMPLE_ERRORS = {} as const;',
          'type SampleCode = keyof typeof SAMPLE_ERRORS;',
          'export class Fine extends KerbsideError<SampleCode> {',
          "  constructor() { super(SAMPLE_ERRORS, 'SAMPLE_ONE' as SampleCode, 'x'); }",
          '}',
          'export class Elsewhere extends KerbsideError<SampleCode> {',
          "  constructor() { super(OTHER_ERRORS, 'SAMPLE_ONE' as SampleCode, 'x'); }",
          '}',
          "export class Made extends errorClass('Made', SAMPLE_ERRORS) {}",
          "export class Stray extends errorClass('Stray', NOWHERE_ERRORS) {}",
        ].join('\n'),
      },
    ];
    const problems = errorRuleViolations(sample, new Set(['SAMPLE_ERRORS']));
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0] ?? '', /class Plain extends Error/);
    assert.match(problems[1] ?? '', /class Loose extends KerbsideError with codes that are in no catalogue/);
    assert.match(problems[2] ?? '', /class Elsewhere does not pass SAMPLE_ERRORS to super\(\)/);
    assert.match(problems[3] ?? '', /class Stray extends KerbsideError with codes that are in no catalogue/);
  });
});
