/**
 * The current language and `t()` (docs/ui.md, "Language"). zh-CN by default; the choice is kept
 * in localStorage so it survives reloads and sign-outs (issue 13, part 6). Reading `lang.value` in
 * a component subscribes it, so switching re-renders every visible text at once.
 *
 * An app registers its dictionaries once at start (`useDictionaries`): the kit's and its own,
 * merged per language. Every visible text comes through `t`; a missing key shows as `⟦key⟧`.
 */
import { computed, signal } from '@preact/signals';
import {
  DEFAULT_LANG,
  isLang,
  translator,
  type Dictionary,
  type Lang,
  type Params,
  type Translate,
} from './i18n/core.js';
import { KIT_EN, KIT_ZH, type KitKey } from './i18n/kit-messages.js';

const STORAGE_KEY = 'kerbside.lang';

function storedLang(): Lang {
  try {
    const stored = window.localStorage.getItem(STORAGE_KEY);
    return isLang(stored) ? stored : DEFAULT_LANG;
  } catch {
    // Storage refused (private mode, a policy): the default language, nothing remembered.
    return DEFAULT_LANG;
  }
}

export const lang = signal<Lang>(storedLang());

const dictionaries = signal<Record<Lang, Dictionary[]>>({ 'zh-CN': [KIT_ZH], en: [KIT_EN] });

const current = computed<Translate>(() => translator(dictionaries.value[lang.value]));

/** Adds an app's dictionaries over the kit's (call once, before the first render). */
export function useDictionaries(byLang: Record<Lang, Dictionary>): void {
  dictionaries.value = {
    'zh-CN': [KIT_ZH, byLang['zh-CN']],
    en: [KIT_EN, byLang.en],
  };
}

export function setLang(next: Lang): void {
  lang.value = next;
  document.documentElement.lang = next;
  try {
    window.localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered across reloads; the switch still works for this page.
  }
}

/** Translates an untyped key (formatters, keys from tables); prefer the typed `t` of each app. */
export const translate: Translate = (key, params) => current.value(key, params);

/** The kit's typed `t`: a key that is not in the kit's dictionary does not compile. */
export function kt(key: KitKey, params?: Params): string {
  return current.value(key, params);
}

/** Whether a key exists in the current language (known error codes, optional labels). */
export function hasKey(key: string): boolean {
  return dictionaries.value[lang.value].some((d) => d[key] !== undefined && d[key] !== '');
}

/** A profile's `name: {zh-CN, en}` in the current language (the other one if this one is empty). */
export function localName(name: { 'zh-CN': string; en: string } | null | undefined): string {
  if (name === null || name === undefined) return '';
  const here = name[lang.value];
  return here !== '' ? here : name[lang.value === 'en' ? 'zh-CN' : 'en'];
}
