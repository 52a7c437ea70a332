/**
 * Defects the randomized whole-system test (test/system/random.test.ts) found, each pinned
 * down here as a small deterministic case.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { FolderDisk } from '../../src/engine/sync/disk.js';
import { writeOne } from '../helpers/disk.js';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { sha256 } from '../helpers/raw-client.js';
import { converged, engineTestBed, writeRandomFile } from '../helpers/engine.js';
import { eventually } from '../helpers/server.js';

const bed = engineTestBed();

it('a device that was away takes a file edited and then moved with its directory in the new version, not the one it had (seed 3)', async () => {
  const a = await bed.client();
  let b = await bed.client();
  await mkdir(join(a.root, 'dir'));
  await writeFile(join(a.root, 'dir', 'f.txt'), 'old version');
  await writeFile(join(a.root, 'dir', 'g.txt'), 'unchanged');
  await converged([a, b]);

  await b.stop();
  const revisions = () => bed.srv.server.ctx.metrics.revisions;
  const before = revisions();
  await writeFile(join(a.root, 'dir', 'f.txt'), 'new version, written before the move');
  await eventually(() => revisions() > before, 10_000, 'the edit to be committed');
  const edited = revisions();
  await rename(join(a.root, 'dir'), join(a.root, 'moved'));
  await eventually(() => revisions() > edited, 10_000, 'the move to be committed');

  // b comes back and meets the edit and the move in one go.
  bed.clients.splice(bed.clients.indexOf(b), 1);
  b = await bed.client({ root: b.root, stateDir: b.stateDir });
  const tree = await converged([a, b]);
  expect(Object.keys(tree)).toEqual(['moved', 'moved/f.txt', 'moved/g.txt']);
  expect(await readFile(join(b.root, 'moved', 'f.txt'), 'utf8')).toBe('new version, written before the move');
});

it('a device that was away does not carry a file deleted before its directory moved to the new place (seed 5)', async () => {
  const a = await bed.client();
  let b = await bed.client();
  await mkdir(join(a.root, 'dir'));
  for (const n of ['f1', 'f2', 'f3', 'f4']) await writeFile(join(a.root, 'dir', `${n}.txt`), n);
  await converged([a, b]);

  await b.stop();
  const revisions = () => bed.srv.server.ctx.metrics.revisions;
  const before = revisions();
  await rm(join(a.root, 'dir', 'f1.txt'));
  await eventually(() => revisions() > before, 10_000, 'the deletion to be committed');
  const deleted = revisions();
  await rename(join(a.root, 'dir'), join(a.root, 'moved'));
  await eventually(() => revisions() > deleted, 10_000, 'the move to be committed');

  bed.clients.splice(bed.clients.indexOf(b), 1);
  b = await bed.client({ root: b.root, stateDir: b.stateDir });
  const tree = await converged([a, b]);
  expect(Object.keys(tree)).toEqual(['moved', 'moved/f2.txt', 'moved/f3.txt', 'moved/f4.txt']);
});

it('the stat the engine records for a file it wrote is of its own write, never of an edit made the instant the file appeared (seed 7)', async () => {
  // Recording an edit's stat as "what the engine wrote" hides the edit from the scanner for
  // good, and the next remote version silently replaces it. A thread that polls without
  // pause writes into each new file in place the moment it appears.
  const root = await bed.scratch();
  const disk = new FolderDisk(root);
  await disk.prepare();
  const control = new Int32Array(new SharedArrayBuffer(8)); // [current file index, stop]
  const scribbler = new Worker(
    `const { workerData } = require('node:worker_threads');
     const fs = require('node:fs');
     const control = new Int32Array(workerData.control);
     let hits = 0;
     while (Atomics.load(control, 1) === 0) {
       const file = workerData.root + '/f' + Atomics.load(control, 0) + '.txt';
       try { const fd = fs.openSync(file, 'r+'); fs.writeSync(fd, 'edited in place', 0); fs.closeSync(fd); hits++; while (Atomics.load(control, 1) === 0 && fs.existsSync(file) && file === workerData.root + '/f' + Atomics.load(control, 0) + '.txt') {} } catch {}
     }
     require('node:worker_threads').parentPort.postMessage(hits);`,
    { eval: true, workerData: { root, control: control.buffer } },
  );
  const hits = new Promise<number>((resolve) => scribbler.once('message', resolve));
  const data = Buffer.from('the version from the server, long enough to be overwritten in place');
  const recorded: number[] = [];
  try {
    for (let i = 1; i <= 60; i++) {
      Atomics.store(control, 0, i);
      const entry: Entry = { path: `f${i}.txt`, rev: i, kind: 'file', deleted: false, size: data.length, mtime: 1_700_000_000_000, mode: 0o644, hash: sha256(data), chunks: [[sha256(data), data.length]], target: '', device: 'x', time: 0 };
      const { written } = await writeOne(disk, entry, undefined, async () => data);
      recorded.push(Math.floor(written.mtimeMs));
      await eventually(() => readFile(join(root, `f${i}.txt`), 'utf8').then((t) => t.startsWith('edited in place')), 5000, 'the scribbler to write');
    }
  } finally {
    Atomics.store(control, 1, 1);
    expect(await hits).toBeGreaterThan(0);
    await scribbler.terminate();
  }
  expect(recorded.filter((m) => m !== 1_700_000_000_000)).toEqual([]);
});

it('two writes into the same new directory at once both succeed (seed 24: a download and a directory from the feed raced to make their parent)', async () => {
  const root = await bed.scratch();
  const disk = new FolderDisk(root);
  const made = await Promise.all(Array.from({ length: 8 }, (_, i) => disk.ensureParents(`new/deeper/f${i}.txt`)));
  // Each directory is reported made by exactly one of the callers (it records it as its own).
  expect(made.flat().sort()).toEqual(['new', 'new/deeper']);
});

/**
 * Two synced devices with `dir/sub/kept.txt`; device a then uploads a new `dir/sub/new.bin`
 * through a slow link, so a rename can happen while its put is still unanswered.
 */
async function newFileUploading() {
  const a = await bed.client();
  const b = await bed.client();
  await mkdir(join(a.root, 'dir', 'sub'), { recursive: true });
  await writeFile(join(a.root, 'dir', 'sub', 'kept.txt'), 'kept');
  await converged([a, b]);
  await a.engine.setBandwidthLimits({ upBytesPerSecond: 64 * 1024, downBytesPerSecond: null });
  const hash = await writeRandomFile(join(a.root, 'dir', 'sub', 'new.bin'), 384 * 1024);
  await eventually(
    async () => (await a.engine.getState()).transfers.items.some((t) => t.path === 'dir/sub/new.bin' && t.direction === 'up'),
    10_000,
    'the upload of the new file to start',
  );
  return { a, b, hash };
}

it('a new file whose directory is renamed away while the file uploads ends up only at the new place (seed 36: the put landed at the old path after the move)', async () => {
  const { a, b } = await newFileUploading();
  await rename(join(a.root, 'dir'), join(a.root, 'moved'));
  const tree = await converged([a, b], 60_000);
  expect(Object.keys(tree)).toEqual(['moved', 'moved/sub', 'moved/sub/kept.txt', 'moved/sub/new.bin']);

  // Another device deletes the file at its new path: no copy may come back at the old one.
  await rm(join(b.root, 'moved', 'sub', 'new.bin'));
  const after = await converged([a, b], 30_000);
  expect(Object.keys(after)).toEqual(['moved', 'moved/sub', 'moved/sub/kept.txt']);
}, 120_000);

it('a new file whose directory another device renames while the file uploads follows the rename (seed 37: the old directories came back, the file on one device only)', async () => {
  const { a, b, hash } = await newFileUploading();
  const revisions = () => bed.srv.server.ctx.metrics.revisions;
  const before = revisions();
  await rename(join(b.root, 'dir'), join(b.root, 'moved'));
  await eventually(() => revisions() > before, 10_000, 'the move to be committed');

  const tree = await converged([a, b], 60_000);
  expect(Object.keys(tree)).toEqual(['moved', 'moved/sub', 'moved/sub/kept.txt', 'moved/sub/new.bin']);
  expect(sha256(await readFile(join(b.root, 'moved', 'sub', 'new.bin')))).toBe(hash);
}, 120_000);
