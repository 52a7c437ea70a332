/**
 * Server benchmark: commit throughput, feed fan-out latency and memory per idle connection,
 * measured against a real `ferry serve` child process. Prints figures next to their targets;
 * it asserts nothing and is not part of `npm test`.
 *
 *   npm run bench:server                      all workloads
 *   node dist/bench/server.js fanout idle     some of them (single, batch, fanout, idle)
 *   BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:server
 *                                             extra node flags for the server process
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as admin from '../src/server/admin.js';
import { openStores } from '../src/server/server.js';
import { BenchClient, putDir, putFile } from './support/client.js';
import { machineInfo, percentile, table, verdict, whole, type Row } from './support/report.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

const SINGLE = { commits: 20_000, connections: 8, inFlight: 64 };
const BATCH = { batches: 100, entries: 1000, connections: 4, inFlight: 2 };
const FANOUT = { subscribers: 1000, warmupRounds: 5, rounds: 50, pauseMs: 20, roundTimeoutMs: 10_000 };
const IDLE = { connections: 5000, settleMs: 3000 };
/** Small files all reuse these chunks, uploaded once, so commits measure the journal alone. */
const CHUNKS = { count: 64, bytes: 1024 };
/** Connections opened at once; more would overflow the server's listen backlog. */
const CONNECT_CONCURRENCY = 200;

const TARGETS = { commitsPerSec: 5000, fanoutP99Ms: 200, idleKiB: 40 };
const WORKLOADS = ['single', 'batch', 'fanout', 'idle'] as const;
type Workload = (typeof WORKLOADS)[number];

interface Seed {
  dataDir: string;
  token: string;
  folders: { throughput: number; fanout: number; idle: number };
}

interface Chunk {
  hash: string;
  size: number;
}

function note(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

/** Runs task(0..count-1) with at most `concurrency` of them pending at once. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
}

async function openClients(server: ServerProcess, seed: Seed, count: number, subscribeTo?: number): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  await inParallel(count, CONNECT_CONCURRENCY, async (i) => {
    const client = await BenchClient.open(server.wsUrl, seed.token);
    if (subscribeTo !== undefined) await client.subscribe(subscribeTo, 0);
    clients[i] = client;
  });
  return clients;
}

async function closeClients(clients: readonly BenchClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

/** A user, one device token shared by every bench connection, and a folder per workload. */
async function seedDataDir(): Promise<Seed> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
  const { store } = await openStores(dataDir);
  try {
    await admin.addUser(store, 'bench', 'bench-password');
    const { token } = await admin.createToken(store, 'bench', 'bench device');
    const folder = async (name: string): Promise<number> => (await admin.createFolder(store, name, 'bench')).id;
    return { dataDir, token, folders: { throughput: await folder('throughput'), fanout: await folder('fanout'), idle: await folder('idle') } };
  } finally {
    store.close();
  }
}

async function uploadChunks(server: ServerProcess, seed: Seed): Promise<Chunk[]> {
  const client = await BenchClient.open(server.wsUrl, seed.token);
  const upload = async (): Promise<Chunk> => ({
    hash: await client.upload(seed.folders.throughput, randomBytes(CHUNKS.bytes)),
    size: CHUNKS.bytes,
  });
  const chunks = await Promise.all(Array.from({ length: CHUNKS.count }, upload));
  await client.close();
  return chunks;
}

// ---- workloads ----------------------------------------------------------------------

/** Wall time and the server's CPU time over one run: CPU per op holds even on a busy machine. */
async function timed(server: ServerProcess, run: () => Promise<unknown>): Promise<{ seconds: number; cpuSeconds: number }> {
  const cpuBefore = await server.cpuSeconds();
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  return { seconds, cpuSeconds: (await server.cpuSeconds()) - cpuBefore };
}

function cpuNote(cpuSeconds: number, seconds: number, ops: number, unit: string): string {
  return `server CPU ${whole((cpuSeconds * 1e6) / ops)} µs/${unit}, ${whole((100 * cpuSeconds) / seconds)}% of one core`;
}

/** Many one-entry commits, pipelined on several connections. */
async function singleCommits(server: ServerProcess, seed: Seed, chunks: readonly Chunk[]): Promise<Row[]> {
  const { connections, inFlight } = SINGLE;
  const clients = await openClients(server, seed, connections);
  const perClient = Math.floor(SINGLE.commits / connections);
  const commits = perClient * connections;
  const { seconds, cpuSeconds } = await timed(server, () =>
    Promise.all(
      clients.map((client, c) =>
        inParallel(perClient, inFlight, (i) =>
          client.commit(seed.folders.throughput, [putFile(`single/c${c}/f${i}.txt`, chunks[i % chunks.length]!)]),
        ),
      ),
    ),
  );
  await closeClients(clients);
  const rate = commits / seconds;
  return [
    {
      workload: '1-entry commits',
      figure: `${whole(rate)} commits/s`,
      target: `≥ ${whole(TARGETS.commitsPerSec)}/s`,
      verdict: verdict(rate >= TARGETS.commitsPerSec),
      note:
        `${whole(commits)} puts of ${CHUNKS.bytes / 1024} KiB one-chunk files (${CHUNKS.count} chunks uploaded once before), ` +
        `${connections} connections × ${inFlight} commits in flight; ${cpuNote(cpuSeconds, seconds, commits, 'commit')}`,
    },
  ];
}

/** Commits of 1,000 entries each. */
async function batchCommits(server: ServerProcess, seed: Seed, chunks: readonly Chunk[]): Promise<Row[]> {
  const { entries, connections, inFlight } = BATCH;
  const clients = await openClients(server, seed, connections);
  const perClient = Math.floor(BATCH.batches / connections);
  const batches = perClient * connections;
  const ops = (c: number, b: number) =>
    Array.from({ length: entries }, (_, j) => putFile(`batch/c${c}/b${b}/f${j}.txt`, chunks[j % chunks.length]!));
  const { seconds, cpuSeconds } = await timed(server, () =>
    Promise.all(clients.map((client, c) => inParallel(perClient, inFlight, (b) => client.commit(seed.folders.throughput, ops(c, b))))),
  );
  await closeClients(clients);
  return [
    {
      workload: `${whole(entries)}-entry commits`,
      figure: `${whole((batches * entries) / seconds)} entries/s (${(batches / seconds).toFixed(1)} commits/s)`,
      target: 'none set',
      verdict: '—',
      note:
        `${batches} commits of ${whole(entries)} file puts, ${connections} connections × ${inFlight} in flight; ` +
        cpuNote(cpuSeconds, seconds, batches * entries, 'entry'),
    },
  ];
}

/** One commit's delivery to every subscriber: latencies (ms) from sending it to each `changes`. */
async function fanoutRound(committer: BenchClient, subscribers: readonly BenchClient[], folder: number, path: string): Promise<number[]> {
  const latencies: number[] = [];
  let sent = 0;
  const delivered = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${latencies.length} of ${subscribers.length} subscribers got the commit within ${FANOUT.roundTimeoutMs} ms`));
    }, FANOUT.roundTimeoutMs);
    const onChanges = (_: unknown, receivedAt: number): void => {
      latencies.push(receivedAt - sent);
      if (latencies.length < subscribers.length) return;
      clearTimeout(timer);
      resolve();
    };
    for (const s of subscribers) s.onChanges = onChanges;
  });
  sent = performance.now();
  await Promise.all([committer.commit(folder, [putDir(path)]), delivered]);
  return latencies;
}

async function fanout(server: ServerProcess, seed: Seed): Promise<Row[]> {
  const { subscribers: count, warmupRounds, rounds, pauseMs } = FANOUT;
  const folder = seed.folders.fanout;
  const subscribers = await openClients(server, seed, count, folder);
  const [committer] = await openClients(server, seed, 1);
  const all: number[] = [];
  for (let r = 0; r < warmupRounds + rounds; r++) {
    const latencies = await fanoutRound(committer!, subscribers, folder, `fanout-${r}`);
    // Warm-up rounds let the server's JIT compile the feed path before anything counts.
    if (r >= warmupRounds) all.push(...latencies);
    await sleep(pauseMs);
  }
  await closeClients([...subscribers, committer!]);
  all.sort((a, b) => a - b);
  const p50 = percentile(all, 50);
  const p99 = percentile(all, 99);
  return [
    {
      workload: `fan-out to ${whole(count)} subscribers`,
      figure: `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
      target: `p99 < ${TARGETS.fanoutP99Ms} ms`,
      verdict: verdict(p99 < TARGETS.fanoutP99Ms),
      note:
        `${rounds} one-entry commits (after ${warmupRounds} warm-up ones), one at a time, each timed from sending it to every ` +
        `subscriber's \`changes\`: ${whole(all.length)} deliveries, max ${all[all.length - 1]!.toFixed(1)} ms`,
    },
  ];
}

/** RSS growth with idle connections that said hello and subscribed; run on a fresh server. */
async function idleConnections(server: ServerProcess, seed: Seed): Promise<Row[]> {
  const { connections, settleMs } = IDLE;
  // One connection first, so code paths loaded on first use don't count per connection.
  const warm = await openClients(server, seed, 1, seed.folders.idle);
  await sleep(1000);
  const before = await server.rssKiB();
  const clients = await openClients(server, seed, connections, seed.folders.idle);
  await sleep(settleMs);
  const after = await server.rssKiB();
  await closeClients([...clients, ...warm]);
  const perConnection = (after - before) / connections;
  return [
    {
      workload: `server RSS, ${whole(connections)} idle conns`,
      figure: `${(after / 1024).toFixed(1)} MiB (${(before / 1024).toFixed(1)} MiB before)`,
      target: 'none set',
      verdict: '—',
      note: `a fresh server; every connection said hello and subscribed to an empty folder, then sat idle ${settleMs / 1000} s`,
    },
    {
      workload: 'RSS per idle connection',
      figure: `${perConnection.toFixed(1)} KiB`,
      target: `< ${TARGETS.idleKiB} KiB`,
      verdict: verdict(perConnection < TARGETS.idleKiB),
    },
  ];
}

// ---- main ---------------------------------------------------------------------------

function chosenWorkloads(): Set<Workload> {
  const args = process.argv.slice(2);
  for (const a of args) {
    if (!(WORKLOADS as readonly string[]).includes(a)) throw new Error(`unknown workload '${a}'; choose from ${WORKLOADS.join(', ')}`);
  }
  return new Set((args.length ? args : WORKLOADS) as Workload[]);
}

async function withServer<T>(seed: Seed, run: (server: ServerProcess) => Promise<T>): Promise<T> {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const server = await startServerProcess(seed.dataDir, nodeArgs);
  try {
    return await run(server);
  } finally {
    await server.stop();
  }
}

async function step(name: string, run: () => Promise<Row[]>): Promise<Row[]> {
  note(`${name}…`);
  const rows = await run();
  for (const r of rows) note(`  ${r.figure}`);
  return rows;
}

/** Throughput and fan-out share one server; the idle count gets a fresh one so earlier heap growth can't hide its cost. */
async function runAll(seed: Seed, chosen: Set<Workload>): Promise<Row[]> {
  const rows: Row[] = [];
  if (chosen.has('single') || chosen.has('batch') || chosen.has('fanout')) {
    await withServer(seed, async (server) => {
      note(`server pid ${server.pid} at ${server.url}`);
      const chunks = chosen.has('single') || chosen.has('batch') ? await uploadChunks(server, seed) : [];
      if (chosen.has('single')) rows.push(...(await step('single-entry commits', () => singleCommits(server, seed, chunks))));
      if (chosen.has('batch')) rows.push(...(await step('1,000-entry commits', () => batchCommits(server, seed, chunks))));
      if (chosen.has('fanout')) rows.push(...(await step('fan-out', () => fanout(server, seed))));
    });
  }
  if (chosen.has('idle')) {
    await withServer(seed, async (server) => {
      note(`fresh server pid ${server.pid} for the idle-connection count`);
      rows.push(...(await step('idle connections', () => idleConnections(server, seed))));
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const chosen = chosenWorkloads();
  const loadAtStart = loadavg();
  const seed = await seedDataDir();
  try {
    const rows = await runAll(seed, chosen);
    process.stdout.write(['', 'Ferry server benchmark', ...machineInfo(loadAtStart), '', table(rows), ''].join('\n'));
  } finally {
    await rm(seed.dataDir, { recursive: true, force: true });
  }
}

await main();
