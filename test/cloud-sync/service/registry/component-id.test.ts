/**
 * Component ids (registry/component-id.ts, docs/domain.md "Component ids"): 16 digits split into
 * county, major class, subclass and serial; checked against the configured county and class table.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CASES_CONFIG } from '../../../../cloud-sync/service/cases/config.js';
import {
  componentIdIssues,
  gridCellIssue,
  parseComponentId,
  splitComponentId,
} from '../../../../cloud-sync/service/registry/component-id.js';

const ANY_COUNTY = { countyCode: null, classes: DEFAULT_CASES_CONFIG.classes };
const CHAOYANG = { countyCode: '110105', classes: DEFAULT_CASES_CONFIG.classes };

describe('component ids', () => {
  it('splits a sewer cover id (class 0102) into its fields', () => {
    assert.deepEqual(parseComponentId('1101050102000123', CHAOYANG), {
      countyCode: '110105',
      majorClass: '01',
      subclass: '02',
      classCode: '0102',
      serial: '000123',
    });
    assert.equal(splitComponentId('110105010200012'), null, '15 digits');
  });

  it('refuses wrong lengths, non-digits, another county, an unknown class and serial 000000', () => {
    assert.match(componentIdIssues('110105010200012', ANY_COUNTY)[0] ?? '', /16 digits/);
    assert.match(componentIdIssues('11010501020001x3', ANY_COUNTY)[0] ?? '', /16 digits/);
    assert.match(componentIdIssues(1101050102000123, ANY_COUNTY)[0] ?? '', /16 digits/);
    assert.deepEqual(
      componentIdIssues('3101150102000123', ANY_COUNTY),
      [],
      'any county when none is configured',
    );
    assert.match(componentIdIssues('3101150102000123', CHAOYANG)[0] ?? '', /county code 310115 .* 110105/);
    assert.match(componentIdIssues('1101050999000123', CHAOYANG)[0] ?? '', /class code 0999/);
    assert.deepEqual(componentIdIssues('1101050102000000', CHAOYANG), [
      'serial 000000 is not a component serial',
    ]);
    // All at once.
    assert.equal(componentIdIssues('3101150999000000', CHAOYANG).length, 3);
    assert.throws(() => parseComponentId('3101150102000123', CHAOYANG), RangeError);
  });

  it('checks grid cells (15 digits)', () => {
    assert.equal(gridCellIssue('110105001001001'), null);
    assert.match(gridCellIssue('11010500100100') ?? '', /15 digits/);
    assert.match(gridCellIssue('11010500100100a') ?? '', /15 digits/);
  });
});
