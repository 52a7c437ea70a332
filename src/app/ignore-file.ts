/**
 * A folder's `.ferryignore`, read and replaced for the settings screen. The new text is
 * written in the engine's reserved `.ferry/` (never synced, same filesystem) and renamed into
 * place, so the watcher sees one complete change and no temp file ever syncs.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RESERVED_DIR } from '../shared/paths.js';
import { IGNORE_FILE } from '../engine/scan/ignore-rules.js';
import { writeFileAtomic } from './atomic-file.js';

export async function readIgnoreRules(root: string): Promise<string> {
  try {
    return await readFile(join(root, IGNORE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

export async function writeIgnoreRules(root: string, rules: string): Promise<void> {
  const reserved = join(root, RESERVED_DIR);
  await mkdir(reserved, { recursive: true });
  await writeFileAtomic(join(root, IGNORE_FILE), rules, { tempDir: reserved });
}
