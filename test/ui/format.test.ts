/**
 * The UI's formatters (ui/kit/format.ts): 24-hour ISO-like times in the cabinet's zone whatever
 * the machine's zone is, relative ages and durations from the dictionaries, values with units.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translator } from '../../ui/kit/i18n/core.js';
import { KIT_EN, KIT_ZH } from '../../ui/kit/i18n/kit-messages.js';
import {
  formatAddress,
  formatAge,
  formatBytes,
  formatDateTime,
  formatDuration,
  formatPercent,
  formatTimeOfDay,
  formatWithUnit,
} from '../../ui/kit/format.js';

const zh = translator([KIT_ZH]);
const en = translator([KIT_EN]);

describe('UI formatters', () => {
  // 2026-12-07 08:24:31 UTC
  const instant = Date.UTC(2026, 11, 7, 8, 24, 31);

  it('writes date-times ISO-like on a 24-hour clock in the given zone', () => {
    assert.equal(formatDateTime(instant, 'Asia/Shanghai'), '2026-12-07 16:24:31');
    assert.equal(formatDateTime(instant, 'UTC'), '2026-12-07 08:24:31');
    assert.equal(formatDateTime(Date.UTC(2026, 11, 7, 16, 0, 5), 'Asia/Shanghai'), '2026-12-08 00:00:05');
    assert.equal(formatTimeOfDay(instant, 'America/New_York'), '03:24');
  });

  it('says how old a value is in each language', () => {
    assert.equal(formatAge(0.5, zh), '刚刚');
    assert.equal(formatAge(12.7, zh), '12 秒前');
    assert.equal(formatAge(12.7, en), '12 s ago');
    assert.equal(formatAge(185, en), '3 min ago');
    assert.equal(formatAge(7300, zh), '2 小时前');
    assert.equal(formatAge(3 * 86_400 + 5, en), '3 d ago');
    assert.equal(formatAge(-5, en), 'just now');
  });

  it('writes durations in their two largest units', () => {
    assert.equal(formatDuration(45, en), '45 s');
    assert.equal(formatDuration(3600, zh), '1 小时');
    assert.equal(formatDuration(2 * 3600 + 5 * 60, en), '2 h 5 min');
    assert.equal(formatDuration(3 * 86_400 + 4 * 3600 + 59, zh), '3 天 4 小时');
  });

  it('writes values with their unit, none for a dimensionless "1", the degree without a space', () => {
    assert.equal(formatWithUnit(12.3456, 'mg/m³', 'en'), '12.35 mg/m³');
    assert.equal(formatWithUnit(0.97, '1', 'en'), '0.97');
    assert.equal(formatWithUnit(12, '°', 'zh-CN'), '12°');
    assert.equal(formatWithUnit(21.5, '°C', 'zh-CN'), '21.5 °C');
    assert.equal(formatWithUnit(1234567, null, 'en', 0), '1,234,567');
  });

  it('writes ratios, bytes and register addresses', () => {
    assert.equal(formatPercent(0.985, 'en'), '98.5 %');
    assert.equal(formatBytes(512, 'en'), '512 B');
    assert.equal(formatBytes(3 * 1024 * 1024 * 1024 + 200 * 1024 * 1024, 'en'), '3.2 GiB');
    assert.equal(formatAddress(40), '40 (0x0028)');
  });
});
