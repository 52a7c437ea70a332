/**
 * A bare protocol client over `ws`, for tests that speak to the server message by message.
 * It checks nothing for the server: tests assert on what comes back.
 */
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, FrameKind, type ChunkFrame } from '../../src/shared/protocol/frames.js';
import type { Entry, ServerMessage } from '../../src/shared/protocol/messages.js';

export type Msg = ServerMessage & Record<string, unknown>;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export class ConnectRefused extends Error {
  constructor(readonly status: number) {
    super(`connection refused with HTTP ${status}`);
  }
}

export class RawClient {
  private queue: Msg[] = [];
  private frames: ChunkFrame[] = [];
  private waiters: (() => void)[] = [];
  private nextReq = 1;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const decoded = decodeFrame(data);
        if (decoded.ok) this.frames.push(decoded.frame);
      } else {
        this.queue.push(JSON.parse(data.toString('utf8')) as Msg);
      }
      this.wake();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      this.wake();
      resolve({ code, reason: reason.toString() });
    }));
  }

  static connect(url: string, token: string | undefined, headers: Record<string, string> = {}, protocols?: string[]): Promise<RawClient> {
    const ws = new WebSocket(url, protocols, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      perMessageDeflate: false,
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        reject(new ConnectRefused(res.statusCode ?? 0));
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** Connects and says hello; returns the client and the welcome. */
  static async open(url: string, token: string): Promise<{ client: RawClient; welcome: Msg }> {
    const client = await RawClient.connect(url, token);
    client.send({ type: 'hello', protocol: 1, client: 'raw-test' });
    const welcome = await client.next((m) => m.type === 'welcome' || m.type === 'error');
    return { client, welcome };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async waitFor<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = take();
      if (found !== undefined) return found;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(data: string | Buffer, binary = Buffer.isBuffer(data)): void {
    this.ws.send(data, { binary });
  }

  /** The first queued message matching, removed from the queue. */
  next(match: (m: Msg) => boolean = () => true, timeoutMs = 5000): Promise<Msg> {
    return this.waitFor(
      () => {
        const i = this.queue.findIndex(match);
        return i < 0 ? undefined : this.queue.splice(i, 1)[0];
      },
      timeoutMs,
      'a message',
    );
  }

  /** Messages received so far and not taken. */
  pending(): Msg[] {
    return [...this.queue];
  }

  /** Sends a request with a fresh req id and waits for the reply carrying it. */
  async request(message: Record<string, unknown>, timeoutMs = 5000): Promise<Msg> {
    const req = this.nextReq++;
    this.send({ ...message, req });
    return this.next((m) => m.req === req, timeoutMs);
  }

  /** Uploads a chunk in frames of `frameBytes`; resolves with the server's reply. */
  async upload(folder: number, data: Buffer, frameBytes = 1024 * 1024, hash = sha256(data)): Promise<Msg> {
    const req = this.nextReq++;
    this.sendFrames(req, folder, data, frameBytes, hash);
    return this.next((m) => m.req === req);
  }

  sendFrames(req: number, folder: number, data: Buffer, frameBytes: number, hash = sha256(data), upTo = data.length): void {
    for (let offset = 0; offset < upTo; offset += frameBytes) {
      const piece = data.subarray(offset, Math.min(offset + frameBytes, upTo));
      this.ws.send(encodeFrame({ kind: FrameKind.upload, req, folder, hash, offset, total: data.length }, piece), { binary: true });
    }
  }

  /** Downloads a chunk: its bytes, or the error message the server sent instead. */
  async download(folder: number, hash: string): Promise<Buffer | Msg> {
    const req = this.nextReq++;
    this.send({ type: 'get', req, folder, hash });
    const parts: Buffer[] = [];
    return this.waitFor(
      () => {
        const err = this.queue.findIndex((m) => m.req === req);
        if (err >= 0) return this.queue.splice(err, 1)[0];
        for (let i = 0; i < this.frames.length; i++) {
          const f = this.frames[i]!;
          if (f.req !== req) continue;
          this.frames.splice(i--, 1);
          parts.push(f.data);
          if (f.offset + f.data.length === f.total) return Buffer.concat(parts);
        }
        return undefined;
      },
      10_000,
      `chunk ${hash}`,
    );
  }

  /** Subscribes and collects catch-up pages until the feed is live; returns every entry. */
  async subscribe(folder: number, cursor = 0): Promise<{ entries: Entry[]; rev: number; pages: Msg[] }> {
    this.send({ type: 'subscribe', folder, cursor });
    const pages: Msg[] = [];
    for (;;) {
      const page = await this.next((m) => (m.type === 'changes' && m.folder === folder) || m.type === 'error');
      if (page.type === 'error') throw new Error(`subscribe failed: ${page.code} ${page.message}`);
      pages.push(page);
      if (!page.more) break;
    }
    const last = pages[pages.length - 1]!;
    return { entries: pages.flatMap((p) => p.entries as Entry[]), rev: last.rev as number, pages };
  }

  close(): void {
    this.ws.close(1000);
  }
}

/** A put op for a one-chunk file. */
export function putFile(path: string, data: Buffer, baseRev = 0) {
  return {
    op: 'put',
    path,
    baseRev,
    kind: 'file',
    size: data.length,
    mtime: 1_700_000_000_000,
    mode: 0o644,
    hash: sha256(data),
    chunks: data.length ? [[sha256(data), data.length]] : [],
    target: '',
  };
}

/** Uploads a one-chunk file's chunk (if it has one) and commits it; returns the server's reply to the commit. */
export async function commitFile(client: RawClient, folder: number, path: string, data: Buffer, baseRev = 0): Promise<Msg> {
  if (data.length > 0) {
    const stored = await client.upload(folder, data);
    if (stored.type !== 'stored') throw new Error(`upload of ${path} failed: ${JSON.stringify(stored)}`);
  }
  return client.request({ type: 'commit', folder, ops: [putFile(path, data, baseRev)] });
}
