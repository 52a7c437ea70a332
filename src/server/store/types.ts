/**
 * The server's storage seams. The sync logic talks only to these interfaces, so a larger
 * deployment can put PostgreSQL behind JournalStore, S3-compatible storage behind
 * ChunkStore and Redis behind Bus (src/server/bus.ts) without touching it. Methods are
 * async for that reason even though the SQLite implementation is synchronous inside.
 */
import { createHash } from 'node:crypto';
import type { CommitResult, Entry, FolderInfo, MoveRun, Op, Role } from '../../shared/protocol/messages.js';

export interface User {
  id: number;
  name: string;
  createdAt: number;
  /** Bytes the folders this user owns may hold; null for no limit. */
  quotaBytes: number | null;
}

export interface Device {
  id: number;
  userId: number;
  userName: string;
  name: string;
  createdAt: number;
  lastSeen: number | null;
  revokedAt: number | null;
}

export interface Folder {
  id: number;
  name: string;
  ownerId: number;
  ownerName: string;
  rev: number;
  bytes: number;
  files: number;
  members: { user: string; role: Role }[];
}

export type CommitOutcome =
  | {
      kind: 'committed';
      results: CommitResult[];
      from: number;
      rev: number;
      /** Every revision the commit wrote. */
      entries: Entry[];
      /** The revisions of `entries` that moves wrote, in compact form, for clients that read it. */
      moves: MoveRun[];
    }
  /** The puts name chunks the folder does not hold yet; nothing was committed. */
  | { kind: 'need'; chunks: string[] }
  | { kind: 'refused'; code: 'quota_exceeded' | 'bad_request'; message: string };

export interface ChangesPage {
  /** Every current entry whose revision lies in (cursor, rev], oldest first. */
  entries: Entry[];
  rev: number;
  more: boolean;
}

export interface JournalStore {
  readonly serverId: string;

  // accounts
  userCount(): Promise<number>;
  createUser(name: string, passwordHash: string, quotaBytes: number | null): Promise<User>;
  userByName(name: string): Promise<(User & { passwordHash: string }) | undefined>;
  listUsers(): Promise<User[]>;
  setPassword(userId: number, passwordHash: string): Promise<void>;
  setQuota(userId: number, quotaBytes: number | null): Promise<void>;
  createDevice(userId: number, name: string, tokenHash: string): Promise<Device>;
  /** The active (not revoked) device a token hash belongs to. */
  deviceByTokenHash(tokenHash: string): Promise<Device | undefined>;
  listDevices(): Promise<Device[]>;
  revokeDevice(deviceId: number): Promise<boolean>;
  touchDevice(deviceId: number, time: number): Promise<void>;
  /** Of the given devices, those that have been revoked. */
  revokedAmong(deviceIds: number[]): Promise<Set<number>>;

  // folders and membership
  createFolder(name: string, ownerId: number): Promise<FolderInfo>;
  folderByName(name: string): Promise<Folder | undefined>;
  setMember(folderId: number, userId: number, role: Role | null): Promise<void>;
  listFolders(): Promise<Folder[]>;
  foldersOf(userId: number): Promise<FolderInfo[]>;
  roleOf(folderId: number, userId: number): Promise<Role | undefined>;

  // the journal
  commit(folderId: number, ops: Op[], device: string, time: number): Promise<CommitOutcome>;
  /** A page of at most `limit` entries and about `maxBytes` of them (at least one entry). */
  changesSince(folderId: number, cursor: number, limit: number, maxBytes: number): Promise<ChangesPage>;
  /** The folder's newest revision (0 when it has none, or no such folder). */
  head(folderId: number): Promise<number>;
  history(folderId: number, path: string, limit: number): Promise<Entry[]>;
  /** Commits revision `rev` of `path` again as its newest revision. */
  restore(folderId: number, path: string, rev: number, device: string, time: number): Promise<CommitOutcome | undefined>;

  // chunk bookkeeping
  /** Of `hashes`, those this folder can not use yet (never uploaded into it, nor referenced by it). */
  missingChunks(folderId: number, hashes: string[]): Promise<string[]>;
  /** True when a chunk is referenced by a revision of the folder, so its members may read it. */
  folderHasChunk(folderId: number, hash: string): Promise<boolean>;
  /**
   * Records a chunk uploaded into a folder. With `inline`, the journal keeps the chunk's
   * bytes itself, in the same transaction (small chunks, see chunk-bytes.ts); without, the
   * bytes are already in the ChunkStore.
   */
  recordUpload(folderId: number, hash: string, size: number, time: number, inline?: Buffer): Promise<void>;
  /** The chunk's size, and its bytes when the journal keeps them, if the folder may read it. */
  readableChunk(folderId: number, hash: string): Promise<{ size: number; inline: Buffer | undefined } | undefined>;
  chunkKnown(hash: string): Promise<boolean>;
  chunkStats(): Promise<{ count: number; bytes: number }>;

  /**
   * Drops revisions superseded before `cutoff` and uploads never committed since
   * `uploadCutoff`, then forgets every chunk nothing references any more. Returns the hashes
   * forgotten, each marked `inline` when its bytes were in the journal and went with it;
   * the caller removes the files of the others (and of any stored both ways).
   */
  collectGarbage(cutoff: number, uploadCutoff: number): Promise<{ hash: string; inline: boolean }[]>;

  /** Calls back when access changed outside the sync sessions: an admin command in another process, or an admin call in this one. */
  onExternalChange(listener: () => void): () => void;
  backup(file: string): Promise<void>;
  close(): void;
}

export interface ChunkStore {
  has(hash: string): Promise<boolean>;
  /** Stores a chunk after checking that `data` hashes to `hash`; throws ChunkHashMismatch otherwise. */
  put(hash: string, data: Buffer): Promise<void>;
  /** The chunk's bytes; `size` is what the journal recorded, so the store need not look it up. */
  get(hash: string, size: number): Promise<Buffer | undefined>;
  /**
   * Removes a chunk unless `stillWanted` says, after the bytes were taken out of reach,
   * that someone stored it again meanwhile; then the bytes are put back.
   */
  remove(hash: string, stillWanted: () => Promise<boolean>): Promise<boolean>;
}

export class ChunkHashMismatch extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`chunk data hashes to ${actual}, not ${expected}`);
  }
}

/** Throws ChunkHashMismatch unless `data` hashes to `hash`. */
export function verifyChunk(hash: string, data: Buffer): void {
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== hash) throw new ChunkHashMismatch(hash, actual);
}
