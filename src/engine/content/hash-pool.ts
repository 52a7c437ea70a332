/**
 * A small pool of worker threads for chunking and hashing, so a large file never blocks
 * the engine's event loop. Each worker takes a few files at once: a small file costs
 * more in waiting on open, read and close than in hashing, and one file at a time per
 * worker (one worker on two cores) left it idle most of the time. Jobs queue beyond that.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FileContent } from './file-content.js';

/** Files one worker reads at once; each holds at most a 1 MiB read buffer. */
const JOBS_PER_WORKER = 8;

interface Pending {
  id: number;
  file: string;
  resolve: (c: FileContent) => void;
  reject: (e: Error) => void;
}

/** The compiled worker script. Run from TypeScript sources (tests), the build in dist/ is used. */
function workerScript(): URL {
  const here = new URL('./hash-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL('../../../dist/src/engine/content/hash-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error('the hashing worker is not built; run npm run build');
}

export class HashPool {
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  /** Each worker's jobs in flight, by id. */
  private readonly running = new Map<Worker, Map<number, Pending>>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism() - 1))) {}

  hash(file: string): Promise<FileContent> {
    if (this.closed) return Promise.reject(new Error('the hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, file, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.leastBusy() ?? (this.all.length < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.running.get(worker)!.set(job.id, job);
      worker.postMessage({ id: job.id, file: job.file });
    }
  }

  /** A worker with room for another job, preferring a fresh one while the pool may grow. */
  private leastBusy(): Worker | undefined {
    let best: Worker | undefined;
    for (const w of this.all) if (!best || this.running.get(w)!.size < this.running.get(best)!.size) best = w;
    const load = best ? this.running.get(best)!.size : Infinity;
    if (load === 0 || (load < JOBS_PER_WORKER && this.all.length >= this.size)) return best;
    return undefined;
  }

  private spawn(): Worker {
    const worker = new Worker(workerScript());
    worker.unref();
    const jobs = new Map<number, Pending>();
    worker.on('message', (msg: { id: number; content?: FileContent; error?: { message: string; code?: string } }) => {
      const job = jobs.get(msg.id);
      jobs.delete(msg.id);
      if (job) {
        if (msg.content) job.resolve(msg.content);
        else job.reject(Object.assign(new Error(msg.error?.message ?? 'hashing failed'), { code: msg.error?.code }));
      }
      this.pump();
    });
    worker.on('error', (err) => {
      this.running.delete(worker);
      this.all.splice(this.all.indexOf(worker), 1);
      for (const job of jobs.values()) job.reject(err);
      this.pump();
    });
    this.all.push(worker);
    this.running.set(worker, jobs);
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the hash pool is closed'));
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
