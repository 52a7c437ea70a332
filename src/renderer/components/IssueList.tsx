import type { IssueKind, SyncIssue } from '../../shared/bridge.js';
import { useI18n, type MessageKey } from '../i18n/index.js';
import { useBridge } from '../state/context.js';
import { useAction } from '../state/use-action.js';
import { ErrorText } from './ErrorText.js';

const KIND_KEYS: Record<IssueKind, { title: MessageKey; hint: MessageKey }> = {
  'unsupported-name': { title: 'issue.unsupportedName', hint: 'issue.unsupportedNameHint' },
  'mass-delete': { title: 'issue.massDelete', hint: 'issue.massDeleteHint' },
  'root-missing': { title: 'issue.rootMissing', hint: 'issue.rootMissingHint' },
  'read-error': { title: 'issue.readError', hint: 'issue.retryHint' },
  'write-error': { title: 'issue.writeError', hint: 'issue.retryHint' },
  'server-refused': { title: 'issue.serverRefused', hint: 'issue.serverRefusedHint' },
  'journal-rebuilt': { title: 'issue.journalRebuilt', hint: 'issue.journalRebuiltHint' },
};

/** What sync could not do on its own, each with the action that settles it. */
export function IssueList({ issues, folderName }: { issues: SyncIssue[]; folderName: (id: number) => string }) {
  const { t } = useI18n();
  return (
    <section className="panel" aria-labelledby="issues-title">
      <div className="panel-head">
        <h2 id="issues-title">{t('issues.title')}</h2>
        <span className="meta">{t('issues.count', { count: issues.length })}</span>
      </div>
      {issues.length === 0 ? (
        <p className="empty">{t('issues.none')}</p>
      ) : (
        <ul className="card-list">
          {issues.map((issue) => (
            <IssueItem key={issue.id} issue={issue} folder={folderName(issue.folder)} />
          ))}
        </ul>
      )}
    </section>
  );
}

function IssueItem({ issue, folder }: { issue: SyncIssue; folder: string }) {
  const { t, locale } = useI18n();
  const bridge = useBridge();
  const [confirm, confirmState] = useAction(() => bridge.confirmDeletes(issue.folder));
  const [reject, rejectState] = useAction(() => bridge.rejectDeletes(issue.folder));
  const [retry, retryState] = useAction(() => bridge.retry());
  const keys = KIND_KEYS[issue.kind];
  const titleId = `issue-${issue.id}`;
  const busy = confirmState.busy || rejectState.busy || retryState.busy;
  return (
    <li className={`card issue issue-${issue.kind}`} aria-labelledby={titleId} data-kind={issue.kind}>
      <h3 id={titleId}>{issue.kind === 'mass-delete' ? t('issue.massDeleteCount', { count: (issue.count ?? 0).toLocaleString(locale), folder }) : t(keys.title)}</h3>
      {issue.path && <p className="path">{issue.path}</p>}
      <p>{issue.message}</p>
      <p className="meta">
        {t(keys.hint)} · {folder}
      </p>
      {issue.kind === 'mass-delete' ? (
        <div className="actions">
          <button type="button" onClick={() => void reject()} disabled={busy}>
            {t('issue.restoreFiles')}
          </button>
          <button type="button" className="danger" onClick={() => void confirm()} disabled={busy}>
            {t('issue.confirmDelete')}
          </button>
        </div>
      ) : (
        // A name this OS can't hold is fixed on another device; trying again changes nothing.
        issue.kind !== 'unsupported-name' && (
          <div className="actions">
            <button type="button" onClick={() => void retry()} disabled={busy}>
              {t('action.retry')}
            </button>
          </div>
        )
      )}
      <ErrorText error={confirmState.error ?? rejectState.error ?? retryState.error} />
    </li>
  );
}
