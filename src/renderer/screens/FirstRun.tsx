import { useId, useState, type FormEvent, type ReactNode } from 'react';
import type { AppInfo, HostInfo } from '../../shared/bridge.js';
import { ErrorText } from '../components/ErrorText.js';
import { useI18n } from '../i18n/index.js';
import { useBridge } from '../state/context.js';
import { useAction, type ActionState } from '../state/use-action.js';

type Mode = 'connect' | 'host';

/** The first run: connect this device to a server, or host one on this computer. */
export function FirstRun({ app, onHosted }: { app: AppInfo; onHosted: (info: HostInfo) => void }) {
  const { t } = useI18n();
  const [mode, setMode] = useState<Mode>('connect');
  const canHost = app.capabilities.host;
  return (
    <main className="first-run" aria-labelledby="first-run-title">
      <div className="first-run-card">
        <h1 id="first-run-title">{t('firstRun.title')}</h1>
        <p className="meta">{t('firstRun.intro')}</p>
        {canHost && (
          <div className="segmented" role="radiogroup" aria-label={t('firstRun.how')}>
            <ModeButton mode="connect" current={mode} onSelect={setMode}>
              {t('firstRun.connect')}
            </ModeButton>
            <ModeButton mode="host" current={mode} onSelect={setMode}>
              {t('firstRun.host')}
            </ModeButton>
          </div>
        )}
        {mode === 'connect' || !canHost ? <ConnectForm app={app} /> : <HostForm app={app} onHosted={onHosted} />}
      </div>
    </main>
  );
}

function ModeButton({ mode, current, onSelect, children }: { mode: Mode; current: Mode; onSelect: (m: Mode) => void; children: ReactNode }) {
  return (
    <button type="button" role="radio" aria-checked={mode === current} className={mode === current ? 'selected' : ''} onClick={() => onSelect(mode)}>
      {children}
    </button>
  );
}

function Field({ label, children, hint }: { label: string; children: (id: string) => ReactNode; hint?: string }) {
  const id = useId();
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <div className="field">
        {children(id)}
        {hint && <span className="meta">{hint}</span>}
      </div>
    </>
  );
}

function FolderField({ app, dir, setDir }: { app: AppInfo; dir: string; setDir: (dir: string) => void }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [choose, chooseState] = useAction(() => bridge.chooseFolder());
  const pick = async () => {
    const chosen = await choose();
    if (chosen) setDir(chosen);
  };
  return (
    <Field label={t('field.localFolder')} hint={t('field.localFolderHint')}>
      {(id) => (
        <div className="row">
          <input id={id} className="grow" value={dir} onChange={(e) => setDir(e.target.value)} required spellCheck={false} />
          {app.capabilities.chooseFolder && (
            <button type="button" onClick={() => void pick()} disabled={chooseState.busy}>
              {t('field.choose')}
            </button>
          )}
        </div>
      )}
    </Field>
  );
}

function ConnectForm({ app }: { app: AppInfo }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [server, setServer] = useState('');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [device, setDevice] = useState('');
  const [folder, setFolder] = useState('');
  const [dir, setDir] = useState(app.defaultDir);
  const [connect, state] = useAction(() =>
    bridge.connect({ server: server.trim(), user: user.trim(), password, device: device.trim() || t('field.deviceDefault'), dir: dir.trim(), ...(folder.trim() ? { folder: folder.trim() } : {}) }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void connect();
  };
  return (
    <form className="grid-form" onSubmit={submit} aria-label={t('firstRun.connect')}>
      <Field label={t('field.server')} hint={t('field.serverHint')}>
        {(id) => <input id={id} type="url" value={server} onChange={(e) => setServer(e.target.value)} placeholder="https://ferry.example.com" required autoFocus spellCheck={false} />}
      </Field>
      <Field label={t('field.user')}>{(id) => <input id={id} value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" required />}</Field>
      <Field label={t('field.password')}>
        {(id) => <input id={id} type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />}
      </Field>
      <Field label={t('field.device')} hint={t('field.deviceHint')}>
        {(id) => <input id={id} value={device} onChange={(e) => setDevice(e.target.value)} placeholder={t('field.deviceDefault')} />}
      </Field>
      <Field label={t('field.folder')} hint={t('field.folderHint')}>
        {(id) => <input id={id} value={folder} onChange={(e) => setFolder(e.target.value)} spellCheck={false} />}
      </Field>
      <FolderField app={app} dir={dir} setDir={setDir} />
      <SubmitRow state={state} label={t('firstRun.connectAction')} busyLabel={t('firstRun.connecting')} />
    </form>
  );
}

/** A first-run form's submit button (disabled while it runs) and its failure. */
function SubmitRow({ state, label, busyLabel }: { state: ActionState; label: string; busyLabel: string }) {
  return (
    <>
      <div className="actions span">
        <button type="submit" className="primary" disabled={state.busy}>
          {state.busy ? busyLabel : label}
        </button>
      </div>
      <div className="span">
        <ErrorText error={state.error} />
      </div>
    </>
  );
}

function HostForm({ app, onHosted }: { app: AppInfo; onHosted: (info: HostInfo) => void }) {
  const { t } = useI18n();
  const bridge = useBridge();
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [port, setPort] = useState('7711');
  const [dir, setDir] = useState(app.defaultDir);
  const [host, state] = useAction(() => bridge.host({ user: user.trim(), password, dir: dir.trim(), port: Number(port) }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const info = await host();
    if (info) onHosted(info);
  };
  return (
    <form className="grid-form" onSubmit={(e) => void submit(e)} aria-label={t('firstRun.host')}>
      <p className="span meta">{t('firstRun.hostIntro')}</p>
      <Field label={t('field.user')}>{(id) => <input id={id} value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" required autoFocus />}</Field>
      <Field label={t('field.newPassword')} hint={t('field.newPasswordHint')}>
        {(id) => <input id={id} type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" minLength={8} required />}
      </Field>
      <Field label={t('field.port')}>{(id) => <input id={id} type="number" min={1} max={65535} value={port} onChange={(e) => setPort(e.target.value)} required />}</Field>
      <FolderField app={app} dir={dir} setDir={setDir} />
      <SubmitRow state={state} label={t('firstRun.hostAction')} busyLabel={t('firstRun.starting')} />
    </form>
  );
}

/** After hosting: what the other devices need, shown once before the main window. */
export function HostDone({ info, onContinue }: { info: HostInfo; onContinue: () => void }) {
  const { t } = useI18n();
  return (
    <main className="first-run" aria-labelledby="host-done-title">
      <div className="first-run-card">
        <h1 id="host-done-title">{t('hostDone.title')}</h1>
        <p>{t('hostDone.intro')}</p>
        <dl className="facts">
          <dt>{t('hostDone.addresses')}</dt>
          <dd>
            <ul className="plain-list">
              {info.addresses.map((a) => (
                <li key={a}>
                  <code>{a}</code>
                </li>
              ))}
            </ul>
          </dd>
          <dt>{t('field.user')}</dt>
          <dd>
            <code>{info.user}</code>
          </dd>
          <dt>{t('field.folder')}</dt>
          <dd>
            <code>{info.folder}</code>
          </dd>
        </dl>
        <p className="meta">{t('hostDone.password')}</p>
        <div className="actions">
          <button type="button" className="primary" onClick={onContinue} autoFocus>
            {t('action.continue')}
          </button>
        </div>
      </div>
    </main>
  );
}
