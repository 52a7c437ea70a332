/**
 * The engine's one WebSocket to a server: handshake, requests matched by `req`, chunk
 * uploads and downloads as binary frames with flow control, heartbeat, and reconnection
 * with exponential backoff and full jitter. What the close code says decides whether to try
 * again (docs/protocol.md). Every message from the server is validated before use.
 */
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import type { ConnectionStatus } from '../../shared/bridge.js';
import { Close, closeAction } from '../../shared/protocol/codes.js';
import { decodeFrame, encodeFrame, frameAround, FrameKind, type ChunkFrame } from '../../shared/protocol/frames.js';
import { clientLimits, DEFAULT_LIMITS, type Limits } from '../../shared/protocol/limits.js';
import {
  FEATURE_MOVE_RUNS,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ClientMessage,
  type ServerMessage,
  type ServerMessageOf,
} from '../../shared/protocol/messages.js';
import { Outbox, type Corkable } from '../../shared/protocol/outbox.js';

/** The connection's state is what the bridge reports. */
export type ConnectionState = ConnectionStatus;

export interface ConnectionOptions {
  /** http(s)://host:port of the server. */
  server: string;
  token: string;
  client: string;
  /** Extra CA certificates to trust (a self-signed server). */
  ca?: Buffer;
  heartbeatMs?: number;
  pongTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Connected this long, the backoff starts over. */
  stableMs?: number;
}

export interface ConnectionEvents {
  /** A fresh session: (re)subscribe here. Runs before any other message of the session. */
  welcome(welcome: ServerMessageOf<'welcome'>): void;
  changes(message: ServerMessageOf<'changes'>): void;
  folders(message: ServerMessageOf<'folders'>): void;
  state(state: ConnectionState): void;
}

/** The server answered a request with `error`. */
export class RequestFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The connection dropped before the answer came; the caller retries after reconnecting. */
export class Disconnected extends Error {
  constructor() {
    super('disconnected from the server');
  }
}

type Reply = Exclude<ServerMessage, { type: 'welcome' | 'changes' | 'folders' }>;

interface PendingDownload {
  hash: string;
  /** The chunk's size as the entry gives it: frames must add up to exactly this. */
  size: number;
  parts: Buffer[];
  received: number;
  resolve: (data: Buffer) => void;
  reject: (err: Error) => void;
  onBytes?: (n: number) => void;
}

const OUTBOX_HIGH_WATER = 4 * 1024 * 1024;

export class Connection {
  private ws: WebSocket | undefined;
  private outbox: Outbox | undefined;
  private current: ConnectionState = { status: 'stopped' };
  private attempt = 0;
  private nextReq = 1;
  private readonly pending = new Map<number, { resolve: (m: Reply) => void; reject: (e: Error) => void }>();
  private readonly downloads = new Map<number, PendingDownload>();
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  private wanted = false;
  limits: Limits = { ...DEFAULT_LIMITS };
  welcome: ServerMessageOf<'welcome'> | undefined;
  bytesSent = 0;
  bytesReceived = 0;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly on: ConnectionEvents,
  ) {}

  get state(): ConnectionState {
    return this.current;
  }

  get connected(): boolean {
    return this.current.status === 'connected';
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  /** Closes for good (1000). Pending requests fail with Disconnected. */
  stop(): void {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.ws?.close(Close.normal, 'client stopping');
    this.teardown();
    this.setState({ status: 'stopped' });
  }

  private setState(state: ConnectionState): void {
    this.current = state;
    this.on.state(state);
  }

  private open(): void {
    this.setState({ status: 'connecting', attempt: this.attempt });
    const url = this.options.server.replace(/^http/, 'ws').replace(/\/+$/, '') + '/v1/sync';
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.options.token}` },
      perMessageDeflate: false,
      maxPayload: this.limits.maxMessageBytes,
      handshakeTimeout: 15_000,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    });
    this.ws = ws;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      ws.terminate();
      if (status === 401) this.giveUp({ status: 'signed-out', reason: 'the server refused the device token (revoked or wrong)' });
      else if (status === 403) this.giveUp({ status: 'failed', reason: 'the server refused this client (HTTP 403)' });
      else this.scheduleRetry(`the server answered HTTP ${status}`);
    });
    let socket: Corkable | undefined;
    ws.on('upgrade', (res) => (socket = res.socket));
    ws.on('open', () => {
      this.outbox = new Outbox(ws, socket!, OUTBOX_HIGH_WATER, (n) => (this.bytesSent += n));
      this.send({ type: 'hello', protocol: PROTOCOL_VERSION, client: this.options.client, features: [FEATURE_MOVE_RUNS] });
    });
    // A socket being closed still hands over what it had buffered; once it is no longer the
    // current one (stopped, or replaced), nothing it says may reach the engine.
    ws.on('message', (data: Buffer, isBinary) => {
      if (this.ws === ws) this.onMessage(data, isBinary);
    });
    ws.on('pong', () => (this.awaitingPong = false));
    // A message over our limit is cut off here, and the close that follows reads 1006; it is
    // 1009 all the same, and reconnecting would only fetch the same message again.
    let tooBig: string | undefined;
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') tooBig = `the server sent a message over the ${this.limits.maxMessageBytes}-byte limit`;
      /* the close event that follows decides */
    });
    ws.on('close', (closeCode, reason) => {
      if (this.ws !== ws) return;
      this.teardown();
      if (!this.wanted) return;
      const code = tooBig ? Close.tooBig : closeCode;
      const why = tooBig ?? (reason.toString() || `closed with code ${code}`);
      switch (closeAction(code)) {
        case 'signed-out':
          return this.giveUp({ status: 'signed-out', reason: why });
        case 'fatal':
          return this.giveUp({ status: 'failed', reason: `${why} (code ${code})` });
        case 'stop':
        case 'reconnect':
          return this.scheduleRetry(why);
      }
    });
  }

  private giveUp(state: ConnectionState): void {
    this.wanted = false;
    this.teardown();
    this.setState(state);
  }

  private scheduleRetry(reason: string): void {
    if (!this.wanted) return;
    const base = this.options.backoffBaseMs ?? 500;
    const max = this.options.backoffMaxMs ?? 30_000;
    // Full jitter: a crowd of clients that lost the server together doesn't return together.
    const ceiling = Math.min(max, base * 2 ** this.attempt);
    const delay = Math.max(base / 2, Math.random() * ceiling);
    this.attempt += 1;
    this.setState({ status: 'offline', reason, retryAt: Date.now() + delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Reconnects now instead of waiting out the backoff. */
  retryNow(): void {
    if (this.current.status === 'offline') {
      clearTimeout(this.retryTimer);
      this.open();
    }
  }

  private teardown(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.stableTimer);
    this.heartbeat = undefined;
    this.outbox?.release();
    this.outbox = undefined;
    this.ws = undefined;
    this.welcome = undefined;
    const lost = new Disconnected();
    for (const p of this.pending.values()) p.reject(lost);
    this.pending.clear();
    for (const d of this.downloads.values()) d.reject(lost);
    this.downloads.clear();
  }

  private startHeartbeat(ws: WebSocket): void {
    const every = this.options.heartbeatMs ?? 15_000;
    const timeout = this.options.pongTimeoutMs ?? 10_000;
    this.heartbeat = setInterval(() => {
      this.awaitingPong = true;
      ws.ping();
      setTimeout(() => {
        if (this.awaitingPong && this.ws === ws) ws.terminate();
      }, timeout).unref();
    }, every);
    this.heartbeat.unref();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.bytesReceived += data.length;
    if (isBinary) {
      const decoded = decodeFrame(data);
      if (!decoded.ok || decoded.frame.kind !== FrameKind.download) return this.protocolError('bad binary frame from the server');
      return this.onDownloadFrame(decoded.frame);
    }
    const parsed = parseServerMessage(data.toString('utf8'));
    if (!parsed.ok) return this.protocolError(`bad message from the server: ${parsed.reason}`);
    const message = parsed.message;
    switch (message.type) {
      case 'welcome':
        return this.onWelcome(message);
      case 'changes':
        return this.on.changes(message);
      case 'folders':
        return this.on.folders(message);
      default: {
        const req = message.req;
        if (req === undefined) return; // an error about a request without req
        const waiter = this.pending.get(req);
        const download = this.downloads.get(req);
        if (waiter) {
          this.pending.delete(req);
          if (message.type === 'error') waiter.reject(new RequestFailed(message.code, message.message));
          else waiter.resolve(message);
        } else if (download && message.type === 'error') {
          this.downloads.delete(req);
          download.reject(new RequestFailed(message.code, message.message));
        }
      }
    }
  }

  private onWelcome(welcome: ServerMessageOf<'welcome'>): void {
    const ws = this.ws!;
    this.welcome = welcome;
    // Never trust the server to ask for more than a client is built to hold.
    this.limits = clientLimits(welcome.limits);
    this.startHeartbeat(ws);
    this.setState({ status: 'connected', since: Date.now() });
    this.stableTimer = setTimeout(() => (this.attempt = 0), this.options.stableMs ?? 60_000);
    this.stableTimer.unref();
    this.on.welcome(welcome);
  }

  private protocolError(reason: string): void {
    this.ws?.close(Close.protocolError, reason.slice(0, 120));
  }

  private send(message: ClientMessage): void {
    this.outbox?.send(message);
  }

  /** Sends a message that gets no answer (subscribe, unsubscribe). */
  notify(message: Extract<ClientMessage, { type: 'subscribe' | 'unsubscribe' }>): void {
    if (!this.connected) throw new Disconnected();
    this.send(message);
  }

  /** Sends a request and resolves with the server's answer; `error` answers reject with RequestFailed. */
  request<T extends Reply>(message: DistributiveOmit<Extract<ClientMessage, { req: number }>, 'req'>): Promise<T> {
    if (!this.connected) return Promise.reject(new Disconnected());
    const req = this.takeReq();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(req, { resolve: resolve as (m: Reply) => void, reject });
      this.send({ ...message, req } as ClientMessage);
    });
  }

  private takeReq(): number {
    const req = this.nextReq;
    this.nextReq = this.nextReq >= 0xffff_fffe ? 1 : this.nextReq + 1;
    return req;
  }

  /**
   * Uploads one chunk; resolves once the server stored and verified it. A chunk made with
   * `withFrameRoom` goes out as one frame without a copy; its bytes before it are overwritten.
   */
  async upload(folder: number, hash: string, data: Buffer, onBytes?: (n: number) => void): Promise<void> {
    const outbox = this.outbox;
    if (!this.connected || !outbox) throw new Disconnected();
    const req = this.takeReq();
    const stored = new Promise<Reply>((resolve, reject) => this.pending.set(req, { resolve, reject }));
    stored.catch(() => {}); // a drop while frames are still going out is reported by the await below
    const step = this.limits.maxFrameDataBytes;
    const header = { kind: FrameKind.upload, req, folder, hash, total: data.length };
    if (data.length <= step) {
      await outbox.sendBulk(frameAround({ ...header, offset: 0 }, data), true);
      onBytes?.(data.length);
    }
    for (let offset = 0; data.length > step && offset < data.length; offset += step) {
      const piece = data.subarray(offset, offset + step);
      await outbox.sendBulk(encodeFrame({ ...header, offset }, piece), true);
      onBytes?.(piece.length);
    }
    await stored;
  }

  /** Downloads one chunk of `size` bytes; the bytes are checked against the hash before they are returned. */
  download(folder: number, hash: string, size: number, onBytes?: (n: number) => void): Promise<Buffer> {
    if (!this.connected) return Promise.reject(new Disconnected());
    if (size > this.limits.maxChunkBytes) return Promise.reject(new Error(`chunk ${hash} is said to be ${size} bytes, over the ${this.limits.maxChunkBytes}-byte chunk limit`));
    const req = this.takeReq();
    return new Promise<Buffer>((resolve, reject) => {
      this.downloads.set(req, { hash, size, parts: [], received: 0, resolve, reject, ...(onBytes ? { onBytes } : {}) });
      this.send({ type: 'get', req, folder, hash });
    });
  }

  private onDownloadFrame(frame: ChunkFrame): void {
    const d = this.downloads.get(frame.req);
    if (!d) return;
    if (frame.hash !== d.hash || frame.offset !== d.received || frame.total !== d.size) {
      this.downloads.delete(frame.req);
      return d.reject(new Error(`chunk ${d.hash} arrived out of order or not ${d.size} bytes long`));
    }
    d.parts.push(frame.data);
    d.received += frame.data.length;
    d.onBytes?.(frame.data.length);
    if (d.received < frame.total) return;
    this.downloads.delete(frame.req);
    const data = d.parts.length === 1 ? d.parts[0]! : Buffer.concat(d.parts);
    if (createHash('sha256').update(data).digest('hex') !== d.hash) return d.reject(new Error(`chunk ${d.hash} failed its hash check`));
    d.resolve(data);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
