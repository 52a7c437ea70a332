/**
 * The web bridge's server: the bridge API over HTTP and one WebSocket for a browser UI (and
 * `ferry status`), plus the built renderer. Loopback unless a caller asks for more; every API
 * request carries the random key and passes the Host and Origin checks (request-guard.ts).
 * Commands go through dispatch(), which validates their arguments.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { BridgeResult, FerryBridge } from '../../shared/bridge.js';
import { subscribeAll } from '../../shared/bridge-calls.js';
import { dispatch } from '../../shared/bridge-schema.js';
import { CALL_PATH, EVENTS_PATH, MAX_CALL_BODY_BYTES, UI_PROTOCOL, type EventMessage } from '../../shared/web-api.js';
import { isLoopback, RequestGuard, type Refusal } from './request-guard.js';
import { defaultRendererDir, resolveStatic, sendStatic } from './static-files.js';

export interface WebBridgeServerOptions {
  bridge: FerryBridge;
  logger: Logger;
  /** 127.0.0.1 unless told. */
  host?: string;
  /** 0 (any free port) unless told. */
  port?: number;
  /** Required to listen on anything but loopback: the UI then answers the network, still behind the key. */
  allowRemote?: boolean;
  rendererDir?: string;
  /** The key calls and event sockets must carry; 32 random bytes unless given. */
  key?: string;
}

/** A browser too slow to take its events is cut off rather than let them pile up in memory. */
const MAX_EVENT_BACKLOG_BYTES = 16 * 1024 * 1024;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function contentSecurityPolicy(host: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ws://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export class WebBridgeServer {
  readonly key: string;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly rendererDir: string;
  private guard: RequestGuard | undefined;
  private address: AddressInfo | undefined;

  private constructor(private readonly options: WebBridgeServerOptions) {
    this.key = options.key ?? randomBytes(32).toString('base64url');
    this.rendererDir = options.rendererDir ?? defaultRendererDir();
    this.http = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        options.logger.error({ err, url: req.url }, 'UI request failed');
        if (!res.headersSent) this.json(res, 500, { ok: false, error: { code: 'internal', message: 'the request failed' } });
        else res.destroy();
      });
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 64 * 1024,
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has(UI_PROTOCOL) ? UI_PROTOCOL : false),
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
  }

  static async start(options: WebBridgeServerOptions): Promise<WebBridgeServer> {
    const host = options.host ?? '127.0.0.1';
    if (!isLoopback(host) && !options.allowRemote) throw new Error(`the UI listens on loopback unless asked: refusing ${host}`);
    const server = new WebBridgeServer(options);
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(options.port ?? 0, host, () => {
        server.http.off('error', reject);
        resolve();
      });
    });
    server.address = server.http.address() as AddressInfo;
    server.guard = new RequestGuard(host, server.address.port, server.key);
    return server;
  }

  /** http://host:port of the UI and the API. */
  get url(): string {
    const a = this.address!;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** The address to open in a browser: the key rides in the fragment, which never leaves the browser. */
  get uiUrl(): string {
    return `${this.url}/#key=${this.key}`;
  }

  async stop(): Promise<void> {
    const closing = [...this.wss.clients].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1001, 'Ferry is stopping');
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closing);
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  // ---- HTTP ---------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://ui.invalid').pathname;
    const site = this.guard!.checkSite(req);
    if (site) return this.refuse(res, site);
    if (pathname.startsWith(CALL_PATH)) return this.call(req, res, pathname.slice(CALL_PATH.length));
    if (pathname === EVENTS_PATH) return this.json(res, 426, { ok: false, error: { code: 'invalid-argument', message: 'events come over a WebSocket' } });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return this.json(res, 405, { ok: false, error: { code: 'invalid-argument', message: `${req.method} is not allowed here` } });
    }
    const file = await resolveStatic(this.rendererDir, pathname);
    if (!file) {
      const built = await resolveStatic(this.rendererDir, '/');
      const message = built ? 'not found' : 'the UI is not built: run `npx electron-vite build`';
      res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(message + '\n');
    }
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('content-security-policy', contentSecurityPolicy(req.headers.host!));
    await sendStatic(res, file, req.method === 'HEAD');
  }

  private async call(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return this.json(res, 405, { ok: false, error: { code: 'invalid-argument', message: 'commands are POSTed' } });
    }
    const auth = this.guard!.checkKey(req, false);
    if (auth) return this.refuse(res, auth);
    const body = await readBody(req, MAX_CALL_BODY_BYTES);
    if (body === undefined) {
      res.setHeader('connection', 'close');
      return this.json(res, 413, { ok: false, error: { code: 'invalid-argument', message: `the arguments are larger than ${MAX_CALL_BODY_BYTES} bytes` } });
    }
    let args: unknown;
    try {
      args = JSON.parse(body);
    } catch (err) {
      return this.json(res, 400, { ok: false, error: { code: 'invalid-argument', message: `the body is not JSON: ${(err as Error).message}` } });
    }
    if (!Array.isArray(args)) return this.json(res, 400, { ok: false, error: { code: 'invalid-argument', message: 'the body is a JSON array of arguments' } });
    let command: string;
    try {
      command = decodeURIComponent(name);
    } catch {
      command = name;
    }
    this.json(res, 200, await dispatch(this.options.bridge, command, args));
  }

  private refuse(res: ServerResponse, refusal: Refusal): void {
    this.json(res, refusal.status, { ok: false, error: { code: refusal.status === 401 ? 'auth-failed' : 'invalid-argument', message: refusal.message } });
  }

  private json(res: ServerResponse, status: number, body: BridgeResult<unknown>): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  // ---- events -------------------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const pathname = new URL(req.url ?? '/', 'http://ui.invalid').pathname;
    if (pathname !== EVENTS_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    const refusal = this.guard!.checkSite(req) ?? this.guard!.checkKey(req, true);
    if (refusal) return refuseUpgrade(socket, refusal.status, refusal.status === 401 ? 'Unauthorized' : 'Forbidden');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.stream(ws));
  }

  private stream(ws: WebSocket): void {
    const unsubscribe = subscribeAll(this.options.bridge, (event, payload) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_EVENT_BACKLOG_BYTES) {
        this.options.logger.warn('a UI did not keep up with its events; disconnecting it');
        return ws.terminate();
      }
      const message: EventMessage = { event, payload };
      ws.send(JSON.stringify(message));
    });
    ws.on('close', unsubscribe);
    ws.on('error', () => ws.terminate());
    // The UI only listens; anything it sends is ignored.
  }
}

/**
 * The request body as text, or undefined when it is larger than `limit`. An oversized body is
 * read to its end and dropped, so the client gets the 413 instead of a reset connection (the
 * request timeout bounds how long that can take).
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = Number(req.headers['content-length'] ?? 0) > limit ? limit + 1 : 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.once('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function refuseUpgrade(socket: Socket, status: number, text: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
