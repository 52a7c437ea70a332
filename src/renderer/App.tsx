import { useEffect, useState } from 'react';
import type { HostInfo } from '../shared/bridge.js';
import { I18nProvider, pickLocale, translate, type Locale } from './i18n/index.js';
import { FirstRun, HostDone } from './screens/FirstRun.js';
import { Main } from './screens/Main.js';
import { useFerry } from './state/context.js';
import { loadPrefs, savePrefs, type Prefs } from './state/prefs.js';

function localeFor(prefs: Prefs): Locale {
  return prefs.locale === 'system' ? pickLocale(navigator.languages) : prefs.locale;
}

/** Applies the theme and language to the document, and picks the screen for the setup. */
export function App() {
  const [prefs, setPrefs] = useState(loadPrefs);
  const [hosted, setHosted] = useState<HostInfo | null>(null);
  const { app, state, loadError } = useFerry();
  const locale = localeFor(prefs);

  useEffect(() => {
    const root = document.documentElement;
    if (prefs.theme === 'system') delete root.dataset.theme;
    else root.dataset.theme = prefs.theme;
    root.lang = locale;
  }, [prefs.theme, locale]);

  const changePrefs = (next: Prefs) => {
    savePrefs(next);
    setPrefs(next);
  };

  let screen;
  if (hosted) screen = <HostDone info={hosted} onContinue={() => setHosted(null)} />;
  else if (!app || !state) screen = <Message text={loadError ? translate(locale, 'app.loadFailed', { error: loadError }) : translate(locale, 'app.loading')} />;
  else if (app.setup.mode === 'none') screen = <FirstRun app={app} onHosted={setHosted} />;
  else screen = <Main app={app} state={state} prefs={prefs} onPrefs={changePrefs} />;

  return <I18nProvider locale={locale}>{screen}</I18nProvider>;
}

export function Message({ text }: { text: string }) {
  return (
    <main className="message-screen">
      <p role="status">{text}</p>
    </main>
  );
}
