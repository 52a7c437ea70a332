import { useCallback, useState } from 'react';
import type { AppInfo, EngineState } from '../../shared/bridge.js';
import { ActivityFeed } from '../components/ActivityFeed.js';
import { ConflictList } from '../components/ConflictList.js';
import { ConnectionBanner } from '../components/ConnectionBanner.js';
import { HistoryDialog } from '../components/HistoryDialog.js';
import { IssueList } from '../components/IssueList.js';
import { Settings } from '../components/Settings.js';
import { StatusSummary } from '../components/StatusSummary.js';
import { TransferList } from '../components/TransferList.js';
import { useI18n, type MessageKey } from '../i18n/index.js';
import type { Prefs } from '../state/prefs.js';

type View = 'overview' | 'activity' | 'conflicts' | 'issues' | 'settings';

const VIEWS: { view: View; label: MessageKey }[] = [
  { view: 'overview', label: 'nav.overview' },
  { view: 'activity', label: 'nav.activity' },
  { view: 'conflicts', label: 'nav.conflicts' },
  { view: 'issues', label: 'nav.issues' },
  { view: 'settings', label: 'nav.settings' },
];

/** Lines of recent activity on the overview; the Activity view shows every change. */
const OVERVIEW_ACTIVITY = 8;

/** The main window: connection on top, a view list on the left, the chosen view beside it. */
export function Main({ app, state, prefs, onPrefs }: { app: AppInfo; state: EngineState; prefs: Prefs; onPrefs: (prefs: Prefs) => void }) {
  const { t } = useI18n();
  const [view, setView] = useState<View>('overview');
  const [history, setHistory] = useState<{ folder: number; path: string } | null>(null);
  const openHistory = useCallback((folder: number, path: string) => setHistory({ folder, path }), []);
  const closeHistory = useCallback(() => setHistory(null), []);
  const folderName = (id: number) => state.folders.find((f) => f.id === id)?.name ?? String(id);
  const counts: Partial<Record<View, number>> = { conflicts: state.conflicts.length, issues: state.issues.length };

  return (
    <div className="main-window">
      <header className="topbar">
        <span className="brand">Ferry</span>
        <ConnectionBanner connection={state.connection} server={state.server} setup={app.setup} />
      </header>
      <nav className="sidebar" aria-label={t('nav.label')}>
        <ul>
          {VIEWS.map(({ view: v, label }) => (
            <li key={v}>
              <button type="button" className="nav-item" aria-current={view === v ? 'page' : undefined} onClick={() => setView(v)} data-view={v}>
                <span>{t(label)}</span>
                {counts[v] ? (
                  <span className="count" aria-label={t('nav.countLabel', { count: counts[v] })}>
                    {counts[v]}
                  </span>
                ) : null}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content" aria-label={t(VIEWS.find((v) => v.view === view)!.label)}>
        {view === 'overview' && (
          <>
            <StatusSummary state={state} />
            {(state.conflicts.length > 0 || state.issues.length > 0) && (
              <p className="notice" role="note">
                {state.conflicts.length > 0 && (
                  <button type="button" className="link" onClick={() => setView('conflicts')}>
                    {t('overall.conflicts', { count: state.conflicts.length })}
                  </button>
                )}
                {state.issues.length > 0 && (
                  <button type="button" className="link" onClick={() => setView('issues')}>
                    {t('overall.issues', { count: state.issues.length })}
                  </button>
                )}
              </p>
            )}
            <TransferList transfers={state.transfers} />
            <ActivityFeed activity={state.activity} folderName={folderName} onHistory={openHistory} thisDevice={state.device} summary={{ lines: OVERVIEW_ACTIVITY, onShowAll: () => setView('activity') }} />
          </>
        )}
        {view === 'activity' && <ActivityFeed activity={state.activity} folderName={folderName} onHistory={openHistory} thisDevice={state.device} />}
        {view === 'conflicts' && <ConflictList conflicts={state.conflicts} app={app} folderName={folderName} />}
        {view === 'issues' && <IssueList issues={state.issues} folderName={folderName} />}
        {view === 'settings' && <Settings app={app} state={state} prefs={prefs} onPrefs={onPrefs} />}
      </main>
      {history && <HistoryDialog folder={history.folder} path={history.path} onClose={closeHistory} />}
    </div>
  );
}
