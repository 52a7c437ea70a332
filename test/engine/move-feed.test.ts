import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Activity } from '../../src/shared/bridge.js';
import { converged, engineTestBed, treeOf } from '../helpers/engine.js';
import { eventually } from '../helpers/server.js';

const bed = engineTestBed();

async function album(root: string, files: number): Promise<void> {
  await mkdir(join(root, 'album/raw'), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(root, `album/${i % 3 ? '' : 'raw/'}img${i}.jpg`), `picture ${i}`);
}

describe('a directory move on the feed', () => {
  it('is committed as one move op, not also one per file inside it, and the other device renames without downloading', async () => {
    const [a, b] = [await bed.client(), await bed.client()];
    await album(a.root, 30);
    await converged([a, b]);
    const moved: Activity[] = [];
    a.engine.onActivity((x) => {
      if (x.action === 'moved' && x.direction === 'up') moved.push(x);
    });
    const arrived: Activity[] = [];
    b.engine.onActivity((x) => {
      if (x.direction === 'down') arrived.push(x);
    });
    const revBefore = (await bed.srv.store.folderByName('Docs'))!.rev;
    await rename(join(a.root, 'album'), join(a.root, 'album 2024'));
    const tree = await converged([a, b]);
    expect(Object.keys(tree).filter((p) => !p.startsWith('album 2024'))).toEqual([]);
    expect(Object.keys(tree)).toHaveLength(32);
    expect(moved.map((x) => [x.from, x.path])).toEqual([['album', 'album 2024']]);
    expect(arrived.filter((x) => x.action !== 'moved' && x.action !== 'deleted')).toEqual([]);
    // The move's revisions and nothing else: a copy and a tombstone per path.
    expect((await bed.srv.store.folderByName('Docs'))!.rev).toBe(revBefore + 2 * 32);
  });

  it('catches up in full when the device does not hold a path the move names (a name it does not sync)', async () => {
    const a = await bed.client();
    const b = await bed.client({ folderOptions: { settleMs: 10, platform: 'win32' } });
    await album(a.root, 6);
    await writeFile(join(a.root, 'album/what?.jpg'), 'a name Windows refuses');
    await eventually(async () => Object.keys(await treeOf(b.root)).length === 8, 10_000, 'b to hold the album without the refused name');
    await rename(join(a.root, 'album'), join(a.root, 'moved'));
    await eventually(
      async () => {
        const tree = Object.keys(await treeOf(b.root));
        return tree.length === 8 && tree.every((p) => p.startsWith('moved')) ? tree : undefined;
      },
      10_000,
      'b to hold the moved album',
    );
    const tree = await treeOf(a.root);
    expect(Object.keys(tree)).toContain('moved/what?.jpg');
  });
});
