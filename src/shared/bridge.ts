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
  time: number;
}

export type ConflictChoice = 'keep-mine' | 'keep-theirs' | 'keep-both';

export type IssueKind = 'unsupported-name' | 'mass-delete' | 'root-missing' | 'read-error' | 'write-error' | 'server-refused';

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

export interface FerryBridge {
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
