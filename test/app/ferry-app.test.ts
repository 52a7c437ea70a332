/**
 * FerryApp beyond the bridge contract: what survives a restart (setup, token, hosting, limits),
 * a damaged setup file, the desktop hooks, and a setup fixed by the command line.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryApp, FileSecretStore, type DesktopHooks, type FerryAppOptions } from '../../src/app/ferry-app.js';
import { hostAddresses } from '../../src/app/hosting.js';
import { BridgeError, type FerryBridge } from '../../src/shared/bridge.js';
import { isIdle } from '../helpers/engine.js';
import { eventually, freePort, removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let token: string;
let stateDir: string;
let dir: string;
let apps: FerryApp[] = [];

beforeEach(async () => {
  srv = await startServer();
  ({ token } = await seedUser(srv.store, 'alice', 'Docs'));
  stateDir = await tempDir('ferry-app-state-');
  dir = join(await tempDir('ferry-app-dir-'), 'Ferry');
  apps = [];
});

afterEach(async () => {
  for (const app of apps) await app.stop();
  await srv.close();
  for (const d of [srv.dataDir, stateDir, join(dir, '..')]) await removeDir(d);
});

async function open(options: Partial<FerryAppOptions> = {}): Promise<FerryApp> {
  const app = await FerryApp.start({
    stateDir,
    logger: pino({ level: 'silent' }),
    secrets: new FileSecretStore(stateDir),
    canHost: false,
    hostListen: '127.0.0.1',
    engine: { folderOptions: { settleMs: 10 }, connection: { backoffBaseMs: 50, backoffMaxMs: 500 } },
    ...options,
  });
  apps.push(app);
  return app;
}

async function close(app: FerryApp): Promise<void> {
  apps = apps.filter((a) => a !== app);
  await app.stop();
}

const idle = (bridge: FerryBridge) =>
  eventually(async () => {
    const s = await bridge.getState();
    return isIdle(s) && s.folders.length > 0 ? s : undefined;
  }, 20_000, 'connected and idle');

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  return err instanceof BridgeError ? err.code : `not a BridgeError: ${String(err)}`;
}

describe('FerryApp across restarts', () => {
  it('resumes a connected setup: same folder, same device, syncing; the token is only in the 0600 secret file', async () => {
    const first = await open();
    await first.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'desk', dir });
    await first.setBandwidthLimits({ upBytesPerSecond: 65_536, downBytesPerSecond: null });
    await idle(first);
    await close(first);

    const setupText = await readFile(join(stateDir, 'setup.json'), 'utf8');
    const secret = JSON.parse(await readFile(join(stateDir, 'credentials.json'), 'utf8')) as { token: string };
    expect(secret.token).toMatch(/^fy1_/);
    expect(setupText).not.toContain(secret.token);
    expect((await stat(join(stateDir, 'credentials.json'))).mode & 0o777).toBe(0o600);

    const again = await open();
    expect((await again.getApp()).setup).toEqual({ mode: 'client', server: srv.url, user: 'alice', device: 'desk', folders: [{ name: 'Docs', dir }] });
    const state = await idle(again);
    expect(state).toMatchObject({ device: 'desk', limits: { upBytesPerSecond: 65_536, downBytesPerSecond: null } });
    await writeFile(join(dir, 'after-restart.txt'), 'x');
    await eventually(async () => (await srv.store.history((await srv.store.folderByName('Docs'))!.id, 'after-restart.txt', 1)).length === 1, 20_000);
  });

  it('a setup whose token is gone starts signed out and signs in again with the password', async () => {
    const first = await open();
    await first.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'desk', dir });
    await close(first);
    await new FileSecretStore(stateDir).clear();
    const again = await open();
    expect((await again.getState()).connection).toMatchObject({ status: 'signed-out' });
    expect(await codeOf(again.pause())).toBe('not-set-up');
    await again.signIn('alice-password');
    await idle(again);
  });

  it('keeps every setting changed at the same moment', async () => {
    const app = await open();
    await Promise.all([app.setSettings({ notifications: false }), app.setBandwidthLimits({ upBytesPerSecond: 2048, downBytesPerSecond: 4096 })]);
    await close(app);
    const again = await open();
    expect((await again.getApp()).settings.notifications).toBe(false);
    expect((await again.getState()).limits).toEqual({ upBytesPerSecond: 2048, downBytesPerSecond: 4096 });
  });

  it('a damaged setup.json means a fresh first run, with the damaged file kept aside', async () => {
    await writeFile(join(stateDir, 'setup.json'), '{"version": 1, "setup": {"mode": "client", "server": 42}');
    const app = await open();
    expect((await app.getApp()).setup).toEqual({ mode: 'none' });
    const names = await readdir(stateDir);
    expect(names.some((n) => n.startsWith('setup.json.damaged-'))).toBe(true);
    await app.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'desk', dir });
    await idle(app);
  });

  it('hosts again after a restart, on the same port, and keeps syncing with it', async () => {
    const first = await open({ canHost: true });
    const info = await first.host({ user: 'owner', password: 'owner-password', dir, port: await freePort() });
    await idle(first);
    await close(first);
    await expect(fetch(`${info.addresses[0]}/healthz`)).rejects.toThrow();
    const again = await open({ canHost: true });
    expect((await again.getApp()).setup).toMatchObject({ mode: 'host', addresses: info.addresses, user: 'owner' });
    expect((await fetch(`${info.addresses[0]}/healthz`)).status).toBe(200);
    await idle(again);
  });

  it('signing out revokes the device token on the server; with the server gone it still signs out here', async () => {
    const app = await open();
    await app.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'desk', dir });
    await idle(app);
    const token = await new FileSecretStore(stateDir).load();
    expect(token).toBeTruthy();
    await app.signOut();
    expect(await new FileSecretStore(stateDir).load()).toBeNull();
    const reuse = await fetch(`${srv.url}/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(reuse.status).toBe(401);

    await app.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'desk', dir });
    await idle(app);
    const gone = srv;
    srv = await startServer(); // what afterEach closes
    await gone.close();
    await removeDir(gone.dataDir);
    await app.signOut();
    expect((await app.getApp()).setup).toEqual({ mode: 'none' });
    expect(await new FileSecretStore(stateDir).load()).toBeNull();
  });

  it('a second host set-up on the same data needs the same password for an existing user', async () => {
    const app = await open({ canHost: true });
    const port = await freePort();
    await app.host({ user: 'owner', password: 'owner-password', dir, port });
    await app.signOut();
    expect(await codeOf(app.host({ user: 'owner', password: 'another-password', dir, port }))).toBe('auth-failed');
    expect((await app.getApp()).setup).toEqual({ mode: 'none' });
    await app.host({ user: 'owner', password: 'owner-password', dir, port });
    await idle(app);
  });
});

describe('FerryApp with desktop hooks', () => {
  function hooks() {
    const calls: string[] = [];
    let launch = false;
    const desktop: DesktopHooks = {
      showInFolder: async (p) => void calls.push(`show ${p}`),
      chooseFolder: async () => '/picked',
      getLaunchAtLogin: async () => launch,
      setLaunchAtLogin: async (on) => void (launch = on),
    };
    return { desktop, calls };
  }

  it('offers the desktop capabilities and passes the actions to the hooks, inside the folder only', async () => {
    const { desktop, calls } = hooks();
    const app = await open({ desktop });
    expect((await app.getApp()).capabilities).toMatchObject({ showInFolder: true, chooseFolder: true, launchAtLogin: true });
    expect(await app.chooseFolder()).toBe('/picked');
    await app.setSettings({ launchAtLogin: true });
    expect((await app.getApp()).settings.launchAtLogin).toBe(true);
    await app.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'desk', dir });
    const id = (await idle(app)).folders[0]!.id;
    await app.showInFolder(id, 'sub/file.txt');
    expect(calls).toEqual([`show ${join(dir, 'sub', 'file.txt')}`]);
    expect(await codeOf(app.showInFolder(id, '../outside.txt'))).toBe('invalid-argument');
    expect(await codeOf(app.showInFolder(id + 1000, 'a.txt'))).toBe('not-found');
    expect(calls).toHaveLength(1);
  });
});

describe('FerryApp with a fixed setup (ferry sync --server --token --folder)', () => {
  it('syncs what the command line names, shows it, and refuses to change it', async () => {
    await mkdir(dir, { recursive: true });
    const app = await open({ fixed: { server: srv.url, token, folders: [{ name: 'Docs', root: dir }] } });
    await idle(app);
    expect((await app.getApp()).setup).toEqual({ mode: 'fixed', server: srv.url, user: null, device: 'alice-laptop', folders: [{ name: 'Docs', dir }] });
    expect(await codeOf(app.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'd', dir }))).toBe('already-set-up');
    expect(await codeOf(app.signOut())).toBe('unsupported');
    expect(await codeOf(app.signIn('alice-password'))).toBe('unsupported');
  });
});

describe('hostAddresses', () => {
  it('lists every non-internal IPv4 address and loopback when the server listens on all of them', () => {
    const expected = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((a) => a.family === 'IPv4' && !a.internal)
      .map((a) => `http://${a.address}:7711`);
    expect(hostAddresses('0.0.0.0', 7711)).toEqual([...expected, 'http://127.0.0.1:7711']);
  });

  it('gives only the one address a server bound to one address answers on', () => {
    expect(hostAddresses('127.0.0.1', 7711)).toEqual(['http://127.0.0.1:7711']);
    expect(hostAddresses('::1', 7711)).toEqual(['http://[::1]:7711']);
  });
});

describe('FileSecretStore', () => {
  it("reads the token `ferry login` saved, and replaces or clears it", async () => {
    await writeFile(join(stateDir, 'credentials.json'), JSON.stringify({ server: 'http://x', token: 'fy1_abc', user: 'a', device: 'd' }));
    const store = new FileSecretStore(stateDir);
    expect(await store.load()).toBe('fy1_abc');
    await store.save('fy1_def');
    expect(await store.load()).toBe('fy1_def');
    await store.clear();
    expect(await store.load()).toBeNull();
    await writeFile(join(stateDir, 'credentials.json'), 'garbage');
    expect(await store.load()).toBeNull();
  });
});
