import { chmod, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { converged, engineTestBed, sha256File, stagingLeftovers, treeOf, writeRandomFile } from '../helpers/engine.js';
import { eventually } from '../helpers/server.js';

const bed = engineTestBed();
const client = () => bed.client();

describe('two and three clients converge', () => {
  it('creates, modifies and deletes files and nested directories, empty ones too', async () => {
    const [a, b, c] = [await client(), await client(), await client()];
    await mkdir(join(a.root, 'docs/deep/deeper'), { recursive: true });
    await mkdir(join(a.root, 'empty'));
    await writeFile(join(a.root, 'docs/deep/deeper/note.md'), '# note');
    await writeFile(join(a.root, 'top.txt'), 'top');
    let tree = await converged([a, b, c]);
    expect(Object.keys(tree)).toEqual(['docs', 'docs/deep', 'docs/deep/deeper', 'docs/deep/deeper/note.md', 'empty', 'top.txt']);

    await writeFile(join(b.root, 'top.txt'), 'top, edited on b');
    await rm(join(b.root, 'docs/deep'), { recursive: true });
    tree = await converged([a, b, c]);
    expect(Object.keys(tree)).toEqual(['docs', 'empty', 'top.txt']);
    expect(await readFile(join(c.root, 'top.txt'), 'utf8')).toBe('top, edited on b');
    for (const x of [a, b, c]) expect(await stagingLeftovers(x.root)).toEqual([]);
  });

  it('renames a file as a move, keeps symlinks as links, syncs the exec bit and unicode names', async () => {
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, 'script.sh'), '#!/bin/sh\necho hi\n');
    await writeFile(join(a.root, 'naïve café 日本.txt'), 'unicode');
    await converged([a, b]);
    await chmod(join(a.root, 'script.sh'), 0o755);
    await rename(join(a.root, 'naïve café 日本.txt'), join(a.root, 'renamed ünï.txt'));
    await symlink('script.sh', join(a.root, 'link-to-script'));
    await symlink('/etc/passwd', join(a.root, 'outside-link'));
    const tree = await converged([a, b]);
    expect(tree['script.sh']).toMatchObject({ kind: 'file', exec: true });
    expect(tree['renamed ünï.txt']).toMatchObject({ kind: 'file', size: 7 });
    expect(tree['naïve café 日本.txt']).toBeUndefined();
    expect(tree['link-to-script']).toMatchObject({ kind: 'symlink', target: 'script.sh' });
    expect(tree['outside-link']).toMatchObject({ kind: 'symlink', target: '/etc/passwd' });
  });

  it('moves a nested tree as one move: nothing is uploaded again, and a new tree is not mistaken for a moved one', async () => {
    const [a, b] = [await client(), await client()];
    await mkdir(join(a.root, 'proj/src/lib'), { recursive: true });
    await writeFile(join(a.root, 'proj/src/lib/util.ts'), 'export {}');
    await writeFile(join(a.root, 'proj/readme.md'), '# proj');
    await converged([a, b]);
    const uploaded = bed.srv.server.ctx.metrics.chunksUploaded;
    await rename(join(a.root, 'proj'), join(a.root, 'renamed'));
    let tree = await converged([a, b]);
    expect(Object.keys(tree)).toEqual(['renamed', 'renamed/readme.md', 'renamed/src', 'renamed/src/lib', 'renamed/src/lib/util.ts']);
    expect(bed.srv.server.ctx.metrics.chunksUploaded).toBe(uploaded);
    // Delete a tree and make an unrelated one at once: the new one may reuse the old inode.
    await a.engine.pause();
    await rm(join(a.root, 'renamed'), { recursive: true });
    await mkdir(join(a.root, 'fresh'));
    await writeFile(join(a.root, 'fresh/new.txt'), 'new');
    await a.engine.resume();
    tree = await converged([a, b]);
    expect(Object.keys(tree)).toEqual(['fresh', 'fresh/new.txt']);
  });

  it('keeps both sides of a concurrent edit: the remote at the path, the local as a conflict copy', async () => {
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, 'report.txt'), 'v1');
    await converged([a, b]);
    await b.engine.pause();
    await writeFile(join(a.root, 'report.txt'), 'edited on a');
    await writeFile(join(b.root, 'report.txt'), 'edited on b');
    await converged([a]);
    await b.engine.resume();
    const tree = await converged([a, b]);
    const names = Object.keys(tree);
    expect(names).toHaveLength(2);
    const copy = names.find((n) => n.startsWith('report (conflict from '))!;
    expect(copy).toMatch(/\.txt$/);
    expect(await readFile(join(a.root, 'report.txt'), 'utf8')).toBe('edited on a');
    expect(await readFile(join(a.root, copy), 'utf8')).toBe('edited on b');
    const state = await b.engine.getState();
    // Each version's own modification time, as the UI shows them side by side.
    const mtime = async (file: string) => Math.floor((await stat(file)).mtimeMs);
    expect(state.conflicts).toMatchObject([{ path: 'report.txt', copy, localTime: await mtime(join(b.root, copy)), remoteTime: await mtime(join(a.root, 'report.txt')) }]);
  });

  it('offers a conflict for resolving only once the other version is in place, so keep mine sticks', async () => {
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, 'plan.bin'), 'v1');
    await converged([a, b]);
    await b.engine.pause();
    const theirs = await writeRandomFile(join(a.root, 'plan.bin'), 1024 * 1024);
    await writeFile(join(b.root, 'plan.bin'), 'mine');
    await converged([a]);
    // Their version takes seconds to arrive: long enough to answer a conflict listed too early.
    await b.engine.setBandwidthLimits({ upBytesPerSecond: null, downBytesPerSecond: 256 * 1024 });
    await b.engine.resume();
    const conflict = await eventually(async () => (await b.engine.getState()).conflicts[0], 20_000, 'the conflict');
    expect(await sha256File(join(b.root, 'plan.bin'))).toBe(theirs);
    await b.engine.setBandwidthLimits({ upBytesPerSecond: null, downBytesPerSecond: null });
    await b.engine.resolveConflict(conflict.id, 'keep-mine');
    const tree = await converged([a, b]);
    expect(Object.keys(tree)).toEqual(['plan.bin']);
    expect(await readFile(join(a.root, 'plan.bin'), 'utf8')).toBe('mine');
    expect((await b.engine.getState()).conflicts).toEqual([]);
  });

  it('edit beats delete, in both orders', async () => {
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, 'x.txt'), 'x1');
    await writeFile(join(a.root, 'y.txt'), 'y1');
    await converged([a, b]);
    await b.engine.pause();
    await writeFile(join(a.root, 'x.txt'), 'x edited');
    await rm(join(a.root, 'y.txt'));
    await rm(join(b.root, 'x.txt'));
    await writeFile(join(b.root, 'y.txt'), 'y edited');
    await converged([a]);
    await b.engine.resume();
    const tree = await converged([a, b]);
    expect(Object.keys(tree).sort()).toEqual(['x.txt', 'y.txt']);
    expect(await readFile(join(b.root, 'x.txt'), 'utf8')).toBe('x edited');
    expect(await readFile(join(a.root, 'y.txt'), 'utf8')).toBe('y edited');
  });

  it('merges two non-empty folders meeting for the first time, deleting nothing', async () => {
    const a = await client();
    await writeFile(join(a.root, 'only-a.txt'), 'a');
    await writeFile(join(a.root, 'both.txt'), 'from a');
    await writeFile(join(a.root, 'same.txt'), 'same');
    await converged([a]);
    const root = join(bed.srv.dataDir, '..', `b-${Date.now()}`);
    await mkdir(root);
    await writeFile(join(root, 'only-b.txt'), 'b');
    await writeFile(join(root, 'both.txt'), 'from b');
    await writeFile(join(root, 'same.txt'), 'same');
    const b = await bed.client({ root });
    const tree = await converged([a, b]);
    const names = Object.keys(tree);
    expect(names).toEqual(expect.arrayContaining(['only-a.txt', 'only-b.txt', 'both.txt', 'same.txt']));
    expect(names.filter((n) => n.startsWith('both (conflict'))).toHaveLength(1);
    const contents = [await readFile(join(a.root, 'both.txt'), 'utf8'), await readFile(join(a.root, names.find((n) => n.startsWith('both (conflict'))!), 'utf8')];
    expect(contents.sort()).toEqual(['from a', 'from b']);
  });

  it('syncs edits made while a client was stopped, and the server catches it up', async () => {
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, 'f.txt'), 'one');
    await converged([a, b]);
    await b.stop();
    bed.clients = bed.clients.filter((c) => c !== b);
    await writeFile(join(b.root, 'offline.txt'), 'made while stopped');
    await writeFile(join(a.root, 'f.txt'), 'two');
    await converged([a]);
    const b2 = await bed.client({ root: b.root, stateDir: b.stateDir });
    const tree = await converged([a, b2]);
    expect(Object.keys(tree).sort()).toEqual(['f.txt', 'offline.txt']);
    expect(await readFile(join(b2.root, 'f.txt'), 'utf8')).toBe('two');
  });

  it('leaves ignored files and litter alone and syncs .ferryignore itself', async () => {
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, '.ferryignore'), 'build/\n*.log\n');
    await converged([a, b]);
    await mkdir(join(a.root, 'build'));
    await writeFile(join(a.root, 'build/out.bin'), 'x');
    await writeFile(join(a.root, 'debug.log'), 'x');
    await writeFile(join(a.root, '.DS_Store'), 'x');
    await writeFile(join(a.root, 'kept.txt'), 'x');
    await converged([a]);
    await new Promise((r) => setTimeout(r, 300));
    const tree = await treeOf(b.root);
    expect(Object.keys(tree).sort()).toEqual(['.ferryignore', 'kept.txt']);
  });
});
