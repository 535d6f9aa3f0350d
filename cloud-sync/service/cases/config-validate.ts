/**
 * Semantic checks of a cases configuration (cases/config.ts), after the JSON Schema of the
 * `cases` section has checked its shape (CASES_CONFIG_SCHEMA): ids unique, every filing rule names
 * a category that exists and class codes that are in the class table, class codes 4 digits and the
 * county code 6 digits (docs/domain.md "Component ids"), allowances and escalation steps positive,
 * and the working calendar usable (cases/calendar.ts). Issues carry JSON pointers into the section.
 */
import { calendarIssues } from './calendar.js';
import type { Allowance, CasesConfig } from './config.js';
import { CasesConfigError, underPointer } from './config-error.js';
import type { Issue } from '../../contract/errors.js';

const CLASS_CODE_RE = /^\d{4}$/;
const COUNTY_CODE_RE = /^\d{6}$/;

function checkUnique(
  ids: unknown[],
  pointer: (index: number) => string,
  what: string,
  issues: Issue[],
): void {
  const seen = new Map<unknown, number>();
  ids.forEach((id, index) => {
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else
      issues.push({
        pointer: pointer(index),
        message: `${what} ${JSON.stringify(id)} is also entry ${first}`,
      });
  });
}

function checkAllowance(allowance: Allowance | undefined, pointer: string, issues: Issue[]): void {
  if (allowance === undefined || typeof allowance.minutes !== 'number' || !(allowance.minutes > 0)) {
    issues.push({ pointer: `${pointer}/minutes`, message: 'must be a positive number of minutes' });
  } else if (!Number.isFinite(allowance.minutes)) {
    issues.push({ pointer: `${pointer}/minutes`, message: 'must be finite' });
  }
}

const positive = (value: unknown): boolean =>
  typeof value === 'number' && Number.isFinite(value) && value > 0;

/** Every semantic problem of `config` (empty when usable), pointers relative to the `cases` section. */
export function validateCasesConfig(config: CasesConfig): Issue[] {
  const issues: Issue[] = [];

  if (
    config.countyCode !== null &&
    !(typeof config.countyCode === 'string' && COUNTY_CODE_RE.test(config.countyCode))
  ) {
    issues.push({ pointer: '/countyCode', message: 'must be 6 digits (GB/T 2260 county code) or null' });
  }

  const classes = Array.isArray(config.classes) ? config.classes : [];
  classes.forEach((entry, index) => {
    if (typeof entry.code !== 'string' || !CLASS_CODE_RE.test(entry.code)) {
      issues.push({
        pointer: `/classes/${index}/code`,
        message: `${JSON.stringify(entry.code)} is not a class code: 4 digits (major class 2 + subclass 2)`,
      });
    }
  });
  checkUnique(
    classes.map((entry) => entry.code),
    (index) => `/classes/${index}/code`,
    'class code',
    issues,
  );
  const classCodes = new Set(classes.map((entry) => entry.code));

  const categories = Array.isArray(config.categories) ? config.categories : [];
  if (categories.length === 0)
    issues.push({ pointer: '/categories', message: 'needs at least one case category' });
  checkUnique(
    categories.map((category) => category.id),
    (index) => `/categories/${index}/id`,
    'category id',
    issues,
  );
  categories.forEach((category, index) => {
    const at = `/categories/${index}`;
    checkAllowance(category.dispatchWithin?.urgent, `${at}/dispatchWithin/urgent`, issues);
    checkAllowance(category.dispatchWithin?.normal, `${at}/dispatchWithin/normal`, issues);
    checkAllowance(category.handleWithin, `${at}/handleWithin`, issues);
    if (!positive(category.escalateEveryMin)) {
      issues.push({ pointer: `${at}/escalateEveryMin`, message: 'must be a positive number of minutes' });
    }
    if (!Number.isInteger(category.maxEscalationLevel) || category.maxEscalationLevel < 1) {
      issues.push({ pointer: `${at}/maxEscalationLevel`, message: 'must be an integer of at least 1' });
    }
    if (typeof category.sensorVerifyAfterS !== 'number' || !(category.sensorVerifyAfterS >= 0)) {
      issues.push({ pointer: `${at}/sensorVerifyAfterS`, message: 'must be a number of seconds, 0 or more' });
    }
  });
  const categoryIds = new Set(categories.map((category) => category.id));

  const rules = Array.isArray(config.rules) ? config.rules : [];
  checkUnique(
    rules.map((rule) => rule.id),
    (index) => `/rules/${index}/id`,
    'rule id',
    issues,
  );
  rules.forEach((rule, index) => {
    const at = `/rules/${index}`;
    if (!categoryIds.has(rule.category)) {
      issues.push({
        pointer: `${at}/category`,
        message: `category ${JSON.stringify(rule.category)} is not configured`,
      });
    }
    (rule.classCodes ?? []).forEach((code, codeIndex) => {
      if (typeof code !== 'string' || !CLASS_CODE_RE.test(code)) {
        issues.push({
          pointer: `${at}/classCodes/${codeIndex}`,
          message: `${JSON.stringify(code)} is not 4 digits`,
        });
      } else if (!classCodes.has(code)) {
        issues.push({
          pointer: `${at}/classCodes/${codeIndex}`,
          message: `class code ${code} is not in the class table`,
        });
      }
    });
    (rule.ruleKeys ?? []).forEach((key, keyIndex) => {
      // Only a trailing `*` is a wildcard (FilingRule.ruleKeys); one elsewhere would never match.
      if (typeof key === 'string' && key.slice(0, -1).includes('*')) {
        issues.push({ pointer: `${at}/ruleKeys/${keyIndex}`, message: 'only a trailing * is a wildcard' });
      }
    });
    if (!Number.isInteger(rule.minLevel) || rule.minLevel < 1 || rule.minLevel > 3) {
      issues.push({ pointer: `${at}/minLevel`, message: 'must be an alarm level 1..3' });
    }
    if (rule.severity !== 'urgent' && rule.severity !== 'normal') {
      issues.push({ pointer: `${at}/severity`, message: 'must be urgent or normal' });
    }
  });

  if (typeof config.calendar !== 'object' || config.calendar === null) {
    issues.push({ pointer: '/calendar', message: 'a working calendar is required' });
  } else {
    issues.push(...underPointer('/calendar', calendarIssues(config.calendar)));
  }
  if (!positive(config.trendWindowMin)) {
    issues.push({ pointer: '/trendWindowMin', message: 'must be a positive number of minutes' });
  }
  if (!positive(config.monitorIntervalS)) {
    issues.push({ pointer: '/monitorIntervalS', message: 'must be a positive number of seconds' });
  }
  return issues;
}

/** @throws CasesConfigError (CASES_CONFIG_INVALID) listing every issue. */
export function assertValidCasesConfig(config: CasesConfig): void {
  const issues = validateCasesConfig(config);
  if (issues.length > 0) throw new CasesConfigError(issues);
}
