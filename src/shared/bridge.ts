/**
 * The one API between the sync engine and everything that shows or steers it: the desktop
 * UI (through the preload bridge), the browser UI (through the web bridge), the tray and
 * `ferry status`. Commands return promises; events are `onX(callback) → unsubscribe`.
 * Plain data only, so it crosses IPC and HTTP unchanged.
 */
import type { Entry } from './protocol/messages.js';

export type Unsubscribe = () => void;

export type ConnectionStatus =
  | { status: 'connecting'; attempt: number }
  | { status: 'connected'; since: number }
  | { status: 'offline'; reason: string; retryAt: number }
  | { status: 'signed-out'; reason: string }
  | { status: 'failed'; reason: string }
  | { status: 'stopped' };

export type FolderPhase = 'starting' | 'scanning' | 'syncing' | 'idle' | 'paused' | 'error';

export interface FolderStatus {
  id: number;
  name: string;
  root: string;
  phase: FolderPhase;
  /** Why the folder is in error, or what it waits for. */
  message: string | null;
  files: number;
  bytes: number;
  /** Paths with work left. */
  pending: number;
  lastSyncAt: number | null;
}

export interface Transfer {
  id: string;
  folder: number;
  path: string;
  direction: 'up' | 'down';
  bytesDone: number;
  bytesTotal: number;
  /** Bytes a second over the last few seconds. */
  rate: number;
  etaSeconds: number | null;
}

export interface TransfersSnapshot {
  items: Transfer[];
  bytesDone: number;
  bytesTotal: number;
  rate: number;
  etaSeconds: number | null;
}

export interface Conflict {
  id: number;
  folder: number;
  path: string;
  /** Where the local version was kept. */
  copy: string;
  localDevice: string;
  remoteDevice: string;
  localSize: number;
  remoteSize: number;
  /** When each version was last modified (ms since the epoch). */
  localTime: number;
  remoteTime: number;
  /** When the conflict was found. */
  time: number;
}

export type ConflictChoice = 'keep-mine' | 'keep-theirs' | 'keep-both';

export type IssueKind =
  | 'unsupported-name'
  | 'mass-delete'
  | 'root-missing'
  | 'read-error'
  | 'write-error'
  | 'server-refused'
  /** The local journal was damaged, moved aside and rebuilt from the files on disk. */
  | 'journal-rebuilt';

export interface SyncIssue {
  id: string;
  folder: number;
  kind: IssueKind;
  path: string | null;
  message: string;
  /** For a held mass delete: how many paths wait for confirmation. */
  count: number | null;
}

export interface Activity {
  id: number;
  time: number;
  folder: number;
  path: string;
  action: 'added' | 'changed' | 'deleted' | 'moved' | 'conflict';
  /** up: this device changed it; down: another device did. */
  direction: 'up' | 'down';
  device: string;
  from: string | null;
}

export interface BandwidthLimits {
  /** Bytes a second; null for no limit. */
  upBytesPerSecond: number | null;
  downBytesPerSecond: number | null;
}

export interface EngineState {
  device: string | null;
  server: string | null;
  connection: ConnectionStatus;
  paused: boolean;
  folders: FolderStatus[];
  transfers: TransfersSnapshot;
  conflicts: Conflict[];
  issues: SyncIssue[];
  activity: Activity[];
  limits: BandwidthLimits;
}

/** What this host can do beyond syncing; the UI hides what is missing. */
export interface Capabilities {
  /** Run the server inside this app ("Host on this computer"). */
  host: boolean;
  /** Reveal a file in the OS file manager. */
  showInFolder: boolean;
  /** A native folder picker. */
  chooseFolder: boolean;
  launchAtLogin: boolean;
  notifications: boolean;
}

export interface SyncedFolder {
  /** The folder's name on the server. */
  name: string;
  /** The local directory. */
  dir: string;
}

/**
 * How this device is set up. `none` is the first run. `fixed` is a headless client whose
 * server, token and folders came from its command line: the UI shows them but can't change them.
 */
export type Setup =
  | { mode: 'none' }
  | { mode: 'client' | 'fixed'; server: string; user: string | null; device: string; folders: SyncedFolder[] }
  | { mode: 'host'; server: string; addresses: string[]; user: string; device: string; folders: SyncedFolder[] };

export interface Settings {
  launchAtLogin: boolean;
  notifications: boolean;
}

export interface AppInfo {
  version: string;
  setup: Setup;
  capabilities: Capabilities;
  settings: Settings;
  /** Where a first-run folder goes unless the user picks another. */
  defaultDir: string;
}

/** "Connect to a server": sign in with a password; the device token replaces it. */
export interface ConnectRequest {
  server: string;
  user: string;
  password: string;
  /** This device's name on the server. */
  device: string;
  /** The server folder to sync; the user's first folder when omitted. */
  folder?: string;
  dir: string;
}

/** "Host on this computer": the embedded server, its first user, and this device synced to it. */
export interface HostRequest {
  user: string;
  password: string;
  dir: string;
  /** The port other devices connect to; 7711 when omitted. */
  port?: number;
}

export interface HostInfo {
  /** Addresses other devices use: one per network interface. */
  addresses: string[];
  user: string;
  folder: string;
}

/** The codes a bridge call fails with; the message is for people. */
export type BridgeErrorCode =
  | 'invalid-argument'
  | 'unsupported'
  | 'not-set-up'
  | 'already-set-up'
  | 'unreachable'
  | 'auth-failed'
  | 'not-found'
  | 'internal';

export class BridgeError extends Error {
  constructor(
    readonly code: BridgeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BridgeError';
  }
}

/** How a call's outcome crosses IPC and HTTP: never a thrown exception. */
export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: { code: BridgeErrorCode; message: string } };

/** What the sync engine itself answers. */
export interface SyncBridge {
  getState(): Promise<EngineState>;

  onConnection(listener: (status: ConnectionStatus) => void): Unsubscribe;
  onFolders(listener: (folders: FolderStatus[]) => void): Unsubscribe;
  onTransfers(listener: (transfers: TransfersSnapshot) => void): Unsubscribe;
  onConflicts(listener: (conflicts: Conflict[]) => void): Unsubscribe;
  onIssues(listener: (issues: SyncIssue[]) => void): Unsubscribe;
  onActivity(listener: (activity: Activity) => void): Unsubscribe;

  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Retries what failed, reconnects now and rescans. */
  retry(): Promise<void>;
  resolveConflict(id: number, choice: ConflictChoice): Promise<void>;
  /** Lets a held mass delete go ahead. */
  confirmDeletes(folder: number): Promise<void>;
  /** Cancels a held mass delete: what was deleted comes back. */
  rejectDeletes(folder: number): Promise<void>;
  setBandwidthLimits(limits: BandwidthLimits): Promise<void>;
  history(folder: number, path: string): Promise<Entry[]>;
  restore(folder: number, path: string, rev: number): Promise<void>;
}

/** What the app around the engine adds: setup, account, settings and the desktop's own actions. */
export interface AppBridge {
  getApp(): Promise<AppInfo>;
  onApp(listener: (app: AppInfo) => void): Unsubscribe;
  /** First run: sign in to a server and start syncing `dir`. */
  connect(request: ConnectRequest): Promise<void>;
  /** First run: start the embedded server and sync `dir` with it. */
  host(request: HostRequest): Promise<HostInfo>;
  /** After the device token was revoked: a new token for the same user and device name. */
  signIn(password: string): Promise<void>;
  /** Forgets the token and the setup (files stay); back to the first run. */
  signOut(): Promise<void>;
  setSettings(settings: Partial<Settings>): Promise<void>;
  /** The folder's `.ferryignore` (gitignore syntax); it syncs, so every device applies it. */
  getIgnoreRules(folder: number): Promise<string>;
  setIgnoreRules(folder: number, rules: string): Promise<void>;
  showInFolder(folder: number, path: string): Promise<void>;
  /** A native folder picker; null when the user cancelled. */
  chooseFolder(): Promise<string | null>;
}

/** The whole API the UI sees. */
export interface FerryBridge extends SyncBridge, AppBridge {}
