/**
 * Translations and locale-aware formatting for components: useI18n() gives `t(key, params)`
 * and the format helpers bound to the chosen locale. Keys are typed from the English table,
 * and every other table must have all of them, so a missing translation fails type-check.
 */
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { formatBytes, formatDuration, formatRate, formatTime } from '../format.js';
import { en, type MessageKey, type Messages } from './en.js';
import { zhCN } from './zh-CN.js';

export type Locale = 'en' | 'zh-CN';
export type { MessageKey };

const TABLES: Record<Locale, Messages> = { en, 'zh-CN': zhCN };

/** The first of the user's languages we have, else English. */
export function pickLocale(languages: readonly string[]): Locale {
  for (const lang of languages) {
    if (lang.toLowerCase().startsWith('zh')) return 'zh-CN';
    if (lang.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

export type Params = Record<string, string | number>;

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const text = TABLES[locale][key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export interface I18n {
  locale: Locale;
  t(key: MessageKey, params?: Params): string;
  bytes(n: number): string;
  rate(bytesPerSecond: number): string;
  duration(seconds: number): string;
  time(ms: number): string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ locale, children }: { locale: Locale; children: ReactNode }) {
  const value = useMemo<I18n>(
    () => ({
      locale,
      t: (key, params) => translate(locale, key, params),
      bytes: (n) => formatBytes(n, locale),
      rate: (n) => formatRate(n, locale),
      duration: (s) => formatDuration(s, locale),
      time: (ms) => formatTime(ms, locale),
    }),
    [locale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
