/** The rules that keep a download from ever overwriting what the user is doing. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { converged, engineTestBed, sha256File, stagingLeftovers, writeRandomFile } from '../helpers/engine.js';
import { eventually } from '../helpers/server.js';

const bed = engineTestBed();
const client = () => bed.client();

describe('applying remote changes', () => {
  it('keeps a local edit made while a download of the same file is in flight (conflict, not overwrite)', async () => {
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, 'big.bin'), 'version 1');
    await converged([a, b]);
    // B downloads slowly, so the edit lands while the new version is still coming in.
    await b.engine.setBandwidthLimits({ upBytesPerSecond: null, downBytesPerSecond: 2 * 1024 * 1024 });
    const v2 = await writeRandomFile(join(a.root, 'big.bin'), 8 * 1024 * 1024);
    await eventually(async () => (await b.engine.getState()).transfers.items.some((t) => t.path === 'big.bin' && t.bytesDone > 0), 15_000);
    await writeFile(join(b.root, 'big.bin'), 'edited on b during the download');
    await b.engine.setBandwidthLimits({ upBytesPerSecond: null, downBytesPerSecond: null });
    const tree = await converged([a, b], 30_000);
    const copy = Object.keys(tree).find((p) => p.startsWith('big (conflict from '));
    expect(copy).toBeDefined();
    expect(await sha256File(join(b.root, 'big.bin'))).toBe(v2);
    expect(await readFile(join(b.root, copy!), 'utf8')).toBe('edited on b during the download');
    expect(await stagingLeftovers(b.root)).toEqual([]);
  });
});
