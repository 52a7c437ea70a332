/**
 * A small pool of worker threads for chunking and hashing, so a large file never blocks
 * the engine's event loop. Jobs queue when every worker is busy. Small files are read on
 * the calling thread instead: workers start only once a larger file comes.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { withFrameRoom } from '../../shared/protocol/frames.js';
import { readFileContent, type ChunkConsumer, type FileContent, type FoundChunk } from './file-content.js';

/** Chunk bytes a worker hands over ahead of their consumer: enough to keep uploads flowing. */
const CHUNK_WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * Files up to this size are read on the calling thread: hashing them takes less than a
 * worker's round trip, and a worker that never starts costs no memory (10–15 MiB each).
 */
const INLINE_MAX_BYTES = 64 * 1024;

/** Files one worker reads at once; each holds at most a 1 MiB read buffer. */
const JOBS_PER_WORKER = 8;

interface Pending {
  id: number;
  file: string;
  onChunk: ChunkConsumer | undefined;
  skip: string[] | undefined;
  keepUpTo: number;
  /** What `onChunk` is still doing: the job ends after it. */
  consuming: Set<Promise<void>>;
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

/**
 * A transfer keeps the buffer's layout but not its Buffer type: the bytes are viewed again
 * as the Buffer (with the frame header's room in front) the worker made them.
 */
function withFrameRoomBytes(content: FileContent): FileContent {
  const { bytes } = content;
  if (bytes) content.bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return content;
}

export class HashPool {
  private readonly all: Worker[] = [];
  private readonly queue: Pending[] = [];
  /** Each worker's jobs in flight, by id. */
  private readonly running = new Map<Worker, Map<number, Pending>>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly size = Math.max(1, Math.min(4, availableParallelism() - 1))) {}

  /**
   * The file's content identity. With `onChunk`, each chunk's bytes are handed to it as they
   * are found (from the same read that hashed them); a few MiB of them at most wait for it.
   * Resolves once it has dealt with every one of them. Chunks whose hash is in `skip` are
   * not handed over. A file of one chunk of at most `keepUpTo` bytes comes back with its
   * bytes (moved from the worker, not copied), ready to be framed for an upload. `size` is
   * what the caller last saw of the file (a stat), if it did.
   */
  hash(file: string, onChunk?: ChunkConsumer, skip?: string[], keepUpTo = 0, size?: number): Promise<FileContent> {
    if (this.closed) return Promise.reject(new Error('the hash pool is closed'));
    if (size !== undefined && size <= INLINE_MAX_BYTES) {
      // As from a worker, a consumer's failure is its own: the file is still read to its end.
      const consume = onChunk && ((chunk: FoundChunk) => Promise.resolve().then(() => onChunk(chunk)).catch(() => {}));
      return readFileContent(file, undefined, consume, withFrameRoom, new Set(skip), keepUpTo);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, file, onChunk, skip, keepUpTo, consuming: new Set(), resolve, reject });
      this.pump();
    });
  }

  /** The worker threads running now. */
  get workers(): number {
    return this.all.length;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const worker = this.leastBusy() ?? (this.all.length < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.running.get(worker)!.set(job.id, job);
      worker.postMessage({
        id: job.id,
        file: job.file,
        ...(job.onChunk ? { windowBytes: CHUNK_WINDOW_BYTES, skip: job.skip } : {}),
        ...(job.keepUpTo > 0 ? { keepUpTo: job.keepUpTo } : {}),
      });
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
    worker.on('message', (msg: { id: number; chunk?: FoundChunk; content?: FileContent; error?: { message: string; code?: string } }) => {
      const job = jobs.get(msg.id);
      if (msg.chunk) {
        const { size } = msg.chunk;
        // Whatever the consumer does, the worker gets its window back.
        const consumed: Promise<void> = Promise.resolve()
          .then(() => job?.onChunk?.(msg.chunk!))
          .catch(() => {})
          .finally(() => {
            job?.consuming.delete(consumed);
            worker.postMessage({ ack: size });
          });
        job?.consuming.add(consumed);
        return;
      }
      jobs.delete(msg.id);
      if (job) {
        const settle = msg.content
          ? () => job.resolve(withFrameRoomBytes(msg.content!))
          : () => job.reject(Object.assign(new Error(msg.error?.message ?? 'hashing failed'), { code: msg.error?.code }));
        void Promise.all(job.consuming).then(settle);
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
