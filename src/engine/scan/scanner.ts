/**
 * The scanner decides what changed on disk. It compares what `lstat` says (kind, size,
 * mtime, inode, mode) with what the journal last recorded and hashes only what differs, so
 * a rescan of an unchanged tree reads no file contents. The watcher only says where to look.
 */
import { readdir, readlink } from 'node:fs/promises';
import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { checkNewPath, parentPath } from '../../shared/paths.js';
import type { ChunkConsumer } from '../content/file-content.js';
import type { HashPool } from '../content/hash-pool.js';
import { KEEP_FILES_UP_TO, type KeptBytes } from '../content/kept-bytes.js';
import type { LocalFile } from '../journal/local-journal.js';
import type { IgnoreRules } from './ignore-rules.js';

export interface ScanIssue {
  path: string;
  /** A name that can't be synced, rather than one that could not be read. */
  unsupportedName?: true;
  message: string;
}

export interface ScanResult {
  /** Paths whose local state differs from what was known: the new state, or undefined when gone. */
  changed: Map<string, LocalFile | undefined>;
  /** Files that changed while being read; look again later. */
  unsettled: string[];
  /** Files written just before they were read; look again in FRESH_MS. */
  fresh: string[];
  issues: ScanIssue[];
}

/**
 * A file modified less than this before its read began may still have been in the middle
 * of a write, so what was read may be torn: it is read again later. File mtimes come from a
 * coarse clock (up to a scheduler tick behind), which this allows for.
 */
export const FRESH_MS = 15;

/** Entries of one directory examined at once; subdirectories multiply it, the hash pool queues. */
const SCAN_CONCURRENCY = 16;

async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, runner));
}

/** Whether `path` or one of its ancestors was found present by a shallow look. */
function withinPresent(path: string, present: Set<string>): boolean {
  if (present.size === 0) return false;
  for (let p = path; p !== ''; p = parentPath(p)) if (present.has(p)) return true;
  return false;
}

export class RootMissing extends Error {
  constructor(readonly root: string) {
    super(`the sync folder ${root} is missing or not a directory (unmounted?); nothing is synced until it is back`);
  }
}

/** What the scanner knew about a path, from the journal. */
export type Known = (path: string) => LocalFile | undefined;

/** The files the journal holds with an inode number, at whatever paths. */
export type KnownInode = (ino: number) => { path: string; local: LocalFile }[];

/**
 * Called for each directory the scanner is about to list, so the watcher can watch it
 * first; true when nothing watched it before, so everything in it must be looked at.
 */
export type WatchDir = (path: string, ino: number) => boolean;

/**
 * Called for each file about to be hashed, with its size: a consumer for its chunks' bytes
 * as the hashing read finds them (so they can be uploaded without a second read), or
 * nothing. The consumer is told when the read is over, whatever its outcome, and the scan
 * of the file ends once the consumer is done with what it was handed.
 */
export type ChunkTap = (path: string, size: number) => { onChunk: ChunkConsumer; end(): Promise<void> } | undefined;

/** A file still being written after this long is looked at again as if new (the entry is refreshed at every look). */
const SETTLING_FORGET_MS = 60_000;

export class Scanner {
  /** Files whose recorded content turned out wrong although their stat still matches: hash them again. */
  private readonly distrusted = new Set<string>();
  /**
   * Files found being written at their last look, with the stat they had then: read again
   * only once a look finds that stat unchanged. A large file copied in over seconds is then
   * read once, after the copy, instead of from its start at every look while it grows.
   */
  private readonly settling = new Map<string, { size: number; mtimeMs: number; at: number }>();

  constructor(
    private readonly root: string,
    private readonly hashes: HashPool,
    private readonly rules: () => IgnoreRules,
    private readonly watchDir: WatchDir = () => false,
    private readonly tap: ChunkTap = () => undefined,
    /** Where small files' bytes from the hashing read wait for their upload. */
    private readonly kept?: KeptBytes,
  ) {}

  /**
   * The content recorded for `path` is not what the file holds (a read after the scan found
   * other bytes), though size, mtime and inode are unchanged: the next look hashes it again.
   */
  distrust(path: string): void {
    this.distrusted.add(path);
  }

  /**
   * Synchronous on purpose: a stat costs a few µs inline but several times that through a
   * promise and the thread pool, and scanning is mostly stats (one or two per file).
   * Undefined when the path is gone or can't be looked at.
   */
  private statInline(path: string): Stats | undefined {
    try {
      return lstatSync(this.diskPath(path), { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  }

  diskPath(path: string): string {
    return join(this.root, ...path.split('/'));
  }

  /** Inline too: it runs twice a pass, and a pass runs every few ms while files keep coming. */
  async checkRoot(): Promise<Stats> {
    let st: Stats | undefined;
    try {
      st = lstatSync(this.root, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) return st;
    throw new RootMissing(this.root);
  }

  /**
   * Scans `paths` (each with its subtree), or the whole folder when `paths` is undefined.
   * `knownPaths` lists every path the journal holds below the scanned ones, so vanished
   * paths are reported as gone.
   */
  async scan(known: Known, knownPaths: Iterable<string>, paths?: string[], knownInode: KnownInode = () => []): Promise<ScanResult> {
    const rootStat = await this.checkRoot();
    const result: ScanResult = { changed: new Map(), unsettled: [], fresh: [], issues: [] };
    const now = Date.now();
    for (const [path, last] of this.settling) if (now - last.at > SETTLING_FORGET_MS) this.settling.delete(path);
    const seen = new Set<string>();
    /** Known paths found still present by a shallow look: they and what they hold count as seen. */
    const present = new Set<string>();
    const rules = this.rules();
    /**
     * False for a name that can't be synced, which is reported instead. One that exists and
     * was synced before the server refused such names stays as it is, not taken for deleted.
     */
    const syncableName = (path: string, exists: boolean): boolean => {
      const check = checkNewPath(path);
      if (check.ok) return true;
      if (!exists) return false;
      if (!rules.ignores(path, false)) result.issues.push({ path, unsupportedName: true, message: `not synced: ${check.reason}` });
      if (known(path)) present.add(path);
      return false;
    };
    const visit = async (path: string, st: Stats): Promise<void> => {
      if (seen.has(path)) return; // reached twice: named by an event and found by a walk
      seen.add(path);
      const isDir = st.isDirectory();
      if (rules.ignores(path, isDir)) {
        seen.delete(path);
        return;
      }
      await this.examine(path, st, known(path), knownInode, result);
      if (isDir) {
        this.watchDir(path, st.ino);
        await walk(path);
      }
    };
    /** Lists a directory and visits its entries; with `shallow`, known entries are only noted as present. */
    const walk = async (dir: string, shallow = false): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(dir === '' ? this.root : this.diskPath(dir));
      } catch (err) {
        if (dir !== '') result.issues.push({ path: dir, message: `cannot list: ${(err as Error).message}` });
        return;
      }
      // Entries are looked at several at a time, so the disk and the hashing workers stay busy.
      await forEachLimited(names, SCAN_CONCURRENCY, async (name) => {
        const path = dir === '' ? name : `${dir}/${name}`;
        if (!syncableName(path, true)) return;
        if (shallow && known(path)) {
          present.add(path);
          return;
        }
        const st = this.statInline(path);
        if (!st) return; // gone between readdir and lstat (or unreadable): the watcher will say so
        await visit(path, st);
      });
    };

    if (paths === undefined) {
      this.watchDir('', rootStat.ino);
      await walk('');
    } else {
      for (const path of paths) {
        const st = this.statInline(path);
        if (!syncableName(path, st !== undefined) || !st) continue;
        if (st.isDirectory() && known(path)?.kind === 'dir' && !rules.ignores(path, true)) {
          // An event on a known directory means something was added or removed in it;
          // what changed inside an existing entry comes with that entry's own event (and
          // the periodic full rescan). So list it, and look closely only at what is new —
          // unless no watch covered it until now, which leaves nothing to rely on.
          seen.add(path);
          await walk(path, !this.watchDir(path, st.ino));
        } else {
          await visit(path, st);
        }
      }
    }
    for (const path of knownPaths) {
      if (seen.has(path) || known(path) === undefined || withinPresent(path, present)) continue;
      result.changed.set(path, undefined);
    }
    return result;
  }

  private async examine(path: string, st: Stats, before: LocalFile | undefined, knownInode: KnownInode, result: ScanResult): Promise<void> {
    const base = { size: st.isFile() ? st.size : 0, mtime: Math.floor(st.mtimeMs), ino: st.ino, mode: st.mode & 0o777 };
    if (st.isDirectory()) {
      if (before?.kind !== 'dir') result.changed.set(path, { ...base, kind: 'dir', size: 0, hash: '', target: '', chunks: [] });
      return;
    }
    if (st.isSymbolicLink()) {
      const target = await readlink(this.diskPath(path));
      if (before?.kind !== 'symlink' || before.target !== target) {
        result.changed.set(path, { ...base, kind: 'symlink', size: 0, hash: '', target, chunks: [] });
      }
      return;
    }
    if (!st.isFile()) {
      result.issues.push({ path, message: 'not synced: not a regular file, directory or symlink' });
      return;
    }
    const distrusted = this.distrusted.delete(path);
    if (!distrusted && before?.kind === 'file' && before.size === base.size && before.mtime === base.mtime && before.ino === base.ino) {
      if (before.mode !== base.mode) result.changed.set(path, { ...before, mode: base.mode });
      return;
    }
    const renamed = before ? undefined : this.renamedHere(base, knownInode);
    if (renamed) {
      result.changed.set(path, renamed);
      return;
    }
    if (this.stillChanging(path, st)) {
      result.unsettled.push(path);
      return;
    }
    const tap = this.tap(path, st.size);
    this.kept?.drop(path);
    try {
      // The chunks of the version known before are on the server already, most likely (the
      // commit's upload asks anyway): not handed over, so an edit costs only what changed.
      const skip = tap && before?.chunks.map(([h]) => h);
      const keepUpTo = this.kept?.hasRoomFor(st.size) ? KEEP_FILES_UP_TO : 0;
      const content = await this.hashes.hash(this.diskPath(path), tap?.onChunk, skip, keepUpTo, st.size);
      const after = this.statInline(path);
      if (!after) return; // deleted while we looked; the watcher reports it
      // Written during the read, or so shortly before it that a write may still have been
      // under way (a write sets the mtime when it starts; a read meanwhile sees part of it).
      // (An mtime in the future was set by hand, not by a write.)
      const age = content.readAt - content.mtimeMs;
      const fresh = age >= 0 && age < FRESH_MS;
      const changedMeanwhile = after.size !== content.size || Math.floor(after.mtimeMs) !== Math.floor(content.mtimeMs);
      if (fresh || changedMeanwhile) {
        if (distrusted) this.distrusted.add(path);
        this.settling.set(path, { size: after.size, mtimeMs: after.mtimeMs, at: Date.now() });
        (changedMeanwhile ? result.unsettled : result.fresh).push(path);
        return;
      }
      result.changed.set(path, {
        kind: 'file',
        size: content.size,
        mtime: Math.floor(after.mtimeMs),
        ino: after.ino,
        mode: after.mode & 0o777,
        hash: content.hash,
        target: '',
        chunks: content.chunks,
      });
      if (content.bytes) this.kept!.keep(path, content.hash, content, content.bytes as Buffer);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return; // deleted while we looked; the watcher reports it
      if (code === 'EBUSY' || code === 'EAGAIN') result.unsettled.push(path);
      else result.issues.push({ path, message: `cannot read: ${(err as Error).message}` });
    } finally {
      await tap?.end();
    }
  }

  /** Whether a file found being written at its last look has changed since: then it is not read yet. */
  private stillChanging(path: string, st: Stats): boolean {
    const last = this.settling.get(path);
    if (!last) return false;
    if (last.size === st.size && last.mtimeMs === st.mtimeMs) {
      this.settling.delete(path);
      return false;
    }
    this.settling.set(path, { size: st.size, mtimeMs: st.mtimeMs, at: Date.now() });
    return true;
  }

  /**
   * The recorded content of a file that was renamed to a new path: the journal holds the same
   * inode, size and mtime at a path that no longer holds that inode. That is the trust an
   * unchanged stat gets at the same path, so a renamed directory of large files is not read
   * again. A hard link (the old path still holds the inode) is read as a new file.
   */
  private renamedHere(base: { size: number; mtime: number; ino: number; mode: number }, knownInode: KnownInode): LocalFile | undefined {
    for (const { path: was, local } of knownInode(base.ino)) {
      if (local.size !== base.size || local.mtime !== base.mtime || this.distrusted.has(was)) continue;
      if (this.statInline(was)?.ino === base.ino) continue;
      return { ...local, mode: base.mode };
    }
    return undefined;
  }
}
