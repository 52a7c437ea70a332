/** `ferry login`, `ferry sync` and `ferry status`: the headless client. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { EngineState } from '../shared/bridge.js';
import { CONTROL_FILE, ControlServer, type ControlInfo } from '../engine/control/control-server.js';
import { Engine, type FolderPair } from '../engine/engine.js';
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
  let res: Response;
  try {
    res = await fetch(new URL('/v1/login', opts.server), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: opts.user, password, device }),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${opts.server}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { token?: string; message?: string };
  if (!res.ok || !body.token) throw new CliError(`login failed: ${body.message ?? `HTTP ${res.status}`}`);
  await mkdir(stateDir, { recursive: true });
  const creds: Credentials = { server: opts.server, token: body.token, user: opts.user, device };
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
  logLevel: string;
  rescanMinutes: number;
}

export async function sync(opts: SyncOptions): Promise<void> {
  const stateDir = resolve(opts.state ?? defaultStateDir());
  await mkdir(stateDir, { recursive: true });
  let server = opts.server;
  let token = opts.token;
  let folders: FolderPair[];
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
  for (const f of folders) await mkdir(f.root, { recursive: true });

  const logger = createLogger(opts.logLevel, 'ferry-sync');
  const engine = await Engine.start({ stateDir, server, token, folders, logger, folderOptions: { rescanMs: opts.rescanMinutes * 60_000 } });
  const control = new ControlServer(engine, stateDir);
  const info = await control.start();
  logger.info({ server, folders, control: info.url, state: stateDir }, 'ferry sync running');
  engine.onConnection((s) => logger.info({ connection: s }, 'connection'));
  engine.onActivity((a) => logger.info({ activity: a }, 'activity'));
  engine.onIssues((issues) => {
    for (const issue of issues) logger.warn({ issue }, 'sync issue');
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    Promise.all([control.stop(), engine.stop()]).then(
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

export async function readControl(stateDir: string): Promise<ControlInfo> {
  try {
    return JSON.parse(await readFile(join(stateDir, CONTROL_FILE), 'utf8')) as ControlInfo;
  } catch {
    throw new CliError(`no running ferry sync found for ${stateDir}`);
  }
}

export async function status(opts: { state?: string; json?: boolean }): Promise<void> {
  const stateDir = resolve(opts.state ?? defaultStateDir());
  const control = await readControl(stateDir);
  let state: EngineState;
  try {
    const res = await fetch(`${control.url}/v1/state`, { headers: { authorization: `Bearer ${control.key}` } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    state = (await res.json()) as EngineState;
  } catch (err) {
    throw new CliError(`the running client did not answer (${(err as Error).message}); is ferry sync still running?`);
  }
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
