/**
 * Sync benchmark: a real `ferry serve` and two real `ferry sync` processes (A and B) on
 * loopback, each client on its own temp folder and state directory, watched from outside.
 * For each workload it changes folder A and times until folder B holds the same tree
 * (paths, sizes, SHA-256), reads the bytes the server moved from its /metrics, and takes
 * each client's peak RSS (VmHWM) from /proc. Beside the figures it prints the physical
 * limits of the same machine on the same data (cp, SHA-256, write + fsync). It asserts
 * nothing and is not part of `npm test`.
 *
 *   npm run bench:sync                                  all workloads
 *   node dist/bench/sync.js latency rename              some of them (small, large, latency, rename, restart)
 *   BENCH_SYNC_LOG_LEVEL=debug                          the clients' log level (default info)
 *   BENCH_SYNC_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
 *                                                       extra node flags for the client processes
 *   BENCH_SYNC_KEEP=1                                   keep the temp folders and client logs
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as admin from '../src/server/admin.js';
import { openStores } from '../src/server/server.js';
import { ClientProcess, summarize, type ClientOptions } from './support/client-process.js';
import { grid, machineInfo, percentile, whole } from './support/report.js';
import { readCpuSeconds, readMetrics, startServerProcess, type ServerProcess } from './support/server-process.js';
import {
  hashFile,
  inParallel,
  nestedLayout,
  patchFile,
  renamed,
  seededRandom,
  sha256,
  statTree,
  TreeWatcher,
  writeLargeFile,
  writeTree,
  type FileSpec,
  type Tree,
} from './support/tree.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** 10 × 10 directories of 50 files: 5,000 files of 1–32 KiB. */
const SMALL = { dirs: 10, subdirs: 10, perDir: 50, min: 1 * KiB, max: 32 * KiB, seed: 1 };
const LARGE = { bytes: 1 * GiB, patchBytes: 1 * MiB };
const LATENCY = { saves: 20, bytes: 4 * KiB, pauseMs: 200 };
const RENAME = { files: 1000, min: 1 * KiB, max: 8 * KiB, seed: 2 };
/** 20 × 10 directories of 100 files: 20,000 files of 1–4 KiB. */
const RESTART = { dirs: 20, subdirs: 10, perDir: 100, min: 1 * KiB, max: 4 * KiB, seed: 3 };
/** Generous: a run that needs them is a finding, and the table says so. */
const TIMEOUT_MS = { start: 30_000, idle: 120_000, small: 600_000, large: 900_000, patch: 600_000, save: 30_000, rename: 300_000, setup: 1_800_000, restart: 600_000 };
const TARGETS = { p50Ms: 300, rssMiB: 300 };

const WORKLOADS = ['small', 'large', 'latency', 'rename', 'restart'] as const;
type Workload = (typeof WORKLOADS)[number];

interface Bench {
  server: ServerProcess;
  workDir: string;
  tokens: { a: string; b: string };
  logLevel: string;
  nodeArgs: string[];
  keep: boolean;
}

interface SyncRow {
  workload: string;
  time: string;
  /** The time against the physical limits measured in the same run. */
  vsLimits: string;
  wire: string;
  rss: string;
  target: string;
  verdict: 'ok' | 'miss' | '—';
  note?: string;
}

interface Wire {
  in: number;
  out: number;
}

interface Measured {
  /** From the end of the change in A until B held the same tree. */
  seconds: number;
  /** How long making the change in A took. */
  changeSeconds: number;
  wire: Wire;
  peakA: number;
  peakB: number;
  /** The tree A held after the change. */
  tree: Tree;
  cpu: Cpu;
}

/** CPU seconds (user + system, all threads) each process used over a workload; the bench's own from the end of the change. */
interface Cpu {
  a: number;
  b: number;
  server: number;
  bench: number;
}

/** Two clients on one server folder, and a watcher on B's folder that keeps its hashes between looks. */
interface Pair {
  a: ClientProcess;
  b: ClientProcess;
  dir: string;
  watcher: TreeWatcher;
}

function note(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

// ---- formatting ---------------------------------------------------------------------

function seconds(s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`;
}

function bytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / KiB).toFixed(1)} KiB`;
}

function wireCell(w: Wire): string {
  return `${bytes(w.in)} / ${bytes(w.out)}`;
}

function rssCell(aKiB: number, bKiB: number): string {
  return `A ${(aKiB / 1024).toFixed(0)} / B ${(bKiB / 1024).toFixed(0)} MiB`;
}

function times(figure: number, limit: number): string {
  return `${(figure / limit).toFixed(1)}×`;
}

// ---- setup --------------------------------------------------------------------------

/** A user with one device token per client, and a folder per workload so each starts empty. */
async function seedDataDir(dataDir: string): Promise<{ a: string; b: string }> {
  const { store } = await openStores(dataDir);
  try {
    await admin.addUser(store, 'bench', 'bench-password');
    const a = (await admin.createToken(store, 'bench', 'bench A')).token;
    const b = (await admin.createToken(store, 'bench', 'bench B')).token;
    for (const w of WORKLOADS) await admin.createFolder(store, w, 'bench');
    return { a, b };
  } finally {
    store.close();
  }
}

function clientOptions(bench: Bench, folder: string, dir: string, name: 'a' | 'b'): ClientOptions {
  return {
    server: bench.server.url,
    token: bench.tokens[name],
    folder,
    root: join(dir, `root-${name}`),
    stateDir: join(dir, `state-${name}`),
    logFile: join(dir, `client-${name}.log`),
    logLevel: bench.logLevel,
    nodeArgs: bench.nodeArgs,
  };
}

/**
 * Fresh clients A and B on the workload's own folder, so each workload's peak RSS and
 * log are its own. On failure it prints what the clients were doing before stopping them.
 */
async function withPair<T>(bench: Bench, folder: Workload, run: (pair: Pair) => Promise<T>): Promise<T> {
  const dir = join(bench.workDir, folder);
  await mkdir(dir, { recursive: true });
  const oa = clientOptions(bench, folder, dir, 'a');
  const ob = clientOptions(bench, folder, dir, 'b');
  const a = await ClientProcess.start('A', oa, TIMEOUT_MS.start);
  const b = await ClientProcess.start('B', ob, TIMEOUT_MS.start).catch(async (err: unknown) => {
    await a.stop();
    throw err;
  });
  const pair: Pair = { a, b, dir, watcher: new TreeWatcher(ob.root) };
  try {
    await bothIdle(pair);
    return await run(pair);
  } catch (err) {
    await describeFailure(pair);
    throw err;
  } finally {
    await Promise.all([pair.a.stop(), pair.b.stop()]);
    if (!bench.keep) await rm(dir, { recursive: true, force: true });
  }
}

async function bothIdle(pair: Pair): Promise<void> {
  await Promise.all([pair.a.waitIdle(TIMEOUT_MS.idle), pair.b.waitIdle(TIMEOUT_MS.idle)]);
}

async function describeFailure(pair: Pair): Promise<void> {
  for (const c of [pair.a, pair.b]) {
    const state = await c.state().then(summarize, (err: Error) => `no state: ${err.message}`);
    note(`client ${c.name} (pid ${c.pid}, log ${c.options.logFile}): ${state}`);
    note(`client ${c.name} last log lines:\n${c.tail()}`);
  }
}

// ---- measuring ----------------------------------------------------------------------

async function wireBytes(server: ServerProcess): Promise<Wire> {
  const m = await readMetrics(server.url);
  return { in: m.get('ferry_bytes_in_total') ?? NaN, out: m.get('ferry_bytes_out_total') ?? NaN };
}

function wireSince(before: Wire, after: Wire): Wire {
  return { in: after.in - before.in, out: after.out - before.out };
}

/**
 * Makes a change in A (which returns the tree A then holds) and times from its end until
 * B holds the same tree. The wire figure is taken once both clients are idle again, so it
 * covers the whole exchange.
 */
async function measure(bench: Bench, pair: Pair, change: () => Promise<Tree>, timeoutMs: number): Promise<Measured> {
  const before = await wireBytes(bench.server);
  await Promise.all([pair.a.resetPeak(), pair.b.resetPeak()]);
  const cpuBefore = await cpuNow(bench, pair);
  const started = performance.now();
  const expected = await change();
  const changed = performance.now();
  // The bench's own CPU counts from here: writing the change is not watching.
  const benchAtChange = ownCpuSeconds();
  const convergedAt = await pair.watcher.waitFor(expected, timeoutMs);
  const cpu = { ...cpuSince(cpuBefore, await cpuNow(bench, pair)), bench: ownCpuSeconds() - benchAtChange };
  await bothIdle(pair);
  const wire = wireSince(before, await wireBytes(bench.server));
  const [peakA, peakB] = await Promise.all([pair.a.peakKiB(), pair.b.peakKiB()]);
  return { seconds: (convergedAt - changed) / 1000, changeSeconds: (changed - started) / 1000, wire, peakA, peakB, tree: expected, cpu };
}

async function cpuNow(bench: Bench, pair: Pair): Promise<Cpu> {
  const [a, b, server] = await Promise.all([readCpuSeconds(pair.a.pid), readCpuSeconds(pair.b.pid), bench.server.cpuSeconds()]);
  return { a, b, server, bench: ownCpuSeconds() };
}

function ownCpuSeconds(): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1e6;
}

function cpuSince(before: Cpu, after: Cpu): Cpu {
  return { a: after.a - before.a, b: after.b - before.b, server: after.server - before.server, bench: after.bench - before.bench };
}

/** On a small machine the processes share the cores: CPU time shows who the wall time went to. */
function cpuNote(c: Cpu): string {
  return `CPU over it: A ${c.a.toFixed(1)} s, B ${c.b.toFixed(1)} s, server ${c.server.toFixed(1)} s, bench watching B ${c.bench.toFixed(1)} s (writing A not counted)`;
}

/** Runs done for a physical limit: the best of them, since other work on the machine only ever adds time. */
const LIMIT_RUNS = 3;

async function bestOf(runs: number, measureOnce: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, await measureOnce());
  return best;
}

async function timedSeconds(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

function runCommand(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    proc.once('error', reject);
    proc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

/**
 * `cp -r` of the same data to a fresh place on the same disk, then `sync`: the copy on disk,
 * as the engine's downloads are (they are fsync-ed). A plain cp only fills the page cache
 * and swings tenfold with whatever writeback is pending. The dirty pages the workload left
 * are flushed first, untimed; the copy is removed afterwards.
 */
async function cpSeconds(source: string, target: string): Promise<number> {
  await runCommand('sync', []);
  const s = await timedSeconds(async () => {
    await runCommand('cp', ['-r', source, target]);
    await runCommand('sync', []);
  });
  await rm(target, { recursive: true, force: true });
  return s;
}

/** Reads and hashes every file one after another, as a scanner must. */
async function sha256Seconds(root: string, files: readonly FileSpec[]): Promise<number> {
  return timedSeconds(async () => {
    for (const f of files) sha256(await readFile(join(root, f.path)));
  });
}

/**
 * Writes each file to a fresh place and fsyncs it, four at a time: what a client that
 * flushes every download before renaming it into place can't go below.
 */
async function fsyncWriteSeconds(root: string, files: readonly FileSpec[], target: string): Promise<number> {
  await mkdir(target, { recursive: true });
  const s = await timedSeconds(() =>
    inParallel(files.length, 4, async (i) => {
      const data = await readFile(join(root, files[i]!.path));
      const handle = await open(join(target, `${i}.bin`), 'w');
      await handle.write(data);
      await handle.datasync();
      await handle.close();
    }),
  );
  await rm(target, { recursive: true, force: true });
  return s;
}

// ---- workloads ----------------------------------------------------------------------

function totalBytes(files: readonly FileSpec[]): number {
  return files.reduce((sum, f) => sum + f.size, 0);
}

/** The wire in and out against the payload: ideally A uploads it once and B downloads it once. */
function wireNote(w: Wire, payload: number): string {
  return `server received ${(w.in / payload).toFixed(2)}× and sent ${(w.out / payload).toFixed(2)}× the ${bytes(payload)} payload`;
}

async function smallFiles(bench: Bench): Promise<SyncRow[]> {
  const { dirs, subdirs, perDir, min, max, seed } = SMALL;
  const layout = nestedLayout('', dirs, subdirs, perDir, min, max, seed);
  const payload = totalBytes(layout.files);
  return withPair(bench, 'small', async (pair) => {
    const root = pair.a.options.root;
    const m = await measure(bench, pair, () => writeTree(root, layout), TIMEOUT_MS.small);
    const cp = await bestOf(LIMIT_RUNS, () => cpSeconds(root, join(pair.dir, 'cp-copy')));
    const hash = await bestOf(LIMIT_RUNS, () => sha256Seconds(root, layout.files));
    const fsync = await bestOf(LIMIT_RUNS, () => fsyncWriteSeconds(root, layout.files, join(pair.dir, 'fsync-copy')));
    const name = `${whole(layout.files.length)} small files`;
    return [
      {
        workload: name,
        time: seconds(m.seconds),
        vsLimits: `${times(m.seconds, cp)} cp, ${times(m.seconds, hash)} sha`,
        wire: wireCell(m.wire),
        rss: rssCell(m.peakA, m.peakB),
        target: 'none set',
        verdict: '—',
        note:
          `${bytes(payload)} of random 1–32 KiB files in ${layout.dirs.length} nested directories, written into A in ` +
          `${seconds(m.changeSeconds)} (8 at a time); timed from the last write until B held the same tree; ${wireNote(m.wire, payload)}; ${cpuNote(m.cpu)}`,
      },
      limitRow('  cp -r + sync, same disk', cp, `best of ${LIMIT_RUNS}, each after an untimed sync; the page cache still holds the source`),
      limitRow('  sha256 (Node)', hash, `best of ${LIMIT_RUNS}; readFile + createHash, one file after another`),
      limitRow('  write + fsync each (Node)', fsync, `best of ${LIMIT_RUNS}; each file written and datasync-ed, 4 at a time, as a client that flushes every download`),
    ];
  });
}

/** A tree of one file at the root. */
function oneFile(path: string, size: number, hash: string): Tree {
  return new Map([[path, { kind: 'file', size, sha256: hash }]]);
}

function limitRow(workload: string, s: number, note: string): SyncRow {
  return { workload, time: seconds(s), vsLimits: '(limit)', wire: '—', rss: '—', target: '—', verdict: '—', note };
}

async function largeFile(bench: Bench): Promise<SyncRow[]> {
  return withPair(bench, 'large', async (pair) => {
    const file = join(pair.a.options.root, 'big.bin');
    const full = await measure(bench, pair, async () => oneFile('big.bin', LARGE.bytes, await writeLargeFile(file, LARGE.bytes)), TIMEOUT_MS.large);
    const cp = await bestOf(LIMIT_RUNS, () => cpSeconds(file, join(pair.dir, 'cp-copy.bin')));
    const hash = await bestOf(LIMIT_RUNS, () => timedSeconds(() => hashFile(file)));
    // The edit and the hash it leads to are known before the clock starts.
    const patch = { at: Math.floor(LARGE.bytes / 2), data: randomBytes(LARGE.patchBytes) };
    const patchedHash = await hashFile(file, patch);
    const edit = await measure(bench, pair, async () => {
      await patchFile(file, patch);
      return oneFile('big.bin', LARGE.bytes, patchedHash);
    }, TIMEOUT_MS.patch);
    const peak = Math.max(full.peakA, full.peakB) / 1024;
    return [
      {
        workload: `${bytes(LARGE.bytes)} file`,
        time: seconds(full.seconds),
        vsLimits: `${times(full.seconds, cp)} cp, ${times(full.seconds, hash)} sha`,
        wire: wireCell(full.wire),
        rss: rssCell(full.peakA, full.peakB),
        target: `RSS < ${TARGETS.rssMiB} MiB`,
        verdict: peak < TARGETS.rssMiB ? 'ok' : 'miss',
        note:
          `random bytes written into A 1 MiB at a time in ${seconds(full.changeSeconds)}; the RSS target is the 2 GiB-class ` +
          `streaming one, held against the larger client's peak; ${wireNote(full.wire, LARGE.bytes)}; ${cpuNote(full.cpu)}`,
      },
      limitRow('  cp + sync, same disk', cp, `best of ${LIMIT_RUNS}, each after an untimed sync; the page cache still holds the source`),
      limitRow('  sha256 (Node)', hash, `best of ${LIMIT_RUNS}; read 1 MiB at a time into createHash`),
      {
        workload: `  ${bytes(LARGE.patchBytes)} changed in its middle`,
        time: seconds(edit.seconds),
        vsLimits: `${times(edit.seconds, cp)} cp, ${times(edit.seconds, hash)} sha`,
        wire: wireCell(edit.wire),
        rss: rssCell(edit.peakA, edit.peakB),
        target: 'none set',
        verdict: '—',
        note:
          `${bytes(LARGE.patchBytes)} of random bytes overwritten in place at offset ${bytes(patch.at)}; with content-defined chunks ` +
          `only the chunks around it should cross the wire; ${wireNote(edit.wire, LARGE.patchBytes)}; ${cpuNote(edit.cpu)}`,
      },
    ];
  });
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

async function latency(bench: Bench): Promise<SyncRow[]> {
  const { saves, bytes: size, pauseMs } = LATENCY;
  return withPair(bench, 'latency', async (pair) => {
    const fileA = join(pair.a.options.root, 'note.txt');
    const fileB = join(pair.b.options.root, 'note.txt');
    // The file exists on both sides first, so every timed save is an edit.
    await measure(bench, pair, async () => {
      const data = randomBytes(size);
      await writeFile(fileA, data);
      return oneFile('note.txt', size, sha256(data));
    }, TIMEOUT_MS.save);
    const before = await wireBytes(bench.server);
    await Promise.all([pair.a.resetPeak(), pair.b.resetPeak()]);
    const latencies: number[] = [];
    for (let i = 0; i < saves; i++) {
      const data = randomBytes(size);
      await writeFile(fileA, data);
      const written = performance.now();
      latencies.push((await waitContent(fileB, sha256(data), TIMEOUT_MS.save)) - written);
      await bothIdle(pair);
      await sleep(pauseMs);
    }
    const wire = wireSince(before, await wireBytes(bench.server));
    const [peakA, peakB] = await Promise.all([pair.a.peakKiB(), pair.b.peakKiB()]);
    latencies.sort((x, y) => x - y);
    const p50 = percentile(latencies, 50);
    return [
      {
        workload: `${size / KiB} KiB save → other client`,
        time: `p50 ${p50.toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms`,
        vsLimits: '—',
        wire: wireCell(wire),
        rss: rssCell(peakA, peakB),
        target: `p50 < ${TARGETS.p50Ms} ms`,
        verdict: p50 < TARGETS.p50Ms ? 'ok' : 'miss',
        note:
          `${saves} saves (writeFile in place) of one file, each timed from the write's completion until B's copy held the new ` +
          `content (a stat every 2 ms); both clients idle and a ${pauseMs} ms pause between saves; ` +
          `min ${latencies[0]!.toFixed(0)} ms, max ${latencies[latencies.length - 1]!.toFixed(0)} ms; ${bytes(wire.in / saves)} in per save`,
      },
    ];
  });
}

/** One directory holding `files` files directly. */
function flatLayout(dir: string, files: number, min: number, max: number, seed: number): { dirs: string[]; files: FileSpec[] } {
  const random = seededRandom(seed);
  const specs = Array.from({ length: files }, (_, i) => ({ path: `${dir}/img${String(i).padStart(4, '0')}.jpg`, size: min + Math.floor(random() * (max - min + 1)) }));
  return { dirs: [dir], files: specs };
}

async function renameDir(bench: Bench): Promise<SyncRow[]> {
  const { files, min, max, seed } = RENAME;
  const layout = flatLayout('album', files, min, max, seed);
  return withPair(bench, 'rename', async (pair) => {
    const root = pair.a.options.root;
    const setup = await measure(bench, pair, () => writeTree(root, layout), TIMEOUT_MS.setup);
    const m = await measure(bench, pair, async () => {
      await rename(join(root, 'album'), join(root, 'album 2024'));
      return renamed(setup.tree, 'album', 'album 2024');
    }, TIMEOUT_MS.rename);
    return [
      {
        workload: `rename a dir of ${whole(files)} files`,
        time: seconds(m.seconds),
        vsLimits: '—',
        wire: wireCell(m.wire),
        rss: rssCell(m.peakA, m.peakB),
        target: 'none set',
        verdict: '—',
        note:
          `one rename(2) in A of a directory holding ${whole(files)} files of 1–8 KiB (${bytes(totalBytes(layout.files))}); a move ` +
          `should cross the wire as one op and download nothing; ${cpuNote(m.cpu)}. Setup: the files first synced in ${seconds(setup.seconds)}`,
      },
    ];
  });
}

async function restart(bench: Bench): Promise<SyncRow[]> {
  const { dirs, subdirs, perDir, min, max, seed } = RESTART;
  const layout = nestedLayout('', dirs, subdirs, perDir, min, max, seed);
  const count = whole(layout.files.length);
  return withPair(bench, 'restart', async (pair) => {
    const first = await measure(bench, pair, () => writeTree(pair.a.options.root, layout), TIMEOUT_MS.setup);
    const statSeconds = await bestOf(LIMIT_RUNS, () => timedSeconds(() => statTree(pair.b.options.root)));
    await pair.b.stop();
    const before = await wireBytes(bench.server);
    pair.b = await ClientProcess.start('B', pair.b.options, TIMEOUT_MS.start);
    const idleAt = await pair.b.waitIdle(TIMEOUT_MS.restart);
    const wire = wireSince(before, await wireBytes(bench.server));
    const peakB = await pair.b.peakKiB();
    // A restart must leave the folder as it was; say so if it did not.
    const after = await pair.watcher.look(first.tree);
    const payload = totalBytes(layout.files);
    return [
      {
        workload: `${count} files, first sync`,
        time: seconds(first.seconds),
        vsLimits: '—',
        wire: wireCell(first.wire),
        rss: rssCell(first.peakA, first.peakB),
        target: 'none set',
        verdict: '—',
        note: `setup of the restart workload: ${bytes(payload)} of 1–4 KiB files in ${layout.dirs.length} nested directories; ${wireNote(first.wire, payload)}; ${cpuNote(first.cpu)}`,
      },
      {
        workload: `restart B, ${count} unchanged files`,
        time: seconds((idleAt - pair.b.spawnedAt) / 1000),
        vsLimits: `${times((idleAt - pair.b.spawnedAt) / 1000, statSeconds)} stat walk`,
        wire: wireCell(wire),
        rss: `B ${(peakB / 1024).toFixed(0)} MiB`,
        target: 'none set',
        verdict: '—',
        note:
          `from spawning \`ferry sync\` until its control endpoint said connected, idle and nothing pending (two looks 100 ms apart); ` +
          `an lstat walk of the same tree from Node (64 at a time, best of ${LIMIT_RUNS}) takes ${seconds(statSeconds)}` +
          (after.same ? '' : `; AFTER THE RESTART B'S TREE DIFFERS: ${after.diff}`),
      },
    ];
  });
}

// ---- main ---------------------------------------------------------------------------

function chosenWorkloads(): Set<Workload> {
  const args = process.argv.slice(2);
  for (const a of args) {
    if (!(WORKLOADS as readonly string[]).includes(a)) throw new Error(`unknown workload '${a}'; choose from ${WORKLOADS.join(', ')}`);
  }
  return new Set((args.length ? args : WORKLOADS) as Workload[]);
}

const RUNS: Record<Workload, (bench: Bench) => Promise<SyncRow[]>> = {
  small: smallFiles,
  large: largeFile,
  latency,
  rename: renameDir,
  restart,
};

/** Runs one workload; a failure becomes a row, so the others still run and print. */
async function step(bench: Bench, workload: Workload): Promise<SyncRow[]> {
  note(`${workload}…`);
  try {
    const rows = await RUNS[workload](bench);
    for (const r of rows) note(`  ${r.workload.trim()}: ${r.time}; wire ${r.wire}; RSS ${r.rss}`);
    return rows;
  } catch (err) {
    note(`  ${workload} failed: ${(err as Error).message}`);
    return [{ workload, time: 'failed', vsLimits: '—', wire: '—', rss: '—', target: '—', verdict: 'miss', note: (err as Error).message.split('\n')[0]! }];
  }
}

function render(rows: readonly SyncRow[]): string {
  return grid(
    ['workload', 'time to B', 'vs limits', 'wire in / out', 'peak RSS', 'target', 'ok/miss'],
    rows.map((r) => [r.workload, r.time, r.vsLimits, r.wire, r.rss, r.target, r.verdict]),
    rows.map((r) => ({ label: r.workload.trim(), note: r.note })),
  );
}

/** The commit measured, so runs can be compared; '' outside a git checkout. */
function commitInfo(): string {
  const git = (...args: string[]): string => spawnSync('git', args, { encoding: 'utf8' }).stdout?.trim() ?? '';
  const head = git('rev-parse', '--short', 'HEAD');
  if (!head) return '';
  return `commit: ${head}${git('status', '--porcelain', '--', 'src').length > 0 ? ' with uncommitted changes in src/' : ''}`;
}

async function main(): Promise<void> {
  const chosen = chosenWorkloads();
  const loadAtStart = loadavg();
  const workDir = await mkdtemp(join(tmpdir(), 'ferry-bench-sync-'));
  const keep = Boolean(process.env.BENCH_SYNC_KEEP);
  try {
    const dataDir = join(workDir, 'server');
    const tokens = await seedDataDir(dataDir);
    const server = await startServerProcess(dataDir);
    note(`server pid ${server.pid} at ${server.url}; work in ${workDir}`);
    const bench: Bench = {
      server,
      workDir,
      tokens,
      logLevel: process.env.BENCH_SYNC_LOG_LEVEL ?? 'info',
      nodeArgs: (process.env.BENCH_SYNC_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
      keep,
    };
    const rows: SyncRow[] = [];
    try {
      for (const w of WORKLOADS) if (chosen.has(w)) rows.push(...(await step(bench, w)));
    } finally {
      await server.stop();
    }
    const header = ['', 'Ferry sync benchmark: ferry serve + two ferry sync processes on loopback', ...machineInfo(loadAtStart), `disk:   ${workDir}`, commitInfo()].filter(Boolean);
    const legend = [
      'time to B: from the end of the change in A until B held the same tree · vs limits: that time over the physical limits below it (cp = cp + sync)',
      'wire: bytes into / out of the server (/metrics) · peak RSS: VmHWM of each client over the workload',
    ].join('\n');
    process.stdout.write([...header, '', render(rows), '', legend, ''].join('\n'));
  } finally {
    if (keep) note(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

await main();
