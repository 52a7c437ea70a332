/** `ferry login`, `ferry sync` and `ferry status`: the headless client. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError } from 'commander';
import type { EngineState } from '../shared/bridge.js';
import { postCall } from '../shared/web-api.js';
import { FerryApp, FileSecretStore, type FerryAppOptions } from '../app/ferry-app.js';
import { readControlFile, removeControlFile, writeControlFile } from '../app/web/control-file.js';
import { isLoopback } from '../app/web/request-guard.js';
import { WebBridgeServer } from '../app/web/web-bridge-server.js';
import { LoginError, passwordLogin } from '../engine/net/login.js';
import { CREDENTIALS_FILE, defaultStateDir, type Credentials } from '../engine/state-dir.js';
import { CliError, formatBytes, readSecret } from './io.js';
import { createLogger } from './log.js';

export interface LoginOptions {
  server: string;
  user: string;
  device?: string;
  state?: string;
}

export async function login(opts: LoginOptions): Promise<void> {
  const stateDir = resolve(opts.state ?? defaultStateDir());
  const password = await readSecret(`Password for ${opts.user}: `, false);
  const device = opts.device ?? hostname();
  let token: string;
  try {
    ({ token } = await passwordLogin({ server: opts.server, user: opts.user, password, device }));
  } catch (err) {
    if (!(err instanceof LoginError)) throw err;
    throw new CliError(err.reason === 'unreachable' ? err.message : `login failed: ${err.message}`);
  }
  await mkdir(stateDir, { recursive: true });
  const creds: Credentials = { server: opts.server, token, user: opts.user, device };
  await writeFile(join(stateDir, CREDENTIALS_FILE), JSON.stringify(creds, null, 2), { mode: 0o600 });
  process.stdout.write(`signed in to ${opts.server} as ${opts.user} (device '${device}'); credentials saved in ${stateDir}\n`);
}

const ConfigFile = z.object({
  server: z.string().url().optional(),
  token: z.string().optional(),
  folders: z.array(z.object({ name: z.string().min(1), dir: z.string().min(1) })).min(1),
});

export interface SyncOptions {
  server?: string;
  token?: string;
  folder?: string;
  dir?: string;
  config?: string;
  state?: string;
  ui?: UiAddress;
  logLevel: string;
  rescanMinutes: number;
}

export interface UiAddress {
  host: string;
  port: number;
  /** The host was named on the command line (so a non-loopback one was asked for). */
  explicitHost: boolean;
}

/** `[HOST:]PORT` for --ui; the host is 127.0.0.1 unless given. */
export function parseUiAddress(value: string): UiAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new InvalidArgumentError('expected [HOST:]PORT, e.g. 8384 or 127.0.0.1:8384');
  const host = match[1]?.replace(/^\[|\]$/g, '');
  return { host: host ?? '127.0.0.1', port, explicitHost: host !== undefined };
}

type Fixed = NonNullable<FerryAppOptions['fixed']>;

/** Server, token and folders from the command line, a config file or `ferry login`; undefined when none is named. */
async function fixedSetup(opts: SyncOptions, stateDir: string): Promise<Fixed | undefined> {
  if (!opts.config && !opts.folder && !opts.dir && !opts.server && !opts.token) return undefined;
  let server = opts.server;
  let token = opts.token;
  let folders: Fixed['folders'];
  if (opts.config) {
    const parsed = ConfigFile.safeParse(JSON.parse(await readFile(opts.config, 'utf8').catch(() => 'null')));
    if (!parsed.success) throw new CliError(`${opts.config} is not a valid config: ${parsed.error.issues[0]?.message ?? 'unreadable'}`);
    server ??= parsed.data.server;
    token ??= parsed.data.token;
    // A leading ~ is the home directory, as a shell would read it.
    folders = parsed.data.folders.map((f) => ({ name: f.name, root: resolve(f.dir.replace(/^~(?=$|[/\\])/, homedir())) }));
  } else {
    if (!opts.folder || !opts.dir) throw new CliError('name a folder pair with --folder NAME --dir PATH, or several with --config FILE');
    folders = [{ name: opts.folder, root: resolve(opts.dir) }];
  }
  if (!server || !token) {
    const creds = await readCredentials(stateDir);
    server ??= creds?.server;
    if (!token && creds && creds.server === server) token = creds.token;
  }
  if (!server) throw new CliError('which server? pass --server URL (or run ferry login first)');
  if (!token) throw new CliError(`no device token for ${server}: pass --token, or run ferry login --server ${server} --user NAME`);
  return { server, token, folders };
}

export async function sync(opts: SyncOptions): Promise<void> {
  const stateDir = resolve(opts.state ?? defaultStateDir());
  await mkdir(stateDir, { recursive: true });
  const fixed = await fixedSetup(opts, stateDir);
  const logger = createLogger(opts.logLevel, 'ferry-sync');
  const app = await FerryApp.start({
    stateDir,
    logger,
    secrets: new FileSecretStore(stateDir),
    canHost: false,
    ...(fixed ? { fixed } : {}),
    engine: { folderOptions: { rescanMs: opts.rescanMinutes * 60_000 } },
  });
  const { setup } = await app.getApp();
  if (setup.mode === 'none' && !opts.ui) {
    await app.stop();
    throw new CliError('this client is not set up: name a folder pair with --folder NAME --dir PATH (or --config FILE), or set it up in a browser with --ui PORT');
  }
  const ui = opts.ui ?? { host: '127.0.0.1', port: 0, explicitHost: false };
  let web: WebBridgeServer;
  try {
    web = await WebBridgeServer.start({ bridge: app, logger, host: ui.host, port: ui.port, allowRemote: ui.explicitHost });
  } catch (err) {
    await app.stop();
    throw new CliError(`cannot serve the UI on ${ui.host}:${ui.port}: ${(err as Error).message}`);
  }
  await writeControlFile(stateDir, { url: web.url, key: web.key, pid: process.pid });
  if (opts.ui) {
    if (!isLoopback(ui.host)) process.stderr.write(`ferry: the UI answers on ${ui.host}, not only this computer; anyone with the key can control this client\n`);
    process.stdout.write(`Ferry UI: ${web.uiUrl}\n`);
  }
  const server = setup.mode === 'none' ? null : setup.server;
  logger.info({ server, folders: setup.mode === 'none' ? [] : setup.folders, control: web.url, state: stateDir }, 'ferry sync running');
  app.onConnection((s) => logger.info({ connection: s }, 'connection'));
  app.onActivity((a) => logger.info({ activity: a }, 'activity'));
  app.onIssues((issues) => {
    for (const issue of issues) logger.warn({ issue }, 'sync issue');
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    Promise.all([removeControlFile(stateDir), web.stop(), app.stop()]).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function readCredentials(stateDir: string): Promise<Credentials | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, CREDENTIALS_FILE), 'utf8')) as Credentials;
  } catch {
    return undefined;
  }
}

export async function status(opts: { state?: string; json?: boolean }): Promise<void> {
  const stateDir = resolve(opts.state ?? defaultStateDir());
  const control = await readControlFile(stateDir);
  if (!control) throw new CliError(`no running ferry sync found for ${stateDir}`);
  const result = await postCall(fetch, control.url, control.key, 'getState', []);
  if (!result.ok) throw new CliError(`the running client did not answer (${result.error.message}); is ferry sync still running?`);
  const state = result.value as EngineState;
  process.stdout.write(opts.json ? JSON.stringify(state, null, 2) + '\n' : describe(state));
}

function describe(s: EngineState): string {
  const c = s.connection;
  const connection =
    c.status === 'connected'
      ? `connected to ${s.server} as ${s.device}`
      : c.status === 'offline'
        ? `offline (${c.reason}); retrying in ${Math.max(0, Math.round((c.retryAt - Date.now()) / 1000))} s`
        : c.status === 'signed-out' || c.status === 'failed'
          ? `${c.status}: ${c.reason}`
          : c.status;
  const lines = [`Ferry: ${connection}${s.paused ? ' — paused' : ''}`];
  for (const f of s.folders) {
    lines.push(`  ${f.name} → ${f.root}: ${f.phase}${f.pending ? `, ${f.pending} pending` : ''}; ${f.files} files, ${formatBytes(f.bytes)}${f.message ? ` — ${f.message}` : ''}`);
  }
  const t = s.transfers;
  if (t.items.length > 0) {
    lines.push(`Transfers: ${formatBytes(t.bytesDone)} of ${formatBytes(t.bytesTotal)} at ${formatBytes(t.rate)}/s${t.etaSeconds !== null ? `, ${t.etaSeconds} s left` : ''}`);
    for (const x of t.items) lines.push(`  ${x.direction === 'up' ? '↑' : '↓'} ${x.path}  ${formatBytes(x.bytesDone)} / ${formatBytes(x.bytesTotal)}`);
  }
  if (s.conflicts.length > 0) {
    lines.push(`Conflicts: ${s.conflicts.length}`);
    for (const x of s.conflicts) lines.push(`  ${x.path}: yours kept as ${x.copy}`);
  }
  if (s.issues.length > 0) {
    lines.push(`Issues: ${s.issues.length}`);
    for (const x of s.issues) lines.push(`  ${x.path ?? '(folder)'}: ${x.message}`);
  }
  return lines.join('\n') + '\n';
}
