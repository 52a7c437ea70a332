/**
 * Changing the sync folder safely. Every write goes to a staging file in `<folder>/.ferry/`
 * (same filesystem), is verified against the entry's hash, given its mode and mtime, and
 * only then renamed over the target — and only if the target is still what the journal
 * last saw, so an edit made meanwhile is never overwritten.
 *
 * Each write that changes what is at a path calls the caller's `announce` first, with the
 * stat of what will land there (a rename and a chmod keep inode, size and mtime), so the
 * caller can note it durably: a crash between the write and its record must not leave the
 * engine's own write looking like a local edit.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, readSync, type Stats } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { parentPath, RESERVED_DIR } from '../../shared/paths.js';
import { withFrameRoom } from '../../shared/protocol/frames.js';
import type { Entry } from '../../shared/protocol/messages.js';
import type { LocalFile } from '../journal/local-journal.js';
import { crashPoint } from '../fault-points.js';
import { IgnoreRules } from '../scan/ignore-rules.js';

/** The target changed since the last scan: the caller rescans instead of writing. */
export class TargetChanged extends Error {
  constructor(readonly path: string) {
    super(`${path} changed on disk while it was being synced`);
  }
}

/** A parent of the path is a symbolic link: nothing is ever written through one, wherever it points. */
export class LinkInPath extends Error {
  constructor(readonly path: string, readonly link: string) {
    super(`not written: ${link} is a symbolic link, and nothing is written through a link`);
  }
}

export class HashMismatch extends Error {
  constructor(readonly path: string) {
    super(`the downloaded content of ${path} does not match its hash`);
  }
}

/** Called right before a write lands, with the stat of what will be at the path (none for a new directory). */
export type Announce = (landing: Stats | undefined) => void;

/** Produces a chunk's bytes, verified, from wherever they can be had. */
export type ChunkSource = (hash: string, size: number, index: number) => Promise<Buffer>;

export class FolderDisk {
  readonly stagingDir: string;
  /** The root's real path as last seen (the root may itself be reached through a link). */
  private realRoot: string | undefined;

  constructor(readonly root: string) {
    this.stagingDir = join(root, RESERVED_DIR, 'staging');
  }

  path(rel: string): string {
    return join(this.root, ...rel.split('/'));
  }

  /** Creates the staging folder and clears what a crash left in it. */
  async prepare(): Promise<void> {
    await rm(this.stagingDir, { recursive: true, force: true });
    await mkdir(this.stagingDir, { recursive: true });
  }

  /**
   * Makes `.ferry/staging` if it went missing, but never the folder root itself: writing into
   * a root that vanished (an unmounted disk) would hide the problem.
   */
  private async ensureStaging(): Promise<void> {
    for (const dir of [join(this.root, RESERVED_DIR), this.stagingDir]) {
      await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }

  async stat(rel: string): Promise<Stats | undefined> {
    try {
      return await lstat(this.path(rel));
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /** Throws TargetChanged unless the path still holds what the journal recorded (or nothing, if it recorded nothing). */
  async expectUnchanged(rel: string, known: LocalFile | undefined): Promise<Stats | undefined> {
    const st = await this.stat(rel);
    if (!sameAsKnown(st, known)) throw new TargetChanged(rel);
    return st;
  }

  /** Creates the parents of `rel`; returns the ones it had to create. */
  async ensureParents(rel: string): Promise<string[]> {
    const parts = rel.split('/');
    if (parts.length > 1 && (await this.parentsInPlace(parts.slice(0, -1).join('/')))) return [];
    const created: string[] = [];
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const st = await this.stat(dir);
      if (st?.isDirectory()) continue;
      if (st?.isSymbolicLink()) throw new LinkInPath(rel, dir);
      if (st) throw new TargetChanged(dir); // a file where a directory must go
      try {
        await mkdir(this.path(dir));
        created.push(dir);
      } catch (err) {
        // Another write into the same new directory (a transfer beside the pass) made it first.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await this.stat(dir))?.isDirectory()) throw err;
      }
    }
    return created;
  }

  /**
   * Whether `dir` and all its ancestors are real directories (no link among them): the real
   * path of `dir/.` (which fails unless `dir` is a directory) is then the root's real path
   * plus `dir`. One realpath instead of an lstat per level, which was most of a small
   * file's write; anything else takes the walk, which says what is wrong.
   */
  private async parentsInPlace(dir: string): Promise<boolean> {
    try {
      const real = await realpath(this.path(dir) + sep + '.');
      const parts = dir.split('/');
      if (this.realRoot !== undefined && real === join(this.realRoot, ...parts)) return true;
      this.realRoot = await realpath(this.root);
      return real === join(this.realRoot, ...parts);
    } catch {
      return false;
    }
  }

  /** A fresh name in staging: never one a crashed or concurrent write is still using. */
  private stagingName(suffix: string): string {
    return join(this.stagingDir, `${randomBytes(8).toString('hex')}${suffix}`);
  }

  /**
   * Creates a new staging file (and the staging folder, if it went missing), asking for the
   * mode it must end with: under the usual umask that is already right, and no chmod is needed.
   */
  private async openStaging(suffix: string, mode: number): Promise<{ staging: string; handle: FileHandle }> {
    const staging = this.stagingName(suffix);
    try {
      return { staging, handle: await open(staging, 'wx', mode) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await this.ensureStaging();
    return { staging, handle: await open(staging, 'wx', mode) };
  }

  /**
   * Puts a file entry, verified, into a staging file, flushed: chunks written, whole-content
   * hash checked, mode and mtime set.
   *
   * `kept` lists the chunks the known file already holds at the same offsets (an overwrite
   * in place elsewhere in it): then the staging file starts as a copy of the known file (a
   * kernel copy, or a reflink where the file system can), only the other chunks are written,
   * and the whole-content hash, read back from the staging file, verifies all of it. If it
   * does not match (the file changed under the copy), the file is written whole instead.
   */
  async stageFile(entry: Entry, known: LocalFile | undefined, source: ChunkSource, kept: ReadonlySet<number> = new Set()): Promise<Staged> {
    return (kept.size > 0 && known?.kind === 'file' && (await this.stagePatched(entry, known, source, kept))) || (await this.stageWhole(entry, source));
  }

  /**
   * Renames staged files into place, each only if its target is still what the journal knew
   * (else that one fails with TargetChanged and its staging file goes). `announce` runs once,
   * before the first rename, with every write whose parents are in place: the caller notes
   * them all in one journal transaction. Each target is checked right before its own rename,
   * so an edit made while the group lands is caught as late as for a write alone; a noted
   * write that then does not land leaves, after a crash, a path the note does not describe,
   * which recovery leaves to the scanner. Returns each write's outcome, in order.
   */
  async landFiles(writes: StagedWrite[], announce: (landing: { entry: Entry; written: Stats }[]) => void): Promise<PromiseSettledResult<Landed>[]> {
    // Writes in the same directory share one check of its parents.
    const parents = new Map<string, Promise<string[]>>();
    const placed = await Promise.allSettled(
      writes.map((w) => {
        const dir = parentPath(w.entry.path);
        let made = parents.get(dir);
        if (!made) {
          made = this.ensureParents(w.entry.path);
          parents.set(dir, made);
        }
        return made;
      }),
    );
    const ready = writes.filter((_, i) => placed[i]!.status === 'fulfilled');
    try {
      if (ready.length > 0) announce(ready.map((w) => ({ entry: w.entry, written: w.staged.written })));
    } catch (err) {
      await Promise.all(writes.map((w) => rm(w.staged.staging, { force: true })));
      throw err;
    }
    const results: PromiseSettledResult<Landed>[] = [];
    for (const [i, w] of writes.entries()) {
      const parentsMade = placed[i]!;
      try {
        if (parentsMade.status === 'rejected') throw parentsMade.reason;
        await this.expectUnchanged(w.entry.path, w.known);
        await rename(w.staged.staging, this.path(w.entry.path));
        crashPoint('after-apply-rename');
        results.push({ status: 'fulfilled', value: { written: w.staged.written, createdDirs: parentsMade.value } });
      } catch (err) {
        await rm(w.staged.staging, { force: true });
        results.push({ status: 'rejected', reason: err });
      }
    }
    return results;
  }

  private async stageWhole(entry: Entry, source: ChunkSource): Promise<Staged> {
    const { staging, handle } = await this.openStaging('.part', entry.mode & 0o777);
    return this.staged(staging, handle, entry, async () => {
      const whole = createHash('sha256');
      let position = 0;
      for (let i = 0; i < entry.chunks.length; i++) {
        const [hash, size] = entry.chunks[i]!;
        const data = await source(hash, size, i);
        whole.update(data);
        await handle.write(data, 0, data.length, position);
        position += data.length;
      }
      if (whole.digest('hex') !== entry.hash || position !== entry.size) throw new HashMismatch(entry.path);
    });
  }

  /** The known file copied to staging with the chunks not `kept` written over it; undefined when the result is not the entry. */
  private async stagePatched(entry: Entry, known: LocalFile, source: ChunkSource, kept: ReadonlySet<number>): Promise<Staged | undefined> {
    await this.expectUnchanged(entry.path, known);
    await this.ensureStaging();
    const staging = this.stagingName('.part');
    let handle: FileHandle;
    try {
      await copyFile(this.path(entry.path), staging, constants.COPYFILE_FICLONE);
      handle = await open(staging, 'r+');
    } catch (err) {
      await rm(staging, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TargetChanged(entry.path);
      throw err;
    }
    try {
      return await this.staged(staging, handle, entry, async () => {
        let position = 0;
        for (let i = 0; i < entry.chunks.length; i++) {
          const [hash, size] = entry.chunks[i]!;
          if (!kept.has(i)) {
            const data = await source(hash, size, i);
            if (data.length !== size) throw new HashMismatch(entry.path);
            await handle.write(data, 0, data.length, position);
          }
          position += size;
        }
        await handle.truncate(entry.size);
        if (position !== entry.size || (await hashOf(handle)) !== entry.hash) throw new PatchMismatch();
      });
    } catch (err) {
      if (err instanceof PatchMismatch) return undefined;
      throw err;
    }
  }

  /** Fills a staging file with `fill`, then sets mode and mtime and flushes it; removes it on failure. */
  private async staged(staging: string, handle: FileHandle, entry: Entry, fill: () => Promise<void>): Promise<Staged> {
    let written: Stats;
    try {
      await fill();
      const mtime = new Date(entry.mtime);
      await handle.utimes(mtime, mtime);
      await handle.datasync();
      written = await handle.stat();
      // A chmod keeps inode, size and mtime: `written` stays true.
      if ((written.mode & 0o777) !== (entry.mode & 0o777)) await handle.chmod(entry.mode & 0o777);
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(staging, { force: true });
      throw err;
    }
    await handle.close();
    return { staging, written };
  }

  async makeDir(entry: Entry, known: LocalFile | undefined, announce: Announce): Promise<Stats> {
    await this.ensureParents(entry.path);
    const st = await this.expectUnchanged(entry.path, known);
    if (!st) {
      announce(undefined);
      await mkdir(this.path(entry.path));
      crashPoint('after-apply-mkdir');
    }
    return lstat(this.path(entry.path));
  }

  async makeSymlink(entry: Entry, known: LocalFile | undefined, announce: Announce): Promise<Stats> {
    await this.ensureParents(entry.path);
    // A link is made beside the target and renamed over it, like a file.
    const staging = this.stagingName('.link');
    await this.ensureStaging();
    await symlink(entry.target, staging);
    try {
      const st = await this.expectUnchanged(entry.path, known);
      if (st?.isDirectory()) throw new TargetChanged(entry.path);
      announce(await lstat(staging));
      await rename(staging, this.path(entry.path));
      crashPoint('after-apply-rename');
    } catch (err) {
      await rm(staging, { force: true });
      throw err;
    }
    return lstat(this.path(entry.path));
  }

  /** Sets a file's permission bits when only they changed, if it is still what was known; returns its stat from before (chmod keeps size and mtime). */
  async setMode(rel: string, mode: number, known: LocalFile, announce: Announce): Promise<Stats> {
    const st = await this.expectUnchanged(rel, known);
    if (!st) throw new TargetChanged(rel);
    announce(st);
    await chmod(this.path(rel), mode & 0o777);
    crashPoint('after-apply-chmod');
    return st;
  }

  /**
   * Removes what the journal knows at `rel`. A directory goes only when nothing but litter is
   * left in it; returns false when it still holds something, which the caller keeps.
   */
  async remove(rel: string, known: LocalFile | undefined): Promise<boolean> {
    const st = await this.expectUnchanged(rel, known);
    if (!st) return true;
    if (!st.isDirectory()) {
      await unlink(this.path(rel));
      return true;
    }
    // Only the built-in litter rules: a user's .ferryignore may name files they want kept.
    const litter = new IgnoreRules();
    const names = await readdir(this.path(rel));
    if (names.some((n) => !litter.ignores(`${rel}/${n}`, false))) return false;
    for (const n of names) await rm(join(this.path(rel), n), { recursive: true, force: true });
    await rmdir(this.path(rel));
    return true;
  }

  /** Renames within the folder if `from` is still what was known and `to` is free; returns its stat from before the rename (which keeps it), as landFiles does. */
  async move(from: string, to: string, known: LocalFile | undefined, announce: Announce): Promise<Stats> {
    const st = await this.expectUnchanged(from, known);
    if (!st) throw new TargetChanged(from);
    if (await this.stat(to)) throw new TargetChanged(to);
    await this.ensureParents(to);
    announce(st);
    await rename(this.path(from), this.path(to));
    crashPoint('after-apply-move');
    return st;
  }

  /** Reads `size` bytes at `offset` of a file in the folder. */
  async readRange(rel: string, offset: number, size: number): Promise<Buffer> {
    if (size <= INLINE_READ_BYTES) return readInline(this.path(rel), rel, offset, size);
    let handle;
    try {
      handle = await open(this.path(rel), 'r');
    } catch (err) {
      // Moved or deleted since its scan (a rename while it uploads): rescan, not an error.
      if (isGone(err)) throw new TargetChanged(rel);
      throw err;
    }
    try {
      return await readAt(handle, offset, size);
    } finally {
      await handle.close();
    }
  }

  /** A reader of many ranges, which keeps each file it reads open until it is closed. */
  rangeReader(): RangeReader {
    return new RangeReader(this);
  }
}

/** A verified, flushed staging file, not yet in place. */
export interface Staged {
  staging: string;
  written: Stats;
}

/** A staged file entry and what the journal knows at its path. */
export interface StagedWrite {
  entry: Entry;
  known: LocalFile | undefined;
  staged: Staged;
}

/** What a write put in place (a rename keeps inode, size and mtime) and the parent directories it made. */
export interface Landed {
  written: Stats;
  createdDirs: string[];
}

/** A patched staging file is not the entry: it is written whole instead. */
class PatchMismatch extends Error {}

/** SHA-256 of a whole open file. */
async function hashOf(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let position = 0; ; ) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return hash.digest('hex');
    hash.update(buf.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * Ranges are read into buffers with a frame header's room in front: an upload frames them
 * without a copy. Ranges up to this size are read inline: a small file's open, read and
 * close cost a few µs each in place, but several times that through promises and the thread
 * pool, which was most of a sending client's CPU per small file not read from the scan's
 * kept bytes.
 */
const INLINE_READ_BYTES = 256 * 1024;

function readInline(file: string, rel: string, offset: number, size: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    // Moved or deleted since its scan (a rename while it uploads): rescan, not an error.
    if (isGone(err)) throw new TargetChanged(rel);
    throw err;
  }
  try {
    const buf = withFrameRoom(size);
    const bytesRead = readSync(fd, buf, 0, size, offset);
    return bytesRead === size ? buf : buf.subarray(0, bytesRead);
  } finally {
    closeSync(fd);
  }
}

async function readAt(handle: FileHandle, offset: number, size: number): Promise<Buffer> {
  const buf = withFrameRoom(size);
  const { bytesRead } = await handle.read(buf, 0, size, offset);
  return buf.subarray(0, bytesRead);
}

/**
 * Reads ranges of files in the folder, opening each file once: a download that takes a
 * thousand chunks from the previous version of its file opens it once, not a thousand
 * times. Closed before the download renames its file into place.
 */
export class RangeReader {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(private readonly disk: FolderDisk) {}

  async read(rel: string, offset: number, size: number): Promise<Buffer> {
    let handle = this.handles.get(rel);
    if (!handle) {
      handle = open(this.disk.path(rel), 'r');
      this.handles.set(rel, handle);
      handle.catch(() => this.handles.delete(rel));
    }
    return readAt(await handle, offset, size);
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.then((x) => x.close(), () => {})));
  }
}

/** Whether what is on disk is what the journal recorded (for directories, that one exists). */
export function sameAsKnown(st: Stats | undefined, known: LocalFile | undefined): boolean {
  if (!st || !known) return !st && !known;
  if (st.isDirectory()) return known.kind === 'dir';
  if (st.isSymbolicLink()) return known.kind === 'symlink';
  return known.kind === 'file' && st.size === known.size && Math.floor(st.mtimeMs) === known.mtime && st.ino === known.ino;
}

/** The path (or a directory on the way to it) does not exist. */
function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
