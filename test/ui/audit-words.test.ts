/**
 * The audit log in words (ui/cabinet/audit-words.ts): every action code the gateway writes has a
 * phrase in both languages, an unknown one shows as written; the detail's keys are translated,
 * times are in the cabinet's zone, numbers rounded, durations as durations, empty values left out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditActionText, auditDetailItems, type AuditWording } from '../../ui/cabinet/audit-words.js';
import { CABINET_EN, CABINET_ZH } from '../../ui/cabinet/i18n/messages.js';
import { translator, type Dictionary, type Lang } from '../../ui/kit/i18n/core.js';
import { KIT_EN, KIT_ZH } from '../../ui/kit/i18n/kit-messages.js';

function wording(lang: Lang): AuditWording {
  const dictionaries: Dictionary[] = lang === 'en' ? [KIT_EN, CABINET_EN] : [KIT_ZH, CABINET_ZH];
  const merged = Object.assign({}, ...dictionaries) as Record<string, string>;
  return { t: translator(dictionaries), has: (key) => key in merged, lang, timeZone: 'Asia/Shanghai' };
}

/** The codes the gateway writes (grep gateway/ for `action:`, accountAudit, audit(actor, ...)). */
const ACTIONS = [
  'web.login',
  'web.logout',
  'web.login_failed',
  'web.setup',
  'web.user_add',
  'web.user_update',
  'web.password_change',
  'web.password_change_failed',
  'alarm.acknowledge',
  'alarm.shelve',
  'alarm.unshelve',
  'alarm.reset',
  'alarm.remove_from_service',
  'alarm.return_to_service',
  'lighting.switch',
  'lighting.dim',
  'bus.read',
  'config.override_set',
  'config.override_clear',
];

function pairs(detail: Record<string, unknown>, lang: Lang, target = 'x'): Record<string, string> {
  return Object.fromEntries(auditDetailItems(detail, target, wording(lang)).map((i) => [i.label, i.value]));
}

describe('audit words', () => {
  it('names every action the gateway writes in both languages; an unknown code stays as written', () => {
    for (const lang of ['zh-CN', 'en'] as const) {
      for (const action of ACTIONS) {
        const text = auditActionText(action, wording(lang));
        assert.notEqual(text, action, `${action} in ${lang}`);
        assert.ok(!text.includes('⟦'), text);
      }
      assert.equal(auditActionText('cli.something_new', wording(lang)), 'cli.something_new');
    }
    assert.equal(auditActionText('alarm.shelve', wording('zh-CN')), '搁置报警');
  });

  it('writes a lighting command: words, the time in the cabinet zone, empty values left out', () => {
    const detail = {
      address: '127.0.0.1',
      action: 'off',
      level: null,
      durationS: 3600,
      reason: 'lamp test',
      result: 'succeeded',
      untilWallMs: Date.UTC(2026, 11, 8, 3, 6, 21, 869),
    };
    assert.deepEqual(pairs(detail, 'en'), {
      Action: 'Switch off',
      Duration: '1 h',
      Reason: 'lamp test',
      Result: 'succeeded',
      Until: '2026-12-08 11:06:21',
    });
    assert.deepEqual(pairs(detail, 'zh-CN'), {
      动作: '关灯',
      时长: '1 小时',
      原因: 'lamp test',
      结果: '成功',
      到期时间: '2026-12-08 11:06:21',
    });
  });

  it('writes an alarm operation: no empty reason, the state and the shelve duration in words', () => {
    assert.deepEqual(pairs({ reason: '', state: 'acknowledged', address: '::1' }, 'en'), {
      'Alarm state': 'Acknowledged',
    });
    assert.deepEqual(
      pairs({ reason: 'door', shelve: { mode: 'timed', durationMs: 1_800_000 }, state: 'shelved' }, 'zh-CN'),
      { 原因: 'door', 搁置时长: '30 分钟', 报警状态: '已搁置' },
    );
    assert.equal(
      pairs({ shelve: { mode: 'one-shot' } }, 'en')['Shelved for'],
      'until the alarm returns to normal',
    );
  });

  it('writes a bus read: the table in words, the address in hex, the round trip rounded; the error apart', () => {
    const items = auditDetailItems(
      {
        table: 'input',
        start: 300,
        count: 6,
        result: 'refused',
        error: 'forbidden',
        roundTripMs: 6.704458000000159,
      },
      'gas-1',
      wording('en'),
    );
    assert.deepEqual(
      items.map((i) => [i.label, i.value, i.serverText]),
      [
        ['Table', 'Input registers', false],
        ['Start address', '300 (0x012C)', false],
        ['Count', '6', false],
        ['Result', 'refused', false],
        ['Error', 'forbidden', true],
        ['Round-trip time', '6.7 ms', false],
      ],
    );
  });

  it('writes an override value compactly: alarm levels in words, a delay as a duration', () => {
    const levels = [
      { level: 1, setpoint: 15, priority: 'high' },
      { level: 2, setpoint: 50.123456, priority: 'critical' },
    ];
    assert.equal(
      pairs({ value: levels, reason: 'odour' }, 'en', '/alarms/gas-1/ch4_high/levels')['New value'],
      'Level 1 15 (High) · Level 2 50.123 (Critical)',
    );
    assert.equal(pairs({ value: 90 }, 'en', '/alarms/gas-1/ch4_high/onDelayS')['New value'], '1 min');
    assert.equal(pairs({ value: 0.5 }, 'en', '/alarms/gas-1/ch4_high/deadband')['New value'], '0.5');
  });

  it('writes account actions and unknown keys readably', () => {
    assert.deepEqual(pairs({ role: 'admin' }, 'zh-CN'), { 角色: '管理员' });
    assert.deepEqual(pairs({ lockedForS: 60 }, 'en'), { 'Account locked for': '1 min' });
    assert.deepEqual(pairs({ disabled: true, passwordChanged: true }, 'en'), {
      Account: 'Disabled',
      'Password changed': 'Yes',
    });
    assert.deepEqual(pairs({ somethingNew: { a: 1, b: '' }, flagged: false }, 'en'), {
      somethingNew: 'a: 1',
      flagged: 'No',
    });
    assert.deepEqual(auditDetailItems({}, 'x', wording('en')), []);
  });
});
