/**
 * Small files' bytes from the hashing read, kept for their upload: they are what was hashed,
 * they upload and verify on a real server, and they are never given out once the file has
 * changed since its read began, even by a write that keeps its size and mtime.
 */
import { createHash } from 'node:crypto';
import { rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HashPool } from '../../src/engine/content/hash-pool.js';
import { ChangedSinceHashed, KEEP_FILES_UP_TO, KeptBytes } from '../../src/engine/content/kept-bytes.js';
import { Connection } from '../../src/engine/net/connection.js';
import { IgnoreRules } from '../../src/engine/scan/ignore-rules.js';
import { FRESH_MS, Scanner } from '../../src/engine/scan/scanner.js';
import { FRAME_HEADER_BYTES } from '../../src/shared/protocol/frames.js';
import type { ServerMessageOf } from '../../src/shared/protocol/messages.js';
import { bytes, MiB } from '../helpers/fixtures.js';
import { eventually, removeDir, seedUser, startServer, tempDir } from '../helpers/server.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function scratch(): Promise<string> {
  const dir = await tempDir('ferry-kept-');
  cleanup.push(() => removeDir(dir));
  return dir;
}

function pool(): HashPool {
  const p = new HashPool(1);
  cleanup.push(() => p.close());
  return p;
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Scans `dir` from scratch with a store for kept bytes, once its files are no longer fresh; returns the store. */
async function scanKeeping(dir: string, kept = new KeptBytes()): Promise<KeptBytes> {
  const writtenBy = Date.now();
  await eventually(() => Date.now() > writtenBy + 2 * FRESH_MS, 1000, 'the files to be older than fresh');
  const scanner = new Scanner(dir, pool(), () => new IgnoreRules(), undefined, undefined, kept);
  const result = await scanner.scan(() => undefined, []);
  expect(result.unsettled).toEqual([]);
  expect(result.fresh).toEqual([]);
  return kept;
}

/** Until the clock has moved past the file's last change, so a write now gets another ctime. */
async function pastLastChange(file: string): Promise<void> {
  const { ctimeMs } = await stat(file);
  await eventually(() => Date.now() > ctimeMs + 20, 1000, 'the clock to move on');
}

describe('the hash pool handing a small file back', () => {
  it('returns the bytes it hashed for a one-chunk file up to the size asked, framed without a copy', async () => {
    const dir = await scratch();
    const hashes = pool();
    for (const size of [1, 4095, 64 * 1024, KEEP_FILES_UP_TO]) {
      const data = bytes(size, size);
      await writeFile(join(dir, 'f'), data);
      const content = await hashes.hash(join(dir, 'f'), undefined, undefined, KEEP_FILES_UP_TO);
      expect(content.hash).toBe(sha(data));
      if (content.chunks.length !== 1) continue; // a cut inside: nothing kept (checked below)
      expect(Buffer.isBuffer(content.bytes)).toBe(true);
      expect(Buffer.compare(content.bytes as Buffer, data)).toBe(0);
      expect(content.bytes!.byteOffset).toBe(FRAME_HEADER_BYTES);
    }
  });

  it('returns no bytes when not asked, for an empty file, above the size, or for a file of several chunks', async () => {
    const dir = await scratch();
    const hashes = pool();
    const cases: [size: number, keepUpTo: number][] = [
      [1000, 0],
      [0, KEEP_FILES_UP_TO],
      [1000, 999],
      [3 * MiB, 4 * MiB],
    ];
    for (const [size, keepUpTo] of cases) {
      await writeFile(join(dir, 'f'), bytes(size, 7));
      const content = await hashes.hash(join(dir, 'f'), undefined, undefined, keepUpTo);
      expect(content.size).toBe(size);
      expect(content.bytes).toBeUndefined();
    }
  });

  it('hands bytes that upload and verify on a real server', async () => {
    const dir = await scratch();
    const data = bytes(20_000, 3);
    await writeFile(join(dir, 'f'), data);
    const content = await pool().hash(join(dir, 'f'), undefined, undefined, KEEP_FILES_UP_TO);
    const srv = await startServer();
    cleanup.push(() => srv.close());
    const { token, folderId } = await seedUser(srv.store, 'ann', 'Docs');
    const conn = new Connection({ server: srv.url, token, client: 'test' }, { welcome: () => {}, changes: () => {}, folders: () => {}, state: () => {} });
    conn.start();
    cleanup.push(async () => conn.stop());
    await eventually(() => conn.connected, 5000, 'the connection');
    await conn.upload(folderId, content.hash, content.bytes as Buffer);
    const have = await conn.request<ServerMessageOf<'have'>>({ type: 'has', folder: folderId, hashes: [content.hash] });
    expect(have.missing).toEqual([]);
    expect(srv.server.ctx.metrics.chunksUploaded).toBe(1);
  });
});

describe('kept bytes', () => {
  it('gives out what the scan read while the file is unchanged, once', async () => {
    const dir = await scratch();
    const data = bytes(5000, 1);
    await writeFile(join(dir, 'a'), data);
    const kept = await scanKeeping(dir);
    expect(kept.bytes).toBe(5000);
    expect(kept.take('a', sha(data), join(dir, 'a'))).toEqual(data);
    expect(kept.bytes).toBe(0);
    expect(kept.take('a', sha(data), join(dir, 'a'))).toBeUndefined();
  });

  it('refuses a file rewritten since its read with the same size and mtime', async () => {
    const dir = await scratch();
    const file = join(dir, 'a');
    const data = bytes(5000, 1);
    await writeFile(file, data);
    const kept = await scanKeeping(dir);
    const before = await stat(file);
    await pastLastChange(file);
    await writeFile(file, bytes(5000, 2));
    await utimes(file, before.atimeMs / 1000, before.mtimeMs / 1000);
    // The journal records mtime to the millisecond: to the scanner this looks unchanged.
    expect(Math.floor((await stat(file)).mtimeMs)).toBe(Math.floor(before.mtimeMs));
    expect(() => kept.take('a', sha(data), file)).toThrow(ChangedSinceHashed);
  });

  it('refuses a file replaced by a rename or deleted since its read', async () => {
    const dir = await scratch();
    const data = bytes(5000, 1);
    await writeFile(join(dir, 'a'), data);
    await writeFile(join(dir, 'b'), data);
    const kept = await scanKeeping(dir);
    await writeFile(join(dir, 'other'), data);
    await rename(join(dir, 'other'), join(dir, 'a'));
    await unlink(join(dir, 'b'));
    expect(() => kept.take('a', sha(data), join(dir, 'a'))).toThrow(ChangedSinceHashed);
    expect(() => kept.take('b', sha(data), join(dir, 'b'))).toThrow(ChangedSinceHashed);
  });

  it('gives nothing for another content than the one asked for', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'a'), bytes(5000, 1));
    const kept = await scanKeeping(dir);
    expect(kept.take('a', sha(bytes(5000, 2)), join(dir, 'a'))).toBeUndefined();
  });

  it('keeps no more than its limit, and drops what no upload wants', async () => {
    const dir = await scratch();
    for (let i = 0; i < 10; i++) await writeFile(join(dir, `f${i}`), bytes(1000, i));
    const kept = await scanKeeping(dir, new KeptBytes(3500));
    expect(kept.bytes).toBe(3000);
    kept.retainOnly(() => false);
    expect(kept.bytes).toBe(0);
  });
});
