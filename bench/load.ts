/**
 * Load benchmark: one `ferry serve` process with 5,000 connected, subscribed clients (held by
 * worker threads, raw WebSockets on 127.0.0.1) receiving live fan-out, then 200 clients
 * committing at once while all 5,000 keep receiving. Prints fan-out latency (p50/p99 from a
 * commit's sending to its arrival at every subscriber), commit throughput and p99 commit
 * latency under the storm, the server's RSS, and checks that every subscriber's feed is
 * contiguous and holds every commit (nothing lost). Asserts nothing; not part of `npm test`.
 *
 *   npm run bench:load
 *   LOAD_SUBSCRIBERS=1000 LOAD_COMMITTERS=50 LOAD_COMMITS_EACH=2 npm run bench:load   smaller
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import * as admin from '../src/server/admin.js';
import { openStores } from '../src/server/server.js';
import { BenchClient, putDir, putFile } from './support/client.js';
import { machineInfo, percentile, table, verdict, whole, type Row } from './support/report.js';
import { readPeakRssKiB } from './support/proc.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';
import type { SubscriberJob, WorkerCommand, WorkerReport } from './support/subscriber-worker.js';
import { inParallel } from './support/tree.js';

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const LOAD = {
  subscribers: env('LOAD_SUBSCRIBERS', 5000),
  workers: env('LOAD_WORKERS', 2),
  fanoutRounds: env('LOAD_FANOUT_ROUNDS', 30),
  warmupRounds: 3,
  committers: env('LOAD_COMMITTERS', 200),
  commitsEach: env('LOAD_COMMITS_EACH', 1),
  connectConcurrency: 100,
  roundTimeoutMs: 60_000,
};
const TARGETS = { fanoutP99Ms: 1000, commitP99Ms: 2000 };

function note(text: string): void {
  process.stderr.write(`[load] ${text}\n`);
}

const now = (): number => performance.timeOrigin + performance.now();

/** A worker thread and the next report of a given type from it. */
class Subscribers {
  private readonly waiting = new Map<WorkerReport['type'], ((r: WorkerReport) => void)[]>();
  readonly ready: Promise<WorkerReport>;

  constructor(
    private readonly worker: Worker,
    readonly connections: number,
  ) {
    worker.on('message', (report: WorkerReport) => {
      const queue = this.waiting.get(report.type);
      queue?.shift()?.(report);
    });
    worker.on('error', (err) => {
      note(`subscriber worker failed: ${err.stack ?? err.message}`);
      process.exit(1);
    });
    this.ready = this.next('ready');
  }

  next<T extends WorkerReport['type']>(type: T): Promise<Extract<WorkerReport, { type: T }>> {
    return new Promise((resolve) => {
      const queue = this.waiting.get(type) ?? [];
      queue.push(resolve as (r: WorkerReport) => void);
      this.waiting.set(type, queue);
    });
  }

  send(command: WorkerCommand): void {
    this.worker.postMessage(command);
  }

  async close(): Promise<void> {
    this.send({ type: 'close' });
    await new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
  }
}

async function seed(): Promise<{ dataDir: string; token: string; folder: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ferry-load-'));
  const { store } = await openStores(dataDir);
  try {
    await admin.addUser(store, 'load', 'load-password');
    const { token } = await admin.createToken(store, 'load', 'load device');
    const folder = (await admin.createFolder(store, 'load', 'load')).id;
    return { dataDir, token, folder };
  } finally {
    store.close();
  }
}

async function startSubscribers(server: ServerProcess, token: string, folder: number): Promise<Subscribers[]> {
  const per = Math.ceil(LOAD.subscribers / LOAD.workers);
  const groups: Subscribers[] = [];
  for (let w = 0, left = LOAD.subscribers; left > 0; w++, left -= per) {
    const job: SubscriberJob = { wsUrl: server.wsUrl, token, folder, connections: Math.min(per, left), connectConcurrency: LOAD.connectConcurrency };
    groups.push(new Subscribers(new Worker(new URL('./support/subscriber-worker.js', import.meta.url), { workerData: job }), job.connections));
  }
  await Promise.all(groups.map((g) => g.ready));
  return groups;
}

/** One commit at a time, each timed from sending to its arrival at every subscriber. */
async function fanout(committer: BenchClient, groups: Subscribers[], folder: number): Promise<Row> {
  const latencies: number[] = [];
  for (let r = 0; r < LOAD.warmupRounds + LOAD.fanoutRounds; r++) {
    const path = `fanout/${r}`;
    for (const g of groups) g.send({ type: 'watch', path });
    const arrivals = Promise.all(groups.map((g) => g.next('arrivals')));
    const sent = now();
    await committer.commit(folder, [putDir(path)]);
    const timeout = sleep(LOAD.roundTimeoutMs).then(() => {
      throw new Error(`round ${r}: not every subscriber got ${path} within ${LOAD.roundTimeoutMs} ms`);
    });
    const reports = await Promise.race([arrivals, timeout]);
    if (r >= LOAD.warmupRounds) for (const rep of reports) for (const at of rep.at) latencies.push(at - sent);
    await sleep(50);
  }
  latencies.sort((a, b) => a - b);
  const p99 = percentile(latencies, 99);
  return {
    workload: `fan-out to ${whole(LOAD.subscribers)} subscribers`,
    figure: `p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`,
    target: `p99 < ${TARGETS.fanoutP99Ms} ms`,
    verdict: verdict(p99 < TARGETS.fanoutP99Ms),
    note:
      `${LOAD.fanoutRounds} one-entry commits (after ${LOAD.warmupRounds} warm-up ones), one at a time, each timed from sending it ` +
      `to its arrival at each subscriber (${LOAD.workers} worker threads hold the connections): ${whole(latencies.length)} deliveries, ` +
      `max ${latencies[latencies.length - 1]!.toFixed(0)} ms`,
  };
}

/** `committers` clients commit `commitsEach` files each, all at once, while every subscriber receives them. */
async function storm(server: ServerProcess, token: string, folder: number): Promise<{ rows: Row[]; commits: number }> {
  const committers: BenchClient[] = [];
  await inParallel(LOAD.committers, LOAD.connectConcurrency, async (i) => {
    committers[i] = await BenchClient.open(server.wsUrl, token);
  });
  const chunk = { hash: await committers[0]!.upload(folder, randomBytes(1024)), size: 1024 };
  const latencies: number[] = [];
  const started = now();
  await Promise.all(
    committers.map(async (c, i) => {
      for (let k = 0; k < LOAD.commitsEach; k++) {
        const sent = now();
        await c.commit(folder, [putFile(`storm/c${i}/f${k}.txt`, chunk)]);
        latencies.push(now() - sent);
      }
    }),
  );
  const seconds = (now() - started) / 1000;
  await Promise.all(committers.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  const commits = LOAD.committers * LOAD.commitsEach;
  const p99 = percentile(latencies, 99);
  return {
    commits,
    rows: [
      {
        workload: `${whole(LOAD.committers)} clients committing at once`,
        figure: `${whole(commits / seconds)} commits/s, p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms per commit`,
        target: `p99 < ${TARGETS.commitP99Ms} ms`,
        verdict: verdict(p99 < TARGETS.commitP99Ms),
        note:
          `${whole(commits)} one-file commits (${LOAD.commitsEach} in turn per client), while all ${whole(LOAD.subscribers)} subscribers ` +
          `received each one live: ${whole(commits * LOAD.subscribers)} deliveries`,
      },
    ],
  };
}

/** Every subscriber's feed reached the head with no gap, holding every commit made. */
async function nothingLost(groups: Subscribers[], head: number, expectedEntries: number): Promise<Row> {
  const deadline = Date.now() + LOAD.roundTimeoutMs;
  for (;;) {
    const reports = await Promise.all(groups.map((g) => (g.send({ type: 'report' }), g.next('feeds'))));
    const revs = reports.flatMap((r) => r.revs);
    const entries = reports.flatMap((r) => r.entries);
    const behind = revs.filter((rev) => rev !== head).length;
    const short = entries.filter((n) => n !== expectedEntries).length;
    const gaps = reports.reduce((n, r) => n + r.gaps, 0);
    const closed = reports.reduce((n, r) => n + r.closed, 0);
    if ((behind === 0 && short === 0) || Date.now() > deadline) {
      const ok = behind === 0 && short === 0 && gaps === 0 && closed === 0;
      return {
        workload: 'nothing lost',
        figure: ok ? `all ${whole(revs.length)} feeds at rev ${head} with ${expectedEntries} entries` : `${behind} behind, ${short} short, ${gaps} gaps, ${closed} closed`,
        target: 'every commit in every feed',
        verdict: verdict(ok),
        note: 'each subscriber checked that every live `changes` started where the previous one ended, and counted the entries',
      };
    }
    await sleep(250);
  }
}

/** The server's own accounting of what it queued to sockets, from /metrics. */
async function sendQueues(server: ServerProcess): Promise<Row> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return {
    workload: 'server send queues',
    figure: `peak ${mib(read('ferry_feed_backlog_peak_bytes'))} over all sockets`,
    target: 'none set',
    verdict: '—',
    note:
      `bytes handed to sockets and not yet written, as the server counts them for its send budget; ` +
      `largest on one open socket ${mib(read('ferry_socket_backlog_peak_bytes'))}; ` +
      `${whole(read('ferry_feed_fell_behind_total'))} times a subscriber fell behind and was paged in`,
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const { dataDir, token, folder } = await seed();
  const server = await startServerProcess(dataDir);
  const rows: Row[] = [];
  try {
    note(`server pid ${server.pid}; opening ${whole(LOAD.subscribers)} subscribed connections in ${LOAD.workers} worker threads…`);
    const rssBefore = await server.rssKiB();
    const opened = now();
    const groups = await startSubscribers(server, token, folder);
    note(`  opened in ${((now() - opened) / 1000).toFixed(1)} s`);
    await sleep(2000);
    const rssConnected = await server.rssKiB();
    rows.push({
      workload: `server RSS, ${whole(LOAD.subscribers)} subscribers`,
      figure: `${(rssConnected / 1024).toFixed(0)} MiB (${(rssBefore / 1024).toFixed(0)} MiB before)`,
      target: 'none set',
      verdict: '—',
      note: `${((rssConnected - rssBefore) / LOAD.subscribers).toFixed(1)} KiB per subscribed connection`,
    });
    const committer = await BenchClient.open(server.wsUrl, token);
    note('fan-out…');
    rows.push(await fanout(committer, groups, folder));
    note(`  ${rows[rows.length - 1]!.figure}`);
    await committer.close();
    note('commit storm…');
    const { rows: stormRows, commits } = await storm(server, token, folder);
    rows.push(...stormRows);
    note(`  ${stormRows[0]!.figure}`);
    const head = LOAD.warmupRounds + LOAD.fanoutRounds + commits;
    rows.push(await nothingLost(groups, head, head));
    rows.push(await sendQueues(server));
    rows.push({
      workload: 'server peak RSS',
      figure: `${((await readPeakRssKiB(server.pid)) / 1024).toFixed(0)} MiB`,
      target: 'none set',
      verdict: '—',
      note: 'VmHWM of the ferry serve process over the whole run',
    });
    await Promise.all(groups.map((g) => g.close()));
    process.stdout.write(['', 'Ferry load benchmark', ...machineInfo(loadAtStart), '', table(rows), ''].join('\n'));
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
