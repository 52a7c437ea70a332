/**
 * The engine's journal: for every path of every synced folder, the three trees of the sync
 * model — remote (the newest entry the server sent), local (what the scanner saw) and synced
 * (what both last agreed on) — plus each folder's cursor and the server identity it belongs
 * to. SQLite in WAL mode, so a crash at any point leaves the last committed state.
 */
import { existsSync, renameSync } from 'node:fs';
import type { Database, Statement } from 'better-sqlite3';
import type { Conflict } from '../../shared/bridge.js';
import type { Entry } from '../../shared/protocol/messages.js';
import { openSqlite } from '../../shared/sqlite.js';
import type { ChunkList } from '../content/file-content.js';
import type { Identity, LocalState, SyncedState } from '../sync/reconcile.js';

export interface LocalFile extends LocalState {
  chunks: ChunkList;
}

export interface PathRecord {
  path: string;
  remote?: Entry;
  local?: LocalFile;
  synced?: SyncedState;
}

/**
 * What an engine write is about to put at a path (a download renamed into place, a remote
 * move, a mode change, a directory made) and what it will be recorded as once done. Written
 * before the write and cleared in the transaction that records it, so a row still here at
 * start marks a write a crash may have left on disk unrecorded.
 */
export interface PendingApply {
  path: string;
  local: LocalFile;
  synced: SyncedState;
}

export interface FolderRow {
  id: number;
  server: string;
  name: string;
  root: string;
  remoteId: number | null;
  serverId: string | null;
  cursor: number;
}

/** A recorded conflict is what the bridge lists. */
export type ConflictRecord = Conflict;

interface EntryRow {
  path: string;
  remote: string | null;
  synced_rev: number | null;
  synced_id: string | null;
  local_kind: LocalState['kind'] | null;
  local_size: number;
  local_mtime: number;
  local_ino: number;
  local_mode: number;
  local_hash: string;
  local_target: string;
  local_chunks: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS folders (
    id INTEGER PRIMARY KEY,
    server TEXT NOT NULL,
    name TEXT NOT NULL,
    root TEXT NOT NULL,
    remote_id INTEGER,
    server_id TEXT,
    cursor INTEGER NOT NULL DEFAULT 0,
    UNIQUE (server, name, root)
  );
  CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    folder INTEGER NOT NULL REFERENCES folders(id),
    path TEXT NOT NULL,
    remote TEXT,
    synced_rev INTEGER,
    synced_id TEXT,
    local_kind TEXT,
    local_size INTEGER NOT NULL DEFAULT 0,
    local_mtime INTEGER NOT NULL DEFAULT 0,
    local_ino INTEGER NOT NULL DEFAULT 0,
    local_mode INTEGER NOT NULL DEFAULT 0,
    local_hash TEXT NOT NULL DEFAULT '',
    local_target TEXT NOT NULL DEFAULT '',
    local_chunks TEXT NOT NULL DEFAULT '[]',
    UNIQUE (folder, path)
  );
  CREATE TABLE IF NOT EXISTS local_chunks (
    folder INTEGER NOT NULL,
    hash TEXT NOT NULL,
    path TEXT NOT NULL,
    offset INTEGER NOT NULL,
    PRIMARY KEY (folder, hash, path, offset)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS local_chunks_path ON local_chunks(folder, path);
  CREATE INDEX IF NOT EXISTS entries_local_ino ON entries(folder, local_ino);
  CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY,
    folder INTEGER NOT NULL REFERENCES folders(id),
    path TEXT NOT NULL,
    copy TEXT NOT NULL,
    local_device TEXT NOT NULL,
    remote_device TEXT NOT NULL,
    local_size INTEGER NOT NULL,
    remote_size INTEGER NOT NULL,
    time INTEGER NOT NULL,
    local_time INTEGER NOT NULL DEFAULT 0,
    remote_time INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS pending_applies (
    folder INTEGER NOT NULL,
    path TEXT NOT NULL,
    local TEXT NOT NULL,
    synced_rev INTEGER NOT NULL,
    synced_id TEXT,
    PRIMARY KEY (folder, path)
  ) WITHOUT ROWID;
`;

/** Columns added after the first release, for journals made before them. */
const ADDED_COLUMNS: readonly [table: string, column: string, definition: string][] = [
  ['conflicts', 'local_time', 'INTEGER NOT NULL DEFAULT 0'],
  ['conflicts', 'remote_time', 'INTEGER NOT NULL DEFAULT 0'],
];

function addMissingColumns(db: Database): void {
  for (const [table, column, definition] of ADDED_COLUMNS) {
    const has = (db.pragma(`table_info(${table})`) as { name: string }[]).some((c) => c.name === column);
    if (!has) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
}

/** The journal file is not a usable database; anything else (busy, no permission) is not damage. */
export class JournalDamaged extends Error {}

function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

export class LocalJournal {
  private readonly db: Database;
  private readonly s: ReturnType<typeof prepare>;

  constructor(file: string) {
    this.db = openSqlite(file);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new JournalDamaged(`quick_check: ${String(check)}`);
      this.db.exec(SCHEMA);
      addMissingColumns(this.db);
      this.s = prepare(this.db);
    } catch (err) {
      this.db.close();
      if (isCorruption(err)) throw new JournalDamaged((err as Error).message);
      throw err;
    }
  }

  /**
   * Opens the journal at `file`. A damaged one (not a database, or failing SQLite's
   * quick_check) is moved aside with its WAL, and a fresh one takes its place: the engine
   * then rescans, the files on disk are the truth, and the first exchange with the server
   * merges as two folders meeting for the first time do, so nothing is deleted.
   */
  static open(file: string, now = Date.now()): { journal: LocalJournal; rebuilt?: { damage: string; movedTo: string } } {
    try {
      return { journal: new LocalJournal(file) };
    } catch (err) {
      if (!(err instanceof JournalDamaged)) throw err;
      const movedTo = `${file}.damaged-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
      renameSync(file, movedTo);
      for (const suffix of ['-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, movedTo + suffix);
      return { journal: new LocalJournal(file), rebuilt: { damage: err.message, movedTo } };
    }
  }

  openFolder(server: string, name: string, root: string): FolderRow {
    this.s.insertFolder.run(server, name, root);
    return toFolder(this.s.folderByKey.get(server, name, root) as Record<string, unknown>);
  }

  folder(id: number): FolderRow {
    return toFolder(this.s.folderById.get(id) as Record<string, unknown>);
  }

  setFolderRemote(id: number, remoteId: number, serverId: string): void {
    this.s.setFolderRemote.run(remoteId, serverId, id);
  }

  get(folder: number, path: string): PathRecord | undefined {
    const row = this.s.get.get(folder, path) as EntryRow | undefined;
    return row && toRecord(row);
  }

  /** Every record of a folder, in path order. */
  all(folder: number): PathRecord[] {
    return (this.s.all.all(folder) as EntryRow[]).map(toRecord);
  }

  /** What the scanner last saw at a path, without the rest of its record. */
  local(folder: number, path: string): LocalFile | undefined {
    const row = this.s.local.get(folder, path) as EntryRow | undefined;
    return row ? toLocal(row) : undefined;
  }

  /** Paths with a local state at and below `dir`. */
  localPaths(folder: number, dir: string): string[] {
    const rows = this.s.localPathsAt.all(folder, dir, dir + '/', dir + '0') as { path: string }[];
    return rows.map((r) => r.path);
  }

  /** What the scanner last saw at every path of a folder, in one read: for a full scan. */
  allLocal(folder: number): Map<string, LocalFile> {
    const all = new Map<string, LocalFile>();
    for (const row of this.s.allLocal.iterate(folder) as Iterable<EntryRow>) all.set(row.path, toLocal(row)!);
    return all;
  }

  /** The files recorded with this inode number, wherever: a rename keeps it, so a moved file is known without reading it. */
  filesWithInode(folder: number, ino: number): { path: string; local: LocalFile }[] {
    return (this.s.filesWithInode.all(folder, ino) as EntryRow[]).map((row) => ({ path: row.path, local: toLocal(row)! }));
  }

  /** Records strictly below a directory. */
  below(folder: number, dir: string): PathRecord[] {
    return (this.s.below.all(folder, dir + '/', dir + '0') as EntryRow[]).map(toRecord);
  }

  /** Stores entries from the feed and advances the cursor, atomically. */
  applyFeed(folder: number, entries: Entry[], cursor: number): void {
    this.db.transaction(() => {
      for (const e of entries) this.s.setRemote.run(folder, e.path, JSON.stringify(e));
      this.s.setCursor.run(cursor, folder);
    })();
  }

  setRemote(folder: number, entry: Entry): void {
    this.s.setRemote.run(folder, entry.path, JSON.stringify(entry));
  }

  setLocal(folder: number, path: string, local: LocalFile | undefined): void {
    this.db.transaction(() => this.writeLocal(folder, path, local))();
  }

  /** setLocal's rows (and the synced state too, if given), inside whatever transaction is open. */
  private writeLocal(folder: number, path: string, local: LocalFile | undefined, synced?: SyncedState): void {
    this.s.clearLocalChunks.run(folder, path);
    if (!local) {
      this.s.clearLocal.run(folder, path);
      return;
    }
    (synced ? this.s.setLocalSynced : this.s.setLocal).run({
      folder,
      path,
      ...(synced && { rev: synced.rev, id: synced.id }),
      kind: local.kind,
      size: local.size,
      mtime: local.mtime,
      ino: local.ino,
      mode: local.mode,
      hash: local.hash,
      target: local.target,
      chunks: JSON.stringify(local.chunks),
    });
    let offset = 0;
    for (const [hash, size] of local.chunks) {
      this.s.addLocalChunk.run(folder, hash, path, offset);
      offset += size;
    }
  }

  clearRemote(folder: number, path: string): void {
    this.s.clearRemote.run(folder, path);
  }

  /** How many paths both sides hold in agreement: the base for the mass-delete guard. */
  countSynced(folder: number): number {
    return (this.s.countSynced.get(folder) as { n: number }).n;
  }

  /** Totals of what is on disk, for the status view. */
  localTotals(folder: number): { files: number; bytes: number } {
    return this.s.localTotals.get(folder) as { files: number; bytes: number };
  }

  setSynced(folder: number, path: string, synced: SyncedState | undefined): void {
    this.s.setSynced.run(folder, path, synced?.rev ?? null, synced?.id ?? null);
  }

  /** Notes engine writes about to happen (all or none); see PendingApply. */
  setPendingApplies(folder: number, applies: PendingApply[]): void {
    this.db.transaction(() => {
      for (const a of applies) this.s.setPending.run(folder, a.path, JSON.stringify(a.local), a.synced.rev, a.synced.id);
    })();
  }

  /**
   * Records engine writes that landed as what their notes said, and clears the notes of
   * those that did not (`failed`), all in one transaction.
   */
  recordApplies(folder: number, landed: PendingApply[], failed: string[] = []): void {
    this.db.transaction(() => {
      for (const a of landed) {
        this.writeLocal(folder, a.path, a.local, a.synced);
        this.s.clearPending.run(folder, a.path);
      }
      for (const path of failed) this.s.clearPending.run(folder, path);
    })();
  }

  /** Clears the note of a write: recorded with it, or it did not happen. */
  clearPendingApply(folder: number, path: string): void {
    this.s.clearPending.run(folder, path);
  }

  pendingApplies(folder: number): PendingApply[] {
    const rows = this.s.pending.all(folder) as { path: string; local: string; synced_rev: number; synced_id: Identity }[];
    return rows.map((r) => ({ path: r.path, local: JSON.parse(r.local) as LocalFile, synced: { rev: r.synced_rev, id: r.synced_id } }));
  }

  /** Runs several journal updates as one transaction. */
  batch<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /** Where a chunk can be read from a local file (as last scanned), if any file holds it. */
  findChunk(folder: number, hash: string): { path: string; offset: number }[] {
    return this.s.findChunk.all(folder, hash) as { path: string; offset: number }[];
  }

  /**
   * The server is not the one this folder last synced with (or lost history): forget what
   * it said and what was agreed, keep what is on disk. The next catch-up then merges
   * instead of reading the server's state as deletions.
   */
  forgetServer(folder: number): void {
    this.db.transaction(() => {
      this.s.forgetRemote.run(folder);
      this.s.setCursor.run(0, folder);
      this.s.dropEmpty.run(folder);
    })();
  }

  addConflict(c: Omit<ConflictRecord, 'id'>): number {
    return Number(
      this.s.addConflict.run(c.folder, c.path, c.copy, c.localDevice, c.remoteDevice, c.localSize, c.remoteSize, c.time, c.localTime, c.remoteTime).lastInsertRowid,
    );
  }

  conflicts(folder?: number): ConflictRecord[] {
    const rows = (folder === undefined ? this.s.allConflicts.all() : this.s.folderConflicts.all(folder)) as Record<string, number | string>[];
    return rows.map((r) => ({
      id: r.id as number,
      folder: r.folder as number,
      path: r.path as string,
      copy: r.copy as string,
      localDevice: r.local_device as string,
      remoteDevice: r.remote_device as string,
      localSize: r.local_size as number,
      remoteSize: r.remote_size as number,
      localTime: r.local_time as number,
      remoteTime: r.remote_time as number,
      time: r.time as number,
    }));
  }

  removeConflict(id: number): void {
    this.s.removeConflict.run(id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toFolder(r: Record<string, unknown>): FolderRow {
  return {
    id: r.id as number,
    server: r.server as string,
    name: r.name as string,
    root: r.root as string,
    remoteId: r.remote_id as number | null,
    serverId: r.server_id as string | null,
    cursor: r.cursor as number,
  };
}

function toRecord(r: EntryRow): PathRecord {
  const record: PathRecord = { path: r.path };
  if (r.remote !== null) record.remote = JSON.parse(r.remote) as Entry;
  if (r.synced_rev !== null) record.synced = { rev: r.synced_rev, id: r.synced_id as Identity };
  const local = toLocal(r);
  if (local) record.local = local;
  return record;
}

function toLocal(r: EntryRow): LocalFile | undefined {
  if (r.local_kind === null) return undefined;
  return {
    kind: r.local_kind,
    size: r.local_size,
    mtime: r.local_mtime,
    ino: r.local_ino,
    mode: r.local_mode,
    hash: r.local_hash,
    target: r.local_target,
    chunks: r.local_chunks === '[]' ? [] : (JSON.parse(r.local_chunks) as ChunkList),
  };
}

function prepare(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    insertFolder: p(`INSERT OR IGNORE INTO folders (server, name, root) VALUES (?, ?, ?)`),
    folderByKey: p(`SELECT * FROM folders WHERE server = ? AND name = ? AND root = ?`),
    folderById: p(`SELECT * FROM folders WHERE id = ?`),
    setFolderRemote: p(`UPDATE folders SET remote_id = ?, server_id = ? WHERE id = ?`),
    setCursor: p(`UPDATE folders SET cursor = ? WHERE id = ?`),

    get: p(`SELECT * FROM entries WHERE folder = ? AND path = ?`),
    all: p(`SELECT * FROM entries WHERE folder = ? ORDER BY path`),
    local: p(
      `SELECT local_kind, local_size, local_mtime, local_ino, local_mode, local_hash, local_target, local_chunks
       FROM entries WHERE folder = ? AND path = ?`,
    ),
    allLocal: p(
      `SELECT path, local_kind, local_size, local_mtime, local_ino, local_mode, local_hash, local_target, local_chunks
       FROM entries WHERE folder = ? AND local_kind IS NOT NULL`,
    ),
    filesWithInode: p(
      `SELECT path, local_kind, local_size, local_mtime, local_ino, local_mode, local_hash, local_target, local_chunks
       FROM entries WHERE folder = ? AND local_ino = ? AND local_kind = 'file'`,
    ),
    localPathsAt: p(`SELECT path FROM entries WHERE folder = ? AND (path = ? OR (path >= ? AND path < ?)) AND local_kind IS NOT NULL`),
    below: p(`SELECT * FROM entries WHERE folder = ? AND path >= ? AND path < ? ORDER BY path`),
    setRemote: p(
      `INSERT INTO entries (folder, path, remote) VALUES (?, ?, ?)
       ON CONFLICT (folder, path) DO UPDATE SET remote = excluded.remote`,
    ),
    setLocal: p(
      `INSERT INTO entries (folder, path, local_kind, local_size, local_mtime, local_ino, local_mode, local_hash, local_target, local_chunks)
       VALUES (@folder, @path, @kind, @size, @mtime, @ino, @mode, @hash, @target, @chunks)
       ON CONFLICT (folder, path) DO UPDATE SET local_kind = excluded.local_kind, local_size = excluded.local_size,
         local_mtime = excluded.local_mtime, local_ino = excluded.local_ino, local_mode = excluded.local_mode,
         local_hash = excluded.local_hash, local_target = excluded.local_target, local_chunks = excluded.local_chunks`,
    ),
    setLocalSynced: p(
      `INSERT INTO entries (folder, path, synced_rev, synced_id, local_kind, local_size, local_mtime, local_ino, local_mode, local_hash, local_target, local_chunks)
       VALUES (@folder, @path, @rev, @id, @kind, @size, @mtime, @ino, @mode, @hash, @target, @chunks)
       ON CONFLICT (folder, path) DO UPDATE SET synced_rev = excluded.synced_rev, synced_id = excluded.synced_id,
         local_kind = excluded.local_kind, local_size = excluded.local_size,
         local_mtime = excluded.local_mtime, local_ino = excluded.local_ino, local_mode = excluded.local_mode,
         local_hash = excluded.local_hash, local_target = excluded.local_target, local_chunks = excluded.local_chunks`,
    ),
    clearLocal: p(
      `UPDATE entries SET local_kind = NULL, local_size = 0, local_mtime = 0, local_ino = 0, local_mode = 0,
         local_hash = '', local_target = '', local_chunks = '[]' WHERE folder = ? AND path = ?`,
    ),
    setSynced: p(
      `INSERT INTO entries (folder, path, synced_rev, synced_id) VALUES (?, ?, ?, ?)
       ON CONFLICT (folder, path) DO UPDATE SET synced_rev = excluded.synced_rev, synced_id = excluded.synced_id`,
    ),
    clearRemote: p(`UPDATE entries SET remote = NULL WHERE folder = ? AND path = ?`),
    countSynced: p(`SELECT COUNT(*) AS n FROM entries WHERE folder = ? AND synced_id IS NOT NULL`),
    localTotals: p(`SELECT COUNT(*) AS files, COALESCE(SUM(local_size), 0) AS bytes FROM entries WHERE folder = ? AND local_kind = 'file'`),
    forgetRemote: p(`UPDATE entries SET remote = NULL, synced_rev = NULL, synced_id = NULL WHERE folder = ?`),
    dropEmpty: p(`DELETE FROM entries WHERE folder = ? AND remote IS NULL AND synced_rev IS NULL AND local_kind IS NULL`),

    clearLocalChunks: p(`DELETE FROM local_chunks WHERE folder = ? AND path = ?`),
    addLocalChunk: p(`INSERT OR IGNORE INTO local_chunks (folder, hash, path, offset) VALUES (?, ?, ?, ?)`),
    findChunk: p(`SELECT path, offset FROM local_chunks WHERE folder = ? AND hash = ? LIMIT 4`),

    addConflict: p(
      `INSERT INTO conflicts (folder, path, copy, local_device, remote_device, local_size, remote_size, time, local_time, remote_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    allConflicts: p(`SELECT * FROM conflicts ORDER BY time DESC`),
    folderConflicts: p(`SELECT * FROM conflicts WHERE folder = ? ORDER BY time DESC`),
    removeConflict: p(`DELETE FROM conflicts WHERE id = ?`),

    setPending: p(
      `INSERT INTO pending_applies (folder, path, local, synced_rev, synced_id) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (folder, path) DO UPDATE SET local = excluded.local, synced_rev = excluded.synced_rev, synced_id = excluded.synced_id`,
    ),
    clearPending: p(`DELETE FROM pending_applies WHERE folder = ? AND path = ?`),
    pending: p(`SELECT path, local, synced_rev, synced_id FROM pending_applies WHERE folder = ? ORDER BY path`),
  };
}
