/**
 * A worker thread holding many subscribed connections for bench/load.ts. It notes when each
 * path reaches each of its connections (absolute ms, comparable across threads) and checks
 * every connection's feed is contiguous, so the main thread can tell latency and loss.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { BenchClient, type Changes } from './client.js';
import { inParallel } from './tree.js';

export interface SubscriberJob {
  wsUrl: string;
  token: string;
  folder: number;
  connections: number;
  connectConcurrency: number;
}

/** Worker → main. */
export type WorkerReport =
  | { type: 'ready' }
  | { type: 'arrivals'; path: string; at: number[] }
  | { type: 'feeds'; revs: number[]; entries: number[]; gaps: number; closed: number };

/** Main → worker. */
export type WorkerCommand = { type: 'watch'; path: string } | { type: 'report' } | { type: 'close' };

const job = workerData as SubscriberJob;
const port = parentPort!;

interface Feed {
  rev: number;
  entries: number;
  gaps: number;
}

const clients: BenchClient[] = [];
const feeds: Feed[] = [];
/** The path being timed, and when each connection saw it. */
let watched: { path: string; at: number[] } | undefined;

function onChanges(feed: Feed, changes: Changes, receivedAt: number): void {
  if (changes.from !== feed.rev) feed.gaps += 1;
  feed.rev = changes.rev;
  feed.entries += changes.entries.length;
  if (!watched) return;
  for (const e of changes.entries) {
    if (e.path !== watched.path) continue;
    watched.at.push(performance.timeOrigin + receivedAt);
    if (watched.at.length === job.connections) {
      port.postMessage({ type: 'arrivals', path: watched.path, at: watched.at } satisfies WorkerReport);
      watched = undefined;
    }
    return;
  }
}

await inParallel(job.connections, job.connectConcurrency, async (i) => {
  const client = await BenchClient.open(job.wsUrl, job.token);
  const feed: Feed = { rev: 0, entries: 0, gaps: 0 };
  client.onChanges = (changes, at) => onChanges(feed, changes, at);
  const caughtUp = (await client.subscribe(job.folder, 0)) as Changes;
  feed.rev = caughtUp.rev;
  clients[i] = client;
  feeds[i] = feed;
});
port.postMessage({ type: 'ready' } satisfies WorkerReport);

port.on('message', (command: WorkerCommand) => {
  switch (command.type) {
    case 'watch':
      watched = { path: command.path, at: [] };
      return;
    case 'report':
      port.postMessage({
        type: 'feeds',
        revs: feeds.map((f) => f.rev),
        entries: feeds.map((f) => f.entries),
        gaps: feeds.reduce((n, f) => n + f.gaps, 0),
        closed: clients.filter((c) => c.isClosed).length,
      } satisfies WorkerReport);
      return;
    case 'close':
      void Promise.all(clients.map((c) => c.close())).then(() => port.close());
  }
});
