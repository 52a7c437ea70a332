/**
 * What crosses the wire: a directory rename moves nothing but metadata, a large file arrives
 * byte-exact, and an edit (overwrite or insertion) sends only the chunks it changed, while
 * the receiving side builds the new version from the chunks it already holds.
 */
import { copyFile, lstat, mkdir, open, readdir, rename, writeFile } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { converged, engineTestBed, isIdle, sha256File, stagingLeftovers, type TestClient, writeRandomFile } from '../helpers/engine.js';
import { eventually } from '../helpers/server.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const bed = engineTestBed();
const client = () => bed.client();

const metrics = () => ({ ...bed.srv.server.ctx.metrics });

/** Since `before`: a few new chunks went up (about the edit), and little came down to `receiver`. */
function expectOnlyChangedChunks(before: ReturnType<typeof metrics>, receivedBefore: number, receiver: TestClient): void {
  const now = metrics();
  // Chunks average 256 KiB: an edit of up to 1 MiB makes ~1.5 MiB of them new, far from the
  // 64 MiB of the file; the bound leaves room for where the random cuts happen to fall.
  expect(now.chunksUploaded - before.chunksUploaded).toBeGreaterThan(0);
  expect(now.bytesIn - before.bytesIn).toBeLessThanOrEqual(4 * MiB);
  expect(receiver.engine.bytesOnWire.received - receivedBefore).toBeLessThanOrEqual(4 * MiB);
}

/** Waits cheaply until every client's folder holds `files` files and every engine is idle. */
async function filesOn(all: TestClient[], files: number, timeoutMs: number): Promise<void> {
  await eventually(async () => {
    const states = await Promise.all(all.map((x) => x.engine.getState()));
    return states.every((s) => isIdle(s) && s.folders[0]!.files === files);
  }, timeoutMs, `${files} files on every client`);
}

/** Runs `work`, failing at once if a client reports a sync issue meanwhile. */
async function noIssues<T>(all: TestClient[], work: () => Promise<T>): Promise<T> {
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const [i, c] of all.entries()) {
        const issues = (await c.engine.getState()).issues;
        if (issues.length > 0) throw new Error(`client ${i} reports sync issues: ${JSON.stringify(issues)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return await Promise.race([work(), watch.then(() => undefined as never)]);
  } finally {
    done = true;
    await watch.catch(() => {});
  }
}

/** How many times `path` arrived on this client from another device. */
async function arrivals(c: TestClient, path: string): Promise<number> {
  return (await c.engine.getState()).activity.filter((x) => x.path === path && x.direction === 'down').length;
}

/**
 * Waits cheaply (no hashing of large files) until `path` arrived on `c` for the n-th time and
 * every engine is idle; converged() then compares the trees once.
 */
async function arrived(c: TestClient, path: string, n: number, all: TestClient[], timeoutMs: number): Promise<void> {
  await eventually(async () => {
    if ((await arrivals(c, path)) < n) return false;
    const states = await Promise.all(all.map((x) => x.engine.getState()));
    return states.every(isIdle);
  }, timeoutMs, `${path} to arrive`);
}

describe('transfers', () => {
  it('renames a directory of 1,000 files as one move: no chunk goes up or down, the receiver renames in place', async () => {
    const [a, b] = [await client(), await client()];
    const FILES = 1000;
    const SIZE = 16 * KiB;
    await mkdir(join(a.root, 'photos'));
    const names = Array.from({ length: FILES }, (_, i) => `img-${String(i).padStart(4, '0')}.bin`);
    for (let i = 0; i < FILES; i += 100) {
      await Promise.all(names.slice(i, i + 100).map((n) => writeFile(join(a.root, 'photos', n), randomBytes(SIZE))));
    }
    await filesOn([a, b], FILES, 90_000);
    const before = await converged([a, b], 60_000);
    expect(Object.keys(before)).toHaveLength(FILES + 1);

    // The receiver's files, by inode: a local rename keeps them.
    const inodes = new Map<string, number>();
    for (const n of names) inodes.set(n, (await lstat(join(b.root, 'photos', n))).ino);
    const m0 = metrics();
    const wireA0 = a.engine.bytesOnWire;
    const wireB0 = b.engine.bytesOnWire;

    await rename(join(a.root, 'photos'), join(a.root, 'album'));
    await noIssues([a, b], () => converged([a, b], 60_000));
    const after = await converged([a, b], 60_000);

    expect(Object.keys(after)).toHaveLength(FILES + 1);
    expect(after['photos']).toBeUndefined();
    expect(after['album']).toMatchObject({ kind: 'dir' });
    for (const n of names) expect(after[`album/${n}`]).toEqual(before[`photos/${n}`]);

    // Nothing uploaded: the server stored no chunk and received only control messages.
    const m1 = metrics();
    expect(m1.chunksUploaded - m0.chunksUploaded).toBe(0);
    expect(a.engine.bytesOnWire.sent - wireA0.sent).toBeLessThan(1 * MiB);
    // Nothing downloaded: the receiver got the feed (about 2,000 entries of metadata), no
    // chunk bytes — the content alone would be FILES * SIZE = 15.6 MiB.
    const receivedB = b.engine.bytesOnWire.received - wireB0.received;
    expect(receivedB).toBeLessThan(3 * MiB);
    // And it renamed what it had instead of writing new copies.
    for (const n of names) expect((await lstat(join(b.root, 'album', n))).ino).toBe(inodes.get(n));

    // A rename is not a deletion: no mass-delete hold, no issue, on either side.
    for (const c of [a, b]) {
      const s = await c.engine.getState();
      expect(s.issues).toEqual([]);
      expect(s.conflicts).toEqual([]);
    }
    const activity = (await b.engine.getState()).activity;
    expect(activity.some((x) => x.action === 'moved' && x.path === 'album' && x.from === 'photos' && x.direction === 'down')).toBe(true);
    for (const c of [a, b]) expect(await stagingLeftovers(c.root)).toEqual([]);
  }, 180_000);

  it('syncs a 200 MiB file of random content byte-exact', async () => {
    const [a, b] = [await client(), await client()];
    const size = 200 * MiB;
    const out = await bed.scratch('ferry-big-');
    // Written outside the folder, then moved in: the engine sees one finished file.
    const want = await writeRandomFile(join(out, 'big.bin'), size);
    await rename(join(out, 'big.bin'), join(a.root, 'big.bin'));
    const m0 = metrics();
    await arrived(b, 'big.bin', 1, [a, b], 120_000);
    const tree = await converged([a, b], 60_000);
    expect(tree['big.bin']).toMatchObject({ kind: 'file', size, sha256: want });
    expect(await sha256File(join(b.root, 'big.bin'))).toBe(want);
    // Sent about once: at most a few hundred KiB of control messages on top of the content.
    const m1 = metrics();
    expect(m1.bytesIn - m0.bytesIn).toBeGreaterThanOrEqual(size);
    expect(m1.bytesIn - m0.bytesIn).toBeLessThan(size + 4 * MiB);
    expect(b.engine.bytesOnWire.received).toBeLessThan(size + 4 * MiB);
    for (const c of [a, b]) expect(await stagingLeftovers(c.root)).toEqual([]);
  }, 180_000);

  it('sends only the changed chunks of an overwrite in the middle and of an insertion near the start; the receiver reuses its own chunks', async () => {
    const [a, b] = [await client(), await client()];
    const size = 64 * MiB;
    const out = await bed.scratch('ferry-delta-');
    await writeRandomFile(join(out, 'v1.bin'), size);
    await copyFile(join(out, 'v1.bin'), join(out, 'staged.bin'));
    await rename(join(out, 'staged.bin'), join(a.root, 'data.bin'));
    await arrived(b, 'data.bin', 1, [a, b], 90_000);
    await converged([a, b], 60_000);

    // 1) Overwrite 1 MiB in the middle, in place.
    let m0 = metrics();
    let wireB0 = b.engine.bytesOnWire;
    const patch = randomBytes(1 * MiB);
    const handle = await open(join(a.root, 'data.bin'), 'r+');
    await handle.write(patch, 0, patch.length, 32 * MiB);
    await handle.close();
    await arrived(b, 'data.bin', 2, [a, b], 90_000);
    let tree = await converged([a, b], 60_000);
    const wantOverwrite = await sha256File(join(a.root, 'data.bin'));
    expect(tree['data.bin']).toMatchObject({ size, sha256: wantOverwrite });
    expect(await sha256File(join(b.root, 'data.bin'))).toBe(wantOverwrite);
    expectOnlyChangedChunks(m0, wireB0.received, b);

    // 2) Insert 1,000 bytes near the start: every cut after the edit moves by the same
    // amount, so only the chunk(s) around the insertion are new. Saved as editors do: a new
    // file renamed over the old one.
    m0 = metrics();
    wireB0 = b.engine.bytesOnWire;
    const edited = join(out, 'v2.bin');
    {
      const w = createWriteStream(edited);
      const head = Buffer.alloc(4096);
      const h = await open(join(a.root, 'data.bin'), 'r');
      await h.read(head, 0, head.length, 0);
      await h.close();
      w.write(head);
      w.write(randomBytes(1000));
      await pipeline(createReadStream(join(a.root, 'data.bin'), { start: head.length }), w);
    }
    await rename(edited, join(a.root, 'data.bin'));
    await arrived(b, 'data.bin', 3, [a, b], 90_000);
    tree = await converged([a, b], 60_000);
    const wantInsert = await sha256File(join(a.root, 'data.bin'));
    expect(tree['data.bin']).toMatchObject({ size: size + 1000, sha256: wantInsert });
    expect(await sha256File(join(b.root, 'data.bin'))).toBe(wantInsert);
    expectOnlyChangedChunks(m0, wireB0.received, b);

    // 3) A copy: nothing new goes up, and the receiver builds it from the file it has.
    m0 = metrics();
    wireB0 = b.engine.bytesOnWire;
    await copyFile(join(a.root, 'data.bin'), join(out, 'copy.bin'));
    await rename(join(out, 'copy.bin'), join(a.root, 'copy.bin'));
    await arrived(b, 'copy.bin', 1, [a, b], 90_000);
    tree = await converged([a, b], 60_000);
    expect(tree['copy.bin']).toMatchObject({ size: size + 1000, sha256: wantInsert });
    const m1 = metrics();
    expect(m1.chunksUploaded - m0.chunksUploaded).toBe(0);
    expect(b.engine.bytesOnWire.received - wireB0.received).toBeLessThan(1 * MiB);
    expect(await sha256File(join(b.root, 'copy.bin'))).toBe(wantInsert);
    for (const c of [a, b]) expect(await stagingLeftovers(c.root)).toEqual([]);
    expect((await readdir(b.root)).sort()).toEqual(['.ferry', 'copy.bin', 'data.bin']);
  }, 180_000);
});
