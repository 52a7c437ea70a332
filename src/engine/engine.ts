/**
 * The sync engine: one connection to a server, any number of folder pairs on it, and the
 * bridge API (src/shared/bridge.ts) that the desktop UI, the web bridge, the tray and
 * `ferry status` all use. Node only; it never imports electron.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import {
  BridgeError,
  type Activity,
  type BandwidthLimits,
  type Conflict,
  type ConflictChoice,
  type ConnectionStatus,
  type EngineState,
  type SyncBridge,
  type FolderStatus,
  type SyncIssue,
  type TransfersSnapshot,
  type Unsubscribe,
} from '../shared/bridge.js';
import type { Entry, ServerMessageOf } from '../shared/protocol/messages.js';
import { VERSION } from '../shared/version.js';
import { HashPool } from './content/hash-pool.js';
import { LocalJournal } from './journal/local-journal.js';
import { Connection, type ConnectionOptions } from './net/connection.js';
import { MissingChunks } from './net/missing-chunks.js';
import { Throttle } from './net/throttle.js';
import { DEFAULT_FOLDER_OPTIONS, FolderSync, type FolderSyncOptions } from './sync/folder-sync.js';
import { currentPlatform } from './sync/portability.js';
import { Progress } from './sync/progress.js';

export interface FolderPair {
  /** The folder's name on the server. */
  name: string;
  /** The local directory. */
  root: string;
}

export interface EngineOptions {
  stateDir: string;
  server: string;
  token: string;
  folders: FolderPair[];
  logger: Logger;
  ca?: Buffer;
  folderOptions?: Partial<FolderSyncOptions>;
  connection?: Partial<Omit<ConnectionOptions, 'server' | 'token' | 'client'>>;
}

type Listeners = {
  connection: (s: ConnectionStatus) => void;
  folders: (f: FolderStatus[]) => void;
  transfers: (t: TransfersSnapshot) => void;
  conflicts: (c: Conflict[]) => void;
  issues: (i: SyncIssue[]) => void;
  activity: (a: Activity) => void;
};

const ACTIVITY_KEPT = 200;
/** Progress events are coalesced to at most one per this many ms. */
const TRANSFER_EVENT_MS = 100;

export class Engine implements SyncBridge {
  private readonly journal: LocalJournal;
  private readonly conn: Connection;
  private readonly hashes = new HashPool();
  private readonly up = new Throttle();
  private readonly down = new Throttle();
  private readonly progress: Progress;
  private readonly folders: FolderSync[] = [];
  private readonly listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = {
    connection: new Set(),
    folders: new Set(),
    transfers: new Set(),
    conflicts: new Set(),
    issues: new Set(),
    activity: new Set(),
  };
  private readonly activity: Activity[] = [];
  private nextActivity = 1;
  private paused = false;
  private stopped = false;
  private deviceName: string | null = null;
  /** Set when the journal had to be rebuilt at start; shown as an issue until the user retries. */
  private journalNotice: string | undefined;
  private transferTimer: NodeJS.Timeout | undefined;
  private foldersTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: EngineOptions) {
    const opened = LocalJournal.open(join(options.stateDir, 'journal.db'));
    this.journal = opened.journal;
    if (opened.rebuilt) {
      const { damage, movedTo } = opened.rebuilt;
      options.logger.error({ damage, movedTo }, 'the sync journal was damaged; it was moved aside and is rebuilt from the files on disk (nothing is deleted)');
      this.journalNotice = `The sync journal was damaged (${damage}). It was moved to ${movedTo} and rebuilt from the files on disk; nothing was deleted, and files that differ from the server's become conflict copies.`;
    }
    this.progress = new Progress(() => this.transfersChanged());
    this.conn = new Connection(
      { ...options.connection, server: options.server, token: options.token, client: `ferry-engine/${VERSION}`, ...(options.ca ? { ca: options.ca } : {}) },
      {
        welcome: (w) => this.onWelcome(w),
        changes: (m) => this.folders.find((f) => f.remoteMatches(m.folder))?.onChanges(m),
        folders: (m) => this.onFolderList(m),
        state: (s) => {
          this.emit('connection', s);
          this.foldersChanged();
        },
      },
    );
    const folderOptions: FolderSyncOptions = { ...DEFAULT_FOLDER_OPTIONS, platform: currentPlatform(), ...options.folderOptions };
    const missingChunks = new MissingChunks(this.conn);
    for (const pair of options.folders) {
      const root = resolve(pair.root);
      const row = this.journal.openFolder(options.server, pair.name, root);
      this.folders.push(
        new FolderSync({
          journal: this.journal,
          folderId: row.id,
          name: pair.name,
          root,
          conn: this.conn,
          missingChunks,
          hashes: this.hashes,
          device: () => this.deviceName ?? 'this device',
          up: this.up,
          down: this.down,
          progress: this.progress,
          log: options.logger,
          options: folderOptions,
          events: {
            changed: () => this.foldersChanged(),
            conflicts: () => this.emit('conflicts', this.conflictList()),
            issues: () => this.emit('issues', this.issueList()),
            activity: (a) => this.addActivity(a),
          },
        }),
      );
    }
  }

  static async start(options: EngineOptions): Promise<Engine> {
    await mkdir(options.stateDir, { recursive: true });
    const engine = new Engine(options);
    await Promise.all(engine.folders.map((f) => f.start()));
    engine.conn.start();
    return engine;
  }

  /** Stops cleanly: no new work, the connection closed, what was in flight ended, the journal closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.folders.map((f) => f.stop()));
    this.conn.stop();
    await Promise.all(this.folders.map((f) => f.drained()));
    clearTimeout(this.transferTimer);
    clearTimeout(this.foldersTimer);
    for (const set of Object.values(this.listeners)) set.clear();
    await this.hashes.close();
    this.journal.close();
  }

  get bytesOnWire(): { sent: number; received: number } {
    return { sent: this.conn.bytesSent, received: this.conn.bytesReceived };
  }

  private onWelcome(welcome: ServerMessageOf<'welcome'>): void {
    this.deviceName = welcome.device.name;
    for (const f of this.folders) f.onWelcome(welcome);
    this.foldersChanged();
  }

  private onFolderList(message: ServerMessageOf<'folders'>): void {
    const welcome = this.conn.welcome;
    if (!welcome) return;
    // Access changed while connected: treat it as a fresh welcome for folders it affects.
    this.onWelcome({ ...welcome, folders: message.folders });
  }

  // ---- events -------------------------------------------------------------------------

  private emit<K extends keyof Listeners>(event: K, value: Parameters<Listeners[K]>[0]): void {
    for (const l of this.listeners[event]) (l as (v: typeof value) => void)(value);
  }

  private listen<K extends keyof Listeners>(event: K, listener: Listeners[K]): Unsubscribe {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  private transfersChanged(): void {
    if (this.transferTimer || this.stopped) return;
    this.transferTimer = setTimeout(() => {
      this.transferTimer = undefined;
      this.emit('transfers', this.progress.snapshot());
    }, TRANSFER_EVENT_MS);
  }

  private foldersChanged(): void {
    if (this.foldersTimer || this.stopped) return;
    this.foldersTimer = setTimeout(() => {
      this.foldersTimer = undefined;
      this.emit('folders', this.folders.map((f) => f.status()));
    }, TRANSFER_EVENT_MS);
  }

  private addActivity(a: Omit<Activity, 'id'>): void {
    const activity = { ...a, id: this.nextActivity++ };
    this.activity.unshift(activity);
    if (this.activity.length > ACTIVITY_KEPT) this.activity.pop();
    this.emit('activity', activity);
    this.foldersChanged();
  }

  private conflictList(): Conflict[] {
    return this.journal.conflicts().filter((c) => this.folders.find((f) => f.id === c.folder)?.theirsInPlace(c.path) ?? true);
  }

  private issueList(): SyncIssue[] {
    const notices: SyncIssue[] = this.journalNotice
      ? this.folders.map((f) => ({ id: `${f.id}:journal`, folder: f.id, kind: 'journal-rebuilt', path: null, message: this.journalNotice!, count: null }))
      : [];
    return [...notices, ...this.folders.flatMap((f) => f.issueList())];
  }

  onConnection(listener: (s: ConnectionStatus) => void): Unsubscribe {
    return this.listen('connection', listener);
  }
  onFolders(listener: (f: FolderStatus[]) => void): Unsubscribe {
    return this.listen('folders', listener);
  }
  onTransfers(listener: (t: TransfersSnapshot) => void): Unsubscribe {
    return this.listen('transfers', listener);
  }
  onConflicts(listener: (c: Conflict[]) => void): Unsubscribe {
    return this.listen('conflicts', listener);
  }
  onIssues(listener: (i: SyncIssue[]) => void): Unsubscribe {
    return this.listen('issues', listener);
  }
  onActivity(listener: (a: Activity) => void): Unsubscribe {
    return this.listen('activity', listener);
  }

  // ---- commands -----------------------------------------------------------------------

  async getState(): Promise<EngineState> {
    return {
      device: this.deviceName,
      server: this.options.server,
      connection: this.conn.state,
      paused: this.paused,
      folders: this.folders.map((f) => f.status()),
      transfers: this.progress.snapshot(),
      conflicts: this.conflictList(),
      issues: this.issueList(),
      activity: [...this.activity],
      limits: { upBytesPerSecond: this.up.limit, downBytesPerSecond: this.down.limit },
    };
  }

  async pause(): Promise<void> {
    this.paused = true;
    for (const f of this.folders) f.setPaused(true);
    this.foldersChanged();
  }

  async resume(): Promise<void> {
    this.paused = false;
    for (const f of this.folders) f.setPaused(false);
    this.foldersChanged();
  }

  async retry(): Promise<void> {
    this.journalNotice = undefined;
    this.conn.retryNow();
    for (const f of this.folders) f.retry();
  }

  async resolveConflict(id: number, choice: ConflictChoice): Promise<void> {
    const conflict = this.conflictList().find((c) => c.id === id);
    if (!conflict) throw new BridgeError('not-found', `no conflict with id ${id} ready to resolve`);
    const folder = this.folder(conflict.folder);
    const copy = join(folder.root, ...conflict.copy.split('/'));
    const original = join(folder.root, ...conflict.path.split('/'));
    // The engine's scanner and commits carry each choice to the other devices.
    if (choice === 'keep-mine') await rename(copy, original);
    else if (choice === 'keep-theirs') await rm(copy, { recursive: true, force: true });
    this.journal.removeConflict(id);
    folder.touch([conflict.path, conflict.copy]);
    this.emit('conflicts', this.conflictList());
  }

  async confirmDeletes(folder: number): Promise<void> {
    this.folder(folder).confirmDeletes();
  }

  async rejectDeletes(folder: number): Promise<void> {
    this.folder(folder).rejectDeletes();
  }

  async setBandwidthLimits(limits: BandwidthLimits): Promise<void> {
    this.up.setRate(limits.upBytesPerSecond);
    this.down.setRate(limits.downBytesPerSecond);
  }

  async history(folder: number, path: string): Promise<Entry[]> {
    const remote = this.folder(folder).remote();
    const answer = await this.conn.request<ServerMessageOf<'revisions'>>({ type: 'history', folder: remote, path });
    return answer.entries;
  }

  async restore(folder: number, path: string, rev: number): Promise<void> {
    const remote = this.folder(folder).remote();
    await this.conn.request({ type: 'restore', folder: remote, path, rev });
  }

  private folder(id: number): FolderSync {
    const folder = this.folders.find((f) => f.id === id);
    if (!folder) throw new BridgeError('not-found', `no folder with id ${id}`);
    return folder;
  }
}
