/**
 * The web bridge's doors: the key, Host (DNS rebinding), Origin (CSRF), body size, malformed
 * calls, and static files that never reach outside the renderer directory. Raw HTTP requests,
 * so the tests choose every header themselves.
 */
import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryApp, FileSecretStore } from '../../src/app/ferry-app.js';
import { WebBridgeServer } from '../../src/app/web/web-bridge-server.js';
import { BridgeError } from '../../src/shared/bridge.js';
import { createWebBridge } from '../../src/renderer/bridge/web-bridge.js';
import { eventually, removeDir, tempDir } from '../helpers/server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let base: string;
let app: FerryApp;
let web: WebBridgeServer;
let port: number;

function send(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const call = (command: string, body: string | Buffer = '[]', headers: Record<string, string> = {}) =>
  send('POST', `/v1/call/${command}`, { authorization: `Bearer ${web.key}`, 'content-type': 'application/json', ...headers }, body);

/** The HTTP status a WebSocket upgrade gets, or 101 when it opens. */
function upgrade(protocols: string[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/events`, protocols, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => {});
  });
}

beforeAll(async () => {
  base = await tempDir('ferry-web-');
  const renderer = join(base, 'renderer');
  await mkdir(join(renderer, 'assets'), { recursive: true });
  await writeFile(join(renderer, 'index.html'), '<!doctype html><title>Ferry</title>');
  await writeFile(join(renderer, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(base, 'secret.txt'), 'outside the renderer');
  const stateDir = join(base, 'state');
  app = await FerryApp.start({ stateDir, logger: pino({ level: 'silent' }), secrets: new FileSecretStore(stateDir), canHost: false });
  web = await WebBridgeServer.start({ bridge: app, logger: pino({ level: 'silent' }), rendererDir: renderer });
  port = Number(new URL(web.url).port);
});

afterAll(async () => {
  await web.stop();
  await app.stop();
  await removeDir(base);
});

describe('web bridge: the key', () => {
  it('answers a call with the key, and refuses a missing or wrong one with 401', async () => {
    const ok = await call('getApp');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, value: { setup: { mode: 'none' } } });
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect((await call('getApp', '[]', { authorization: '' })).status).toBe(401);
    expect((await call('getApp', '[]', { authorization: `Bearer ${web.key.slice(1)}x` })).status).toBe(401);
    expect((await call('getApp', '[]', { authorization: web.key })).status).toBe(401);
  });

  it('opens the event socket only with the key offered as a subprotocol', async () => {
    expect(await upgrade(['ferry-ui.v1', `key.${web.key}`])).toBe(101);
    expect(await upgrade(['ferry-ui.v1'])).toBe(401);
    expect(await upgrade(['ferry-ui.v1', 'key.wrong'])).toBe(401);
    expect(await upgrade([`key.${web.key}`])).toBe(401);
  });

  it('prints the key only in the fragment of the UI address', () => {
    expect(web.uiUrl).toBe(`${web.url}/#key=${web.key}`);
    expect(web.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('web bridge: Host and Origin', () => {
  it('refuses a foreign Host (DNS rebinding) with 403, on calls, static files and the socket', async () => {
    expect((await call('getApp', '[]', { host: `evil.example:${port}` })).status).toBe(403);
    expect((await call('getApp', '[]', { host: `127.0.0.1:${port + 1}` })).status).toBe(403);
    expect((await send('GET', '/', { host: `evil.example:${port}` })).status).toBe(403);
    expect(await upgrade(['ferry-ui.v1', `key.${web.key}`], { host: `evil.example:${port}` })).toBe(403);
    expect((await call('getApp', '[]', { host: `localhost:${port}` })).status).toBe(200);
  });

  it("refuses another site's Origin (CSRF) with 403, on calls and the socket; its own origin passes", async () => {
    expect((await call('pause', '[]', { origin: 'http://evil.example' })).status).toBe(403);
    expect((await call('pause', '[]', { origin: 'null' })).status).toBe(403);
    expect(await upgrade(['ferry-ui.v1', `key.${web.key}`], { origin: 'http://evil.example' })).toBe(403);
    expect((await call('getApp', '[]', { origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect(await upgrade(['ferry-ui.v1', `key.${web.key}`], { origin: `http://127.0.0.1:${port}` })).toBe(101);
  });
});

describe('web bridge: malformed calls', () => {
  it('answers an unknown command with invalid-argument', async () => {
    const res = await call('formatDisk');
    expect(JSON.parse(res.body)).toEqual({ ok: false, error: { code: 'invalid-argument', message: "no command 'formatDisk'" } });
  });

  it('answers a body that is not JSON, or not an array, with 400 and a clear message', async () => {
    const garbage = await call('getApp', '{not json');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toMatchObject({ ok: false, error: { code: 'invalid-argument', message: expect.stringMatching(/^the body is not JSON/) } });
    const object = await call('getApp', '{"a": 1}');
    expect(object.status).toBe(400);
    expect(JSON.parse(object.body).error.message).toBe('the body is a JSON array of arguments');
  });

  it('answers a body over 1 MiB with 413, and keeps serving', async () => {
    const res = await call('setIgnoreRules', Buffer.alloc(1024 * 1024 + 1, 0x20));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.message).toMatch(/larger than 1048576 bytes/);
    expect((await call('getApp')).status).toBe(200);
  });

  it('answers commands sent with another method with 405', async () => {
    const res = await send('GET', '/v1/call/getApp', { authorization: `Bearer ${web.key}` });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });
});

describe('web bridge: static files', () => {
  it('serves the renderer with a strict CSP and nosniff', async () => {
    const index = await send('GET', '/');
    expect(index.status).toBe(200);
    expect(index.body).toContain('<title>Ferry</title>');
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['content-security-policy']).toContain(`connect-src 'self' ws://127.0.0.1:${port}`);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    const js = await send('GET', '/assets/app.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/%00',
    '/%E0%A4%A',
    '/assets',
    '/missing.js',
  ])('never serves %s (404)', async (path) => {
    const res = await send('GET', path);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('outside the renderer');
  });
});

describe('web bridge: lifetime', () => {
  it('listens on loopback unless a caller asks for more', async () => {
    await expect(WebBridgeServer.start({ bridge: app, logger: pino({ level: 'silent' }), host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('closes event sockets cleanly on stop; the client reports the loss, fails calls with unreachable, and comes back with the server', async () => {
    const second = await WebBridgeServer.start({ bridge: app, logger: pino({ level: 'silent' }) });
    const secondPort = Number(new URL(second.url).port);
    const raw = new WebSocket(`${second.url.replace('http', 'ws')}/v1/events`, ['ferry-ui.v1', `key.${second.key}`]);
    const closed = new Promise<number>((resolve) => raw.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => raw.on('open', () => resolve()));
    const client = createWebBridge({ baseUrl: second.url, key: second.key, WebSocket });
    await client.whenOpen();
    const statuses: string[] = [];
    client.onConnection((c) => statuses.push(c.status));
    await second.stop();
    expect(await closed).toBe(1001);
    await eventually(() => statuses.includes('offline'), 5000, 'the client to notice');
    const err = await client.getApp().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeError);
    expect((err as BridgeError).code).toBe('unreachable');
    const apps: unknown[] = [];
    client.onApp((a) => apps.push(a));
    const third = await WebBridgeServer.start({ bridge: app, logger: pino({ level: 'silent' }), port: secondPort, key: second.key });
    try {
      await eventually(() => apps.length > 0, 15_000, 'the client to reconnect and catch up');
      expect((await client.getApp()).setup).toEqual({ mode: 'none' });
    } finally {
      client.close();
      await third.stop();
    }
  });
});
