import type { AppInfo, Conflict, ConflictChoice } from '../../shared/bridge.js';
import { useI18n } from '../i18n/index.js';
import { useBridge } from '../state/context.js';
import { useAction } from '../state/use-action.js';
import { ErrorText } from './ErrorText.js';

/** Files both sides changed: each version side by side, and the three ways out. */
export function ConflictList({ conflicts, app, folderName }: { conflicts: Conflict[]; app: AppInfo; folderName: (id: number) => string }) {
  const { t } = useI18n();
  return (
    <section className="panel" aria-labelledby="conflicts-title">
      <div className="panel-head">
        <h2 id="conflicts-title">{t('conflicts.title')}</h2>
        <span className="meta">{t('conflicts.count', { count: conflicts.length })}</span>
      </div>
      {conflicts.length === 0 ? (
        <p className="empty">{t('conflicts.none')}</p>
      ) : (
        <ul className="card-list">
          {conflicts.map((c) => (
            <ConflictItem key={c.id} conflict={c} app={app} folder={folderName(c.folder)} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ConflictItem({ conflict: c, app, folder }: { conflict: Conflict; app: AppInfo; folder: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const bridge = useBridge();
  const [resolve, state] = useAction((choice: ConflictChoice) => bridge.resolveConflict(c.id, choice));
  const [show, showState] = useAction((path: string) => bridge.showInFolder(c.folder, path));
  const titleId = `conflict-${c.id}`;
  return (
    <li className="card conflict" aria-labelledby={titleId} data-path={c.path}>
      <h3 id={titleId} className="path">
        {c.path}
      </h3>
      <p className="meta">{t('conflicts.detected', { folder, time: i18n.time(c.time) })}</p>
      <table className="versions">
        <caption className="visually-hidden">{t('conflicts.versions')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('conflicts.version')}</th>
            <th scope="col">{t('conflicts.device')}</th>
            <th scope="col">{t('conflicts.modified')}</th>
            <th scope="col">{t('conflicts.size')}</th>
            <th scope="col">{t('conflicts.file')}</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">{t('conflicts.mine')}</th>
            <td>{c.localDevice}</td>
            <td>{c.localTime ? i18n.time(c.localTime) : '—'}</td>
            <td>{i18n.bytes(c.localSize)}</td>
            <td className="path" title={c.copy}>
              {c.copy}
            </td>
          </tr>
          <tr>
            <th scope="row">{t('conflicts.theirs')}</th>
            <td>{c.remoteDevice}</td>
            <td>{c.remoteTime ? i18n.time(c.remoteTime) : '—'}</td>
            <td>{i18n.bytes(c.remoteSize)}</td>
            <td className="path" title={c.path}>
              {c.path}
            </td>
          </tr>
        </tbody>
      </table>
      <div className="actions">
        <button type="button" onClick={() => void resolve('keep-mine')} disabled={state.busy}>
          {t('conflicts.keepMine')}
        </button>
        <button type="button" onClick={() => void resolve('keep-theirs')} disabled={state.busy}>
          {t('conflicts.keepTheirs')}
        </button>
        <button type="button" className="primary" onClick={() => void resolve('keep-both')} disabled={state.busy}>
          {t('conflicts.keepBoth')}
        </button>
        {app.capabilities.showInFolder && (
          <button type="button" className="link" onClick={() => void show(c.copy)} disabled={showState.busy}>
            {t('action.showInFolder')}
          </button>
        )}
      </div>
      <ErrorText error={state.error ?? showState.error} />
    </li>
  );
}
