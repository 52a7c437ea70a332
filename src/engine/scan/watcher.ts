/**
 * Watches a sync folder and reports which paths to look at. It says only where something
 * happened; the scanner decides what.
 *
 * One OS watch per directory (inotify on Linux, via fs.watch): a directory's watch names
 * the entries that were created, removed, renamed, written or chmod-ed in it, so files need
 * no watch of their own (a watch per file costs ~10 KiB and an inotify slot each, and a
 * library that watches files re-lists the whole directory on every change in it).
 *
 * The scanner places the watches: it calls `watchDir` for every directory it visits (the
 * root included), before listing it, so nothing created in a new directory can fall between the listing
 * and the watch. A watch follows its directory's inode, so when an event names a watched
 * directory (renamed, removed, replaced), the watch is checked against what is at the path
 * now and dropped, with every watch below it, unless it is still the same directory.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSameOrInside, RESERVED_DIR } from '../../shared/paths.js';

interface DirWatch {
  ino: number;
  handle: FSWatcher;
}

export class Watcher {
  private readonly watches = new Map<string, DirWatch>();
  private closed = false;
  private warned = false;

  constructor(
    private readonly root: string,
    private readonly ignored: (path: string) => boolean,
    private readonly onPath: (path: string) => void,
    private readonly warn: (err: Error, message: string) => void,
  ) {}

  /**
   * Makes sure the directory at `path` (inode `ino`) is watched. Returns true when no watch
   * covered it before: whatever happened in it until now went unseen.
   */
  watchDir(path: string, ino: number): boolean {
    if (this.closed) return false;
    const current = this.watches.get(path);
    if (current?.ino === ino) return false;
    if (current) this.drop(path);
    return this.place(path, ino);
  }

  private place(path: string, ino: number): boolean {
    let handle: FSWatcher;
    try {
      handle = watch(path === '' ? this.root : join(this.root, ...path.split('/')), { persistent: true }, (event, name) => {
        if (name) this.onEvent(path, event, name.toString());
      });
    } catch (err) {
      // Out of inotify watches (ENOSPC), or the directory went: the periodic rescan still looks.
      if (!this.warned) this.warn(err as Error, 'cannot watch a directory; relying on rescans there');
      this.warned = true;
      return false;
    }
    handle.on('error', () => this.drop(path));
    this.watches.set(path, { ino, handle });
    return true;
  }

  private onEvent(dir: string, event: string, name: string): void {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (path === RESERVED_DIR || this.ignored(path)) return;
    if (event === 'rename' && this.watches.has(path)) void this.recheck(path);
    this.onPath(path);
  }

  /** A watched directory was renamed or removed: keep its watch only if it is still there. */
  private async recheck(path: string): Promise<void> {
    const ino = this.watches.get(path)?.ino;
    const st = await lstat(join(this.root, ...path.split('/'))).catch(() => undefined);
    if (st?.isDirectory() && st.ino === ino) return;
    if (this.watches.get(path)?.ino === ino) this.drop(path);
  }

  /** Closes the watch on `path` and on every directory below it. */
  private drop(path: string): void {
    for (const [p, w] of this.watches) {
      if (path === '' || isSameOrInside(p, path)) {
        w.handle.close();
        this.watches.delete(p);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watches.values()) w.handle.close();
    this.watches.clear();
  }
}
