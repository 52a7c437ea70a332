import type { TransfersSnapshot } from '../../shared/bridge.js';
import { useI18n } from '../i18n/index.js';
import { ProgressBar } from './ProgressBar.js';

/** Files moving right now, each with its own progress, rate and time left. */
export function TransferList({ transfers }: { transfers: TransfersSnapshot }) {
  const i18n = useI18n();
  const { t } = i18n;
  return (
    <section className="panel" aria-labelledby="transfers-title">
      <div className="panel-head">
        <h2 id="transfers-title">{t('transfers.title')}</h2>
        <span className="meta">{t('transfers.count', { count: transfers.items.length })}</span>
      </div>
      {transfers.items.length === 0 ? (
        <p className="empty">{t('transfers.none')}</p>
      ) : (
        <ul className="transfer-list">
          {transfers.items.map((item) => {
            const amount = t('transfers.ofTotal', { done: i18n.bytes(item.bytesDone), total: i18n.bytes(item.bytesTotal) });
            return (
              <li key={item.id} className="transfer" data-path={item.path}>
                <div className="transfer-line">
                  <span className={`direction direction-${item.direction}`} aria-label={t(item.direction === 'up' ? 'transfers.up' : 'transfers.down')} role="img">
                    {item.direction === 'up' ? '↑' : '↓'}
                  </span>
                  <span className="path" title={item.path}>
                    {item.path}
                  </span>
                  <span className="meta nowrap">
                    {i18n.rate(item.rate)}
                    {item.etaSeconds !== null && ` · ${t('transfers.eta', { eta: i18n.duration(item.etaSeconds) })}`}
                  </span>
                </div>
                <ProgressBar done={item.bytesDone} total={item.bytesTotal} label={item.path} valueText={amount} />
                <span className="meta">{amount}</span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
