import { useState, type FormEvent } from 'react';
import type { ConnectionStatus, Setup } from '../../shared/bridge.js';
import { secondsUntil } from '../format.js';
import { useI18n } from '../i18n/index.js';
import { useBridge } from '../state/context.js';
import { useAction } from '../state/use-action.js';
import { useNow } from '../state/use-now.js';
import { ErrorText } from './ErrorText.js';

/** Where the connection to the server stands, and what the user can do about it. */
export function ConnectionBanner({ connection, server, setup }: { connection: ConnectionStatus; server: string | null; setup: Setup }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [retry, retryState] = useAction(() => bridge.retry());
  const now = useNow(connection.status === 'offline');
  const host = server ?? t('connection.theServer');

  let text: string;
  let detail: string | null = null;
  switch (connection.status) {
    case 'connected':
      text = t('connection.connected', { server: host });
      break;
    case 'connecting':
      text = connection.attempt > 1 ? t('connection.connectingAttempt', { attempt: connection.attempt }) : t('connection.connecting');
      break;
    case 'offline':
      text = t('connection.offline');
      detail = t('connection.retryIn', { seconds: secondsUntil(connection.retryAt, now) });
      break;
    case 'signed-out':
      text = t('connection.signedOut');
      detail = connection.reason;
      break;
    case 'failed':
      text = t('connection.failed');
      detail = connection.reason;
      break;
    case 'stopped':
      text = t('connection.stopped');
      break;
  }

  return (
    <section className={`banner banner-${connection.status}`} aria-label={t('connection.label')} data-connection={connection.status}>
      <span className="status-dot" aria-hidden="true" />
      <div className="banner-text" role="status" aria-live="polite">
        <strong>{text}</strong>
        {detail && <span className="banner-detail">{detail}</span>}
        {connection.status === 'offline' && <span className="banner-detail muted">{connection.reason}</span>}
      </div>
      {(connection.status === 'offline' || connection.status === 'failed') && (
        <button type="button" onClick={() => void retry()} disabled={retryState.busy}>
          {t('connection.retryNow')}
        </button>
      )}
      {connection.status === 'signed-out' && <SignIn setup={setup} />}
      <ErrorText error={retryState.error} />
    </section>
  );
}

function SignIn({ setup }: { setup: Setup }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [password, setPassword] = useState('');
  const [signIn, state] = useAction((pw: string) => bridge.signIn(pw));
  // A client started with a token on its command line can only get a new one there.
  if (setup.mode === 'fixed' || setup.mode === 'none') return <span className="banner-detail">{t('connection.fixedSignIn')}</span>;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void signIn(password).then(() => setPassword(''));
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <input type="text" className="visually-hidden" value={setup.user ?? ''} autoComplete="username" readOnly tabIndex={-1} aria-hidden="true" />
      <label>
        <span className="visually-hidden">{t('connection.passwordFor', { user: setup.user ?? '' })}</span>
        <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} placeholder={t('field.password')} autoComplete="current-password" required />
      </label>
      <button type="submit" className="primary" disabled={state.busy || !password}>
        {t('connection.signIn')}
      </button>
      <ErrorText error={state.error} />
    </form>
  );
}
