/**
 * `ferry serve` as a real process: first start, health and metrics, login, admin commands
 * taking effect on a running server, crash and graceful shutdown. Every server here is a
 * child process on 127.0.0.1 with its SQLite database and chunks in a temp directory.
 * Needs `npm run build` first (the CLI runs from dist/).
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { fsck } from '../../src/server/fsck.js';
import { commitFile, ConnectRefused, putFile, RawClient, sha256 } from '../helpers/raw-client.js';
import {
  eventually,
  login,
  parseFirstStart,
  removeDir,
  ROOT,
  runFerry,
  spawnServer,
  tempDir,
  within,
  type FirstStartBanner,
  type SpawnedServer,
} from '../helpers/server.js';

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` before these tests');
});

/** Every client a test opens, closed after it whatever happens. */
const clients: RawClient[] = [];
async function open(url: string, token: string) {
  const opened = await RawClient.open(url, token);
  clients.push(opened.client);
  return opened;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.ws.terminate();
});

/** Servers and directories a describe block started, cleaned up at the end of the file. */
const servers: SpawnedServer[] = [];
const dirs: string[] = [];
async function spawn(dir: string): Promise<SpawnedServer> {
  const s = await spawnServer(dir);
  servers.push(s);
  return s;
}
async function freshDir(): Promise<string> {
  const dir = await tempDir('ferry-proc-');
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  await Promise.all(dirs.map(removeDir));
});

/** Starts a server on an empty data directory and waits for its first-start banner. */
async function firstStart(): Promise<{ dir: string; srv: SpawnedServer; banner: FirstStartBanner }> {
  const dir = await freshDir();
  const srv = await spawn(dir);
  const banner = await eventually(() => parseFirstStart(srv.stderr()), 10_000, 'the first-start banner');
  return { dir, srv, banner };
}

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

async function metrics(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const values = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, value] = line.split(' ');
    values.set(name!, Number(value));
  }
  return values;
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function ferryOk(args: string[], input?: string): Promise<string> {
  const r = await runFerry(args, input);
  if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe('ferry serve on an empty data directory', () => {
  let dir: string;
  let srv: SpawnedServer;
  let banner: FirstStartBanner;

  beforeAll(async () => {
    ({ dir, srv, banner } = await firstStart());
  });

  it('prints the address, user admin, a password, a device token and folder Ferry', () => {
    expect(banner.address).toBe(srv.url);
    expect(banner.user).toBe('admin');
    expect(banner.folder).toBe('Ferry');
    expect(banner.password.length).toBeGreaterThanOrEqual(8);
    expect(banner.token.length).toBeGreaterThanOrEqual(32);
  });

  it('the printed token connects and the welcome lists folder Ferry', async () => {
    const { welcome } = await open(srv.wsUrl, banner.token);
    expect(welcome).toMatchObject({ type: 'welcome', user: 'admin', folders: [{ name: 'Ferry', role: 'owner', rev: 0 }] });
  });

  it('the printed password logs in and returns a new token that also connects', async () => {
    const res = await login(srv.url, { user: 'admin', password: banner.password, device: 'second laptop' });
    expect(res.status).toBe(200);
    const token = res.json?.token;
    expect(typeof token).toBe('string');
    expect(token).not.toBe(banner.token);
    expect(res.json).toMatchObject({ user: 'admin', device: { name: 'second laptop' } });
    const { welcome } = await open(srv.wsUrl, token as string);
    expect(welcome).toMatchObject({ type: 'welcome', user: 'admin', device: { name: 'second laptop' }, folders: [{ name: 'Ferry' }] });
  });

  it('/healthz answers 200 JSON with the server id', async () => {
    const res = await fetch(`${srv.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok' });
    expect(typeof body.server).toBe('string');
    expect((body.server as string).length).toBeGreaterThan(0);
    const { welcome } = await open(srv.wsUrl, banner.token);
    expect(welcome.server).toMatchObject({ id: body.server });
  });

  it('/metrics is Prometheus text whose numbers move after a commit', async () => {
    const res = await fetch(`${srv.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const names = [
      'ferry_connections',
      'ferry_commits_total',
      'ferry_bytes_in_total',
      'ferry_bytes_out_total',
      'ferry_chunks_stored',
      'ferry_feed_lag_seconds_count',
    ];
    for (const name of names) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
      expect(text).toMatch(new RegExp(`^${name} \\d+(\\.\\d+)?$`, 'm'));
    }

    const before = await metrics(srv.url);
    const watcher = await open(srv.wsUrl, banner.token);
    const writer = await open(srv.wsUrl, banner.token);
    const folder = (watcher.welcome.folders as { id: number }[])[0]!.id;
    const { rev } = await watcher.client.subscribe(folder);
    const data = randomBytes(5000);
    const committed = await commitFile(writer.client, folder, 'metrics.bin', data);
    expect(committed).toMatchObject({ type: 'committed', results: [{ path: 'metrics.bin', rev: rev + 1 }] });
    await watcher.client.next((m) => m.type === 'changes' && m.rev === rev + 1);

    const after = await eventually(
      async () => {
        const m = await metrics(srv.url);
        return m.get('ferry_feed_lag_seconds_count')! > before.get('ferry_feed_lag_seconds_count')! ? m : undefined;
      },
      5000,
      'the feed lag count to move',
    );
    expect(after.get('ferry_connections')).toBe(2);
    expect(after.get('ferry_commits_total')).toBe(before.get('ferry_commits_total')! + 1);
    expect(after.get('ferry_chunks_stored')).toBe(before.get('ferry_chunks_stored')! + 1);
    expect(after.get('ferry_bytes_in_total')).toBeGreaterThanOrEqual(before.get('ferry_bytes_in_total')! + data.length);
    expect(after.get('ferry_bytes_out_total')).toBeGreaterThan(before.get('ferry_bytes_out_total')!);
    expect(after.get('ferry_feed_lag_seconds_count')).toBe(before.get('ferry_feed_lag_seconds_count')! + 1);
  });

  it('prints the banner exactly once, and a second start of the same data directory prints none of it', async () => {
    const firstId = (await health(srv.url)).body.server;
    expect(await srv.stop('SIGTERM')).toBe(0);
    const first = srv.stderr();
    expect(occurrences(first, 'first start')).toBe(1);
    expect(occurrences(first, banner.password)).toBe(1);
    expect(occurrences(first, `  token     ${banner.token}`)).toBe(1);
    expect(first.match(/^  (address|user|password|token|folder) /gm)).toHaveLength(5);

    const again = await spawn(dir);
    const { status, body } = await health(again.url);
    expect(status).toBe(200);
    // It stopped gracefully, so it ran past the point where the banner would have been printed.
    expect(await again.stop('SIGTERM')).toBe(0);
    const second = again.stderr();
    expect(second).not.toContain('first start');
    expect(second).not.toContain(banner.password);
    expect(second).not.toContain(banner.token);
    expect(second).not.toMatch(/^  (address|user|password|token|folder) /m);
    expect(body.server).toBe(firstId);
  });
});

describe('POST /v1/login', () => {
  let srv: SpawnedServer;
  let banner: FirstStartBanner;

  beforeAll(async () => {
    ({ srv, banner } = await firstStart());
  });

  it('answers a wrong password with 401', async () => {
    const res = await login(srv.url, { user: 'admin', password: 'not-the-password', device: 'x' });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ error: 'unauthorized' });
    expect(res.json?.token).toBeUndefined();
  });

  it('answers missing fields and a body that is not JSON with 400', async () => {
    for (const body of [{}, { user: 'admin' }, { user: 'admin', password: banner.password }, { password: banner.password, device: 'x' }]) {
      const res = await login(srv.url, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json?.token).toBeUndefined();
    }
    const notJson = await login(srv.url, 'user=admin&password=x');
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ error: 'bad_request' });
  });

  it('throttles repeated wrong attempts for one user with 429 and Retry-After', async () => {
    // A fresh server, so the attempts above do not count.
    const { srv: fresh, banner: freshBanner } = await firstStart();
    const statuses: number[] = [];
    let throttled: Awaited<ReturnType<typeof login>> | undefined;
    for (let i = 0; i < 20 && !throttled; i++) {
      const res = await login(fresh.url, { user: 'admin', password: `guess-${i}`, device: 'attacker' });
      statuses.push(res.status);
      if (res.status === 429) throttled = res;
    }
    expect(throttled, `statuses: ${statuses.join(',')}`).toBeDefined();
    // Some guesses were let through and answered before the throttle started.
    expect(statuses.length).toBeGreaterThan(1);
    expect(statuses.slice(0, -1).every((s) => s === 401)).toBe(true);
    const retryAfter = Number(throttled!.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(throttled!.json).toMatchObject({ error: 'rate_limited' });
    // While throttled, not even the right password is tried.
    const right = await login(fresh.url, { user: 'admin', password: freshBanner.password, device: 'owner' });
    expect(right.status).toBe(429);
    expect(right.json?.token).toBeUndefined();
  });
});

describe('admin commands against a running server', () => {
  let dir: string;
  let srv: SpawnedServer;
  let banner: FirstStartBanner;

  beforeAll(async () => {
    ({ dir, srv, banner } = await firstStart());
  });

  it('token revoke cuts a live, subscribed socket with 4401; the token then gets HTTP 401', async () => {
    const token = (await ferryOk(['admin', '--data', dir, 'token', 'create', 'admin', '--device', 'stolen laptop'])).trim();
    const victim = await open(srv.wsUrl, token);
    const bystander = await open(srv.wsUrl, banner.token);
    const deviceId = (victim.welcome.device as { id: number }).id;
    const folder = (victim.welcome.folders as { id: number; name: string }[]).find((f) => f.name === 'Ferry')!.id;
    await victim.client.subscribe(folder);

    const out = await ferryOk(['admin', '--data', dir, 'token', 'revoke', String(deviceId)]);
    expect(out).toContain(`device ${deviceId} revoked`);
    const closed = await within(victim.client.closed, 5000, 'close of the revoked socket');
    expect(closed.code).toBe(4401);

    await expect(RawClient.connect(srv.wsUrl, token)).rejects.toSatisfy((err) => err instanceof ConnectRefused && err.status === 401);
    // Only that device is cut off.
    expect(bystander.client.ws.readyState).toBe(bystander.client.ws.OPEN);
    expect(await bystander.client.request({ type: 'has', folder, hashes: [] })).toMatchObject({ type: 'have', missing: [] });
  });

  it('POST /v1/logout revokes the token it carries: its live socket is cut, it can sign out only once, other devices stay', async () => {
    const token = (await ferryOk(['admin', '--data', dir, 'token', 'create', 'admin', '--device', 'old phone'])).trim();
    const leaving = await open(srv.wsUrl, token);
    const bystander = await open(srv.wsUrl, banner.token);
    const logout = (auth?: string) => fetch(`${srv.url}/v1/logout`, { method: 'POST', headers: auth ? { authorization: auth } : {} });

    expect((await logout()).status).toBe(401);
    expect((await logout('Bearer fy1_not-a-token')).status).toBe(401);
    expect((await logout(`Bearer ${token}`)).status).toBe(204);
    expect((await within(leaving.client.closed, 5000, 'close of the signed-out socket')).code).toBe(4401);
    await expect(RawClient.connect(srv.wsUrl, token)).rejects.toSatisfy((err) => err instanceof ConnectRefused && err.status === 401);
    expect((await logout(`Bearer ${token}`)).status).toBe(401);
    const list = await ferryOk(['admin', '--data', dir, 'token', 'list']);
    expect(list).toMatch(/old phone .*revoked/);
    expect(bystander.client.ws.readyState).toBe(bystander.client.ws.OPEN);
  });

  it('folder share to a connected user sends that user a folders message listing it', async () => {
    await ferryOk(['admin', '--data', dir, 'user', 'add', 'carol', '--password-stdin'], 'carol-secret-pw\n');
    const token = (await ferryOk(['admin', '--data', dir, 'token', 'create', 'carol', '--device', 'carol-desk'])).trim();
    const carol = await open(srv.wsUrl, token);
    expect(carol.welcome).toMatchObject({ type: 'welcome', user: 'carol', folders: [] });

    await ferryOk(['admin', '--data', dir, 'folder', 'create', 'Projects', '--owner', 'admin']);
    await ferryOk(['admin', '--data', dir, 'folder', 'share', 'Projects', 'carol', '--role', 'read']);
    const msg = await carol.client.next((m) => m.type === 'folders', 5000);
    expect(msg.folders).toEqual([expect.objectContaining({ name: 'Projects', role: 'read' })]);

    // The new membership is usable at once on the same connection.
    const projects = (msg.folders as { id: number }[])[0]!.id;
    const { rev } = await carol.client.subscribe(projects);
    expect(rev).toBe(0);
  });
});

describe('restarts', () => {
  let dir: string;
  let banner: FirstStartBanner;
  let srv: SpawnedServer;

  beforeAll(async () => {
    ({ dir, srv, banner } = await firstStart());
  });

  it('keeps the journal, the chunks and the server id across kill -9', async () => {
    const { client, welcome } = await open(srv.wsUrl, banner.token);
    const folder = (welcome.folders as { id: number }[])[0]!.id;
    const serverId = (welcome.server as { id: string }).id;
    const files = new Map<string, Buffer>([
      ['a.txt', Buffer.from('first file')],
      ['docs/b.bin', randomBytes(300 * 1024)],
      ['c.bin', randomBytes(3 * 1024 * 1024)],
    ]);
    expect(await client.request({ type: 'commit', folder, ops: [{ op: 'put', path: 'docs', baseRev: 0, kind: 'dir', size: 0, mtime: 0, mode: 0o755, hash: '', chunks: [], target: '' }] })).toMatchObject({ type: 'committed' });
    for (const [path, data] of files) {
      expect(await commitFile(client, folder, path, data)).toMatchObject({ type: 'committed', results: [{ path, rev: expect.any(Number) }] });
    }
    const before = await client.subscribe(folder, 0);
    expect(before.entries.map((e) => e.path).sort()).toEqual(['a.txt', 'c.bin', 'docs', 'docs/b.bin']);

    expect(await srv.stop('SIGKILL')).toBeNull();
    expect((await srv.exited).signal).toBe('SIGKILL');
    await within(client.closed, 5000, 'the socket to drop');

    srv = await spawn(dir);
    expect(srv.stderr()).not.toContain('first start');
    expect((await health(srv.url)).body.server).toBe(serverId);
    const again = await open(srv.wsUrl, banner.token);
    expect(again.welcome.server).toMatchObject({ id: serverId });
    expect(again.welcome.folders).toEqual([expect.objectContaining({ id: folder, name: 'Ferry', rev: before.rev })]);
    const after = await again.client.subscribe(folder, 0);
    expect(after.rev).toBe(before.rev);
    expect(after.entries).toEqual(before.entries);
    for (const [path, data] of files) {
      const entry = after.entries.find((e: Entry) => e.path === path)!;
      expect(entry.hash).toBe(sha256(data));
      const got = await again.client.download(folder, sha256(data));
      expect(Buffer.isBuffer(got), `download of ${path}`).toBe(true);
      expect((got as Buffer).equals(data)).toBe(true);
    }
  });

  it('keeps small chunks answered `stored` but not yet committed (kept inline in the database) across kill -9', async () => {
    const { client, welcome } = await open(srv.wsUrl, banner.token);
    const folder = (welcome.folders as { id: number }[])[0]!.id;
    // Sent at once, so they are recorded in groups sharing a transaction.
    const chunks = Array.from({ length: 60 }, (_, i) => randomBytes(100 + i * 1000));
    const stored = await Promise.all(chunks.map((data) => client.upload(folder, data)));
    stored.forEach((reply, i) => expect(reply).toMatchObject({ type: 'stored', hash: sha256(chunks[i]!) }));

    expect(await srv.stop('SIGKILL')).toBeNull();
    await within(client.closed, 5000, 'the socket to drop');
    srv = await spawn(dir);
    const again = await open(srv.wsUrl, banner.token);
    const ops = chunks.map((data, i) => putFile(`kept-${i}.bin`, data));
    const committed = await again.client.request({ type: 'commit', folder, ops });
    expect(committed, 'no chunk is asked for again').toMatchObject({ type: 'committed' });
    for (const data of chunks) {
      const got = await again.client.download(folder, sha256(data));
      expect(Buffer.isBuffer(got) && got.equals(data), `download of a ${data.length}-byte chunk`).toBe(true);
    }
    expect((await fsck(dir, { verifyContent: true })).problems).toEqual([]);
  });

  it('a graceful SIGTERM exits with 0 and connected clients see close code 1001', async () => {
    const a = await open(srv.wsUrl, banner.token);
    const b = await open(srv.wsUrl, banner.token);
    const folder = (a.welcome.folders as { id: number }[])[0]!.id;
    await a.client.subscribe(folder);
    const code = await within(srv.stop('SIGTERM'), 10_000, 'exit after SIGTERM');
    expect(code).toBe(0);
    const [ca, cb] = await within(Promise.all([a.client.closed, b.client.closed]), 5000, 'the sockets to close');
    expect(ca.code).toBe(1001);
    expect(cb.code).toBe(1001);
    // Nothing listens any more.
    await expect(fetch(`${srv.url}/healthz`)).rejects.toThrow();
  });
});
