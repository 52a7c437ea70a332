import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  if (!srv) return;
  await srv.close();
  await removeDir(srv.dataDir);
  srv = undefined;
});

describe('transport', () => {
  it('drops a socket that connects and never sends a request', async () => {
    srv = await startServer({ silentSocketMs: 300 });
    const socket = connect(srv.server.port, '127.0.0.1');
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    expect(closed).toBe(true);
    // ...while a client that does speak is served.
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
  });

  it('serves HTTPS and WSS with --tls-cert/--tls-key', async () => {
    const dir = await tempDir();
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    srv = await startServer({ tls: { cert, key } });
    expect(srv.url).toMatch(/^https:/);
    const { token } = await seedUser(srv.store, 'tls');
    const ws = new WebSocket(srv.wsUrl, { headers: { authorization: `Bearer ${token}` }, ca: readFileSync(cert) });
    const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'tls-test' })));
      ws.once('message', (d: Buffer) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
      ws.once('error', reject);
    });
    expect(welcome).toMatchObject({ type: 'welcome', user: 'tls' });
    ws.close();
    await removeDir(dir);
  });

  it('lets a browser authenticate through Sec-WebSocket-Protocol, and checks its Origin', async () => {
    srv = await startServer({ allowedOrigins: ['https://ferry.example'] });
    const { token } = await seedUser(srv.store, 'web');
    const open = (origin: string) =>
      new Promise<string | number>((resolve) => {
        const ws = new WebSocket(srv!.wsUrl, ['ferry.v1', `bearer.${token}`], { origin });
        ws.once('open', () => {
          resolve(ws.protocol);
          ws.close();
        });
        ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      });
    expect(await open('https://ferry.example')).toBe('ferry.v1');
    expect(await open(srv.url)).toBe('ferry.v1');
    expect(await open('https://evil.example')).toBe(403);
  });
});
