/**
 * Semantic checks of the cases configuration (cases/config-validate.ts): the defaults pass, and
 * each broken clause is reported with its JSON pointer, all at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CasesConfigError } from '../../../../cloud-sync/service/cases/config-error.js';
import {
  assertValidCasesConfig,
  validateCasesConfig,
} from '../../../../cloud-sync/service/cases/config-validate.js';
import { DEFAULT_CASES_CONFIG, type CasesConfig } from '../../../../cloud-sync/service/cases/config.js';

const defaults = (): CasesConfig => structuredClone(DEFAULT_CASES_CONFIG);

describe('validateCasesConfig', () => {
  it('accepts the docs/domain.md defaults and a county code', () => {
    assert.deepEqual(validateCasesConfig(defaults()), []);
    assert.deepEqual(validateCasesConfig({ ...defaults(), countyCode: '110105' }), []);
    assertValidCasesConfig(defaults());
  });

  it('reports every broken clause with its pointer', () => {
    const config = defaults();
    config.countyCode = '1101';
    config.classes.push({ code: '0102', name: { 'zh-CN': '重复', en: 'Duplicate' } });
    config.classes.push({ code: '12', name: { 'zh-CN': '短', en: 'Short' } });
    config.categories.push({ ...structuredClone(config.categories[0] as CasesConfig['categories'][number]) });
    const last = config.categories.length - 1;
    (config.categories[last] as CasesConfig['categories'][number]).handleWithin = {
      minutes: 0,
      workingTime: true,
    };
    config.rules.push({
      id: 'gas-level-2',
      classCodes: ['0199', 'x'],
      ruleKeys: ['h2*s'],
      minLevel: 4,
      category: 'flooding',
      severity: 'urgent',
      autoFile: true,
    });
    config.calendar = { ...config.calendar, timeZone: 'Nowhere/City' };
    config.monitorIntervalS = 0;
    const rule = config.rules.length - 1;
    const classCount = DEFAULT_CASES_CONFIG.classes.length;
    assert.deepEqual(
      validateCasesConfig(config).map((issue) => issue.pointer),
      [
        '/countyCode',
        `/classes/${classCount + 1}/code`, // "12"
        `/classes/${classCount}/code`, // 0102 again
        `/categories/${last}/id`, // hazardous_gas again
        `/categories/${last}/handleWithin/minutes`,
        `/rules/${rule}/id`,
        `/rules/${rule}/category`,
        `/rules/${rule}/classCodes/0`, // 0199 not in the table
        `/rules/${rule}/classCodes/1`, // not 4 digits
        `/rules/${rule}/ruleKeys/0`,
        `/rules/${rule}/minLevel`,
        '/calendar/timeZone',
        '/monitorIntervalS',
      ],
    );
    assert.throws(
      () => assertValidCasesConfig(config),
      (error: unknown) =>
        error instanceof CasesConfigError &&
        error.code === 'CASES_CONFIG_INVALID' &&
        error.issues.length === 13,
    );
  });
});
