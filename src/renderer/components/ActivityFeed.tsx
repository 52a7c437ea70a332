import type { Activity } from '../../shared/bridge.js';
import { useI18n, type MessageKey } from '../i18n/index.js';

const ACTION_KEYS: Record<Activity['action'], MessageKey> = {
  added: 'activity.added',
  changed: 'activity.changed',
  deleted: 'activity.deleted',
  moved: 'activity.moved',
  conflict: 'activity.conflict',
};

const ACTION_ICONS: Record<Activity['action'], string> = { added: '+', changed: '✎', deleted: '−', moved: '→', conflict: '!' };

/** What changed, where and on which device, newest first; each path opens its history. */
export function ActivityFeed({
  activity,
  folderName,
  onHistory,
  limit,
  thisDevice,
}: {
  activity: Activity[];
  /** This device's name: its own changes come back from the server under it (a restore, say). */
  thisDevice: string | null;
  folderName: (id: number) => string;
  onHistory: (folder: number, path: string) => void;
  limit?: number;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const shown = limit === undefined ? activity : activity.slice(0, limit);
  return (
    <section className="panel" aria-labelledby="activity-title">
      <div className="panel-head">
        <h2 id="activity-title">{t('activity.title')}</h2>
      </div>
      {shown.length === 0 ? (
        <p className="empty">{t('activity.none')}</p>
      ) : (
        <ol className="activity-list" aria-live="polite" aria-relevant="additions">
          {shown.map((a) => (
            <li key={a.id} className={`activity action-${a.action}`} data-path={a.path}>
              <span className="activity-icon" aria-hidden="true">
                {ACTION_ICONS[a.action]}
              </span>
              <div className="activity-main">
                <span className="path" title={a.path}>
                  {a.path}
                </span>
                <span className="meta">
                  {t(ACTION_KEYS[a.action])}
                  {a.from && ` ${t('activity.from', { from: a.from })}`}
                  {' · '}
                  {a.direction === 'up' || a.device === thisDevice ? t('activity.byThisDevice') : t('activity.byDevice', { device: a.device })}
                  {' · '}
                  {folderName(a.folder)}
                </span>
              </div>
              <time className="meta nowrap" dateTime={new Date(a.time).toISOString()}>
                {i18n.time(a.time)}
              </time>
              <button type="button" className="link" onClick={() => onHistory(a.folder, a.path)} aria-label={t('history.openFor', { path: a.path })}>
                {t('history.open')}
              </button>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
