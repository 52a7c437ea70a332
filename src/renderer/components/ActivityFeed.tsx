import type { Activity } from '../../shared/bridge.js';
import { groupActivity, type ActivityGroup } from '../activity-groups.js';
import { useI18n, type MessageKey } from '../i18n/index.js';

const ACTION_KEYS: Record<Activity['action'], MessageKey> = {
  added: 'activity.added',
  changed: 'activity.changed',
  deleted: 'activity.deleted',
  moved: 'activity.moved',
  conflict: 'activity.conflict',
};

const ACTION_ICONS: Record<Activity['action'], string> = { added: '+', changed: '✎', deleted: '−', moved: '→', conflict: '!' };

interface FeedProps {
  activity: Activity[];
  folderName: (id: number) => string;
  onHistory: (folder: number, path: string) => void;
  /** This device's name: its own changes come back from the server under it (a restore, say). */
  thisDevice: string | null;
  /** The overview's short form: runs of like changes folded into one line, at most this many lines. */
  summary?: { lines: number; onShowAll: () => void };
}

/** What changed, where and on which device, newest first; each path opens its history. */
export function ActivityFeed({ activity, folderName, onHistory, thisDevice, summary }: FeedProps) {
  const { t } = useI18n();
  const groups = summary ? groupActivity(activity).slice(0, summary.lines) : activity.map((latest) => ({ latest, count: 1, dir: '' }));
  return (
    <section className="panel" aria-labelledby="activity-title">
      <div className="panel-head">
        <h2 id="activity-title">{t('activity.title')}</h2>
        {summary && activity.length > 0 && (
          <button type="button" className="link" onClick={summary.onShowAll}>
            {t('activity.showAll')}
          </button>
        )}
      </div>
      {groups.length === 0 ? (
        <p className="empty">{t('activity.none')}</p>
      ) : (
        <ol className="activity-list">
          {groups.map((g) => (
            <FeedLine key={g.latest.id} group={g} folder={folderName(g.latest.folder)} onHistory={onHistory} thisDevice={thisDevice} />
          ))}
        </ol>
      )}
    </section>
  );
}

function FeedLine({ group, folder, onHistory, thisDevice }: { group: ActivityGroup; folder: string; onHistory: FeedProps['onHistory']; thisDevice: string | null }) {
  const i18n = useI18n();
  const { t } = i18n;
  const a = group.latest;
  const many = group.count > 1;
  const shownPath = many ? `${group.dir || folder}/` : a.path;
  return (
    <li className={`activity action-${a.action}`} data-path={shownPath} data-count={group.count}>
      <span className="activity-icon" aria-hidden="true">
        {ACTION_ICONS[a.action]}
      </span>
      <div className="activity-main">
        <span className="path" title={shownPath}>
          {shownPath}
        </span>
        <span className="meta">
          {t(ACTION_KEYS[a.action])}
          {many && ` ${t('activity.items', { count: group.count.toLocaleString(i18n.locale) })}`}
          {a.from && ` ${t('activity.from', { from: a.from })}`}
          {' · '}
          {a.direction === 'up' || a.device === thisDevice ? t('activity.byThisDevice') : t('activity.byDevice', { device: a.device })}
          {' · '}
          {folder}
        </span>
      </div>
      <time className="meta nowrap" dateTime={new Date(a.time).toISOString()}>
        {i18n.time(a.time)}
      </time>
      {many ? (
        <span />
      ) : (
        <button type="button" className="link" onClick={() => onHistory(a.folder, a.path)} aria-label={t('history.openFor', { path: a.path })}>
          {t('history.open')}
        </button>
      )}
    </li>
  );
}
