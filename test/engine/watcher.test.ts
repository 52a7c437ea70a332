/**
 * Local changes are seen as they happen, with one OS watch per directory: inside
 * directories made a moment ago, under a directory's new name after a rename, and in a
 * directory made again under an old name. The hourly rescan is far away in these tests, so
 * only the watches can find what changed. And a file whose bytes changed while its size,
 * mtime and inode stayed the same is hashed again once an upload finds other bytes than the
 * scan recorded, instead of being retried forever.
 */
import { readdir, readFile, readlink, rename, stat, utimes, writeFile, mkdir, open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalJournal } from '../../src/engine/journal/local-journal.js';
import { converged, engineTestBed, startClient } from '../helpers/engine.js';
import { eventually, startServer } from '../helpers/server.js';

const bed = engineTestBed();
const client = () => bed.client();

/** Inotify watches this process holds (Linux: the `inotify wd:` lines of its inotify descriptors). */
async function inotifyWatches(): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (link !== 'anon_inode:inotify') continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    n += info.split('\n').filter((l) => l.startsWith('inotify wd:')).length;
  }
  return n;
}

describe('the watcher', () => {
  it('sees files written at once into freshly made nested directories, and later edits in them', async () => {
    const [a, b] = [await client(), await client()];
    await converged([a, b]);
    await mkdir(join(a.root, 'x/y/z'), { recursive: true });
    for (const dir of ['x', 'x/y', 'x/y/z']) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => writeFile(join(a.root, dir, `f${i}.txt`), `${dir} ${i}`)));
    }
    let tree = await converged([a, b]);
    expect(Object.keys(tree)).toHaveLength(3 + 60);
    await writeFile(join(a.root, 'x/y/z/f7.txt'), 'edited deep down');
    await writeFile(join(a.root, 'x/y/z/new.txt'), 'new deep down');
    tree = await converged([a, b]);
    expect(await readFile(join(b.root, 'x/y/z/f7.txt'), 'utf8')).toBe('edited deep down');
    expect(tree['x/y/z/new.txt']).toMatchObject({ kind: 'file' });
  });

  it('follows a renamed directory to its new name, and watches a new directory made under the old one', async () => {
    const [a, b] = [await client(), await client()];
    await mkdir(join(a.root, 'old/sub'), { recursive: true });
    await writeFile(join(a.root, 'old/sub/file.txt'), 'v1');
    await converged([a, b]);
    await rename(join(a.root, 'old'), join(a.root, 'new'));
    await converged([a, b]);
    // Edits under the new name are reported under the new name (the watch follows the inode)...
    await writeFile(join(a.root, 'new/sub/file.txt'), 'v2, under the new name');
    await writeFile(join(a.root, 'new/sub/added.txt'), 'added after the rename');
    // ...and a directory made again under the old name is watched afresh.
    await mkdir(join(a.root, 'old'));
    await writeFile(join(a.root, 'old/again.txt'), 'old name, new directory');
    const tree = await converged([a, b]);
    expect(Object.keys(tree)).toEqual(['new', 'new/sub', 'new/sub/added.txt', 'new/sub/file.txt', 'old', 'old/again.txt']);
    expect(await readFile(join(b.root, 'new/sub/file.txt'), 'utf8')).toBe('v2, under the new name');
    await writeFile(join(a.root, 'old/again.txt'), 'edited in the new directory');
    await converged([a, b]);
    expect(await readFile(join(b.root, 'old/again.txt'), 'utf8')).toBe('edited in the new directory');
  });

  it.runIf(process.platform === 'linux')('watches directories, not files', async () => {
    const root = await bed.scratch('ferry-watch-');
    for (const dir of ['d1', 'd2']) {
      await mkdir(join(root, dir));
      await Promise.all(Array.from({ length: 100 }, (_, i) => writeFile(join(root, dir, `f${i}`), String(i))));
    }
    const before = await inotifyWatches();
    const a = await bed.client({ root });
    await eventually(async () => (await a.engine.getState()).folders[0]!.files === 200, 20_000, 'the first scan');
    // The root and its two directories, not 200 files.
    expect((await inotifyWatches()) - before).toBe(3);
  });

  it('hashes a file again when an upload finds other bytes than its scan recorded, though size, mtime and inode are unchanged', async () => {
    const root = await bed.scratch('ferry-stale-root-');
    const stateDir = await bed.scratch('ferry-stale-state-');
    const file = join(root, 'same-stat.txt');
    await writeFile(file, 'AAAA version one');
    // Scanned while the server is down: the content is recorded, nothing goes up.
    const { dataDir, url } = bed.srv;
    await bed.srv.close();
    const offline = await startClient(url, bed.token, 'Docs', { root, stateDir });
    try {
      await eventually(async () => (await offline.engine.getState()).folders[0]!.files === 1, 20_000, 'the offline scan');
    } finally {
      await offline.stop();
    }
    bed.srv = await startServer({ dataDir, port: Number(new URL(url).port) });
    const journal = new LocalJournal(join(stateDir, 'journal.db'));
    try {
      const folder = journal.openFolder(url, 'Docs', root).id;
      expect(journal.get(folder, 'same-stat.txt')?.local?.hash).toBe(createHash('sha256').update('AAAA version one').digest('hex'));
    } finally {
      journal.close();
    }
    // Other bytes of the same size, with the mtime put back: a scan sees no change.
    const { mtime } = await stat(file);
    const handle = await open(file, 'r+');
    await handle.write('BBBB', 0);
    await handle.close();
    await utimes(file, mtime, mtime);
    const a = await bed.client({ root, stateDir });
    const b = await client();
    await converged([a, b], 20_000);
    expect(await readFile(join(b.root, 'same-stat.txt'), 'utf8')).toBe('BBBB version one');
  });
});
