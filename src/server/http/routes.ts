/** The plain HTTP endpoints: health, metrics, password login and a device's sign-out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { bearerToken } from '../auth/bearer-token.js';
import { RateLimiter } from '../auth/rate-limit.js';
import { hashToken, newDeviceToken, verifyNothing, verifyPassword } from '../auth/secrets.js';

const MAX_BODY_BYTES = 16 * 1024;

const LoginRequest = z.object({
  user: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
  device: z.string().trim().min(1).max(128),
});

export class HttpRoutes {
  // Per address: a burst of 10, then 10 a minute. Per user: 5, then 5 a minute, so a
  // spread-out attack on one account is slow however many addresses it uses.
  private readonly byAddress = new RateLimiter(10, 10);
  private readonly byUser = new RateLimiter(5, 5);

  constructor(private readonly ctx: ServerContext) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method} ${url.pathname}`;
    const work =
      route === 'GET /healthz'
        ? this.health(res)
        : route === 'GET /metrics'
          ? this.metrics(res)
          : route === 'POST /v1/login'
            ? this.login(req, res)
            : route === 'POST /v1/logout'
              ? this.logout(req, res)
              : Promise.resolve(json(res, 404, { error: 'not_found', message: `no route for ${route}` }));
    work.catch((err) => {
      this.ctx.log.error({ err, route }, 'request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal', message: 'the server failed to handle this request' });
      else res.destroy();
    });
  }

  private async health(res: ServerResponse): Promise<void> {
    json(res, 200, { status: 'ok', server: this.ctx.store.serverId, version: this.ctx.version });
  }

  private async metrics(res: ServerResponse): Promise<void> {
    const text = await this.ctx.metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(text);
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = this.byAddress.take(address);
    if (wait > 0) return this.throttled(res, wait);
    const body = await readJson(req);
    if (!body.ok) return json(res, body.status, { error: 'bad_request', message: body.message });
    const parsed = LoginRequest.safeParse(body.value);
    if (!parsed.success) {
      return json(res, 400, { error: 'bad_request', message: 'expected {"user", "password", "device"} strings' });
    }
    const { user: name, password, device } = parsed.data;
    const userWait = this.byUser.take(name);
    if (userWait > 0) return this.throttled(res, userWait);
    const user = await this.ctx.store.userByName(name);
    const ok = user ? await verifyPassword(password, user.passwordHash) : await verifyNothing(password);
    if (!user || !ok) {
      this.ctx.metrics.loginFailures += 1;
      this.ctx.log.warn({ user: name, address }, 'failed login');
      return json(res, 401, { error: 'unauthorized', message: 'wrong user name or password' });
    }
    this.byUser.reset(name);
    this.byAddress.reset(address);
    const token = newDeviceToken();
    const created = await this.ctx.store.createDevice(user.id, device, hashToken(token));
    this.ctx.log.info({ user: name, device: created.id, address }, 'device signed in');
    json(res, 200, { token, user: user.name, device: { id: created.id, name: created.name }, server: this.ctx.store.serverId });
  }

  /** A device signing itself out: its token stops working here and now, and its connections close. */
  private async logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = req.socket.remoteAddress ?? 'unknown';
    const token = bearerToken(req);
    const device = token ? await this.ctx.store.deviceByTokenHash(hashToken(token)) : undefined;
    if (!device) {
      // Only failures count, so guessing is slow and a device's own sign-out never waits.
      const wait = this.byAddress.take(address);
      if (wait > 0) return this.throttled(res, wait);
      return json(res, 401, { error: 'unauthorized', message: 'no valid device token (Authorization: Bearer …)' });
    }
    await this.ctx.store.revokeDevice(device.id);
    this.ctx.log.info({ device: device.id, address }, 'device signed out');
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
  }

  private throttled(res: ServerResponse, seconds: number): void {
    this.ctx.metrics.loginFailures += 1;
    res.setHeader('retry-after', String(seconds));
    json(res, 429, { error: 'rate_limited', message: `too many attempts; try again in ${seconds} s` });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

type Body = { ok: true; value: unknown } | { ok: false; status: number; message: string };

async function readJson(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, message: `the body is larger than ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'the body is not JSON' };
  }
}
