/**
 * Watches a sync folder with chokidar and reports which paths to look at. It says only
 * where something happened; the scanner decides what. Events for the engine's own
 * `.ferry/` folder and ignored paths are dropped at the source.
 */
import { join, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

export class Watcher {
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly root: string,
    private readonly ignored: (path: string) => boolean,
    private readonly onPath: (path: string) => void,
  ) {}

  start(): Promise<void> {
    const toRel = (abs: string): string => relative(this.root, abs).split(sep).join('/');
    this.watcher = watch(this.root, {
      ignoreInitial: true,
      followSymlinks: false,
      // The scanner waits for writes to settle itself, without chokidar's 2 s default.
      awaitWriteFinish: false,
      // Atomic saves (write temp, rename over) are just changes to the scanner.
      atomic: false,
      ignorePermissionErrors: true,
      ignored: (abs: string) => {
        const rel = toRel(abs);
        return rel !== '' && (rel === '.ferry' || rel.startsWith('.ferry/') || this.ignored(rel));
      },
    });
    const report = (abs: string): void => {
      const rel = toRel(abs);
      if (rel !== '' && !rel.startsWith('..')) this.onPath(rel);
    };
    for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) this.watcher.on(event, report);
    // chokidar drops changes that leave the mtime alone, such as chmod +x; the raw
    // events of the OS watcher still say where to look.
    this.watcher.on('raw', (_event, name, details) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || !name) return;
      const abs = watched.endsWith(sep + name) ? watched : join(watched, name);
      const rel = toRel(abs);
      if (rel !== '' && !rel.startsWith('..') && !this.ignored(rel)) report(abs);
    });
    return new Promise((resolve, reject) => {
      this.watcher!.once('ready', () => resolve());
      this.watcher!.once('error', reject);
    });
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
