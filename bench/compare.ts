/**
 * Ferry against Syncthing, side by side, measured from outside and identically for both.
 * Each tool (a "peer": Ferry = `ferry serve` + two `ferry sync`; Syncthing = two
 * `syncthing serve`) gets a fresh pair of folders, A and B, per workload. The same workload
 * code changes folder A and times until folder B holds the same tree (paths, sizes, SHA-256);
 * bytes on the wire are counted by TCP proxies every connection of the peer goes through;
 * each process's peak RSS comes from /proc. Beside the figures: the physical limits of the
 * same machine on the same data (cp + sync on the same disk, SHA-256), measured in the same
 * run. It asserts nothing and is not part of `npm test`.
 *
 *   npm run bench:compare                        every workload, both tools
 *   npm run bench:compare -- --quick             small sizes: a smoke run of a few minutes
 *   npm run bench:compare -- --only latency --only rename
 *   npm run bench:compare -- --peer ferry        Ferry alone (what `npm run bench:sync` runs)
 *   --json PATH (default bench-results/compare-<time>.json)   --keep (keep temp folders and logs)
 *   --syncthing PATH (default: syncthing on the PATH)
 *   BENCH_SYNC_LOG_LEVEL, BENCH_SYNC_NODE_ARGS   the Ferry clients' log level and extra node flags
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, readFile, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startFerryPeer } from './support/ferry-peer.js';
import { bestOf, cpSeconds, LIMIT_RUNS, sha256Seconds, timedSeconds, writeInPlaceSeconds } from './support/limits.js';
import { busiestDevice, UsageWatch, wireByLink, wireQuiet, type Peer, type Usage } from './support/peer.js';
import { duration, grid, machineInfo, percentile, size, whole } from './support/report.js';
import { startSyncthingPeer, syncthingVersion } from './support/syncthing-peer.js';
import { hashFile, nestedLayout, patchFile, renamed, seededRandom, sha256, statTree, TreeWatcher, writeLargeFile, writeTree, type FileSpec, type Tree } from './support/tree.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

interface Sizes {
  /** dirs × subdirs directories of perDir files of min–max bytes. */
  small: { dirs: number; subdirs: number; perDir: number; min: number; max: number };
  large: { bytes: number; patchBytes: number };
  insert: { bytes: number; insertBytes: number };
  latency: { saves: number; bytes: number };
  rename: { files: number; min: number; max: number };
  restart: { dirs: number; subdirs: number; perDir: number; min: number; max: number };
}

const FULL: Sizes = {
  small: { dirs: 10, subdirs: 10, perDir: 50, min: 1 * KiB, max: 32 * KiB },
  large: { bytes: 1 * GiB, patchBytes: 1 * MiB },
  insert: { bytes: 256 * MiB, insertBytes: 1 * MiB },
  latency: { saves: 20, bytes: 4 * KiB },
  rename: { files: 1000, min: 1 * KiB, max: 8 * KiB },
  restart: { dirs: 20, subdirs: 10, perDir: 100, min: 1 * KiB, max: 4 * KiB },
};

/** A smoke run: every code path, a few minutes in all. */
const QUICK: Sizes = {
  small: { dirs: 4, subdirs: 5, perDir: 25, min: 1 * KiB, max: 32 * KiB },
  large: { bytes: 64 * MiB, patchBytes: 1 * MiB },
  insert: { bytes: 32 * MiB, insertBytes: 1 * MiB },
  latency: { saves: 5, bytes: 4 * KiB },
  rename: { files: 200, min: 1 * KiB, max: 8 * KiB },
  restart: { dirs: 4, subdirs: 5, perDir: 100, min: 1 * KiB, max: 4 * KiB },
};

const TARGETS = { timeRatio: 0.5, p50Ms: 200, wireFactor: 2 };
/** Generous: a run that needs them is a finding, and the table says so. */
const TIMEOUT_MS = { sync: 1_800_000, save: 60_000, restart: 600_000 };
/** The exchange counts as over once nothing crossed the wire for this long (Ferry pings every 15 s, Syncthing every 90 s). */
const QUIET_MS = 2_000;
const QUIET_TIMEOUT_MS = 60_000;
/** Between two timed saves: the wire quiet this long, then this pause. */
const SAVE_QUIET_MS = 500;
const SAVE_PAUSE_MS = 200;

const WORKLOADS = ['small', 'large', 'insert', 'latency', 'rename', 'restart'] as const;
type WorkloadName = (typeof WORKLOADS)[number];
const PEERS = ['ferry', 'syncthing'] as const;
type PeerName = (typeof PEERS)[number];

function note(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

// ---- one peer on one change ---------------------------------------------------------

/** What one peer did on one row. */
interface Outcome {
  /** The figure compared: from the end of the change in A until B held the same tree (latency: the p50). */
  seconds: number;
  /** The figure as printed, when it is more than a duration. */
  shown?: string;
  /** Bytes through every wire proxy of the peer, both ways. */
  wireTotal: number;
  /** The most bytes one device sent and received. */
  wireDevice: number;
  usage: Usage;
  note: string;
}

interface Measured extends Outcome {
  /** The tree A held after the change. */
  tree: Tree;
}

/** Watches B, and counts wire and usage, around a change made in A. */
class Session {
  readonly watcher: TreeWatcher;

  constructor(
    readonly peer: Peer,
    /** The peer's own directory: room for files prepared outside its folders. */
    readonly dir: string,
  ) {
    this.watcher = new TreeWatcher(peer.rootB, peer.reserved);
  }

  /**
   * Makes a change in A (which returns the tree A then holds) and times from its end until
   * B holds the same tree. Wire and usage run on until the wire has gone quiet, so they
   * cover the whole exchange.
   */
  async measure(change: () => Promise<Tree>, timeoutMs = TIMEOUT_MS.sync): Promise<Measured> {
    return this.span(async () => {
      const started = performance.now();
      const tree = await change();
      const changed = performance.now();
      const convergedAt = await this.watcher.waitFor(tree, timeoutMs);
      return { tree, seconds: (convergedAt - changed) / 1000, note: `change written into A in ${duration((changed - started) / 1000)}` };
    });
  }

  /** Runs `work` with the wire and every process's usage counted until the wire is quiet again after it. */
  async span<T extends { seconds: number; note: string }>(work: () => Promise<T>): Promise<T & Outcome> {
    const before = wireByLink(this.peer);
    const totalBefore = this.peer.wire.total();
    const usage = await UsageWatch.start(this.peer);
    try {
      const result = await work();
      const quiet = await wireQuiet(this.peer, QUIET_MS, QUIET_TIMEOUT_MS);
      return {
        ...result,
        wireTotal: this.peer.wire.total() - totalBefore,
        wireDevice: busiestDevice(this.peer, before, wireByLink(this.peer)),
        usage: await usage.stop(),
        note: quiet ? result.note : `${result.note}; the wire was still busy ${QUIET_TIMEOUT_MS / 1000} s after`,
      };
    } catch (err) {
      await usage.stop();
      throw err;
    }
  }
}

// ---- workloads ----------------------------------------------------------------------

/** A row of the tables: one timed change. */
interface RowSpec {
  key: string;
  title: string;
  /** The bytes a change of this row must move at least; the wire target applies when given. */
  changed?: { bytes: number; what: string };
  /** The latency row's figure is a p50 with its own target. */
  latency?: boolean;
}

/** The physical limits of one row, seconds. */
interface Limits {
  cp?: { seconds: number; what: string };
  sha?: { seconds: number; what: string };
}

interface Workload {
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

const cpOf = (seconds: number, what: string): Limits['cp'] => ({ seconds, what });

async function treeLimits(root: string, files: readonly FileSpec[], scratch: string): Promise<Limits> {
  return {
    cp: cpOf(await bestOf(LIMIT_RUNS, () => cpSeconds(root, scratch)), 'cp -r + sync'),
    sha: { seconds: await bestOf(LIMIT_RUNS, () => sha256Seconds(root, files)), what: 'sha256 of every file' },
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
      const sha = { seconds: await bestOf(LIMIT_RUNS, () => timedSeconds(() => hashFile(file))), what: `sha256 of the ${size(z.bytes)} file` };
      return new Map([
        ['large', { cp: cpOf(await bestOf(LIMIT_RUNS, () => cpSeconds(file, `${file}.cp`)), 'cp + sync'), sha }],
        // Finding the change means hashing the whole file again; writing it, only those bytes.
        ['patch', { cp: cpOf(await bestOf(LIMIT_RUNS, () => writeInPlaceSeconds(file, patch.at, patch.data)), `write ${size(z.patchBytes)} in place + fdatasync`), sha }],
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
            cp: cpOf(await bestOf(LIMIT_RUNS, () => cpSeconds(file, `${file}.cp`)), 'cp + sync of the file'),
            sha: { seconds: await bestOf(LIMIT_RUNS, () => timedSeconds(() => hashFile(file))), what: 'sha256 of the file' },
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
      return new Map([['latency', { cp: cpOf(await bestOf(LIMIT_RUNS, () => writeInPlaceSeconds(file, 0, data)), `write ${size(z.bytes)} + fdatasync`) }]]);
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
          spawnSync('sync');
        });
        await rename(join(rootA, from), join(rootA, to));
        return s;
      });
      return new Map([['rename', { cp: cpOf(seconds, 'rename(2) + sync') }]]);
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
        ['restart', { cp: cpOf(await bestOf(LIMIT_RUNS, () => timedSeconds(() => statTree(rootA, reserved))), 'lstat walk of the tree') }],
      ]);
    },
  };
}

const WORKLOAD_OF: Record<WorkloadName, (z: Sizes) => Workload> = {
  small: (z) => smallFiles(z.small),
  large: (z) => largeFile(z.large),
  insert: (z) => insertion(z.insert),
  latency: (z) => latency(z.latency),
  rename: (z) => renameDir(z.rename),
  restart: (z) => restartBoth(z.restart),
};

// ---- running ------------------------------------------------------------------------

interface Options {
  workloads: WorkloadName[];
  peers: PeerName[];
  quick: boolean;
  keep: boolean;
  json: string;
  syncthing: string;
  workDir: string;
}

/** A row's figures: per peer an outcome or why it failed, and the limits. */
interface Result {
  spec: RowSpec;
  peers: Partial<Record<PeerName, Outcome | { failed: string }>>;
  limits: Limits;
}

function startPeer(name: PeerName, dir: string, o: Options): Promise<Peer> {
  if (name === 'syncthing') return startSyncthingPeer(dir, o.syncthing);
  return startFerryPeer(dir, {
    logLevel: process.env.BENCH_SYNC_LOG_LEVEL ?? 'info',
    nodeArgs: (process.env.BENCH_SYNC_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  });
}

/**
 * One workload on every peer in turn, each in a fresh directory; the limits on the first
 * peer's folder A once it has stopped. A peer's failure becomes its cells in the table, so
 * the rest still runs.
 */
async function runWorkload(name: WorkloadName, o: Options): Promise<Result[]> {
  const workload = WORKLOAD_OF[name](o.quick ? QUICK : FULL);
  const results: Result[] = workload.rows.map((spec) => ({ spec, peers: {}, limits: {} }));
  let limitsTaken = false;
  for (const peerName of o.peers) {
    const dir = join(o.workDir, `${name}-${peerName}`);
    await mkdir(dir, { recursive: true });
    note(`${name} on ${peerName}…`);
    let peer: Peer | undefined;
    try {
      peer = await startPeer(peerName, dir, o);
      const outcomes = await workload.run(new Session(peer, dir));
      for (const r of results) {
        const out = outcomes.get(r.spec.key);
        if (out) r.peers[peerName] = out;
        if (out) note(`  ${r.spec.title.trim()}: ${out.shown ?? duration(out.seconds)}; wire ${size(out.wireTotal)}`);
      }
    } catch (err) {
      const message = (err as Error).message;
      note(`  ${name} failed on ${peerName}: ${message}`);
      if (peer) note(await peer.describe());
      for (const r of results) r.peers[peerName] ??= { failed: message.split('\n')[0]! };
    } finally {
      await peer?.stop();
    }
    if (!limitsTaken && results.every((r) => r.peers[peerName] && !('failed' in r.peers[peerName]))) {
      const limits = await workload.limits(join(dir, 'root-a'));
      for (const r of results) r.limits = limits.get(r.spec.key) ?? {};
      limitsTaken = true;
    }
    if (!o.keep) await rm(dir, { recursive: true, force: true });
  }
  return results;
}

// ---- the tables ---------------------------------------------------------------------

function outcome(r: Result, p: PeerName): Outcome | undefined {
  const o = r.peers[p];
  return o && !('failed' in o) ? o : undefined;
}

function cell(r: Result, p: PeerName, show: (o: Outcome) => string): string {
  const o = r.peers[p];
  if (!o) return '—';
  return 'failed' in o ? 'failed' : show(o);
}

const figure = (o: Outcome): string => o.shown ?? duration(o.seconds);
const MiBof = (kib: number | undefined): string => (kib === undefined ? '—' : `${(kib / 1024).toFixed(0)}`);
const devicesPeak = (o: Outcome): number => Math.max(o.usage.peakKiB.get('A') ?? 0, o.usage.peakKiB.get('B') ?? 0);

function mark(met: boolean | undefined): string {
  return met === undefined ? '—' : met ? 'ok' : 'MISS';
}

/** Time: Ferry at most half of Syncthing's; the latency row also its p50 under 200 ms. */
function timeVerdict(r: Result): boolean | undefined {
  const f = outcome(r, 'ferry');
  const s = outcome(r, 'syncthing');
  const ratio = f && s ? f.seconds <= TARGETS.timeRatio * s.seconds : undefined;
  if (!r.spec.latency || !f) return ratio;
  const p50 = f.seconds * 1000 < TARGETS.p50Ms;
  return ratio === undefined ? p50 : ratio && p50;
}

function limitCell(r: Result): string {
  const f = outcome(r, 'ferry');
  const { cp, sha } = r.limits;
  if (!cp && !sha) return '—';
  const vs = (l: { seconds: number }): string => (f && !r.spec.latency ? ` (${(f.seconds / l.seconds).toFixed(1)}×)` : '');
  return [cp ? `cp ${duration(cp.seconds)}${vs(cp)}` : '', sha ? `sha ${duration(sha.seconds)}${vs(sha)}` : ''].filter(Boolean).join(', ');
}

function timeTable(results: readonly Result[]): string {
  return grid(
    ['workload', 'Ferry', 'Syncthing', 'Ferry/Syncthing', 'limit (Ferry ×)', 'target', 'ok'],
    results.map((r) => {
      const f = outcome(r, 'ferry');
      const s = outcome(r, 'syncthing');
      const target = r.spec.latency ? `≤ ${TARGETS.timeRatio}×, p50 < ${TARGETS.p50Ms} ms` : `≤ ${TARGETS.timeRatio}×`;
      return [r.spec.title, cell(r, 'ferry', figure), cell(r, 'syncthing', figure), f && s ? `${(f.seconds / s.seconds).toFixed(2)}` : '—', limitCell(r), target, mark(timeVerdict(r))];
    }),
  );
}

function wireVerdict(r: Result): boolean | undefined {
  const f = outcome(r, 'ferry');
  return f && r.spec.changed ? f.wireDevice <= TARGETS.wireFactor * r.spec.changed.bytes : undefined;
}

function rssVerdict(r: Result): boolean | undefined {
  const f = outcome(r, 'ferry');
  const s = outcome(r, 'syncthing');
  return f && s ? devicesPeak(f) < devicesPeak(s) : undefined;
}

function resourceTable(results: readonly Result[]): string {
  const wire = (o: Outcome): string => `${size(o.wireDevice)} (${size(o.wireTotal)})`;
  const rss = (o: Outcome): string => {
    const server = o.usage.peakKiB.get('server');
    return `${MiBof(o.usage.peakKiB.get('A'))} / ${MiBof(o.usage.peakKiB.get('B'))}${server === undefined ? '' : ` / ${MiBof(server)}`}`;
  };
  return grid(
    ['workload', 'changed', 'Ferry wire', 'Syncthing wire', `≤ ${TARGETS.wireFactor}× changed`, 'Ferry RSS MiB A/B/server', 'Syncthing RSS MiB A/B', 'RSS below'],
    results.map((r) => [
      r.spec.title,
      r.spec.changed ? size(r.spec.changed.bytes) : '—',
      cell(r, 'ferry', wire),
      cell(r, 'syncthing', wire),
      mark(wireVerdict(r)),
      cell(r, 'ferry', rss),
      cell(r, 'syncthing', rss),
      mark(rssVerdict(r)),
    ]),
  );
}

function cpuNote(o: Outcome): string {
  return [...o.usage.cpuSeconds].map(([role, s]) => `${role} ${s.toFixed(1)} s`).join(', ');
}

function notes(results: readonly Result[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    out.push(`  ${r.spec.title.trim()}:`);
    for (const p of PEERS) {
      const o = r.peers[p];
      if (!o) continue;
      out.push(`    ${p}: ${'failed' in o ? `FAILED: ${o.failed}` : `${o.note}; CPU ${cpuNote(o)}`}`);
    }
    const limits = [r.limits.cp, r.limits.sha].filter(Boolean).map((l) => `${l!.what} ${duration(l!.seconds)}`);
    if (limits.length) out.push(`    limits (best of ${LIMIT_RUNS}): ${limits.join('; ')}`);
    if (r.spec.changed) out.push(`    changed: ${size(r.spec.changed.bytes)}, ${r.spec.changed.what}`);
  }
  return out;
}

const LEGEND = [
  'time: from the end of the change in A until B held the same tree (paths, sizes, SHA-256), looked at from outside;',
  '  restart: from spawning every process of the peer until both sides said they were connected and idle.',
  'limit: the same data on the same disk in the same run: cp = cp + sync (for an edit: writing the changed bytes + fdatasync),',
  '  sha = SHA-256 of it in Node; (Ferry ×) is Ferry\'s time over that limit.',
  'wire: TCP payload through the counting proxies every connection of the peer goes through: the busiest device\'s bytes sent +',
  '  received, in brackets all of the peer\'s (Ferry: A↔server + B↔server; Syncthing: A↔B, so both figures are the same).',
  'RSS: peak (VmHWM, reset at the start of each span, read every 250 ms) of each process; "RSS below" compares the larger device (A or B),',
  '  leaving Ferry\'s server out (Syncthing has none; its figure is shown).',
].join('\n');

/** The commit measured, so runs can be compared; '' outside a git checkout. */
function commitInfo(): string {
  const git = (...args: string[]): string => spawnSync('git', args, { encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = git('rev-parse', '--short', 'HEAD');
  if (!head) return '';
  return `commit: ${head}${git('status', '--porcelain', '--', 'src').length > 0 ? ' with uncommitted changes in src/' : ''}`;
}

function toJson(results: readonly Result[], header: Record<string, unknown>): string {
  const outcomeJson = (o: Outcome | { failed: string } | undefined): unknown => {
    if (!o || 'failed' in o) return o;
    return { ...o, usage: { peakKiB: Object.fromEntries(o.usage.peakKiB), cpuSeconds: Object.fromEntries(o.usage.cpuSeconds) } };
  };
  const rows = results.map((r) => ({
    key: r.spec.key,
    title: r.spec.title.trim(),
    changedBytes: r.spec.changed?.bytes,
    ferry: outcomeJson(r.peers.ferry),
    syncthing: outcomeJson(r.peers.syncthing),
    limits: r.limits,
    verdicts: { time: timeVerdict(r), wire: wireVerdict(r), rss: rssVerdict(r) },
  }));
  return JSON.stringify({ ...header, targets: TARGETS, rows }, null, 2);
}

// ---- main ---------------------------------------------------------------------------

function options(): Omit<Options, 'workDir'> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', multiple: true },
      peer: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
      syncthing: { type: 'string', default: 'syncthing' },
    },
  });
  const list = <T extends string>(given: string[] | undefined, all: readonly T[], what: string): T[] => {
    const names = (given ?? []).flatMap((g) => g.split(',')).filter(Boolean);
    for (const n of names) if (!(all as readonly string[]).includes(n)) throw new Error(`unknown ${what} '${n}'; choose from ${all.join(', ')}`);
    return names.length ? all.filter((a) => names.includes(a)) : [...all];
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return {
    workloads: list(values.only, WORKLOADS, 'workload'),
    peers: list(values.peer, PEERS, 'peer'),
    quick: values.quick,
    keep: values.keep,
    json: resolve(values.json ?? join('bench-results', `compare-${stamp}${values.quick ? '-quick' : ''}.json`)),
    syncthing: values.syncthing,
  };
}

async function main(): Promise<void> {
  // Ctrl-C or a kill still runs the 'exit' handlers that stop every child process.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const chosen = options();
  const version = chosen.peers.includes('syncthing') ? syncthingVersion(chosen.syncthing) : undefined;
  if (chosen.peers.includes('syncthing') && !version) {
    note(`SKIPPING SYNCTHING: '${chosen.syncthing}' does not run (not installed? e.g. apt install syncthing, or --syncthing PATH); measuring Ferry alone`);
    chosen.peers = chosen.peers.filter((p) => p !== 'syncthing');
  }
  if (chosen.peers.length === 0) return;
  const loadAtStart = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'ferry-bench-compare-'));
  note(`work in ${workDir}${chosen.quick ? ' (quick sizes)' : ''}`);
  const results: Result[] = [];
  try {
    for (const w of chosen.workloads) results.push(...(await runWorkload(w, { ...chosen, workDir })));
  } finally {
    if (chosen.keep) note(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
  const machine = machineInfo(loadAtStart);
  const header = [
    '',
    `Ferry vs Syncthing${chosen.quick ? ' — QUICK SIZES (a smoke run, not the benchmark)' : ''}`,
    ...machine,
    `disk:   ${workDir}`,
    `syncthing: ${version ?? 'not run'}`,
    commitInfo(),
  ].filter(Boolean);
  const text = [...header, '', timeTable(results), '', resourceTable(results), '', 'notes:', ...notes(results), '', LEGEND, ''].join('\n');
  process.stdout.write(text);
  await mkdir(dirname(chosen.json), { recursive: true });
  await writeFile(chosen.json, toJson(results, { date: new Date().toISOString(), quick: chosen.quick, machine, syncthing: version, commit: commitInfo(), peers: chosen.peers }));
  note(`wrote ${chosen.json}`);
}

await main();
