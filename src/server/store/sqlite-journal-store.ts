/**
 * JournalStore on SQLite (better-sqlite3): WAL, one writer, prepared statements. Every
 * method is one transaction, so each commit is atomic and gets consecutive revisions.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Database, Statement } from 'better-sqlite3';
import { parentPath } from '../../shared/paths.js';
import type { CommitResult, Entry, FolderInfo, MoveRun, Op, PutOp, Role } from '../../shared/protocol/messages.js';
import { openSqlite } from '../../shared/sqlite.js';
import { migrate } from './sqlite-schema.js';
import type { ChangesPage, CommitOutcome, Device, Folder, JournalStore, User } from './types.js';

interface RevisionRow {
  folder_id: number;
  rev: number;
  path: string;
  kind: Entry['kind'];
  deleted: number;
  size: number;
  mtime: number;
  mode: number;
  hash: string;
  chunks: string;
  target: string;
  device: string;
  time: number;
  moved_from: string | null;
}

interface CurrentRow {
  path: string;
  rev: number;
  kind: Entry['kind'];
  deleted: number;
  size: number;
}

interface DeviceRow {
  id: number;
  user_id: number;
  user_name: string;
  name: string;
  created_at: number;
  last_seen: number | null;
  revoked_at: number | null;
}

type NewRevision = Omit<RevisionRow, 'folder_id' | 'rev'>;

interface GroupItem {
  work: () => CommitOutcome | undefined;
  /** Settle only once the transaction is on disk, power cut included. */
  durable: boolean;
  resolve: (o: CommitOutcome | undefined) => void;
  reject: (e: unknown) => void;
}

class QuotaExceeded extends Error {}
class BadChunkSize extends Error {}

/** The answer for a commit refused from inside its transaction, or undefined for a real failure. */
function refusalOf(err: unknown): CommitOutcome | undefined {
  if (err instanceof NeedChunks) return { kind: 'need', chunks: err.chunks };
  if (err instanceof QuotaExceeded) return { kind: 'refused', code: 'quota_exceeded', message: err.message };
  if (err instanceof BadChunkSize) return { kind: 'refused', code: 'bad_request', message: err.message };
  return undefined;
}
class NeedChunks extends Error {
  constructor(readonly chunks: string[]) {
    super('chunks missing');
  }
}

/** How often another process's writes (an admin command) are looked for. */
const EXTERNAL_POLL_MS = 200;

export class SqliteJournalStore implements JournalStore {
  readonly serverId: string;
  private readonly db: Database;
  private readonly s: ReturnType<typeof prepare>;
  private readonly listeners = new Set<() => void>();
  private poll: NodeJS.Timeout | undefined;
  private dataVersion = 0;
  private group: GroupItem[] = [];
  /** The WAL file, synced after a group that must be durable. */
  private readonly wal: number;
  /** WAL syncs still running in the thread pool: the descriptor must outlive them. */
  private walSyncs = 0;

  constructor(file: string) {
    this.db = openSqlite(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a crash of the process; only a power cut can lose the
    // newest commits, and clients whose cursor is then ahead of the server re-upload.
    // Inline chunk bytes must survive a power cut once `stored` is sent: see flushGroup.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.s = prepare(this.db);
    this.serverId = this.ensureServerId();
    // Open now that the WAL file exists (the statements above read through it); it stays
    // the same file while this connection is open. Read-write although nothing is written
    // through it: Windows flushes only a handle with write access.
    this.wal = openSync(`${file}-wal`, 'r+');
  }

  private ensureServerId(): string {
    const row = this.s.getMeta.get('server_id') as { value: string } | undefined;
    if (row) return row.value;
    const id = randomUUID();
    this.s.setMeta.run('server_id', id);
    return id;
  }

  // ---- accounts ---------------------------------------------------------------------

  async userCount(): Promise<number> {
    return (this.s.userCount.get() as { n: number }).n;
  }

  async createUser(name: string, passwordHash: string, quotaBytes: number | null): Promise<User> {
    const createdAt = Date.now();
    const info = this.s.insertUser.run(name, passwordHash, quotaBytes, createdAt);
    return { id: Number(info.lastInsertRowid), name, createdAt, quotaBytes };
  }

  async userByName(name: string): Promise<(User & { passwordHash: string }) | undefined> {
    const row = this.s.userByName.get(name) as
      | { id: number; name: string; password_hash: string; quota_bytes: number | null; created_at: number }
      | undefined;
    if (!row) return undefined;
    return {
      id: row.id,
      name: row.name,
      passwordHash: row.password_hash,
      quotaBytes: row.quota_bytes,
      createdAt: row.created_at,
    };
  }

  async listUsers(): Promise<User[]> {
    return (this.s.listUsers.all() as { id: number; name: string; quota_bytes: number | null; created_at: number }[]).map(
      (r) => ({ id: r.id, name: r.name, quotaBytes: r.quota_bytes, createdAt: r.created_at }),
    );
  }

  async setPassword(userId: number, passwordHash: string): Promise<void> {
    this.s.setPassword.run(passwordHash, userId);
  }

  async setQuota(userId: number, quotaBytes: number | null): Promise<void> {
    this.s.setQuota.run(quotaBytes, userId);
  }

  async createDevice(userId: number, name: string, tokenHash: string): Promise<Device> {
    const info = this.s.insertDevice.run(userId, name, tokenHash, Date.now());
    return toDevice(this.s.deviceById.get(info.lastInsertRowid) as DeviceRow);
  }

  async deviceByTokenHash(tokenHash: string): Promise<Device | undefined> {
    const row = this.s.deviceByToken.get(tokenHash) as DeviceRow | undefined;
    return row && row.revoked_at === null ? toDevice(row) : undefined;
  }

  async listDevices(): Promise<Device[]> {
    return (this.s.listDevices.all() as DeviceRow[]).map(toDevice);
  }

  async revokeDevice(deviceId: number): Promise<boolean> {
    const revoked = this.s.revokeDevice.run(Date.now(), deviceId).changes > 0;
    if (revoked) this.changedHere();
    return revoked;
  }

  async touchDevice(deviceId: number, time: number): Promise<void> {
    this.s.touchDevice.run(time, deviceId);
  }

  async revokedAmong(deviceIds: number[]): Promise<Set<number>> {
    const wanted = new Set(deviceIds);
    const revoked = new Set<number>();
    for (const { id } of this.s.revokedDevices.all() as { id: number }[]) if (wanted.has(id)) revoked.add(id);
    return revoked;
  }

  // ---- folders ----------------------------------------------------------------------

  async createFolder(name: string, ownerId: number): Promise<FolderInfo> {
    return this.db.transaction(() => {
      const info = this.s.insertFolder.run(name, ownerId, Date.now());
      const id = Number(info.lastInsertRowid);
      this.s.upsertMember.run(id, ownerId, 'owner');
      return { id, name, rev: 0, role: 'owner' as const };
    })();
  }

  async folderByName(name: string): Promise<Folder | undefined> {
    return (await this.listFolders()).find((f) => f.name === name);
  }

  async setMember(folderId: number, userId: number, role: Role | null): Promise<void> {
    if (role === null) this.s.deleteMember.run(folderId, userId);
    else this.s.upsertMember.run(folderId, userId, role);
    this.changedHere();
  }

  /**
   * Access changed through this connection (an embedded server's own admin calls): tell the
   * listeners as if another process had done it, since data_version only counts others.
   */
  private changedHere(): void {
    if (this.listeners.size > 0) setImmediate(() => this.listeners.forEach((l) => l()));
  }

  async listFolders(): Promise<Folder[]> {
    const rows = this.s.listFolders.all() as {
      id: number;
      name: string;
      owner_id: number;
      owner_name: string;
      rev: number;
      bytes: number;
      files: number;
    }[];
    const members = this.s.listMembers.all() as { folder_id: number; user: string; role: Role }[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      ownerId: r.owner_id,
      ownerName: r.owner_name,
      rev: r.rev,
      bytes: r.bytes,
      files: r.files,
      members: members.filter((m) => m.folder_id === r.id).map((m) => ({ user: m.user, role: m.role })),
    }));
  }

  async foldersOf(userId: number): Promise<FolderInfo[]> {
    return this.s.foldersOf.all(userId) as FolderInfo[];
  }

  async roleOf(folderId: number, userId: number): Promise<Role | undefined> {
    return (this.s.roleOf.get(folderId, userId) as { role: Role } | undefined)?.role;
  }

  // ---- the journal ------------------------------------------------------------------

  async commit(folderId: number, ops: Op[], device: string, time: number): Promise<CommitOutcome> {
    return this.grouped(() => this.apply(folderId, ops, device, time));
  }

  async restore(folderId: number, path: string, rev: number, device: string, time: number): Promise<CommitOutcome | undefined> {
    return this.grouped(() => {
      const old = this.s.revisionAt.get(folderId, rev) as RevisionRow | undefined;
      if (!old || old.path !== path || old.deleted) return undefined;
      // Restoring a file is asking for it back with the directories it lived in.
      const parents: PutOp[] = [];
      for (let p = parentPath(path); p !== ''; p = parentPath(p)) {
        const cur = this.current(folderId, p);
        if (cur?.deleted && cur.kind === 'dir') parents.unshift(dirPut(p, cur.rev, time));
      }
      const put: PutOp = {
        op: 'put',
        path,
        baseRev: this.current(folderId, path)?.rev ?? 0,
        kind: old.kind,
        size: old.size,
        mtime: old.mtime,
        mode: old.mode,
        hash: old.hash,
        chunks: JSON.parse(old.chunks) as PutOp['chunks'],
        target: old.target,
      };
      const outcome = this.apply(folderId, [...parents, put], device, time);
      // The answer is about the path asked for (the protocol's one result).
      return outcome.kind === 'committed' ? { ...outcome, results: outcome.results.slice(-1) } : outcome;
    });
  }

  /**
   * Group commit: the commits (and upload records) that arrive in one turn of the event
   * loop share one SQLite transaction, each inside its own savepoint, so a refusal rolls
   * back only its own commit. BEGIN/COMMIT is most of a small commit's cost; this pays it
   * once per turn.
   * Every promise settles after the shared COMMIT, so an answer always means committed.
   * When an item asked to be durable (inline chunk bytes), the group settles only once the
   * WAL file is synced as well: what synchronous = FULL would do, without blocking the
   * event loop while the disk works, and without a sync for groups of commits alone. A
   * checkpoint in between does not matter: SQLite syncs the WAL before copying it into the
   * database and the database after.
   */
  private grouped<T extends CommitOutcome | undefined>(work: () => T, durable = false): Promise<T | CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.group.push({ work, durable, resolve: resolve as (o: CommitOutcome | undefined) => void, reject });
      if (this.group.length === 1) setImmediate(() => this.flushGroup());
    });
  }

  private flushGroup(): void {
    const group = this.group;
    if (group.length === 0) return;
    this.group = [];
    const settle: (() => void)[] = [];
    try {
      this.db
        .transaction(() => {
          for (const item of group) {
            try {
              const outcome = this.db.transaction(item.work)();
              settle.push(() => item.resolve(outcome));
            } catch (err) {
              const refusal = refusalOf(err);
              settle.push(refusal ? () => item.resolve(refusal) : () => item.reject(err));
            }
          }
        })
        .immediate();
    } catch (err) {
      for (const item of group) item.reject(err);
      return;
    }
    if (!group.some((item) => item.durable)) {
      for (const done of settle) done();
      return;
    }
    this.walSyncs++;
    fdatasync(this.wal, (err) => {
      if (--this.walSyncs === 0 && !this.db.open) closeSync(this.wal);
      if (!err) for (const done of settle) done();
      else for (const item of group) item.reject(err);
    });
  }

  private chunkUsable(folderId: number, hash: string): boolean {
    return (
      this.s.chunkKnown.get(hash) !== undefined &&
      (this.s.revChunkInFolder.get(hash, folderId) !== undefined || this.s.uploadInFolder.get(folderId, hash) !== undefined)
    );
  }

  /** Applies ops in order inside the caller's transaction. */
  private apply(folderId: number, ops: Op[], device: string, time: number): CommitOutcome {
    const folder = this.s.folderById.get(folderId) as { rev: number; bytes: number; files: number; owner_id: number };
    const from = folder.rev;
    let rev = from;
    let bytes = 0;
    let files = 0;
    const entries: Entry[] = [];
    const moves: MoveRun[] = [];
    const results: CommitResult[] = [];
    const need = new Set<string>();

    const write = (row: NewRevision, previous: CurrentRow | undefined): number => {
      rev += 1;
      this.s.insertRevision.run({ ...row, folder_id: folderId, rev });
      if (previous) this.s.supersede.run(time, folderId, previous.rev);
      this.s.upsertCurrent.run(folderId, row.path, rev, row.kind, row.deleted, row.size);
      if (row.chunks !== '[]') {
        for (const [hash] of JSON.parse(row.chunks) as [string, number][]) {
          this.s.insertRevChunk.run(hash, folderId, rev);
          // Referenced now: the upload grace period no longer needs to protect it.
          this.s.deleteUpload.run(folderId, hash);
        }
      }
      if (previous && !previous.deleted && previous.kind === 'file') {
        bytes -= previous.size;
        files -= 1;
      }
      if (!row.deleted && row.kind === 'file') {
        bytes += row.size;
        files += 1;
      }
      entries.push(toEntry({ ...row, folder_id: folderId, rev }));
      return rev;
    };
    const conflict = (path: string, at: CurrentRow | undefined): void => {
      results.push({ path, conflict: at ? this.entryAt(folderId, at.rev) : null });
    };
    const tombstone = (cur: CurrentRow): NewRevision => ({
      path: cur.path,
      kind: cur.kind,
      deleted: 1,
      size: 0,
      mtime: 0,
      mode: 0,
      hash: '',
      chunks: '[]',
      target: '',
      device,
      time,
      moved_from: null,
    });

    for (const op of ops) {
      switch (op.op) {
        case 'put': {
          const cur = this.current(folderId, op.path);
          if (!casOk(cur, op.baseRev)) {
            conflict(op.path, cur);
            break;
          }
          const blocker = this.blockingAncestor(folderId, op.path) ?? (op.kind !== 'dir' && cur && !cur.deleted ? this.firstLiveChild(folderId, op.path) : undefined);
          if (blocker) {
            conflict(blocker.path, blocker);
            break;
          }
          // Checked here, against the state this op meets: a put may only name chunks
          // uploaded into this folder or already part of it.
          const missing = op.chunks.filter(([hash]) => !this.chunkUsable(folderId, hash));
          if (missing.length > 0) {
            for (const [hash] of missing) need.add(hash);
            break;
          }
          // Sizes are the server's to know: a file described with wrong ones could never
          // be rebuilt, and would dodge the quota.
          for (const [hash, size] of op.chunks) {
            const stored = (this.s.chunkSize.get(hash) as { size: number }).size;
            if (stored !== size) throw new BadChunkSize(`${op.path}: chunk ${hash} is ${stored} bytes, not ${size}`);
          }
          const r = write(
            {
              path: op.path,
              kind: op.kind,
              deleted: 0,
              size: op.size,
              mtime: op.mtime,
              mode: op.mode,
              hash: op.hash,
              chunks: JSON.stringify(op.chunks),
              target: op.target,
              device,
              time,
              moved_from: null,
            },
            cur,
          );
          results.push({ path: op.path, rev: r });
          break;
        }
        case 'delete': {
          const cur = this.current(folderId, op.path);
          if (!cur || (cur.deleted && op.baseRev === 0)) {
            conflict(op.path, cur);
            break;
          }
          if (cur.rev !== op.baseRev) {
            conflict(op.path, cur);
            break;
          }
          if (cur.deleted) {
            results.push({ path: op.path, rev: cur.rev });
            break;
          }
          // A directory goes only once it is empty: a delete never takes a file the
          // deleting device did not know about.
          const child = cur.kind === 'dir' ? this.firstLiveChild(folderId, op.path) : undefined;
          if (child) {
            conflict(child.path, child);
            break;
          }
          results.push({ path: op.path, rev: write(tombstone(cur), cur) });
          break;
        }
        case 'move': {
          const src = this.current(folderId, op.from);
          if (!src || src.deleted || src.rev !== op.baseRev) {
            conflict(op.from, src);
            break;
          }
          const dst = this.current(folderId, op.path);
          const blocker =
            (dst && !dst.deleted ? dst : undefined) ??
            this.firstLiveChild(folderId, op.path) ??
            this.blockingAncestor(folderId, op.path);
          if (blocker) {
            conflict(blocker.path, blocker);
            break;
          }
          const moving = src.kind === 'dir' ? [src, ...this.liveDescendants(folderId, op.from)] : [src];
          const run = (kind: MoveRun['run'], items: CurrentRow[]): MoveRun => ({
            run: kind,
            from: op.from,
            to: op.path,
            rev: rev + 1,
            device,
            time,
            items: items.map((item) => [item.path.slice(op.from.length), item.rev]),
          });
          moves.push(run('copy', moving));
          const movedRev = rev + 1;
          for (const item of moving) {
            const { folder_id: _f, rev: _r, ...content } = this.revisionRow(folderId, item.rev);
            const path = op.path + item.path.slice(op.from.length);
            write({ ...content, path, device, time, moved_from: item.path }, this.current(folderId, path));
          }
          moving.reverse();
          moves.push(run('tombstone', moving));
          for (const item of moving) write(tombstone(item), item);
          results.push({ path: op.path, rev: movedRev });
          break;
        }
      }
    }

    if (need.size > 0) throw new NeedChunks([...need]);
    if (rev !== from) {
      if (bytes > 0) {
        const owner = this.s.ownerUsage.get(folder.owner_id) as { quota: number | null; used: number };
        if (owner.quota !== null && owner.used + bytes > owner.quota) {
          throw new QuotaExceeded(
            `the folder owner's quota of ${owner.quota} bytes would be exceeded (${owner.used} used, ${bytes} more)`,
          );
        }
      }
      this.s.updateFolder.run(rev, bytes, files, folderId);
    }
    return { kind: 'committed', results, from, rev, entries, moves };
  }

  private current(folderId: number, path: string): CurrentRow | undefined {
    return this.s.current.get(folderId, path) as CurrentRow | undefined;
  }

  /**
   * What stands in the way of creating something at `path`: the nearest ancestor that is a
   * live file or symlink (nothing can live below it), else the topmost ancestor that is
   * deleted. A path below a deleted or moved-away directory is written by a device that has
   * not seen that change yet; accepting it would bring the old directories back everywhere
   * without anyone having asked for them (reliability defects 6 and 7). The device learns of
   * the deletion and either puts the directory back itself, first, or sees that its file
   * moved with it.
   */
  private blockingAncestor(folderId: number, path: string): CurrentRow | undefined {
    let deleted: CurrentRow | undefined;
    for (let p = parentPath(path); p !== ''; p = parentPath(p)) {
      const cur = this.current(folderId, p);
      if (!cur) continue;
      if (cur.deleted) deleted = cur;
      else if (cur.kind !== 'dir') return cur;
    }
    return deleted;
  }

  private firstLiveChild(folderId: number, dir: string): CurrentRow | undefined {
    return this.s.firstLiveBelow.get(folderId, dir + '/', dir + '0') as CurrentRow | undefined;
  }

  /** Every live path below `dir`, parents before children. */
  private liveDescendants(folderId: number, dir: string): CurrentRow[] {
    const rows = this.s.liveBelow.all(folderId, dir + '/', dir + '0') as CurrentRow[];
    return rows.sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : 1));
  }

  private revisionRow(folderId: number, rev: number): RevisionRow {
    return this.s.revisionAt.get(folderId, rev) as RevisionRow;
  }

  private entryAt(folderId: number, rev: number): Entry {
    return toEntry(this.revisionRow(folderId, rev));
  }

  async changesSince(folderId: number, cursor: number, limit: number, maxBytes: number): Promise<ChangesPage> {
    return this.db.transaction(() => {
      const entries: Entry[] = [];
      let bytes = 0;
      for (const row of this.s.changesSince.iterate(folderId, cursor, limit) as IterableIterator<RevisionRow>) {
        entries.push(toEntry(row));
        // Chunk lists dominate an entry's size; the rest is well under 512 bytes.
        bytes += row.chunks.length + row.path.length + 512;
        if (bytes >= maxBytes || entries.length === limit) return { entries, rev: row.rev, more: true };
      }
      return { entries, rev: this.headRev(folderId), more: false };
    })();
  }

  async head(folderId: number): Promise<number> {
    return this.headRev(folderId);
  }

  private headRev(folderId: number): number {
    return (this.s.folderById.get(folderId) as { rev: number } | undefined)?.rev ?? 0;
  }

  async history(folderId: number, path: string, limit: number): Promise<Entry[]> {
    return (this.s.history.all(folderId, path, limit) as RevisionRow[]).map(toEntry);
  }

  // ---- chunks -------------------------------------------------------------------------

  async missingChunks(folderId: number, hashes: string[]): Promise<string[]> {
    return this.db.transaction(() => hashes.filter((h) => !this.chunkUsable(folderId, h)))();
  }

  async folderHasChunk(folderId: number, hash: string): Promise<boolean> {
    return this.s.revChunkInFolder.get(hash, folderId) !== undefined;
  }

  async recordUpload(folderId: number, hash: string, size: number, time: number, inline?: Buffer): Promise<void> {
    // Grouped like commits: many small files' chunks arrive in one turn, and each would
    // otherwise pay a transaction of its own.
    await this.grouped(() => {
      // A chunk recorded already keeps its bytes where they are: a chunk stored as a file
      // before inline blobs existed is not stored twice.
      if (this.s.insertChunk.run(hash, size, time).changes > 0 && inline) this.s.insertBlob.run(hash, inline);
      this.s.upsertUpload.run(folderId, hash, time);
      return undefined;
    }, inline !== undefined);
  }

  async readableChunk(folderId: number, hash: string): Promise<{ size: number; inline: Buffer | undefined } | undefined> {
    if (!this.chunkUsable(folderId, hash)) return undefined;
    const { size } = this.s.chunkSize.get(hash) as { size: number };
    return { size, inline: (this.s.chunkBlob.get(hash) as { data: Buffer } | undefined)?.data };
  }

  async chunkKnown(hash: string): Promise<boolean> {
    return this.s.chunkKnown.get(hash) !== undefined;
  }

  async chunkStats(): Promise<{ count: number; bytes: number }> {
    return this.s.chunkStats.get() as { count: number; bytes: number };
  }

  async collectGarbage(cutoff: number, uploadCutoff: number): Promise<{ hash: string; inline: boolean }[]> {
    return this.db.transaction(() => {
      for (const r of this.s.expiredRevisions.all(cutoff) as { folder_id: number; rev: number }[]) {
        this.s.deleteRevChunks.run(r.folder_id, r.rev);
        this.s.deleteRevision.run(r.folder_id, r.rev);
      }
      this.s.expireUploads.run(uploadCutoff);
      return (this.s.orphanChunks.all() as { hash: string }[]).map(({ hash }) => {
        this.s.deleteChunk.run(hash);
        return { hash, inline: this.s.deleteBlob.run(hash).changes > 0 };
      });
    })();
  }

  // ---- lifecycle ----------------------------------------------------------------------

  onExternalChange(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.poll) {
      this.dataVersion = this.db.pragma('data_version', { simple: true }) as number;
      this.poll = setInterval(() => {
        const version = this.db.pragma('data_version', { simple: true }) as number;
        if (version === this.dataVersion) return;
        this.dataVersion = version;
        for (const l of this.listeners) l();
      }, EXTERNAL_POLL_MS);
      this.poll.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.poll) {
        clearInterval(this.poll);
        this.poll = undefined;
      }
    };
  }

  async backup(file: string): Promise<void> {
    await this.db.backup(file);
  }

  /**
   * A group still waiting for its turn is committed first: its writes were accepted, and a
   * server shutting down must not turn them into errors. A WAL sync still running keeps the
   * descriptor until it ends; closed under it, the sync would fail, or flush whatever file
   * took the descriptor number next and report the chunk durable.
   */
  close(): void {
    if (!this.db.open) return;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    this.listeners.clear();
    this.flushGroup();
    this.db.close();
    if (this.walSyncs === 0) closeSync(this.wal);
  }
}

function dirPut(path: string, baseRev: number, mtime: number): PutOp {
  return { op: 'put', path, baseRev, kind: 'dir', size: 0, mtime, mode: 0o755, hash: '', chunks: [], target: '' };
}

function casOk(cur: CurrentRow | undefined, baseRev: number): boolean {
  if (!cur) return baseRev === 0;
  if (cur.deleted) return baseRev === 0 || baseRev === cur.rev;
  return baseRev === cur.rev;
}

function depth(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}

function toEntry(r: RevisionRow): Entry {
  const entry: Entry = {
    path: r.path,
    rev: r.rev,
    kind: r.kind,
    deleted: r.deleted === 1,
    size: r.size,
    mtime: r.mtime,
    mode: r.mode,
    hash: r.hash,
    chunks: r.chunks === '[]' ? [] : (JSON.parse(r.chunks) as Entry['chunks']),
    target: r.target,
    device: r.device,
    time: r.time,
  };
  if (r.moved_from !== null) entry.movedFrom = r.moved_from;
  return entry;
}

function toDevice(r: DeviceRow): Device {
  return {
    id: r.id,
    userId: r.user_id,
    userName: r.user_name,
    name: r.name,
    createdAt: r.created_at,
    lastSeen: r.last_seen,
    revokedAt: r.revoked_at,
  };
}

const REVISION_COLUMNS =
  'folder_id, rev, path, kind, deleted, size, mtime, mode, hash, chunks, target, device, time, moved_from';
const DEVICE_COLUMNS = `d.id, d.user_id, u.name AS user_name, d.name, d.created_at, d.last_seen, d.revoked_at`;

function prepare(db: Database) {
  const p = (sql: string): Statement => db.prepare(sql);
  return {
    getMeta: p(`SELECT value FROM meta WHERE key = ?`),
    setMeta: p(`INSERT INTO meta (key, value) VALUES (?, ?)`),

    userCount: p(`SELECT COUNT(*) AS n FROM users`),
    insertUser: p(`INSERT INTO users (name, password_hash, quota_bytes, created_at) VALUES (?, ?, ?, ?)`),
    userByName: p(`SELECT * FROM users WHERE name = ?`),
    listUsers: p(`SELECT id, name, quota_bytes, created_at FROM users ORDER BY name`),
    setPassword: p(`UPDATE users SET password_hash = ? WHERE id = ?`),
    setQuota: p(`UPDATE users SET quota_bytes = ? WHERE id = ?`),
    ownerUsage: p(
      `SELECT u.quota_bytes AS quota, (SELECT COALESCE(SUM(bytes), 0) FROM folders WHERE owner_id = u.id) AS used
       FROM users u WHERE u.id = ?`,
    ),

    insertDevice: p(`INSERT INTO devices (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`),
    deviceById: p(`SELECT ${DEVICE_COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?`),
    deviceByToken: p(`SELECT ${DEVICE_COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?`),
    listDevices: p(`SELECT ${DEVICE_COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.id`),
    revokeDevice: p(`UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`),
    touchDevice: p(`UPDATE devices SET last_seen = ? WHERE id = ?`),
    revokedDevices: p(`SELECT id FROM devices WHERE revoked_at IS NOT NULL`),

    insertFolder: p(`INSERT INTO folders (name, owner_id, created_at) VALUES (?, ?, ?)`),
    folderById: p(`SELECT rev, bytes, files, owner_id FROM folders WHERE id = ?`),
    listFolders: p(
      `SELECT f.id, f.name, f.owner_id, u.name AS owner_name, f.rev, f.bytes, f.files
       FROM folders f JOIN users u ON u.id = f.owner_id ORDER BY f.name`,
    ),
    listMembers: p(`SELECT m.folder_id, u.name AS user, m.role FROM members m JOIN users u ON u.id = m.user_id ORDER BY u.name`),
    foldersOf: p(
      `SELECT f.id, f.name, f.rev, m.role FROM members m JOIN folders f ON f.id = m.folder_id
       WHERE m.user_id = ? ORDER BY f.name`,
    ),
    roleOf: p(`SELECT role FROM members WHERE folder_id = ? AND user_id = ?`),
    upsertMember: p(
      `INSERT INTO members (folder_id, user_id, role) VALUES (?, ?, ?)
       ON CONFLICT (folder_id, user_id) DO UPDATE SET role = excluded.role`,
    ),
    deleteMember: p(`DELETE FROM members WHERE folder_id = ? AND user_id = ?`),
    updateFolder: p(`UPDATE folders SET rev = ?, bytes = bytes + ?, files = files + ? WHERE id = ?`),

    current: p(`SELECT path, rev, kind, deleted, size FROM current WHERE folder_id = ? AND path = ?`),
    // '/' sorts right before '0', so [dir/, dir0) is exactly what lies below dir.
    firstLiveBelow: p(
      `SELECT path, rev, kind, deleted, size FROM current
       WHERE folder_id = ? AND path >= ? AND path < ? AND deleted = 0 LIMIT 1`,
    ),
    liveBelow: p(
      `SELECT path, rev, kind, deleted, size FROM current
       WHERE folder_id = ? AND path >= ? AND path < ? AND deleted = 0`,
    ),
    upsertCurrent: p(
      `INSERT INTO current (folder_id, path, rev, kind, deleted, size) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (folder_id, path) DO UPDATE SET rev = excluded.rev, kind = excluded.kind,
         deleted = excluded.deleted, size = excluded.size`,
    ),
    insertRevision: p(
      `INSERT INTO revisions (folder_id, rev, path, kind, deleted, size, mtime, mode, hash, chunks, target, device, time, moved_from)
       VALUES (@folder_id, @rev, @path, @kind, @deleted, @size, @mtime, @mode, @hash, @chunks, @target, @device, @time, @moved_from)`,
    ),
    supersede: p(`UPDATE revisions SET superseded_at = ? WHERE folder_id = ? AND rev = ?`),
    revisionAt: p(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE folder_id = ? AND rev = ?`),
    changesSince: p(
      `SELECT ${REVISION_COLUMNS.replace(/(\w+)/g, 'r.$1')} FROM current c JOIN revisions r ON r.folder_id = c.folder_id AND r.rev = c.rev
       WHERE c.folder_id = ? AND c.rev > ? ORDER BY c.rev LIMIT ?`,
    ),
    history: p(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE folder_id = ? AND path = ? ORDER BY rev DESC LIMIT ?`),

    insertRevChunk: p(`INSERT OR IGNORE INTO rev_chunks (hash, folder_id, rev) VALUES (?, ?, ?)`),
    revChunkInFolder: p(`SELECT 1 FROM rev_chunks WHERE hash = ? AND folder_id = ? LIMIT 1`),
    uploadInFolder: p(`SELECT 1 FROM uploads WHERE folder_id = ? AND hash = ?`),
    upsertUpload: p(
      `INSERT INTO uploads (folder_id, hash, at) VALUES (?, ?, ?)
       ON CONFLICT (folder_id, hash) DO UPDATE SET at = excluded.at`,
    ),
    deleteUpload: p(`DELETE FROM uploads WHERE folder_id = ? AND hash = ?`),
    insertChunk: p(`INSERT OR IGNORE INTO chunks (hash, size, stored_at) VALUES (?, ?, ?)`),
    chunkKnown: p(`SELECT 1 FROM chunks WHERE hash = ?`),
    chunkSize: p(`SELECT size FROM chunks WHERE hash = ?`),
    chunkStats: p(`SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM chunks`),

    expiredRevisions: p(`SELECT folder_id, rev FROM revisions WHERE superseded_at IS NOT NULL AND superseded_at < ?`),
    deleteRevChunks: p(`DELETE FROM rev_chunks WHERE folder_id = ? AND rev = ?`),
    deleteRevision: p(`DELETE FROM revisions WHERE folder_id = ? AND rev = ?`),
    expireUploads: p(`DELETE FROM uploads WHERE at < ?`),
    orphanChunks: p(
      `SELECT hash FROM chunks c
       WHERE NOT EXISTS (SELECT 1 FROM rev_chunks r WHERE r.hash = c.hash)
         AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.hash = c.hash)`,
    ),
    deleteChunk: p(`DELETE FROM chunks WHERE hash = ?`),
    insertBlob: p(`INSERT INTO chunk_blobs (hash, data) VALUES (?, ?)`),
    chunkBlob: p(`SELECT data FROM chunk_blobs WHERE hash = ?`),
    deleteBlob: p(`DELETE FROM chunk_blobs WHERE hash = ?`),
  };
}
