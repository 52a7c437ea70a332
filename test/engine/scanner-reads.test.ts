/**
 * What the scanner reads and what it spares: a renamed file is known by its inode (its
 * recorded content is taken, as for an unchanged stat at the same path; anything less certain
 * is read), and a file still being written is not read again until its stat holds still.
 */
import { createHash } from 'node:crypto';
import { appendFile, link, mkdir, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { HashPool } from '../../src/engine/content/hash-pool.js';
import { LocalJournal } from '../../src/engine/journal/local-journal.js';
import { Scanner } from '../../src/engine/scan/scanner.js';
import { IgnoreRules } from '../../src/engine/scan/ignore-rules.js';
import { bytes, MiB } from '../helpers/fixtures.js';
import { removeDir, tempDir } from '../helpers/server.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * The real pool, with a count of the files it was asked to read; `duringRead`, if set, runs
 * after a read and before its result is handed back (a write that lands during the read).
 */
class CountingPool extends HashPool {
  readonly read: string[] = [];
  duringRead: ((file: string) => Promise<void>) | undefined;
  override async hash(...args: Parameters<HashPool['hash']>): ReturnType<HashPool['hash']> {
    this.read.push(args[0]);
    const content = await super.hash(...args);
    await this.duringRead?.(args[0]);
    return content;
  }
}

async function setup() {
  const dir = await tempDir('ferry-scan-rename-');
  cleanup.push(() => removeDir(dir));
  const root = join(dir, 'folder');
  await mkdir(join(root, 'album'), { recursive: true });
  const pool = new CountingPool(1);
  cleanup.push(() => pool.close());
  const journal = new LocalJournal(join(dir, 'journal.db'));
  cleanup.push(() => journal.close());
  const folder = journal.openFolder('http://server', 'Docs', root).id;
  const scanner = new Scanner(root, pool, () => new IgnoreRules());
  /** A full scan against the journal, recording what it found, as the engine does. */
  const scan = async () => {
    const all = journal.allLocal(folder);
    const result = await scanner.scan((p) => all.get(p), all.keys(), undefined, (ino) => journal.filesWithInode(folder, ino));
    journal.batch(() => {
      for (const [path, local] of result.changed) journal.setLocal(folder, path, local);
    });
    return result;
  };
  return { root, pool, journal, folder, scan };
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const past = new Date(Date.now() - 60_000);

it('a renamed directory of files is not read again: their recorded content moves with them', async () => {
  const { root, pool, journal, folder, scan } = await setup();
  const data = [bytes(3 * MiB, 1), bytes(1000, 2), bytes(0, 3)];
  for (const [i, d] of data.entries()) {
    await writeFile(join(root, 'album', `f${i}`), d);
    await utimes(join(root, 'album', `f${i}`), past, past);
  }
  await scan();
  expect(pool.read).toHaveLength(3);
  const before = data.map((_, i) => journal.local(folder, `album/f${i}`)!);

  await rename(join(root, 'album'), join(root, 'album 2024'));
  const result = await scan();
  expect(pool.read).toHaveLength(3);
  data.forEach((d, i) => {
    const moved = result.changed.get(`album 2024/f${i}`)!;
    expect(moved).toEqual(before[i]);
    expect(moved.hash).toBe(sha(d));
    expect(result.changed.has(`album/f${i}`)).toBe(true);
    expect(result.changed.get(`album/f${i}`)).toBeUndefined();
  });
});

it('reads a new path whose inode is still at its recorded path (a hard link), or whose size or mtime differ', async () => {
  const { root, pool, scan } = await setup();
  for (const name of ['a', 'b', 'c']) {
    await writeFile(join(root, 'album', name), bytes(5000, name.charCodeAt(0)));
    await utimes(join(root, 'album', name), past, past);
  }
  await scan();
  expect(pool.read).toHaveLength(3);

  await link(join(root, 'album', 'a'), join(root, 'a-link'));
  // Renamed, then written to: same inode, another size.
  await rename(join(root, 'album', 'b'), join(root, 'b-moved'));
  await writeFile(join(root, 'b-moved'), bytes(6000, 9), { flag: 'r+' });
  await utimes(join(root, 'b-moved'), past, past);
  // Renamed, then touched: same inode and size, another mtime.
  await rename(join(root, 'album', 'c'), join(root, 'c-moved'));
  const later = new Date(past.getTime() + 5000);
  await utimes(join(root, 'c-moved'), later, later);
  const result = await scan();
  expect(pool.read.slice(3).map((f) => f.slice(root.length + 1)).sort()).toEqual(['a-link', 'b-moved', 'c-moved']);
  expect(result.changed.get('b-moved')!.size).toBe(6000);
  expect(result.changed.get('a-link')!.hash).toBe(sha(bytes(5000, 'a'.charCodeAt(0))));
});

it('a file written to during its read is not read again while it keeps changing, then read once it holds still', async () => {
  const { root, pool, scan } = await setup();
  const file = join(root, 'album', 'copying.bin');
  await writeFile(file, bytes(100_000, 1));
  const appendAndAge = async () => {
    await appendFile(file, bytes(50_000, pool.read.length + 2));
    await utimes(file, past, new Date(past.getTime() + 1000 * pool.read.length + (await readFile(file)).length));
  };
  pool.duringRead = appendAndAge;
  expect((await scan()).unsettled).toEqual(['album/copying.bin']);
  expect(pool.read).toHaveLength(1);

  // Still growing at the next looks: not read.
  pool.duringRead = undefined;
  for (let i = 0; i < 3; i++) {
    await appendAndAge();
    const result = await scan();
    expect(result.unsettled).toEqual(['album/copying.bin']);
    expect(result.changed.has('album/copying.bin')).toBe(false);
  }
  expect(pool.read).toHaveLength(1);

  // Held still since the last look: read once, whole.
  const result = await scan();
  expect(pool.read).toHaveLength(2);
  expect(result.unsettled).toEqual([]);
  expect(result.changed.get('album/copying.bin')!.hash).toBe(sha(await readFile(file)));
});
