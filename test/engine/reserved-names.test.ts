/**
 * Names the server refuses to create (Windows device names, a trailing dot or space): a
 * local file with one is a sync issue, never a commit retried for ever; one the server
 * stored before the rule syncs down, is not mistaken for deleted, and can still be deleted.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Op } from '../../src/shared/protocol/messages.js';
import { fileOp } from '../helpers/fixtures.js';
import { converged, engineTestBed, isIdle, treeOf } from '../helpers/engine.js';
import { eventually } from '../helpers/server.js';

const bed = engineTestBed();

describe('names no OS may be asked to create', () => {
  it('a local file named CON or ending in a dot is an unsupported-name issue, and nothing is sent for it', async () => {
    const a = await bed.client();
    await writeFile(join(a.root, 'fine.txt'), 'fine');
    await converged([a]);
    const commits = bed.srv.server.ctx.metrics.commits;
    await writeFile(join(a.root, 'CON'), 'device');
    await writeFile(join(a.root, 'notes.'), 'dot');
    const issues = await eventually(async () => {
      const found = (await a.engine.getState()).issues.filter((i) => i.kind === 'unsupported-name');
      return found.length === 2 && found;
    }, 10_000, 'two unsupported-name issues');
    expect(issues.map((i) => [i.path, i.message]).sort()).toEqual([
      ['CON', expect.stringMatching(/device name/)],
      ['notes.', expect.stringMatching(/dot or space/)],
    ]);
    await eventually(async () => isIdle(await a.engine.getState()), 10_000, 'the client to be idle');
    // No commit was attempted; a retry (a full rescan) finds the same two issues and sends nothing either.
    await a.engine.retry();
    await eventually(async () => {
      const s = await a.engine.getState();
      return isIdle(s) && s.issues.filter((i) => i.kind === 'unsupported-name').length === 2;
    }, 10_000, 'the issues to be found again');
    expect(bed.srv.server.ctx.metrics.commits).toBe(commits);
  });

  it('a name stored before the rule reaches the device, stays there, and a local delete of it is committed', async () => {
    const legacy = Buffer.from('from an older server');
    const folder = (await bed.srv.store.folderByName('Docs'))!.id;
    // Past the protocol, as an older server accepted it; the chunk is recorded as uploaded.
    await bed.srv.server.ctx.chunks.put(fileOp('x', [legacy]).hash, legacy);
    await bed.srv.store.recordUpload(folder, fileOp('x', [legacy]).hash, legacy.length, Date.now());
    const made = await bed.srv.store.commit(folder, [fileOp('aux.txt', [legacy]) as Op], 'old-device', Date.now());
    expect(made.kind).toBe('committed');

    const a = await bed.client();
    const b = await bed.client();
    const tree = await converged([a, b]);
    expect(Object.keys(tree)).toEqual(['aux.txt']);
    const revisions = bed.srv.server.ctx.metrics.revisions;
    // It is known and present: no rescan reads it as deleted.
    await writeFile(join(a.root, 'other.txt'), 'other');
    await converged([a, b]);
    expect(bed.srv.server.ctx.metrics.revisions).toBe(revisions + 1);

    await rm(join(a.root, 'aux.txt'));
    await eventually(async () => !('aux.txt' in (await treeOf(b.root))), 10_000, 'the delete to reach b');
    expect(Object.keys(await converged([a, b]))).toEqual(['other.txt']);
  });
});
