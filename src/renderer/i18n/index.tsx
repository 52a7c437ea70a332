/** Translations and locale-aware formatting for components: `t(key, params)` and the format helpers bound to the chosen locale. */
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { formatBytes, formatDuration, formatRate, formatTime } from '../format.js';
import { translate, type Locale, type MessageKey, type Params } from './translate.js';

export { pickLocale, translate, type Locale, type MessageKey, type Params } from './translate.js';

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
