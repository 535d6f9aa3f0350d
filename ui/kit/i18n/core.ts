/**
 * The translation core (docs/ui.md, "Language"): pure functions over plain dictionaries, with no
 * DOM and no signal, so test/ui/ checks them under Node. ui/kit/i18n.ts adds the current language
 * (a signal, persisted in localStorage) on top.
 *
 * A dictionary maps a key to a text with `{name}` placeholders. Every key exists in both languages
 * (test/ui/i18n.test.ts); a key that is missing anyway is shown loudly as `⟦key⟧`, never as an
 * empty string, so a browser test or a screenshot finds it.
 */

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Lang = (typeof LANGUAGES)[number];
/** Chinese first: the cabinets stand in Chinese cities (issue 13, part 6). */
export const DEFAULT_LANG: Lang = 'zh-CN';

export type Dictionary = Readonly<Record<string, string>>;
export type Params = Readonly<Record<string, string | number>>;
/** A translation function: what formatters take, so they stay testable without a page. */
export type Translate = (key: string, params?: Params) => string;

export function isLang(value: unknown): value is Lang {
  return value === 'zh-CN' || value === 'en';
}

/** The marker of a missing key or placeholder: loud on the page, easy to grep for in a test. */
export function missing(key: string): string {
  return `⟦${key}⟧`;
}

/** Replaces `{name}` with params.name; an unknown placeholder stays visible as `⟦name⟧`. */
export function interpolate(text: string, params?: Params): string {
  if (params === undefined) return text;
  return text.replace(/\{(\w+)\}/g, (_whole, name: string) => {
    const value = params[name];
    return value === undefined ? missing(name) : String(value);
  });
}

/** The translator of one language over dictionaries merged in order (the kit's, then the app's). */
export function translator(dictionaries: readonly Dictionary[]): Translate {
  const merged: Record<string, string> = Object.assign({}, ...dictionaries) as Record<string, string>;
  return (key, params) => {
    const text = merged[key];
    return text === undefined || text === '' ? missing(key) : interpolate(text, params);
  };
}

/** The placeholders a text uses, sorted (both languages of a key must use the same ones). */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? ''))].sort();
}
