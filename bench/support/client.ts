/**
 * A lean protocol client for benchmarks: request/reply by req id so many requests can be in
 * flight on one socket, and a hook that sees every `changes` message with its arrival time.
 * It trusts the server's JSON (no schema parsing) so the bench process spends little time
 * per message and the figures stay about the server.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket, { type RawData } from 'ws';
import { encodeFrame, FrameKind } from '../../src/shared/protocol/frames.js';
import type { ClientMessage, PutOp, ServerMessage, ServerMessageOf } from '../../src/shared/protocol/messages.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A client request without its req id; the client assigns one. */
export type Request = DistributiveOmit<Extract<ClientMessage, { req: number }>, 'req'>;
export type Changes = ServerMessageOf<'changes'>;
/** Sees a `changes` message and when it arrived (performance.now(), ms). */
export type ChangesListener = (changes: Changes, receivedAt: number) => void;

interface Waiter {
  resolve: (reply: ServerMessage) => void;
  reject: (err: Error) => void;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export class BenchClient {
  private readonly pending = new Map<number, Waiter>();
  /** Waiters for the end of a subscription's catch-up, by folder. */
  private readonly catchingUp = new Map<number, Waiter>();
  private welcome: Waiter | undefined;
  private nextReq = 1;
  private closedWith: Error | undefined;
  onChanges: ChangesListener = () => {};

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      // Stamped first, before any parsing, so latency excludes this client's own work.
      const at = performance.now();
      if (!isBinary) this.dispatch(JSON.parse(rawText(data)) as ServerMessage, at);
    });
    ws.on('close', (code, reason) => this.failAll(new Error(`socket closed: ${code} ${reason.toString()}`)));
    ws.on('error', (err) => this.failAll(err));
  }

  static connect(url: string, token: string): Promise<BenchClient> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new BenchClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`connection refused with HTTP ${res.statusCode ?? 0}`));
      });
      ws.once('error', reject);
    });
  }

  /** Connects, says hello and waits for the welcome. */
  static async open(url: string, token: string): Promise<BenchClient> {
    const client = await BenchClient.connect(url, token);
    await client.hello();
    return client;
  }

  hello(): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      this.welcome = { resolve, reject };
      this.send({ type: 'hello', protocol: 1, client: 'ferry-bench' });
    });
  }

  /** Subscribes and resolves once catch-up is over and the feed is live. */
  subscribe(folder: number, cursor: number): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      this.catchingUp.set(folder, { resolve, reject });
      this.send({ type: 'subscribe', folder, cursor });
    });
  }

  request(message: Request): Promise<ServerMessage> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      if (this.closedWith) return reject(this.closedWith);
      this.pending.set(req, { resolve, reject });
      this.send({ ...message, req });
    });
  }

  /** Commits ops that must all apply; resolves with the folder's new revision. */
  async commit(folder: number, ops: PutOp[]): Promise<number> {
    const reply = await this.request({ type: 'commit', folder, ops });
    if (reply.type !== 'committed') throw new Error(`commit answered with ${JSON.stringify(reply).slice(0, 300)}`);
    let rev = 0;
    for (const result of reply.results) {
      if (!('rev' in result)) throw new Error(`commit conflicted at ${result.path}`);
      rev = Math.max(rev, result.rev);
    }
    return rev;
  }

  /** Uploads one small chunk in a single frame. */
  async upload(folder: number, data: Buffer): Promise<string> {
    const req = this.nextReq++;
    const hash = sha256(data);
    const reply = new Promise<ServerMessage>((resolve, reject) => this.pending.set(req, { resolve, reject }));
    this.ws.send(encodeFrame({ kind: FrameKind.upload, req, folder, hash, offset: 0, total: data.length }, data), { binary: true });
    const answer = await reply;
    if (answer.type !== 'stored') throw new Error(`upload answered with ${JSON.stringify(answer).slice(0, 300)}`);
    return hash;
  }

  /** True once the socket closed or failed. */
  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }

  private send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  private dispatch(message: ServerMessage, at: number): void {
    if (message.type === 'changes') return this.onFeed(message, at);
    if (message.type === 'welcome' && this.welcome) {
      const waiter = this.welcome;
      this.welcome = undefined;
      return waiter.resolve(message);
    }
    const req = 'req' in message ? message.req : undefined;
    const waiter = req === undefined ? undefined : this.pending.get(req);
    if (waiter) {
      this.pending.delete(req!);
      return waiter.resolve(message);
    }
    // Anything else (an error without a req: a refused hello or subscribe) stops the
    // benchmark, since its figures would be wrong.
    throw new Error(`unexpected message from the server: ${JSON.stringify(message).slice(0, 300)}`);
  }

  private onFeed(changes: Changes, at: number): void {
    const waiter = this.catchingUp.get(changes.folder);
    if (!waiter) return this.onChanges(changes, at);
    if (changes.more) return;
    this.catchingUp.delete(changes.folder);
    waiter.resolve(changes);
  }

  private failAll(err: Error): void {
    this.closedWith ??= err;
    const waiters = [...this.pending.values(), ...this.catchingUp.values(), ...(this.welcome ? [this.welcome] : [])];
    this.pending.clear();
    this.catchingUp.clear();
    this.welcome = undefined;
    for (const w of waiters) w.reject(err);
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/** A put of a one-chunk file whose chunk the folder already holds. */
export function putFile(path: string, chunk: { hash: string; size: number }): PutOp {
  return {
    op: 'put',
    path,
    baseRev: 0,
    kind: 'file',
    size: chunk.size,
    mtime: 1_700_000_000_000,
    mode: 0o644,
    hash: chunk.hash,
    chunks: [[chunk.hash, chunk.size]],
    target: '',
  };
}

/** A put of a directory: it needs no chunks. */
export function putDir(path: string): PutOp {
  return { op: 'put', path, baseRev: 0, kind: 'dir', size: 0, mtime: 1_700_000_000_000, mode: 0o755, hash: '', chunks: [], target: '' };
}
