/**
 * A small pool of worker threads for chunking and hashing, so a large file never blocks
 * the engine's event loop. Jobs queue when every worker is busy.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FileContent } from './file-content.js';

interface Pending {
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
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private closed = false;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism() - 1))) {}

  hash(file: string): Promise<FileContent> {
    if (this.closed) return Promise.reject(new Error('the hash pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ file, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.idle.pop() ?? (this.all.length < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage({ id: 0, file: job.file });
    }
  }

  private spawn(): Worker {
    const worker = new Worker(workerScript());
    worker.unref();
    worker.on('message', (msg: { content?: FileContent; error?: { message: string; code?: string } }) => {
      const job = this.running.get(worker);
      this.running.delete(worker);
      this.idle.push(worker);
      if (job) {
        if (msg.content) job.resolve(msg.content);
        else job.reject(Object.assign(new Error(msg.error?.message ?? 'hashing failed'), { code: msg.error?.code }));
      }
      this.pump();
    });
    worker.on('error', (err) => {
      const job = this.running.get(worker);
      this.running.delete(worker);
      this.all.splice(this.all.indexOf(worker), 1);
      job?.reject(err);
      this.pump();
    });
    this.all.push(worker);
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the hash pool is closed'));
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
