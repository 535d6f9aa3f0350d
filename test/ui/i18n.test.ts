/**
 * Every visible text of the web UIs comes from the dictionaries (docs/ui.md, "Language"); this
 * checks them: every key in both languages, no empty text, the same placeholders in both, every
 * key the source uses (`t('...')`, `kt('...')`, `translate('...')`) exists, and the glossary's one
 * word per concept (no synonym the glossary rejects).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { placeholdersOf, translator, type Dictionary } from '../../ui/kit/i18n/core.js';
import { KIT_EN, KIT_ZH } from '../../ui/kit/i18n/kit-messages.js';
import { CABINET_EN, CABINET_ZH } from '../../ui/cabinet/i18n/messages.js';

const UI = fileURLToPath(new URL('../../ui/', import.meta.url));

interface App {
  name: string;
  /** Folders whose source uses these dictionaries. */
  folders: string[];
  zh: Dictionary[];
  en: Dictionary[];
}

const APPS: App[] = [
  { name: 'kit', folders: ['kit'], zh: [KIT_ZH], en: [KIT_EN] },
  { name: 'cabinet', folders: ['kit', 'cabinet'], zh: [KIT_ZH, CABINET_ZH], en: [KIT_EN, CABINET_EN] },
];

function merged(dictionaries: Dictionary[]): Record<string, string> {
  return Object.assign({}, ...dictionaries) as Record<string, string>;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** Keys the source passes as a literal to a translating call. */
function keysUsedIn(source: string): string[] {
  return [...source.matchAll(/\b(?:t|kt|translate)\(\s*(['"`])([^'"`$]+)\1/g)].map((m) => m[2] ?? '');
}

/** Words the glossary (docs/ui.md) replaces: each with the one to use. */
const REJECTED_SYNONYMS: Record<string, string> = {
  告警: '报警',
  警报: '报警',
  屏蔽: '搁置 / 设计抑制',
  投运: '恢复投用',
  停运: '停用',
  死区值: '死区',
  站号: '从站地址',
  CRC错误: '校验错误',
};

describe('UI dictionaries', () => {
  it('has every key of the kit and of the cabinet in both languages', () => {
    for (const app of APPS) {
      const zh = Object.keys(merged(app.zh)).sort();
      const en = Object.keys(merged(app.en)).sort();
      assert.deepEqual(
        zh.filter((k) => !en.includes(k)),
        [],
        `${app.name}: keys missing in English`,
      );
      assert.deepEqual(
        en.filter((k) => !zh.includes(k)),
        [],
        `${app.name}: keys missing in Chinese`,
      );
    }
  });

  it('has no empty text and the same placeholders in both languages', () => {
    for (const app of APPS) {
      const zh = merged(app.zh);
      const en = merged(app.en);
      for (const key of Object.keys(zh)) {
        assert.notEqual((zh[key] ?? '').trim(), '', `${app.name}: '${key}' is empty in zh-CN`);
        assert.notEqual((en[key] ?? '').trim(), '', `${app.name}: '${key}' is empty in en`);
        assert.deepEqual(
          placeholdersOf(zh[key] ?? ''),
          placeholdersOf(en[key] ?? ''),
          `${app.name}: placeholders of '${key}'`,
        );
      }
    }
  });

  it('keeps the kit and each app apart (an app never overrides a kit text unnoticed)', () => {
    const overlap = Object.keys(CABINET_ZH).filter((k) => k in KIT_ZH);
    assert.deepEqual(overlap, []);
  });

  it('has every key the source uses', () => {
    for (const app of APPS) {
      const known = merged(app.zh);
      const missing: string[] = [];
      let used = 0;
      for (const folder of app.folders) {
        for (const file of sourceFiles(join(UI, folder))) {
          if (file.includes(`${join('i18n', 'messages')}`) || file.endsWith('kit-messages.ts')) continue;
          for (const key of keysUsedIn(readFileSync(file, 'utf8'))) {
            used += 1;
            if (!(key in known)) missing.push(`${key} (${file.slice(UI.length)})`);
          }
        }
      }
      assert.ok(
        used > (app.name === 'kit' ? 20 : 200),
        `${app.name}: found only ${used} keys in use; the scan is broken`,
      );
      assert.deepEqual(missing, [], `${app.name}: keys used in the source but not in the dictionaries`);
    }
  });

  it('finds keys in the shapes the source writes them', () => {
    assert.deepEqual(keysUsedIn(`t('a.b') + kt("c.d", { n }) + translate('e.f') + t(KEY) + t(\`g.\${x}\`)`), [
      'a.b',
      'c.d',
      'e.f',
    ]);
  });

  it('uses the glossary’s words: no synonym it rejects in the Chinese texts', () => {
    const zh = { ...KIT_ZH, ...CABINET_ZH };
    for (const [key, text] of Object.entries(zh)) {
      for (const [word, instead] of Object.entries(REJECTED_SYNONYMS)) {
        assert.ok(!text.includes(word), `'${key}' says '${word}': the glossary says '${instead}'`);
      }
    }
  });

  it('has no Chinese left in the English texts but the language switch', () => {
    const en = { ...KIT_EN, ...CABINET_EN };
    const cjk = Object.entries(en).filter(
      ([key, text]) => key !== 'layout.langSwitch' && /[\u3400-\u9fff]/.test(text),
    );
    assert.deepEqual(cjk, []);
  });

  it('shows a missing key and a missing placeholder loudly, never as an empty string', () => {
    const t = translator([{ 'a.b': 'x {n} {m}' }]);
    assert.equal(t('no.such.key'), '⟦no.such.key⟧');
    assert.equal(t('a.b', { n: 1 }), 'x 1 ⟦m⟧');
  });
});
