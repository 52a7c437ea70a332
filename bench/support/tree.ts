/**
 * Folder trees for the sync benchmark: writing random content (and knowing its hashes
 * without reading it back), and watching a folder from outside until it holds an expected
 * tree. The watcher hashes only files whose stat changed since it last hashed them, so
 * polling a large tree stays cheap next to the clients it measures.
 */
import { createHash, randomFill } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export interface Item {
  kind: 'dir' | 'file';
  size: number;
  /** '' for a directory. */
  sha256: string;
}

/** Relative path ('/'-separated) → what it holds. */
export type Tree = Map<string, Item>;

const fillRandom = promisify(randomFill) as <T extends NodeJS.ArrayBufferView>(buf: T) => Promise<T>;
const STREAM_BLOCK = 1024 * 1024;

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Runs task(0..count-1) with at most `concurrency` of them pending at once. */
export async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
}

/** A small seeded PRNG (mulberry32), so file sizes are the same from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface FileSpec {
  path: string;
  size: number;
}

/**
 * `dirs` × `subdirs` directories of `perDir` files each, sizes drawn from [min, max]:
 * a nested tree shaped like a photo library or a source tree.
 */
export function nestedLayout(prefix: string, dirs: number, subdirs: number, perDir: number, min: number, max: number, seed: number): { dirs: string[]; files: FileSpec[] } {
  const random = seededRandom(seed);
  const out = { dirs: [] as string[], files: [] as FileSpec[] };
  const pad = (n: number): string => String(n).padStart(2, '0');
  for (let d = 0; d < dirs; d++) {
    const top = `${prefix}d${pad(d)}`;
    out.dirs.push(top);
    for (let s = 0; s < subdirs; s++) {
      const dir = `${top}/s${pad(s)}`;
      out.dirs.push(dir);
      for (let f = 0; f < perDir; f++) out.files.push({ path: `${dir}/f${String(f).padStart(4, '0')}.bin`, size: min + Math.floor(random() * (max - min + 1)) });
    }
  }
  return out;
}

/** Creates the directories, then the files with random content; returns what it wrote. */
export async function writeTree(root: string, layout: { dirs: string[]; files: FileSpec[] }, concurrency = 8): Promise<Tree> {
  const tree: Tree = new Map();
  for (const dir of layout.dirs) {
    await mkdir(join(root, dir), { recursive: true });
    tree.set(dir, { kind: 'dir', size: 0, sha256: '' });
  }
  await inParallel(layout.files.length, concurrency, async (i) => {
    const { path, size } = layout.files[i]!;
    const data = await fillRandom(Buffer.allocUnsafe(size));
    await writeFile(join(root, path), data);
    tree.set(path, { kind: 'file', size, sha256: sha256(data) });
  });
  return tree;
}

/** Writes `size` random bytes a block at a time, never holding the file in memory; returns its SHA-256. */
export async function writeLargeFile(file: string, size: number): Promise<string> {
  const handle = await open(file, 'w');
  const hash = createHash('sha256');
  try {
    const block = Buffer.allocUnsafe(STREAM_BLOCK);
    for (let written = 0; written < size; ) {
      const n = Math.min(STREAM_BLOCK, size - written);
      const data = await fillRandom(block.subarray(0, n));
      hash.update(data);
      await handle.write(data, 0, n, written);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** SHA-256 of a file read a block at a time, with `patch` laid over it at `patchAt` when given. */
export async function hashFile(file: string, patch?: { at: number; data: Buffer }): Promise<string> {
  const handle = await open(file, 'r');
  const hash = createHash('sha256');
  try {
    const block = Buffer.allocUnsafe(STREAM_BLOCK);
    for (let pos = 0; ; ) {
      const { bytesRead } = await handle.read(block, 0, STREAM_BLOCK, pos);
      if (bytesRead === 0) break;
      const data = block.subarray(0, bytesRead);
      if (patch) overlay(data, pos, patch);
      hash.update(data);
      pos += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Copies the part of `patch` that falls within [pos, pos + data.length) into `data`. */
function overlay(data: Buffer, pos: number, patch: { at: number; data: Buffer }): void {
  const from = Math.max(pos, patch.at);
  const to = Math.min(pos + data.length, patch.at + patch.data.length);
  if (from < to) patch.data.copy(data, from - pos, from - patch.at, to - patch.at);
}

/** Overwrites bytes in place, as a database or a VM image changes. */
export async function patchFile(file: string, patch: { at: number; data: Buffer }): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(patch.data, 0, patch.data.length, patch.at);
  } finally {
    await handle.close();
  }
}

/** The tree with `from` (a directory) renamed to `to`, as a rename on disk would leave it. */
export function renamed(tree: Tree, from: string, to: string): Tree {
  const out: Tree = new Map();
  for (const [path, item] of tree) {
    const inside = path === from || path.startsWith(`${from}/`);
    out.set(inside ? to + path.slice(from.length) : path, item);
  }
  return out;
}

/**
 * Relative path → kind, from readdir alone (no stat): cheap enough to run often. `reserved`
 * names at the root belong to the sync tool (its staging folder, its marker), not to the tree.
 */
export async function listTree(root: string, reserved: ReadonlySet<string>): Promise<Map<string, Item['kind']>> {
  const out = new Map<string, Item['kind']>();
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir === '' ? root : join(root, dir), { withFileTypes: true });
    } catch {
      return; // renamed or removed while we looked: the next look sees the new state
    }
    const subdirs: string[] = [];
    for (const e of entries) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      if (dir === '' && reserved.has(e.name)) continue;
      out.set(rel, e.isDirectory() ? 'dir' : 'file');
      if (e.isDirectory()) subdirs.push(rel);
    }
    await Promise.all(subdirs.map(walk));
  };
  await walk('');
  return out;
}

/** What changes whenever a file's content may have: size, mtime, ctime and inode. */
function statKey(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
}

/** lstat of every file of a tree, a directory's worth at a time; a file gone meanwhile has no entry. */
async function statFiles(root: string, paths: readonly string[]): Promise<Map<string, Stats>> {
  const out = new Map<string, Stats>();
  await inParallel(paths.length, 64, async (i) => {
    const st = await lstat(join(root, paths[i]!)).catch(() => undefined);
    if (st) out.set(paths[i]!, st);
  });
  return out;
}

/** Lists a folder and lstats every file in it, as a scanner of an unchanged tree must. */
export async function statTree(root: string, reserved: ReadonlySet<string>): Promise<number> {
  const names = await listTree(root, reserved);
  const files = [...names].filter(([, kind]) => kind === 'file').map(([p]) => p);
  return (await statFiles(root, files)).size;
}

export interface Look {
  /** Whether the folder held exactly the expected tree. */
  same: boolean;
  /** performance.now() when the listing that saw it ended. */
  at: number;
  /** How long the look took before any hashing, ms. */
  walkMs: number;
  /** What differs, briefly. */
  diff: string;
}

/** Looks at a folder from outside until it holds an expected tree. */
export class TreeWatcher {
  /** Hashes by stat key, kept across looks: a file is read again only when its stat changes. */
  private readonly hashes = new Map<string, { key: string; sha256: string }>();

  constructor(
    readonly root: string,
    private readonly reserved: ReadonlySet<string>,
  ) {}

  /**
   * Names first (readdir only), sizes once the names match, contents once the sizes do: a
   * tree still filling in costs a listing per look, and the watcher stays light next to
   * the clients it measures.
   */
  async look(expected: Tree): Promise<Look> {
    const started = performance.now();
    const names = await listTree(this.root, this.reserved);
    const at = performance.now();
    const shape = namesDiff(expected, names);
    if (shape) return { same: false, at, walkMs: at - started, diff: shape };
    const files = [...expected].filter(([, item]) => item.kind === 'file').map(([p]) => p);
    const stats = await statFiles(this.root, files);
    const walkMs = performance.now() - started;
    const sizes = sizeDiff(expected, stats);
    if (sizes) return { same: false, at, walkMs, diff: sizes };
    const wrong: string[] = [];
    for (const path of files) {
      if ((await this.hashOf(path, stats.get(path)!)) !== expected.get(path)!.sha256) wrong.push(path);
    }
    return { same: wrong.length === 0, at, walkMs, diff: wrong.length ? `${wrong.length} files differ in content, e.g. ${wrong.slice(0, 3).join(', ')}` : '' };
  }

  /**
   * Resolves with when the folder was first seen holding `expected` (the end of that
   * listing; the stat and hashing that confirm it do not count). Looks are spaced by at
   * least eight times their own cost, so the watcher takes about a tenth of one core at
   * most: on a small machine it shares the cores with the clients it measures.
   */
  async waitFor(expected: Tree, timeoutMs: number, minIntervalMs = 20): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let last: Look | undefined;
    while (performance.now() < deadline) {
      last = await this.look(expected);
      if (last.same) return last.at;
      await sleep(Math.max(minIntervalMs, 8 * last.walkMs));
    }
    throw new NotConverged(`${this.root} did not reach the expected tree within ${(timeoutMs / 1000).toFixed(0)} s: ${last?.diff ?? 'never looked'}`);
  }

  private async hashOf(path: string, st: Stats): Promise<string> {
    const key = statKey(st);
    const cached = this.hashes.get(path);
    if (cached?.key === key) return cached.sha256;
    const file = join(this.root, path);
    const value = st.size > 8 * STREAM_BLOCK ? await hashFile(file) : sha256(await readFile(file));
    this.hashes.set(path, { key, sha256: value });
    return value;
  }
}

export class NotConverged extends Error {}

function listOf(name: string, paths: readonly string[]): string {
  return paths.length ? `${paths.length} ${name} (e.g. ${paths.slice(0, 3).join(', ')})` : '';
}

/** Paths missing, extra or of the wrong kind; '' when the names match. */
function namesDiff(expected: Tree, names: Map<string, Item['kind']>): string {
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const [path, item] of expected) {
    const kind = names.get(path);
    if (!kind) missing.push(path);
    else if (kind !== item.kind) wrong.push(path);
  }
  const extra = [...names.keys()].filter((p) => !expected.has(p));
  return [listOf('missing', missing), listOf('of another kind', wrong), listOf('extra', extra)].filter(Boolean).join(', ');
}

/** Files gone or of the wrong size; '' when every size matches. */
function sizeDiff(expected: Tree, stats: Map<string, Stats>): string {
  const wrong: string[] = [];
  for (const [path, item] of expected) if (item.kind === 'file' && stats.get(path)?.size !== item.size) wrong.push(path);
  return listOf('of another size (or gone)', wrong);
}
