/**
 * The application core behind every UI (the desktop app and `ferry sync --ui`): the whole
 * bridge API on top of the engine. It owns the setup (first run, connect, host, sign in and
 * out), the device token (through a SecretStore), the engine's lifecycle and, when hosting,
 * the embedded server. Node only; the desktop's own powers come in as DesktopHooks.
 */
import { mkdir } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { Logger } from 'pino';
import {
  BridgeError,
  type Activity,
  type AppInfo,
  type BandwidthLimits,
  type Conflict,
  type ConflictChoice,
  type ConnectionStatus,
  type ConnectRequest,
  type EngineState,
  type FerryBridge,
  type FolderStatus,
  type HostInfo,
  type HostRequest,
  type Settings,
  type Setup,
  type SyncIssue,
  type TransfersSnapshot,
  type Unsubscribe,
} from '../shared/bridge.js';
import { checkPath } from '../shared/paths.js';
import type { Entry } from '../shared/protocol/messages.js';
import { VERSION } from '../shared/version.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { passwordLogin, revokeToken } from '../engine/net/login.js';
import type { FerryServer } from '../server/server.js';
import { bridged } from './errors.js';
import { EventHub } from './event-hub.js';
import { serverFolders } from './folder-probe.js';
import { DEFAULT_HOST_PORT, hostAddresses, localUrl, provisionHost, startHostedServer } from './hosting.js';
import { readIgnoreRules, writeIgnoreRules } from './ignore-file.js';
import type { SecretStore } from './secret-store.js';
import { FIRST_RUN, SetupStore, type SavedSetup, type SetupFile } from './setup-store.js';

export { FileSecretStore, type SecretStore } from './secret-store.js';

/** What only the desktop app can do; absent when headless. */
export interface DesktopHooks {
  showInFolder(absolutePath: string): Promise<void>;
  chooseFolder(): Promise<string | null>;
  getLaunchAtLogin(): Promise<boolean>;
  setLaunchAtLogin(on: boolean): Promise<void>;
}

export interface FerryAppOptions {
  stateDir: string;
  logger: Logger;
  secrets: SecretStore;
  /** The capabilities showInFolder, chooseFolder and launchAtLogin follow from it. */
  desktop?: DesktopHooks;
  /** Whether "Host on this computer" is offered: the desktop app yes, `ferry sync --ui` no. */
  canHost: boolean;
  /** Where the embedded server listens; every interface unless told (tests pass 127.0.0.1). */
  hostListen?: string;
  /** Server, token and folders from `ferry sync`'s command line: the setup can't change. */
  fixed?: { server: string; token: string; folders: { name: string; root: string }[] };
  engine?: Partial<Omit<EngineOptions, 'stateDir' | 'server' | 'token' | 'folders' | 'logger'>>;
}

const NO_TRANSFERS: TransfersSnapshot = { items: [], bytesDone: 0, bytesTotal: 0, rate: 0, etaSeconds: null };

export class FerryApp implements FerryBridge {
  private readonly log: Logger;
  private readonly hub: EventHub;
  private readonly setupStore: SetupStore;
  private saved: SetupFile = FIRST_RUN;
  private engine: Engine | undefined;
  private stopRelay: Unsubscribe | undefined;
  private hosted: { server: FerryServer; addresses: string[] } | undefined;
  /** The connection status while no engine runs: why not. */
  private idle: ConnectionStatus = { status: 'stopped' };
  /** Setup changes run one at a time: a double-clicked Connect must not set up twice. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  private writes: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: FerryAppOptions) {
    this.log = options.logger.child({ part: 'app' });
    this.hub = new EventHub((err) => this.log.error({ err }, 'a bridge event listener failed'));
    this.setupStore = new SetupStore(options.stateDir);
  }

  /** Starts the app and resumes a saved setup: hosting again if it hosted, syncing again. */
  static async start(options: FerryAppOptions): Promise<FerryApp> {
    const app = new FerryApp(options);
    await mkdir(options.stateDir, { recursive: true });
    await app.exclusive(() => app.resumeSetup());
    return app;
  }

  async stop(): Promise<void> {
    await this.exclusive(async () => {
      await this.stopEngine();
      await this.stopHosting();
    });
  }

  private async resumeSetup(): Promise<void> {
    const loaded = await this.setupStore.load();
    if (loaded.damaged) this.log.warn({ moved: loaded.damaged, reason: loaded.reason }, 'setup.json was damaged; starting at the first run');
    this.saved = loaded.saved;
    const fixed = this.options.fixed;
    if (fixed) {
      await this.startEngine(fixed.server, fixed.token, fixed.folders);
      return;
    }
    const setup = this.saved.setup;
    if (!setup) return;
    if (setup.mode === 'host') {
      try {
        await this.startHosting(setup.port);
      } catch (err) {
        this.log.error({ err }, 'the embedded server did not start');
        this.idle = { status: 'failed', reason: `the server on this computer did not start: ${(err as Error).message}` };
        return;
      }
    }
    const token = await this.options.secrets.load();
    if (!token) {
      this.idle = { status: 'signed-out', reason: 'this device has no token; sign in again' };
      return;
    }
    await this.startEngine(setup.server, token, setup.folders.map((f) => ({ name: f.name, root: f.dir })));
  }

  // ---- engine and hosting lifecycle ----------------------------------------------------

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(work);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private async startEngine(server: string, token: string, folders: { name: string; root: string }[]): Promise<void> {
    for (const f of folders) await makeDir(f.root);
    const engine = await Engine.start({ ...this.options.engine, stateDir: this.options.stateDir, server, token, folders, logger: this.options.logger });
    await engine.setBandwidthLimits(this.saved.limits);
    this.engine = engine;
    this.stopRelay = this.hub.relay(engine);
    // The engine's first events went out before anyone relayed them.
    const state = await engine.getState();
    this.hub.emit('connection', state.connection);
    this.hub.emit('folders', state.folders);
  }

  private async stopEngine(): Promise<void> {
    const idle: ConnectionStatus = { status: 'stopped' };
    this.idle = idle;
    const engine = this.engine;
    if (!engine) return;
    this.engine = undefined;
    this.stopRelay?.();
    await engine.stop();
    this.hub.emit('connection', idle);
    this.hub.emit('folders', []);
    this.hub.emit('transfers', NO_TRANSFERS);
    this.hub.emit('conflicts', []);
    this.hub.emit('issues', []);
  }

  private get hostListen(): string {
    return this.options.hostListen ?? '0.0.0.0';
  }

  private async startHosting(port: number): Promise<FerryServer> {
    const server = await startHostedServer(this.options.stateDir, this.hostListen, port, this.options.logger);
    this.hosted = { server, addresses: hostAddresses(this.hostListen, server.port) };
    return server;
  }

  private async stopHosting(): Promise<void> {
    const hosted = this.hosted;
    this.hosted = undefined;
    await hosted?.server.close();
  }

  /** Changes the setup file; writes go out in order, each with everything changed before it. */
  private saveSetup(change: Partial<SetupFile>): Promise<void> {
    this.saved = { ...this.saved, ...change };
    const snapshot = this.saved;
    const write = this.writes.then(() => this.setupStore.save(snapshot));
    this.writes = write.catch(() => undefined);
    return write;
  }

  private announceApp(): void {
    this.getApp().then(
      (app) => this.hub.emit('app', app),
      (err: unknown) => this.log.error({ err }, 'reading the app state failed'),
    );
  }

  private live(): Engine {
    if (!this.engine) {
      throw new BridgeError('not-set-up', this.saved.setup ? 'not syncing: sign in again first' : 'this device is not set up yet');
    }
    return this.engine;
  }

  private requireFirstRun(): void {
    if (this.options.fixed || this.saved.setup) throw new BridgeError('already-set-up', 'this device is set up already; sign out first');
  }

  /** The account setup a sign-in applies to: connect or host, never a command-line one. */
  private account(): SavedSetup {
    if (this.options.fixed) throw new BridgeError('unsupported', "this client's server and token come from its command line");
    if (!this.saved.setup) throw new BridgeError('not-set-up', 'this device is not set up yet');
    return this.saved.setup;
  }

  private async folderRoot(id: number): Promise<string> {
    const folder = this.engine ? (await this.engine.getState()).folders.find((f) => f.id === id) : undefined;
    if (!folder) throw new BridgeError('not-found', `no folder with id ${id}`);
    return folder.root;
  }

  // ---- events -------------------------------------------------------------------------

  onApp(listener: (app: AppInfo) => void): Unsubscribe {
    return this.hub.on('app', listener);
  }
  onConnection(listener: (status: ConnectionStatus) => void): Unsubscribe {
    return this.hub.on('connection', listener);
  }
  onFolders(listener: (folders: FolderStatus[]) => void): Unsubscribe {
    return this.hub.on('folders', listener);
  }
  onTransfers(listener: (transfers: TransfersSnapshot) => void): Unsubscribe {
    return this.hub.on('transfers', listener);
  }
  onConflicts(listener: (conflicts: Conflict[]) => void): Unsubscribe {
    return this.hub.on('conflicts', listener);
  }
  onIssues(listener: (issues: SyncIssue[]) => void): Unsubscribe {
    return this.hub.on('issues', listener);
  }
  onActivity(listener: (activity: Activity) => void): Unsubscribe {
    return this.hub.on('activity', listener);
  }

  // ---- app commands -------------------------------------------------------------------

  async getApp(): Promise<AppInfo> {
    const desktop = this.options.desktop;
    return {
      version: VERSION,
      setup: await this.setupView(),
      capabilities: {
        host: this.options.canHost,
        showInFolder: desktop !== undefined,
        chooseFolder: desktop !== undefined,
        launchAtLogin: desktop !== undefined,
        notifications: desktop !== undefined,
      },
      settings: { launchAtLogin: desktop ? await desktop.getLaunchAtLogin() : false, notifications: this.saved.notifications },
      defaultDir: join(homedir(), 'Ferry'),
    };
  }

  private async setupView(): Promise<Setup> {
    const fixed = this.options.fixed;
    if (fixed) {
      const device = (await this.engine?.getState())?.device ?? hostname();
      return { mode: 'fixed', server: fixed.server, user: null, device, folders: fixed.folders.map((f) => ({ name: f.name, dir: f.root })) };
    }
    const setup = this.saved.setup;
    if (!setup) return { mode: 'none' };
    const account = { server: setup.server, user: setup.user, device: setup.device, folders: setup.folders };
    if (setup.mode === 'host') return { mode: 'host', addresses: this.hosted?.addresses ?? [], ...account };
    return { mode: 'client', ...account };
  }

  connect(request: ConnectRequest): Promise<void> {
    return this.exclusive(async () => {
      this.requireFirstRun();
      const server = request.server.replace(/\/+$/, '');
      const signedIn = await bridged(() => passwordLogin({ server, user: request.user, password: request.password, device: request.device }));
      const folders = await serverFolders(server, signedIn.token);
      const folder = request.folder === undefined ? folders[0] : folders.find((f) => f.name === request.folder);
      if (!folder) {
        throw new BridgeError(
          'not-found',
          request.folder === undefined
            ? `${signedIn.user} has no folders on ${server}; ask its administrator to share one`
            : `${signedIn.user} has no folder named '${request.folder}' on ${server}`,
        );
      }
      const dir = resolve(request.dir);
      await makeDir(dir);
      await this.options.secrets.save(signedIn.token);
      await this.saveSetup({ setup: { mode: 'client', server, user: signedIn.user, device: signedIn.device, folders: [{ name: folder.name, dir }] } });
      await this.startEngine(server, signedIn.token, [{ name: folder.name, root: dir }]);
      this.announceApp();
    });
  }

  host(request: HostRequest): Promise<HostInfo> {
    return this.exclusive(async () => {
      if (!this.options.canHost) throw new BridgeError('unsupported', 'hosting needs the desktop app; run `ferry serve` on this machine instead');
      this.requireFirstRun();
      const dir = resolve(request.dir);
      await makeDir(dir);
      const server = await this.startHosting(request.port ?? DEFAULT_HOST_PORT);
      try {
        const device = hostname();
        const { token, folder } = await provisionHost(server, request.user, request.password, device);
        const url = localUrl(server, this.hostListen);
        await this.options.secrets.save(token);
        await this.saveSetup({ setup: { mode: 'host', port: server.port, server: url, user: request.user, device, folders: [{ name: folder, dir }] } });
        await this.startEngine(url, token, [{ name: folder, root: dir }]);
        this.announceApp();
        return { addresses: this.hosted!.addresses, user: request.user, folder };
      } catch (err) {
        await this.stopHosting();
        throw err;
      }
    });
  }

  signIn(password: string): Promise<void> {
    return this.exclusive(async () => {
      const setup = this.account();
      const { token } = await bridged(() => passwordLogin({ server: setup.server, user: setup.user, password, device: setup.device }));
      await this.options.secrets.save(token);
      await this.stopEngine();
      await this.startEngine(setup.server, token, setup.folders.map((f) => ({ name: f.name, root: f.dir })));
      this.announceApp();
    });
  }

  signOut(): Promise<void> {
    return this.exclusive(async () => {
      if (this.options.fixed) throw new BridgeError('unsupported', "this client's server and token come from its command line");
      const setup = this.saved.setup;
      const token = await this.options.secrets.load();
      await this.stopEngine();
      if (setup && token) {
        const failed = await revokeToken(setup.server, token);
        if (failed) this.log.warn({ server: setup.server, reason: failed }, 'signed out here, but the server was not told: revoke this device there (ferry admin token list, then revoke ID)');
      }
      await this.stopHosting();
      await this.options.secrets.clear();
      await this.saveSetup({ setup: null });
      this.announceApp();
    });
  }

  async setSettings(settings: Partial<Settings>): Promise<void> {
    const desktop = this.options.desktop;
    if (settings.launchAtLogin !== undefined) {
      if (!desktop) throw new BridgeError('unsupported', 'launching at login is up to the desktop app');
      await desktop.setLaunchAtLogin(settings.launchAtLogin);
    }
    if (settings.notifications !== undefined) await this.saveSetup({ notifications: settings.notifications });
    this.announceApp();
  }

  async getIgnoreRules(folder: number): Promise<string> {
    return readIgnoreRules(await this.folderRoot(folder));
  }

  async setIgnoreRules(folder: number, rules: string): Promise<void> {
    await writeIgnoreRules(await this.folderRoot(folder), rules);
  }

  async showInFolder(folder: number, path: string): Promise<void> {
    const desktop = this.options.desktop;
    if (!desktop) throw new BridgeError('unsupported', 'showing files in a file manager is up to the desktop app');
    const root = await this.folderRoot(folder);
    const check = checkPath(path);
    if (!check.ok) throw new BridgeError('invalid-argument', check.reason);
    const target = join(root, ...path.split('/'));
    const inside = relative(root, target);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new BridgeError('invalid-argument', `${path} is outside the folder`);
    await desktop.showInFolder(target);
  }

  async chooseFolder(): Promise<string | null> {
    const desktop = this.options.desktop;
    if (!desktop) throw new BridgeError('unsupported', 'no folder picker here; type the folder path');
    return desktop.chooseFolder();
  }

  // ---- sync commands ------------------------------------------------------------------

  async getState(): Promise<EngineState> {
    if (this.engine) return this.engine.getState();
    const setup = this.saved.setup;
    return {
      device: setup?.device ?? null,
      server: setup?.server ?? null,
      connection: this.idle,
      paused: false,
      folders: [],
      transfers: NO_TRANSFERS,
      conflicts: [],
      issues: [],
      activity: [],
      limits: this.saved.limits,
    };
  }

  async pause(): Promise<void> {
    return this.live().pause();
  }

  async resume(): Promise<void> {
    return this.live().resume();
  }

  async retry(): Promise<void> {
    return this.live().retry();
  }

  resolveConflict(id: number, choice: ConflictChoice): Promise<void> {
    return bridged(() => this.live().resolveConflict(id, choice));
  }

  confirmDeletes(folder: number): Promise<void> {
    return bridged(() => this.live().confirmDeletes(folder));
  }

  rejectDeletes(folder: number): Promise<void> {
    return bridged(() => this.live().rejectDeletes(folder));
  }

  /** Kept in the setup file, so the limits outlast a restart and a new engine. */
  async setBandwidthLimits(limits: BandwidthLimits): Promise<void> {
    await this.saveSetup({ limits: { upBytesPerSecond: limits.upBytesPerSecond, downBytesPerSecond: limits.downBytesPerSecond } });
    await this.engine?.setBandwidthLimits(limits);
  }

  history(folder: number, path: string): Promise<Entry[]> {
    return bridged(() => this.live().history(folder, path));
  }

  restore(folder: number, path: string, rev: number): Promise<void> {
    return bridged(() => this.live().restore(folder, path, rev));
  }
}

async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new BridgeError('invalid-argument', `cannot use ${dir} as the folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
