import { useCallback, useEffect, useState } from 'react';
import type { Entry } from '../../shared/protocol/messages.js';
import { useI18n } from '../i18n/index.js';
import { useBridge } from '../state/context.js';
import { useAction } from '../state/use-action.js';
import { Dialog } from './Dialog.js';
import { ErrorText } from './ErrorText.js';

/** Every kept version of one file, newest first; any older one can be made current again. */
export function HistoryDialog({ folder, path, onClose }: { folder: number; path: string; onClose: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const bridge = useBridge();
  const [versions, setVersions] = useState<Entry[] | null>(null);
  const [load, loadState] = useAction(() => bridge.history(folder, path));
  const [restore, restoreState] = useAction((rev: number) => bridge.restore(folder, path, rev));

  const refresh = useCallback(async () => {
    const entries = await load();
    if (entries) setVersions([...entries].sort((a, b) => b.rev - a.rev));
  }, [load]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const restoreRev = async (rev: number) => {
    await restore(rev);
    await refresh();
  };

  return (
    <Dialog title={t('history.title', { path })} onClose={onClose} closeLabel={t('action.close')}>
      <ErrorText error={loadState.error ?? restoreState.error} />
      {versions === null ? (
        !loadState.error && <p className="empty">{t('app.loading')}</p>
      ) : versions.length === 0 ? (
        <p className="empty">{t('history.none')}</p>
      ) : (
        <table className="history">
          <thead>
            <tr>
              <th scope="col">{t('history.version')}</th>
              <th scope="col">{t('history.when')}</th>
              <th scope="col">{t('conflicts.device')}</th>
              <th scope="col">{t('conflicts.size')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('history.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v, i) => (
              <tr key={v.rev} data-rev={v.rev}>
                <td>#{v.rev}</td>
                <td>{i18n.time(v.time)}</td>
                <td>{v.device}</td>
                <td>{v.deleted ? t('history.deleted') : i18n.bytes(v.size)}</td>
                <td className="actions-cell">
                  {i === 0 ? (
                    <span className="badge">{t('history.current')}</span>
                  ) : (
                    !v.deleted && (
                      <button type="button" onClick={() => void restoreRev(v.rev)} disabled={restoreState.busy} aria-label={t('history.restoreRev', { rev: v.rev })}>
                        {t('history.restore')}
                      </button>
                    )
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Dialog>
  );
}
