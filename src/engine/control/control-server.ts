/**
 * The running client's local control endpoint: loopback only, guarded by a random key kept
 * in the state directory, with the Host header checked so a web page can't reach it through
 * DNS rebinding. `ferry status` reads the state here; commands map onto the bridge API.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SyncBridge } from '../../shared/bridge.js';

export interface ControlInfo {
  url: string;
  key: string;
  pid: number;
}

export const CONTROL_FILE = 'control.json';

export class ControlServer {
  private readonly key = randomBytes(32).toString('base64url');
  private server: Server | undefined;
  private port = 0;

  constructor(
    private readonly bridge: SyncBridge,
    private readonly stateDir: string,
  ) {}

  async start(host = '127.0.0.1', port = 0): Promise<ControlInfo> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => send(res, 500, { error: err.message }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    const info: ControlInfo = { url: `http://${host}:${this.port}`, key: this.key, pid: process.pid };
    await writeFile(join(this.stateDir, CONTROL_FILE), JSON.stringify(info), { mode: 0o600 });
    return info;
  }

  async stop(): Promise<void> {
    await rm(join(this.stateDir, CONTROL_FILE), { force: true });
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private authorized(req: IncomingMessage): boolean {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${this.port}` && host !== `localhost:${this.port}`) return false;
    const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const key = Buffer.from(this.key);
    return given.length === key.length && timingSafeEqual(given, key);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorized(req)) return send(res, 401, { error: 'unauthorized' });
    const route = `${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`;
    const b = this.bridge;
    switch (route) {
      case 'GET /v1/state':
        return send(res, 200, await b.getState());
      case 'POST /v1/pause':
        await b.pause();
        return send(res, 200, { ok: true });
      case 'POST /v1/resume':
        await b.resume();
        return send(res, 200, { ok: true });
      case 'POST /v1/retry':
        await b.retry();
        return send(res, 200, { ok: true });
      default:
        return send(res, 404, { error: `no route ${route}` });
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
