/**
 * What is never synced: the engine's own `.ferry/` folder, editor and OS litter, and the
 * patterns in `.ferryignore` at the folder root (gitignore syntax). `.ferryignore` itself
 * syncs like any file, so every device applies the same rules.
 */
import ignore, { type Ignore } from 'ignore';
import { RESERVED_DIR } from '../../shared/paths.js';

export const IGNORE_FILE = '.ferryignore';

export const DEFAULT_IGNORES: readonly string[] = [
  '.DS_Store',
  '._*',
  '.Spotlight-V100',
  '.Trashes',
  '.fseventsd',
  'Thumbs.db',
  'ehthumbs.db',
  'desktop.ini',
  '$RECYCLE.BIN/',
  'System Volume Information/',
  '.Trash-*/',
  '~$*',
  '.~lock.*#',
  '*.swp',
  '*.swo',
  '*~',
  '.#*',
];

export class IgnoreRules {
  private matcher: Ignore;

  constructor(ferryignore = '') {
    this.matcher = ignore({ allowRelativePaths: false }).add([...DEFAULT_IGNORES]).add(ferryignore);
  }

  /** Whether `path` (relative, '/'-separated) is left out; `isDir` matters for `dir/` patterns. */
  ignores(path: string, isDir: boolean): boolean {
    if (path === '') return false; // the folder root itself
    if (path === RESERVED_DIR || path.startsWith(RESERVED_DIR + '/')) return true;
    if (path === IGNORE_FILE) return false;
    return this.matcher.ignores(isDir ? path + '/' : path);
  }
}
