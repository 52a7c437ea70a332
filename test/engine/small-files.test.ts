/** The parts that make many small files cheap keep their answers exact. */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FoundChunk } from '../../src/engine/content/file-content.js';
import { HashPool } from '../../src/engine/content/hash-pool.js';
import { Connection } from '../../src/engine/net/connection.js';
import { MissingChunks } from '../../src/engine/net/missing-chunks.js';
import { FolderDisk, LinkInPath } from '../../src/engine/sync/disk.js';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { bytes, MiB } from '../helpers/fixtures.js';
import { writeOne } from '../helpers/disk.js';
import { removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function scratch(): Promise<string> {
  const dir = await tempDir('ferry-small-');
  cleanup.push(() => removeDir(dir));
  return dir;
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('the hash pool with several files per worker', () => {
  it('gives every file its own content, whatever the sizes and the order they finish in', async () => {
    const dir = await scratch();
    const sizes = [0, 1, 4095, 32 * 1024, MiB + 7, 3 * MiB];
    const files: { path: string; data: Buffer }[] = [];
    for (let i = 0; i < 48; i++) {
      const data = bytes(sizes[i % sizes.length]!, i);
      const path = join(dir, `f${i}`);
      await writeFile(path, data);
      files.push({ path, data });
    }
    const pool = new HashPool(1);
    cleanup.push(() => pool.close());
    const contents = await Promise.all(files.map((f) => pool.hash(f.path)));
    contents.forEach((c, i) => {
      const { data } = files[i]!;
      expect(c.size).toBe(data.length);
      expect(c.hash).toBe(sha(data));
      let offset = 0;
      for (const [hash, size] of c.chunks) {
        expect(hash).toBe(sha(data.subarray(offset, offset + size)));
        offset += size;
      }
      expect(offset).toBe(data.length);
    });
  });
});

describe('small files hashed on the calling thread', () => {
  it('gives the same content and chunks as a worker, and starts no worker until a larger file comes', async () => {
    const dir = await scratch();
    const pool = new HashPool(1);
    cleanup.push(() => pool.close());
    for (const [i, size] of [0, 1, 4095, 64 * 1024].entries()) {
      const data = bytes(size, i);
      const path = join(dir, `small${i}`);
      await writeFile(path, data);
      const found: FoundChunk[] = [];
      const content = await pool.hash(path, (chunk) => void found.push(chunk), undefined, 0, size);
      expect(content.size).toBe(size);
      expect(content.hash).toBe(sha(data));
      expect(content.chunks).toEqual(size === 0 ? [] : [[sha(data), size]]);
      expect(found.map((f) => [f.hash, f.offset, Buffer.from(f.data).equals(data)])).toEqual(size === 0 ? [] : [[sha(data), 0, true]]);
      // A consumer's failure is its own, as with a worker: the file is still read to its end.
      expect(await pool.hash(path, () => Promise.reject(new Error('consumer failed')), undefined, 0, size)).toEqual({ ...content, readAt: expect.any(Number) });
      // Chunks named in `skip` are hashed but not handed over.
      const skipped: FoundChunk[] = [];
      expect((await pool.hash(path, (chunk) => void skipped.push(chunk), [sha(data)], 0, size)).chunks).toEqual(content.chunks);
      expect(skipped).toEqual([]);
    }
    expect(pool.workers).toBe(0);
    const larger = bytes(64 * 1024 + 1, 9);
    await writeFile(join(dir, 'larger'), larger);
    expect((await pool.hash(join(dir, 'larger'), undefined, undefined, 0, larger.length)).hash).toBe(sha(larger));
    expect(pool.workers).toBe(1);
  });
});

describe('writing below directories checked with one realpath', () => {
  function entryFor(path: string, data: Buffer): Entry {
    return { path, rev: 1, kind: 'file', deleted: false, size: data.length, mtime: Date.now(), mode: 0o644, hash: sha(data), chunks: [[sha(data), data.length]], target: '', device: 'other', time: Date.now() } as Entry;
  }
  const write = (disk: FolderDisk, path: string, data: Buffer) => writeOne(disk, entryFor(path, data), undefined, async () => data);

  it('still never writes through a directory that became a link after a write below it', async () => {
    const root = await scratch();
    const elsewhere = await scratch();
    const disk = new FolderDisk(root);
    await disk.prepare();
    await write(disk, 'a/b/one.txt', Buffer.from('one'));
    expect(await readFile(join(root, 'a/b/one.txt'), 'utf8')).toBe('one');
    // The same parents again, now with a link in the middle of them.
    await rename(join(root, 'a'), join(root, 'a-before'));
    await mkdir(join(elsewhere, 'b'));
    await symlink(elsewhere, join(root, 'a'));
    await expect(write(disk, 'a/b/two.txt', Buffer.from('two'))).rejects.toBeInstanceOf(LinkInPath);
    expect(await readdir(join(elsewhere, 'b'))).toEqual([]);
  });

  it('writes through the fast check when the folder root itself is reached through a link', async () => {
    const real = await scratch();
    const links = await scratch();
    await symlink(real, join(links, 'root'));
    const disk = new FolderDisk(join(links, 'root'));
    await disk.prepare();
    await write(disk, 'x/y.txt', Buffer.from('y'));
    await write(disk, 'x/z.txt', Buffer.from('z'));
    expect(await readFile(join(real, 'x/z.txt'), 'utf8')).toBe('z');
  });
});

describe('has questions asked together', () => {
  it('answers each question with its own missing chunks, in one request', async () => {
    const srv: TestServer = await startServer();
    cleanup.push(async () => {
      await srv.close();
      await removeDir(srv.dataDir);
    });
    const { token } = await seedUser(srv.store, 'alice', 'Docs');
    const folder = (await srv.store.folderByName('Docs'))!.id;
    const stored = [bytes(100, 1), bytes(200, 2)];
    for (const data of stored) {
      await srv.server.ctx.chunks.put(sha(data), data);
      await srv.store.recordUpload(folder, sha(data), data.length, Date.now());
    }
    const absent = [bytes(300, 3), bytes(400, 4)].map(sha);
    let welcomed!: () => void;
    const ready = new Promise<void>((r) => (welcomed = r));
    const conn = new Connection({ server: srv.url, token, client: 'test' }, { welcome: () => welcomed(), changes: () => {}, folders: () => {}, state: () => {} });
    conn.start();
    cleanup.push(async () => conn.stop());
    await ready;
    const missing = new MissingChunks(conn);
    const bytesBefore = srv.server.ctx.metrics.bytesIn;
    const answers = await Promise.all([
      missing.of(folder, [sha(stored[0]!), absent[0]!]),
      missing.of(folder, [absent[1]!, sha(stored[1]!), absent[0]!]),
      missing.of(folder, [sha(stored[1]!)]),
    ]);
    expect(answers.map((s) => [...s].sort())).toEqual([[absent[0]], [absent[0], absent[1]].sort(), []]);
    // One request names the four distinct hashes once (~67 bytes each, plus ~50 of message);
    // three requests would carry six hash strings.
    const sent = srv.server.ctx.metrics.bytesIn - bytesBefore;
    expect(sent).toBeGreaterThan(4 * 64);
    expect(sent).toBeLessThan(5 * 64 + 60);
  });
});
