/**
 * Small builders and checks shared by the server integration tests: ops for commits, a
 * data directory inside a fresh parent (so a test can prove nothing was written beside it),
 * and a walk of what is on disk.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import Sqlite from 'better-sqlite3';
import { expect } from 'vitest';
import type { ServerOptions } from '../../src/server/server.js';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { sha256, type Msg, type RawClient } from './raw-client.js';
import { startServer, tempDir, type TestServer } from './server.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** A put op for a directory. */
export function dirOp(path: string, baseRev = 0, mode = 0o755) {
  return { op: 'put', path, baseRev, kind: 'dir', size: 0, mtime: 1_700_000_000_000, mode, hash: '', chunks: [], target: '' };
}

/** A put op for a file made of the given chunks, in order. */
export function fileOp(path: string, chunks: Buffer[], baseRev = 0) {
  const whole = Buffer.concat(chunks);
  return {
    op: 'put',
    path,
    baseRev,
    kind: 'file',
    size: whole.length,
    mtime: 1_700_000_000_000,
    mode: 0o644,
    hash: sha256(whole),
    chunks: chunks.map((c) => [sha256(c), c.length]),
    target: '',
  };
}

export function deleteOp(path: string, baseRev: number) {
  return { op: 'delete', path, baseRev };
}

export function moveOp(from: string, path: string, baseRev: number) {
  return { op: 'move', from, path, baseRev };
}

/** Deterministic pseudo-random bytes (xorshift), so chunks differ without a random seed. */
export function bytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function entriesOf(m: Msg): Entry[] {
  return m.entries as Entry[];
}

/** The one live `changes` message whose entries include `path`. */
export function nextChangeFor(client: RawClient, folder: number, path: string): Promise<Msg> {
  return client.next((m) => m.type === 'changes' && m.folder === folder && entriesOf(m).some((e) => e.path === path));
}

/** Where the disk chunk store keeps a chunk. */
export function chunkFile(dataDir: string, hash: string): string {
  return join(dataDir, 'chunks', hash.slice(0, 2), hash.slice(2, 4), hash);
}

/** How many times a data directory holds a chunk's bytes: as files, and as rows inline in the database. */
export async function storedCopies(dataDir: string, hash: string): Promise<{ files: number; blobs: number }> {
  const shard = join(dataDir, 'chunks', hash.slice(0, 2), hash.slice(2, 4));
  const files = (await readdir(shard).catch(() => [] as string[])).filter((n) => n.startsWith(hash)).length;
  const db = new Sqlite(join(dataDir, 'ferry.db'), { readonly: true, fileMustExist: true });
  try {
    return { files, blobs: db.prepare('SELECT COUNT(*) FROM chunk_blobs WHERE hash = ?').pluck().get(hash) as number };
  } finally {
    db.close();
  }
}

/** Every file below `dir`, as '/'-separated paths relative to it (directories end with '/'). */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    // The tree may be live (an engine at work): a directory gone since it was listed is skipped.
    const entries = await readdir(d, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (d !== dir && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return [];
      throw err;
    });
    for (const ent of entries) {
      const full = join(d, ent.name);
      const rel = relative(dir, full).split(sep).join('/');
      if (ent.isDirectory()) {
        out.push(rel + '/');
        await walk(full);
      } else {
        out.push(rel);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

/** A server whose data directory is `<fresh temp dir>/data`, so the parent must stay otherwise empty. */
export async function startContainedServer(options: Partial<ServerOptions> = {}): Promise<TestServer & { parent: string }> {
  const parent = await tempDir('ferry-contained-');
  const srv = await startServer({ ...options, dataDir: join(parent, 'data') });
  return { ...srv, parent };
}

/**
 * Asserts that the server wrote nothing outside its data directory, and inside it only its
 * database, whole chunks named by their own hash under chunks/ab/cd/, and empty tmp/ and trash/.
 */
export async function expectContained(parent: string, dataDir: string): Promise<void> {
  expect(await readdir(parent)).toEqual([relative(parent, dataDir)]);
  const strays: string[] = [];
  for (const rel of await listTree(dataDir)) {
    if (['chunks/', 'tmp/', 'trash/', 'ferry.db', 'ferry.db-wal', 'ferry.db-shm'].includes(rel)) continue;
    const dirMatch = /^chunks\/([0-9a-f]{2})\/(?:([0-9a-f]{2})\/)?$/.exec(rel);
    if (dirMatch) continue;
    const chunk = /^chunks\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(rel);
    if (chunk && chunk[3]!.startsWith(chunk[1]! + chunk[2]!)) {
      const data = await readFile(join(dataDir, rel));
      if (createHash('sha256').update(data).digest('hex') === chunk[3]) continue;
      strays.push(`${rel} (content does not match its name)`);
      continue;
    }
    strays.push(rel);
  }
  expect(strays).toEqual([]);
}

/** Asserts that a download returned exactly `want` (fast for large buffers, unlike toEqual). */
export function expectBytes(got: unknown, want: Buffer): void {
  if (!Buffer.isBuffer(got)) {
    expect.fail(`expected ${want.length} bytes, got ${JSON.stringify(got)}`);
    return;
  }
  expect(got.length, 'length').toBe(want.length);
  if (!got.equals(want)) {
    let i = 0;
    while (got[i] === want[i]) i++;
    expect.fail(`bytes differ from offset ${i}`);
  }
}
