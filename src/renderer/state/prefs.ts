/**
 * What this window remembers for itself, not the engine: theme and language. Kept in
 * localStorage so the choice survives a restart of the UI.
 */
export type Theme = 'system' | 'light' | 'dark';
export type LocalePref = 'system' | 'en' | 'zh-CN';

export interface Prefs {
  theme: Theme;
  locale: LocalePref;
}

const STORAGE = 'ferry.prefs';
const DEFAULTS: Prefs = { theme: 'system', locale: 'system' };

export function loadPrefs(): Prefs {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE) ?? '{}') as Partial<Prefs>;
    return {
      theme: saved.theme === 'light' || saved.theme === 'dark' ? saved.theme : DEFAULTS.theme,
      locale: saved.locale === 'en' || saved.locale === 'zh-CN' ? saved.locale : DEFAULTS.locale,
    };
  } catch {
    return DEFAULTS;
  }
}

export function savePrefs(prefs: Prefs): void {
  localStorage.setItem(STORAGE, JSON.stringify(prefs));
}
