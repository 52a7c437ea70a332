import type { EngineState, FolderPhase } from '../../shared/bridge.js';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { useBridge } from '../state/context.js';
import { useAction } from '../state/use-action.js';
import { ErrorText } from './ErrorText.js';
import { ProgressBar } from './ProgressBar.js';

const PHASE_KEYS: Record<FolderPhase, MessageKey> = {
  starting: 'phase.starting',
  scanning: 'phase.scanning',
  syncing: 'phase.syncing',
  idle: 'phase.idle',
  paused: 'phase.paused',
  error: 'phase.error',
};

/** One line for the whole app, as the tray would say it. */
function overall(state: EngineState): MessageKey {
  if (state.paused) return 'overall.paused';
  if (state.folders.some((f) => f.phase === 'error')) return 'overall.error';
  if (state.connection.status === 'signed-out') return 'overall.signedOut';
  if (state.connection.status !== 'connected') return 'overall.waiting';
  if (state.transfers.items.length > 0 || state.folders.some((f) => f.phase !== 'idle' || f.pending > 0)) return 'overall.syncing';
  return 'overall.upToDate';
}

/** Overall status, total progress, pause/resume, and each folder's state. */
export function StatusSummary({ state }: { state: EngineState }) {
  const i18n = useI18n();
  const { t } = i18n;
  const bridge = useBridge();
  const [toggle, toggleState] = useAction(() => (state.paused ? bridge.resume() : bridge.pause()));
  const { transfers } = state;
  const pending = state.folders.reduce((n, f) => n + f.pending, 0);
  const busy = transfers.bytesTotal > 0;

  return (
    <section className="panel" aria-labelledby="status-title">
      <div className="panel-head">
        <h2 id="status-title" data-overall={overall(state)}>
          {t(overall(state))}
        </h2>
        <button type="button" onClick={() => void toggle()} disabled={toggleState.busy} aria-pressed={state.paused}>
          {state.paused ? t('action.resume') : t('action.pause')}
        </button>
      </div>
      <ErrorText error={toggleState.error} />
      {busy && (
        <div className="overall-progress">
          <ProgressBar
            done={transfers.bytesDone}
            total={transfers.bytesTotal}
            label={t('transfers.overall')}
            valueText={t('transfers.ofTotal', { done: i18n.bytes(transfers.bytesDone), total: i18n.bytes(transfers.bytesTotal) })}
          />
          <p className="meta">
            {t('transfers.ofTotal', { done: i18n.bytes(transfers.bytesDone), total: i18n.bytes(transfers.bytesTotal) })}
            {' · '}
            {i18n.rate(transfers.rate)}
            {transfers.etaSeconds !== null && ` · ${t('transfers.eta', { eta: i18n.duration(transfers.etaSeconds) })}`}
          </p>
        </div>
      )}
      {pending > 0 && <p className="meta">{t('overall.pending', { count: pending })}</p>}
      <ul className="folder-list" aria-label={t('folders.label')}>
        {state.folders.map((f) => (
          <li key={f.id} className="folder">
            <div className="folder-main">
              <span className="folder-name">{f.name}</span>
              <span className="folder-root" title={f.root}>
                {f.root}
              </span>
            </div>
            <div className="folder-side">
              <span className={`badge phase-${f.phase}`}>{t(PHASE_KEYS[f.phase])}</span>
              <span className="meta">
                {f.files === 1 ? t('folders.summaryOne', { size: i18n.bytes(f.bytes) }) : t('folders.summary', { files: f.files.toLocaleString(i18n.locale), size: i18n.bytes(f.bytes) })}
                {f.lastSyncAt !== null && ` · ${t('folders.lastSync', { time: i18n.time(f.lastSyncAt) })}`}
              </span>
              {f.message && <span className="meta warn">{f.message}</span>}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
