/**
 * Writing a remote version that differs from the local file only in some chunks at the same
 * offsets (an overwrite in place): the staging file starts as a copy of the local file and
 * only the other chunks are fetched, and the whole-content hash read back from it still
 * decides. Real files in a temp folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FolderDisk, HashMismatch } from '../../src/engine/sync/disk.js';
import { writeOne } from '../helpers/disk.js';
import type { LocalFile } from '../../src/engine/journal/local-journal.js';
import type { Entry } from '../../src/shared/protocol/messages.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PIECE = 64 * 1024;

let root: string;
let disk: FolderDisk;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-patch-'));
  disk = new FolderDisk(root);
  await disk.prepare();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Eight chunks of 64 KiB; `changed` of them replaced in `next`. */
async function setUp(changed: number[]) {
  const old = randomBytes(8 * PIECE);
  const next = Buffer.from(old);
  for (const i of changed) randomBytes(PIECE).copy(next, i * PIECE);
  const chunksOf = (b: Buffer): [string, number][] => Array.from({ length: 8 }, (_, i) => [sha256(b.subarray(i * PIECE, (i + 1) * PIECE)), PIECE]);
  await writeFile(join(root, 'f.bin'), old);
  const st = await stat(join(root, 'f.bin'));
  const known: LocalFile = { kind: 'file', size: old.length, mtime: Math.floor(st.mtimeMs), ino: st.ino, mode: 0o644, hash: sha256(old), target: '', chunks: chunksOf(old) };
  const entry: Entry = { path: 'f.bin', rev: 2, kind: 'file', deleted: false, size: next.length, mtime: 1_700_000_000_000, mode: 0o600, hash: sha256(next), chunks: chunksOf(next), target: '', device: 'x', time: 0 };
  const kept = new Set([0, 1, 2, 3, 4, 5, 6, 7].filter((i) => !changed.includes(i)));
  const asked: number[] = [];
  const source = async (_hash: string, size: number, i: number) => {
    asked.push(i);
    return next.subarray(i * PIECE, i * PIECE + size);
  };
  return { old, next, known, entry, kept, asked, source };
}

it('fetches only the chunks not kept in place, and the result is the new version, mode and mtime included', async () => {
  const { next, known, entry, kept, asked, source } = await setUp([2, 5]);
  let ranBeforeRename = false;
  const { written } = await writeOne(disk, entry, known, source, kept, async () => {
    ranBeforeRename = (await readFile(join(root, 'f.bin'))).equals(next) === false;
  });
  expect(asked).toEqual([2, 5]);
  expect(ranBeforeRename).toBe(true); // runs before the new version takes the path
  expect((await readFile(join(root, 'f.bin'))).equals(next)).toBe(true);
  const st = await stat(join(root, 'f.bin'));
  expect(st.mode & 0o777).toBe(0o600);
  expect(Math.floor(st.mtimeMs)).toBe(entry.mtime);
  expect(written.ino).toBe(st.ino);
  expect(await readdir(disk.stagingDir)).toEqual([]);
});

it('writes the file whole when the local file no longer holds what the journal says, though its stat is unchanged', async () => {
  const { old, next, known, entry, kept, asked, source } = await setUp([6]);
  // Bytes of a kept chunk change in place; size and mtime are put back as they were.
  const st = await stat(join(root, 'f.bin'));
  const tampered = Buffer.from(old);
  tampered[10] = tampered[10]! ^ 0xff;
  await writeFile(join(root, 'f.bin'), tampered);
  await utimes(join(root, 'f.bin'), st.atime, st.mtime);
  // (utimes may land a fraction of a millisecond off: the journal's record is what the stat says.)
  const after = await stat(join(root, 'f.bin'));
  expect([after.size, after.ino]).toEqual([st.size, st.ino]);
  await writeOne(disk, entry, { ...known, mtime: Math.floor(after.mtimeMs) }, source, kept);
  expect(asked).toEqual([6, 0, 1, 2, 3, 4, 5, 6, 7]); // the patch, then every chunk
  expect((await readFile(join(root, 'f.bin'))).equals(next)).toBe(true);
  expect(await readdir(disk.stagingDir)).toEqual([]);
});

it('a fetched chunk of the wrong size fails the write and leaves the file and staging as they were', async () => {
  const { old, known, entry, kept } = await setUp([3]);
  await expect(writeOne(disk, entry, known, async () => Buffer.alloc(10), kept)).rejects.toBeInstanceOf(HashMismatch);
  expect((await readFile(join(root, 'f.bin'))).equals(old)).toBe(true);
  expect(await readdir(disk.stagingDir)).toEqual([]);
});
