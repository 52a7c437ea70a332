/**
 * Defects the randomized whole-system test (test/system/random.test.ts) found, each pinned
 * down here as a small deterministic case.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { converged, engineTestBed } from '../helpers/engine.js';
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
