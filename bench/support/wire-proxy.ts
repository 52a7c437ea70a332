/**
 * Bytes on the wire, measured the same way for every peer: each connection between the
 * processes of a peer goes through a counting TCP proxy on 127.0.0.1, and the figure is the
 * TCP payload both ways (what TLS or WebSocket framing adds is included; IP and TCP headers
 * are not). One proxy per target port; all of them run in one worker thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './wire-proxy-worker.js';

const MAX_PROXIES = 16;

/** The worker's compiled script: beside this module in dist/, or in dist/ when this runs from source (vitest). */
function workerScript(): URL {
  const here = new URL('./wire-proxy-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL('../../dist/bench/support/wire-proxy-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error('wire-proxy-worker.js not found: run `npx tsc -p tsconfig.json` first');
}

export interface WireCount {
  /** Bytes that went towards the target (e.g. client → server). */
  sent: number;
  /** Bytes that came back from it. */
  received: number;
}

export class WireProxies {
  private readonly counters: Float64Array;
  private readonly labels: string[] = [];
  /** Who waits for the worker's answer: a proxy's slot, or 'closed'. */
  private readonly waiting = new Map<number | 'closed', (m: FromWorker) => void>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
  ) {
    this.counters = new Float64Array(shared);
    worker.on('message', (m: FromWorker) => {
      const key = m.type === 'closed' ? 'closed' : m.slot;
      this.waiting.get(key)?.(m);
      this.waiting.delete(key);
    });
  }

  static start(): WireProxies {
    const shared = new SharedArrayBuffer(MAX_PROXIES * 2 * Float64Array.BYTES_PER_ELEMENT);
    const worker = new Worker(workerScript(), { workerData: shared });
    worker.unref();
    return new WireProxies(worker, shared);
  }

  /** Starts a proxy to 127.0.0.1:targetPort under a label (e.g. "A → server"); resolves with the port to connect to instead. */
  async add(label: string, targetPort: number): Promise<number> {
    const slot = this.labels.length;
    if (slot >= MAX_PROXIES) throw new Error(`at most ${MAX_PROXIES} wire proxies`);
    this.labels.push(label);
    const reply = this.answer(slot);
    this.worker.postMessage({ type: 'add', slot, targetPort } satisfies ToWorker);
    const m = await reply;
    if (m.type !== 'added') throw new Error(`wire proxy for ${label} did not start: ${m.type === 'failed' ? m.message : m.type}`);
    return m.port;
  }

  /** Bytes each proxy has passed so far, by label. */
  counts(): Map<string, WireCount> {
    return new Map(this.labels.map((label, i) => [label, { sent: this.counters[2 * i]!, received: this.counters[2 * i + 1]! }]));
  }

  /** All bytes passed so far, both ways, every proxy. */
  total(): number {
    return this.counters.reduce((sum, n) => sum + n, 0);
  }

  /** Closes every proxy and its connections; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = this.answer('closed');
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      await closed;
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private answer(key: number | 'closed'): Promise<FromWorker> {
    return new Promise((resolve) => this.waiting.set(key, resolve));
  }
}
