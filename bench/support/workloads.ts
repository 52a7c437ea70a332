/**
 * The workloads of the comparison, the same code for every peer: each makes its changes in
 * folder A through a Session and says how its physical limits are measured on the same data.
 * Full sizes are the benchmark; quick sizes a smoke run of every code path.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { bestOf, cpSeconds, LIMIT_RUNS, sha256Seconds, syncDisk, timedSeconds, writeInPlaceSeconds } from './limits.js';
import { wireQuiet } from './peer.js';
import { duration, percentile, size, whole } from './report.js';
import type { Outcome, Session } from './session.js';
import { hashFile, nestedLayout, patchFile, renamed, seededRandom, sha256, statTree, TreeWatcher, writeLargeFile, writeTree, type FileSpec, type Tree } from './tree.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export interface Sizes {
  /** dirs × subdirs directories of perDir files of min–max bytes. */
  small: { dirs: number; subdirs: number; perDir: number; min: number; max: number };
  large: { bytes: number; patchBytes: number };
  insert: { bytes: number; insertBytes: number };
  latency: { saves: number; bytes: number };
  rename: { files: number; min: number; max: number };
  restart: { dirs: number; subdirs: number; perDir: number; min: number; max: number };
}

export const FULL: Sizes = {
  small: { dirs: 10, subdirs: 10, perDir: 50, min: 1 * KiB, max: 32 * KiB },
  large: { bytes: 1 * GiB, patchBytes: 1 * MiB },
  insert: { bytes: 256 * MiB, insertBytes: 1 * MiB },
  latency: { saves: 20, bytes: 4 * KiB },
  rename: { files: 1000, min: 1 * KiB, max: 8 * KiB },
  restart: { dirs: 20, subdirs: 10, perDir: 100, min: 1 * KiB, max: 4 * KiB },
};

/** A smoke run: every code path, a few minutes in all. */
export const QUICK: Sizes = {
  small: { dirs: 4, subdirs: 5, perDir: 25, min: 1 * KiB, max: 32 * KiB },
  large: { bytes: 64 * MiB, patchBytes: 1 * MiB },
  insert: { bytes: 32 * MiB, insertBytes: 1 * MiB },
  latency: { saves: 5, bytes: 4 * KiB },
  rename: { files: 200, min: 1 * KiB, max: 8 * KiB },
  restart: { dirs: 4, subdirs: 5, perDir: 100, min: 1 * KiB, max: 4 * KiB },
};

const TIMEOUT_MS = { save: 60_000, restart: 600_000 };
/** Between two timed saves: the wire quiet this long, then this pause. */
const SAVE_QUIET_MS = 500;
const SAVE_PAUSE_MS = 200;

export const WORKLOADS = ['small', 'large', 'insert', 'latency', 'rename', 'restart'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** A row of the tables: one timed change. */
export interface RowSpec {
  key: string;
  title: string;
  /** The bytes a change of this row must move at least; the wire target applies when given. */
  changed?: { bytes: number; what: string };
  /** The latency row's figure is a p50 with its own target. */
  latency?: boolean;
}

/** A physical limit: how long the machine takes for `what`. */
export interface Limit {
  seconds: number;
  what: string;
}

/** The physical limits of one row: copying its data to the same disk, and hashing it. */
export interface Limits {
  cp?: Limit;
  sha?: Limit;
}

export interface Workload {
  rows: RowSpec[];
  /** Runs the changes on one peer; an outcome per row key. */
  run(s: Session): Promise<Map<string, Outcome>>;
  /** Measures the limits on folder A of a peer that ran it and has stopped. */
  limits(rootA: string): Promise<Map<string, Limits>>;
}

function totalBytes(files: readonly FileSpec[]): number {
  return files.reduce((sum, f) => sum + f.size, 0);
}

/** A tree of one file at the root. */
function oneFile(path: string, bytes: number, hash: string): Tree {
  return new Map([[path, { kind: 'file', size: bytes, sha256: hash }]]);
}

const limit = (seconds: number, what: string): Limit => ({ seconds, what });

async function treeLimits(root: string, files: readonly FileSpec[], scratch: string): Promise<Limits> {
  return {
    cp: limit(await bestOf(LIMIT_RUNS, () => cpSeconds(root, scratch)), 'cp -r + sync'),
    sha: limit(await bestOf(LIMIT_RUNS, () => sha256Seconds(root, files)), 'sha256 of every file'),
  };
}

function smallFiles(z: Sizes['small']): Workload {
  const layout = nestedLayout('', z.dirs, z.subdirs, z.perDir, z.min, z.max, 1);
  const count = whole(layout.files.length);
  return {
    rows: [{ key: 'small', title: `${count} small files (${size(z.min)}–${size(z.max)})` }],
    async run(s) {
      const m = await s.measure(() => writeTree(s.peer.rootA, layout));
      return new Map([['small', { ...m, note: `${size(totalBytes(layout.files))} in ${layout.dirs.length} nested directories; ${m.note}` }]]);
    },
    async limits(rootA) {
      return new Map([['small', await treeLimits(rootA, layout.files, `${rootA}-cp`)]]);
    },
  };
}

function largeFile(z: Sizes['large']): Workload {
  const patch = { at: Math.floor(z.bytes / 2), data: randomBytes(z.patchBytes) };
  return {
    rows: [
      { key: 'large', title: `one ${size(z.bytes)} file` },
      { key: 'patch', title: `  ${size(z.patchBytes)} overwritten in its middle`, changed: { bytes: z.patchBytes, what: 'the bytes overwritten' } },
    ],
    async run(s) {
      const file = join(s.peer.rootA, 'big.bin');
      const full = await s.measure(async () => oneFile('big.bin', z.bytes, await writeLargeFile(file, z.bytes)));
      // The edit's hash is known before the clock starts.
      const patched = await hashFile(file, patch);
      const edit = await s.measure(async () => {
        await patchFile(file, patch);
        return oneFile('big.bin', z.bytes, patched);
      });
      return new Map([
        ['large', { ...full, note: `random bytes written 1 MiB at a time; ${full.note}` }],
        ['patch', { ...edit, note: `overwritten in place at ${size(patch.at)}` }],
      ]);
    },
    async limits(rootA) {
      const file = join(rootA, 'big.bin');
      const sha = limit(await bestOf(LIMIT_RUNS, () => timedSeconds(() => hashFile(file))), `sha256 of the ${size(z.bytes)} file`);
      return new Map([
        ['large', { cp: limit(await bestOf(LIMIT_RUNS, () => cpSeconds(file, `${file}.cp`)), 'cp + sync'), sha }],
        // Finding the change means hashing the whole file again; writing it, only those bytes.
        ['patch', { cp: limit(await bestOf(LIMIT_RUNS, () => writeInPlaceSeconds(file, patch.at, patch.data)), `write ${size(z.patchBytes)} in place + fdatasync`), sha }],
      ]);
    },
  };
}

/** Writes `head` then the old file into `target`, streaming; returns the SHA-256 of the result. */
async function prepend(head: Buffer, file: string, target: string): Promise<string> {
  const out = createWriteStream(target);
  out.write(head);
  await pipeline(createReadStream(file), out);
  return hashFile(target);
}

function insertion(z: Sizes['insert']): Workload {
  return {
    rows: [{ key: 'insert', title: `${size(z.insertBytes)} inserted at the start of a ${size(z.bytes)} file`, changed: { bytes: z.insertBytes, what: 'the bytes inserted' } }],
    async run(s) {
      const file = join(s.peer.rootA, 'doc.bin');
      const setup = await s.measure(async () => oneFile('doc.bin', z.bytes, await writeLargeFile(file, z.bytes)));
      // Saved the way editors do: the new content beside the folder, then renamed over the file.
      const next = join(s.dir, 'doc.next');
      const hash = await prepend(randomBytes(z.insertBytes), file, next);
      const m = await s.measure(async () => {
        await rename(next, file);
        return oneFile('doc.bin', z.bytes + z.insertBytes, hash);
      });
      return new Map([['insert', { ...m, note: `the new content written beside the folder, then renamed over the file (the timed change); setup: the file first synced in ${duration(setup.seconds)}` }]]);
    },
    async limits(rootA) {
      // A file system can't insert: B must write the whole new file.
      const file = join(rootA, 'doc.bin');
      return new Map([
        [
          'insert',
          {
            cp: limit(await bestOf(LIMIT_RUNS, () => cpSeconds(file, `${file}.cp`)), 'cp + sync of the file'),
            sha: limit(await bestOf(LIMIT_RUNS, () => timedSeconds(() => hashFile(file))), 'sha256 of the file'),
          },
        ],
      ]);
    },
  };
}

/** Resolves with when `file` was first seen holding content with this hash: a stat every couple of ms, a read only when the stat changes. */
async function waitContent(file: string, hash: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let lastKey = '';
  while (performance.now() < deadline) {
    const at = performance.now();
    const st = await stat(file).catch(() => undefined);
    const key = st ? `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}` : '';
    if (st && key !== lastKey) {
      lastKey = key;
      if (sha256(await readFile(file).catch(() => Buffer.alloc(0))) === hash) return at;
    }
    await sleep(2);
  }
  throw new Error(`${file} did not get the new content within ${timeoutMs / 1000} s`);
}

function latency(z: Sizes['latency']): Workload {
  return {
    rows: [{ key: 'latency', title: `${size(z.bytes)} save, p50 of ${z.saves}`, latency: true }],
    async run(s) {
      const fileA = join(s.peer.rootA, 'note.txt');
      const fileB = join(s.peer.rootB, 'note.txt');
      // The file exists on both sides first, so every timed save is an edit.
      await s.measure(async () => {
        const data = randomBytes(z.bytes);
        await writeFile(fileA, data);
        return oneFile('note.txt', z.bytes, sha256(data));
      });
      const m = await s.span(async () => {
        const latencies: number[] = [];
        for (let i = 0; i < z.saves; i++) {
          const data = randomBytes(z.bytes);
          await writeFile(fileA, data);
          const written = performance.now();
          latencies.push((await waitContent(fileB, sha256(data), TIMEOUT_MS.save)) - written);
          await wireQuiet(s.peer, SAVE_QUIET_MS, TIMEOUT_MS.save);
          await sleep(SAVE_PAUSE_MS);
        }
        latencies.sort((x, y) => x - y);
        const p50 = percentile(latencies, 50);
        const p95 = percentile(latencies, 95);
        return {
          seconds: p50 / 1000,
          shown: `p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms`,
          note: `${z.saves} saves (writeFile in place), each timed from the write until B's copy held it (a stat every 2 ms); min ${latencies[0]!.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`,
        };
      });
      return new Map([['latency', m]]);
    },
    async limits(rootA) {
      const file = join(rootA, 'note.txt');
      const data = randomBytes(z.bytes);
      return new Map([['latency', { cp: limit(await bestOf(LIMIT_RUNS, () => writeInPlaceSeconds(file, 0, data)), `write ${size(z.bytes)} + fdatasync`) }]]);
    },
  };
}

/** One directory holding `files` files directly. */
function flatLayout(dir: string, z: Sizes['rename'], seed: number): { dirs: string[]; files: FileSpec[] } {
  const random = seededRandom(seed);
  const files = Array.from({ length: z.files }, (_, i) => ({ path: `${dir}/img${String(i).padStart(4, '0')}.jpg`, size: z.min + Math.floor(random() * (z.max - z.min + 1)) }));
  return { dirs: [dir], files };
}

function renameDir(z: Sizes['rename']): Workload {
  const [from, to] = ['album', 'album 2024'];
  const layout = flatLayout(from, z, 2);
  // What must cross at least: every moved path's old and new name.
  const moved = [from, ...layout.files.map((f) => f.path)];
  const paths = moved.reduce((sum, p) => sum + Buffer.byteLength(p) + Buffer.byteLength(to + p.slice(from.length)), 0);
  return {
    rows: [{ key: 'rename', title: `rename a directory of ${whole(z.files)} files`, changed: { bytes: paths, what: 'the old and new paths of everything moved' } }],
    async run(s) {
      const setup = await s.measure(() => writeTree(s.peer.rootA, layout));
      const m = await s.measure(async () => {
        await rename(join(s.peer.rootA, from), join(s.peer.rootA, to));
        return renamed(setup.tree, from, to);
      });
      return new Map([['rename', { ...m, note: `one rename(2) of a directory of ${size(totalBytes(layout.files))}; setup: the files first synced in ${duration(setup.seconds)}` }]]);
    },
    async limits(rootA) {
      // Nothing to copy or hash: a rename and a sync is all the disk needs.
      const seconds = await bestOf(LIMIT_RUNS, async () => {
        const s = await timedSeconds(async () => {
          await rename(join(rootA, to), join(rootA, from));
          await syncDisk();
        });
        await rename(join(rootA, from), join(rootA, to));
        return s;
      });
      return new Map([['rename', { cp: limit(seconds, 'rename(2) + sync') }]]);
    },
  };
}

function restartBoth(z: Sizes['restart']): Workload {
  const layout = nestedLayout('', z.dirs, z.subdirs, z.perDir, z.min, z.max, 3);
  const count = whole(layout.files.length);
  return {
    rows: [
      { key: 'first', title: `${count} tiny files (${size(z.min)}–${size(z.max)}), first sync` },
      { key: 'restart', title: `restart both sides, ${count} unchanged files` },
    ],
    async run(s) {
      const first = await s.measure(() => writeTree(s.peer.rootA, layout));
      const m = await s.span(async () => {
        const spawnedAt = await s.peer.restart();
        const idleAt = await s.peer.waitIdle(TIMEOUT_MS.restart);
        return { seconds: (idleAt - spawnedAt) / 1000, note: "from spawning the peer's processes until both sides said (two looks 100 ms apart) connected, scanned, nothing to do" };
      });
      // A restart must leave both folders as they were; the table says so if not.
      const differs = [];
      for (const root of [s.peer.rootA, s.peer.rootB]) {
        const look = await new TreeWatcher(root, s.peer.reserved).look(first.tree);
        if (!look.same) differs.push(`${root}: ${look.diff}`);
      }
      return new Map([
        ['first', { ...first, note: `${size(totalBytes(layout.files))} in ${layout.dirs.length} nested directories; ${first.note}` }],
        ['restart', { ...m, note: differs.length ? `${m.note}; AFTER THE RESTART THE TREE DIFFERS: ${differs.join('; ')}` : m.note }],
      ]);
    },
    async limits(rootA) {
      const reserved = new Set<string>();
      return new Map([
        ['first', await treeLimits(rootA, layout.files, `${rootA}-cp`)],
        ['restart', { cp: limit(await bestOf(LIMIT_RUNS, () => timedSeconds(() => statTree(rootA, reserved))), 'lstat walk of the tree') }],
      ]);
    },
  };
}

export const WORKLOAD_OF: Record<WorkloadName, (z: Sizes) => Workload> = {
  small: (z) => smallFiles(z.small),
  large: (z) => largeFile(z.large),
  insert: (z) => insertion(z.insert),
  latency: (z) => latency(z.latency),
  rename: (z) => renameDir(z.rename),
  restart: (z) => restartBoth(z.restart),
};
