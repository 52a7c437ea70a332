/**
 * A running Ferry server: one HTTP(S) listener for the JSON endpoints and the WebSocket
 * sync endpoint, on top of the journal store, the chunk store and the bus. The same class
 * runs headless (`ferry serve`) and embedded in the desktop app.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { Close } from '../shared/protocol/codes.js';
import { DEFAULT_LIMITS, type Limits } from '../shared/protocol/limits.js';
import { VERSION } from '../shared/version.js';
import { bearerToken } from './auth/bearer-token.js';
import { hashToken } from './auth/secrets.js';
import { LocalBus, type Bus } from './bus.js';
import type { ServerContext } from './context.js';
import { collectGarbage } from './gc.js';
import { HttpRoutes } from './http/routes.js';
import { Metrics } from './metrics.js';
import { DiskChunkStore } from './store/disk-chunk-store.js';
import { SqliteJournalStore } from './store/sqlite-journal-store.js';
import type { ChunkStore, Device, JournalStore } from './store/types.js';
import { FeedPages } from './sync/feed-pages.js';
import { SendBudget } from './sync/send-budget.js';
import { Session } from './sync/session.js';

export const DEFAULT_PORT = 7711;
export const SYNC_PATH = '/v1/sync';
/** Browsers can't set headers on a WebSocket, so they offer this protocol plus `bearer.<token>`. */
export const WS_PROTOCOL = 'ferry.v1';

export interface ServerOptions {
  dataDir: string;
  host?: string;
  port?: number;
  tls?: { cert: string; key: string };
  logger: Logger;
  limits?: Partial<Limits>;
  /** Superseded revisions are kept this long, then garbage collection may drop them. */
  retentionDays?: number;
  /** Origins allowed besides the server's own, for browser clients. */
  allowedOrigins?: string[];
  heartbeatMs?: number;
  pongTimeoutMs?: number;
  /** A socket that has not begun a request (or finished its TLS handshake) by then is dropped. */
  silentSocketMs?: number;
  maxBacklogBytes?: number;
  /** Unsent bytes on a subscriber's socket beyond which it gets pages instead of live changes. */
  feedWindowBytes?: number;
  /** Unsent bytes on all sockets together: bulk and live feed pause above half, the slowest reader is cut above all. */
  maxQueuedBytes?: number;
  /** How often the server collects garbage on its own; 0 turns it off. */
  gcIntervalMs?: number;
}

const MiB = 1024 * 1024;
/**
 * Small enough that 5,000 subscribers that stopped reading hold at most ~1.25 GiB (and the
 * send budget stops that sooner); large enough for ~600 one-file live `changes` in a row.
 * Bytes queue in the process only once the kernel's send buffer (up to 4 MiB on Linux) is
 * full, so a reader with this much queued here is well behind, not just in a burst.
 */
const DEFAULT_FEED_WINDOW = 256 * 1024;
const DEFAULT_MAX_QUEUED = 512 * MiB;

export function dbFile(dataDir: string): string {
  return join(dataDir, 'ferry.db');
}

/** Opens a data directory's stores; the admin CLI uses this too, alongside a running server. */
export async function openStores(dataDir: string): Promise<{ store: SqliteJournalStore; chunks: DiskChunkStore }> {
  await mkdir(dataDir, { recursive: true });
  const chunks = new DiskChunkStore(dataDir);
  await chunks.open();
  const store = new SqliteJournalStore(dbFile(dataDir));
  return { store, chunks };
}

export class FerryServer {
  readonly ctx: ServerContext;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly stopWatching: () => void;
  private readonly allowedOrigins: Set<string>;
  private address: AddressInfo | undefined;

  private constructor(
    private readonly options: ServerOptions,
    store: JournalStore,
    chunks: ChunkStore,
    bus: Bus,
  ) {
    const metrics = new Metrics();
    const protocolLimits = { ...DEFAULT_LIMITS, ...options.limits };
    this.ctx = {
      store,
      chunks,
      bus,
      metrics,
      limits: protocolLimits,
      log: options.logger,
      version: VERSION,
      maxBacklogBytes: options.maxBacklogBytes ?? 64 * MiB,
      feedWindowBytes: options.feedWindowBytes ?? DEFAULT_FEED_WINDOW,
      sendBudget: new SendBudget(options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED, () => this.cutSlowestReader()),
      // A quarter of the message limit leaves room for the envelope and any escaping.
      pages: new FeedPages(store, protocolLimits.pageEntries, Math.floor(protocolLimits.maxMessageBytes / 4)),
    };
    metrics.gauge('ferry_feed_subscriptions', 'Folder feeds being pushed.', () => this.sum((s) => s.subscriptionCount));
    metrics.gauge('ferry_chunks_stored', 'Chunks in the chunk store.', async () => (await store.chunkStats()).count);
    metrics.gauge('ferry_chunk_bytes', 'Bytes in the chunk store.', async () => (await store.chunkStats()).bytes);
    metrics.gauge('ferry_feed_backlog_bytes', 'Bytes queued to sockets and not yet sent.', () => this.ctx.sendBudget.total);
    metrics.gauge('ferry_feed_backlog_peak_bytes', 'The most bytes queued to all sockets together so far.', () => this.ctx.sendBudget.peak);
    metrics.gauge('ferry_socket_backlog_peak_bytes', 'The most bytes any open socket has had queued.', () => this.max((s) => s.peakBacklog));
    metrics.gauge('ferry_feed_paging', 'Folder feeds being paged from the journal (catching up or behind).', () => this.sum((s) => s.pagingCount));
    this.allowedOrigins = new Set(options.allowedOrigins ?? []);
    const routes = new HttpRoutes(this.ctx);
    // A client that connects and never finishes its request (idle or slow, before any
    // authentication) is cut off: headers within 10 s, the whole request within 30 s.
    const silentMs = options.silentSocketMs ?? 10_000;
    const limits = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 2_000 };
    this.http = options.tls
      ? createHttpsServer({ ...limits, handshakeTimeout: silentMs, cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) }, (q, s) => routes.handle(q, s))
      : createHttpServer(limits, (q, s) => routes.handle(q, s));
    dropSilentSockets(this.http, options.tls ? 'secureConnection' : 'connection', silentMs);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.ctx.limits.maxMessageBytes,
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.upgrade(req, socket, head).catch((err) => {
        this.ctx.log.error({ err }, 'upgrade failed');
        refuse(socket, 500, 'Internal Server Error');
      });
    });
    this.stopWatching = store.onExternalChange(() => void this.onStoreChanged());
  }

  static async start(options: ServerOptions): Promise<FerryServer> {
    const dataDir = resolve(options.dataDir);
    const { store, chunks } = await openStores(dataDir);
    await chunks.recover((hash) => store.chunkKnown(hash));
    const server = new FerryServer({ ...options, dataDir }, store, chunks, new LocalBus());
    await server.listen();
    return server;
  }

  private listen(): Promise<void> {
    const { host = '127.0.0.1', port = DEFAULT_PORT } = this.options;
    return new Promise((resolveListen, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        this.address = this.http.address() as AddressInfo;
        this.startTimers();
        this.ctx.log.info({ url: this.url, data: this.options.dataDir }, 'ferry server listening');
        resolveListen();
      });
    });
  }

  get url(): string {
    const a = this.address!;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  get port(): number {
    return this.address!.port;
  }

  get connectionCount(): number {
    return this.sessions.size;
  }

  private max(of: (s: Session) => number): number {
    let n = 0;
    for (const s of this.sessions) n = Math.max(n, of(s));
    return n;
  }

  /** The send budget's backstop: the connection with the most queued goes first. */
  private cutSlowestReader(): boolean {
    let slowest: Session | undefined;
    for (const s of this.sessions) if (!slowest || s.backlog > slowest.backlog) slowest = s;
    if (!slowest || slowest.backlog === 0) return false;
    this.ctx.metrics.budgetCuts += 1;
    slowest.terminate('the server is over its send budget and this connection is the slowest reader');
    return true;
  }

  private sum(of: (s: Session) => number): number {
    let n = 0;
    for (const s of this.sessions) n += of(s);
    return n;
  }

  private startTimers(): void {
    const heartbeatMs = this.options.heartbeatMs ?? 15_000;
    const pongTimeoutMs = this.options.pongTimeoutMs ?? 10_000;
    const heartbeat = setInterval(() => {
      for (const s of this.sessions) s.ping();
      const check = setTimeout(() => {
        for (const s of this.sessions) if (s.awaitingPong) s.terminate('no pong');
      }, pongTimeoutMs);
      check.unref();
    }, heartbeatMs);
    heartbeat.unref();
    this.timers.push(heartbeat);
    const gcIntervalMs = this.options.gcIntervalMs ?? 24 * 3600_000;
    if (gcIntervalMs > 0) {
      const gc = setInterval(() => void this.gc().catch((err) => this.ctx.log.error({ err }, 'garbage collection failed')), gcIntervalMs);
      gc.unref();
      this.timers.push(gc);
    }
  }

  gc(): ReturnType<typeof collectGarbage> {
    return collectGarbage(this.ctx.store, this.ctx.chunks, this.options.retentionDays ?? 30, this.ctx.log);
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== SYNC_PATH) return refuse(socket, 404, 'Not Found');
    if (!this.originAllowed(req)) return refuse(socket, 403, 'Forbidden');
    const token = bearerToken(req);
    const device = token ? await this.ctx.store.deviceByTokenHash(hashToken(token)) : undefined;
    if (!device) {
      this.ctx.log.warn({ address: req.socket.remoteAddress }, 'sync connection with a missing or bad token');
      return refuse(socket, 401, 'Unauthorized');
    }
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, device));
  }

  private accept(ws: import('ws').WebSocket, socket: Socket, device: Device): void {
    const session = new Session(ws, socket, this.ctx, device);
    this.sessions.add(session);
    this.ctx.metrics.connections = this.sessions.size;
    void this.ctx.store.touchDevice(device.id, Date.now());
    ws.on('close', () => {
      this.sessions.delete(session);
      this.ctx.metrics.connections = this.sessions.size;
      void this.ctx.store.touchDevice(device.id, Date.now()).catch(() => {});
    });
  }

  /** Browsers always send Origin; native clients don't. Only the server's own origin and configured ones pass. */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.allowedOrigins.has(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  /** Another process (an admin command) changed the store: apply revocations and membership now. */
  private async onStoreChanged(): Promise<void> {
    try {
      const revoked = await this.ctx.store.revokedAmong([...this.sessions].map((s) => s.device.id));
      for (const s of this.sessions) {
        if (revoked.has(s.device.id)) s.close(Close.unauthorized, 'device token revoked');
        else await s.refreshFolders();
      }
    } catch (err) {
      this.ctx.log.error({ err }, 'applying an outside change failed');
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.stopWatching();
    for (const s of this.sessions) s.close(Close.goingAway, 'server shutting down');
    this.wss.close();
    await new Promise<void>((r) => {
      this.http.close(() => r());
      this.http.closeAllConnections();
    });
    this.ctx.store.close();
  }
}

/**
 * Node's request timeouts start at a request's first byte, so a socket that connects and
 * sends nothing would stay open for ever: drop it unless a request begins within `ms`.
 * With TLS the socket that carries requests is the one after the handshake, which has its
 * own timeout.
 */
function dropSilentSockets(server: Server, connectionEvent: 'connection' | 'secureConnection', ms: number): void {
  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  const begun = (socket: Socket): void => {
    clearTimeout(timers.get(socket));
    timers.delete(socket);
  };
  server.on(connectionEvent, (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), ms);
    timer.unref();
    timers.set(socket, timer);
    socket.once('close', () => begun(socket));
  });
  server.on('request', (req: IncomingMessage) => begun(req.socket));
  server.on('upgrade', (req: IncomingMessage) => begun(req.socket));
}

function refuse(socket: Socket, status: number, text: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
