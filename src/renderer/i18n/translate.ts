/**
 * The language tables and the lookup. Keys are typed from the English table and every other
 * table must have all of them, so a missing translation fails type-check.
 */
import { en, type MessageKey, type Messages } from './en.js';
import { zhCN } from './zh-CN.js';

export type Locale = 'en' | 'zh-CN';
export type { MessageKey, Messages };
export type Params = Record<string, string | number>;

export const TABLES: Record<Locale, Messages> = { en, 'zh-CN': zhCN };

/** The first of the user's languages we have, else English. */
export function pickLocale(languages: readonly string[]): Locale {
  for (const lang of languages) {
    if (lang.toLowerCase().startsWith('zh')) return 'zh-CN';
    if (lang.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

/** The message in `locale` with each `{name}` replaced by its parameter. */
export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const text = TABLES[locale][key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
