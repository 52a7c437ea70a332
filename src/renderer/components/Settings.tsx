import { useEffect, useId, useState, type FormEvent } from 'react';
import type { AppInfo, BandwidthLimits, EngineState, Settings as AppSettings } from '../../shared/bridge.js';
import { useI18n } from '../i18n/index.js';
import { useBridge } from '../state/context.js';
import type { Prefs } from '../state/prefs.js';
import { useAction } from '../state/use-action.js';
import { ErrorText } from './ErrorText.js';

const KIB = 1024;

/** Server, account, folders, pause, bandwidth, ignore rules and the app's own preferences. */
export function Settings({ app, state, prefs, onPrefs }: { app: AppInfo; state: EngineState; prefs: Prefs; onPrefs: (prefs: Prefs) => void }) {
  const { t } = useI18n();
  return (
    <div className="settings">
      <h2 className="visually-hidden">{t('nav.settings')}</h2>
      <Account app={app} state={state} />
      <Folders app={app} state={state} />
      <Sync state={state} />
      <IgnoreRules state={state} />
      <Preferences app={app} prefs={prefs} onPrefs={onPrefs} />
    </div>
  );
}

function Account({ app, state }: { app: AppInfo; state: EngineState }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [signOut, signOutState] = useAction(() => bridge.signOut());
  const { setup } = app;
  const server = setup.mode === 'none' ? state.server : setup.server;
  return (
    <section className="panel" aria-labelledby="account-title">
      <h3 id="account-title">{t('settings.account')}</h3>
      <dl className="facts">
        <dt>{t('settings.server')}</dt>
        <dd>{server ?? '—'}</dd>
        {setup.mode !== 'none' && setup.user && (
          <>
            <dt>{t('settings.user')}</dt>
            <dd>{setup.user}</dd>
          </>
        )}
        <dt>{t('settings.device')}</dt>
        <dd>{(setup.mode !== 'none' && setup.device) || state.device || '—'}</dd>
        {setup.mode === 'host' && (
          <>
            <dt>{t('settings.addresses')}</dt>
            <dd>{setup.addresses.join(', ')}</dd>
          </>
        )}
      </dl>
      {setup.mode === 'fixed' ? (
        <p className="meta">{t('settings.fixed')}</p>
      ) : (
        setup.mode !== 'none' && (
          <div className="actions">
            <button type="button" onClick={() => void signOut()} disabled={signOutState.busy}>
              {t('settings.signOut')}
            </button>
            <span className="meta">{t('settings.signOutHint')}</span>
          </div>
        )
      )}
      <ErrorText error={signOutState.error} />
    </section>
  );
}

function Folders({ app, state }: { app: AppInfo; state: EngineState }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [show, showState] = useAction((folder: number) => bridge.showInFolder(folder, ''));
  return (
    <section className="panel" aria-labelledby="folders-title">
      <h3 id="folders-title">{t('settings.folders')}</h3>
      <ul className="plain-list">
        {state.folders.map((f) => (
          <li key={f.id} className="row">
            <span className="folder-name">{f.name}</span>
            <span className="path grow" title={f.root}>
              {f.root}
            </span>
            {app.capabilities.showInFolder && (
              <button type="button" className="link" onClick={() => void show(f.id)} disabled={showState.busy}>
                {t('action.showInFolder')}
              </button>
            )}
          </li>
        ))}
      </ul>
      <ErrorText error={showState.error} />
    </section>
  );
}

function toKib(bytes: number | null): string {
  return bytes === null ? '' : String(Math.round(bytes / KIB));
}

function fromKib(text: string): number | null {
  const n = Number(text.trim());
  return text.trim() === '' || !Number.isFinite(n) || n <= 0 ? null : Math.round(n * KIB);
}

function Sync({ state }: { state: EngineState }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [up, setUp] = useState(toKib(state.limits.upBytesPerSecond));
  const [down, setDown] = useState(toKib(state.limits.downBytesPerSecond));
  const [saved, setSaved] = useState(false);
  const [toggle, toggleState] = useAction(() => (state.paused ? bridge.resume() : bridge.pause()));
  const [save, saveState] = useAction((limits: BandwidthLimits) => bridge.setBandwidthLimits(limits));
  const upId = useId();
  const downId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const limits = { upBytesPerSecond: fromKib(up), downBytesPerSecond: fromKib(down) };
    await save(limits);
    setUp(toKib(limits.upBytesPerSecond));
    setDown(toKib(limits.downBytesPerSecond));
    setSaved(true);
  };

  return (
    <section className="panel" aria-labelledby="sync-title">
      <h3 id="sync-title">{t('settings.sync')}</h3>
      <label className="check">
        <input type="checkbox" checked={state.paused} onChange={() => void toggle()} disabled={toggleState.busy} />
        {t('settings.pauseSync')}
      </label>
      <ErrorText error={toggleState.error} />
      <form className="grid-form" onSubmit={(e) => void submit(e)}>
        <label htmlFor={upId}>{t('settings.uploadLimit')}</label>
        <input id={upId} type="number" min={0} step={1} inputMode="numeric" value={up} placeholder={t('settings.unlimited')} onChange={(e) => setUp(e.target.value)} />
        <label htmlFor={downId}>{t('settings.downloadLimit')}</label>
        <input id={downId} type="number" min={0} step={1} inputMode="numeric" value={down} placeholder={t('settings.unlimited')} onChange={(e) => setDown(e.target.value)} />
        <div className="actions span">
          <button type="submit" disabled={saveState.busy}>
            {t('action.save')}
          </button>
          <span className="meta" role="status">
            {saved && !saveState.error ? t('settings.saved') : t('settings.limitHint')}
          </span>
        </div>
      </form>
      <ErrorText error={saveState.error} />
    </section>
  );
}

function IgnoreRules({ state }: { state: EngineState }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [folder, setFolder] = useState(state.folders[0]?.id ?? 0);
  const [rules, setRules] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [load, loadState] = useAction((id: number) => bridge.getIgnoreRules(id));
  const [save, saveState] = useAction((id: number, text: string) => bridge.setIgnoreRules(id, text));
  const folderId = useId();
  const rulesId = useId();

  useEffect(() => {
    setRules(null);
    setSaved(false);
    void load(folder).then((text) => setRules(text ?? ''));
  }, [folder, load]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    await save(folder, rules ?? '');
    setSaved(true);
  };

  if (state.folders.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="ignore-title">
      <h3 id="ignore-title">{t('settings.ignoreRules')}</h3>
      <form onSubmit={(e) => void submit(e)}>
        {state.folders.length > 1 && (
          <div className="row">
            <label htmlFor={folderId}>{t('settings.folder')}</label>
            <select id={folderId} value={folder} onChange={(e) => setFolder(Number(e.target.value))}>
              {state.folders.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <label htmlFor={rulesId} className="meta">
          {t('settings.ignoreHint')}
        </label>
        <textarea id={rulesId} rows={5} spellCheck={false} value={rules ?? ''} disabled={rules === null} onChange={(e) => setRules(e.target.value)} />
        <div className="actions">
          <button type="submit" disabled={rules === null || saveState.busy}>
            {t('action.save')}
          </button>
          <span className="meta" role="status">
            {saved && !saveState.error ? t('settings.saved') : ''}
          </span>
        </div>
      </form>
      <ErrorText error={loadState.error ?? saveState.error} />
    </section>
  );
}

function Preferences({ app, prefs, onPrefs }: { app: AppInfo; prefs: Prefs; onPrefs: (prefs: Prefs) => void }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [set, setState] = useAction((settings: Partial<AppSettings>) => bridge.setSettings(settings));
  const themeId = useId();
  const localeId = useId();
  return (
    <section className="panel" aria-labelledby="prefs-title">
      <h3 id="prefs-title">{t('settings.app')}</h3>
      {app.capabilities.launchAtLogin && (
        <label className="check">
          <input type="checkbox" checked={app.settings.launchAtLogin} onChange={(e) => void set({ launchAtLogin: e.target.checked })} disabled={setState.busy} />
          {t('settings.launchAtLogin')}
        </label>
      )}
      {app.capabilities.notifications && (
        <label className="check">
          <input type="checkbox" checked={app.settings.notifications} onChange={(e) => void set({ notifications: e.target.checked })} disabled={setState.busy} />
          {t('settings.notifications')}
        </label>
      )}
      <ErrorText error={setState.error} />
      <div className="grid-form">
        <label htmlFor={themeId}>{t('settings.theme')}</label>
        <select id={themeId} value={prefs.theme} onChange={(e) => onPrefs({ ...prefs, theme: e.target.value as Prefs['theme'] })}>
          <option value="system">{t('settings.themeSystem')}</option>
          <option value="light">{t('settings.themeLight')}</option>
          <option value="dark">{t('settings.themeDark')}</option>
        </select>
        <label htmlFor={localeId}>{t('settings.language')}</label>
        <select id={localeId} value={prefs.locale} onChange={(e) => onPrefs({ ...prefs, locale: e.target.value as Prefs['locale'] })}>
          <option value="system">{t('settings.languageSystem')}</option>
          <option value="en">English</option>
          <option value="zh-CN">简体中文</option>
        </select>
      </div>
      <p className="meta version">{t('settings.version', { version: app.version })}</p>
    </section>
  );
}
