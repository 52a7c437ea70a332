/** Replacing a small file whole: written beside (or in `tempDir`), then renamed over the old one. */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(file: string, data: string, options: { mode?: number; tempDir?: string } = {}): Promise<void> {
  const temp = join(options.tempDir ?? dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, { mode: options.mode ?? 0o644, flag: 'wx' });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
