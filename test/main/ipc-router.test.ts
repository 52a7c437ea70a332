/**
 * The preload bridge and main's IPC router, over a stand-in for Electron's IPC (the one fake
 * allowed: no Electron binary runs here), with a real FerryApp behind the router.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FerryApp } from '../../src/app/ferry-app.js';
import { BridgeError, type AppInfo } from '../../src/shared/bridge.js';
import { COMMANDS } from '../../src/shared/bridge-calls.js';
import { commandChannel, EVENT_CHANNEL } from '../../src/shared/ipc-channels.js';
import { FileSecretStore } from '../../src/app/secret-store.js';
import { routeBridge } from '../../src/main/ipc-router.js';
import { isOwnPage, rendererEntry } from '../../src/main/renderer-page.js';
import { createIpcBridge, forContextBridge } from '../../src/preload/ipc-bridge.js';
import { desktopStandIn, IpcStandIn, startFerryApp } from '../helpers/desktop.js';
import { eventually, removeDir, tempDir } from '../helpers/server.js';

const PAGE = 'app://ferry/index.html';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function routed() {
  const dir = await tempDir('ferry-ipc-');
  cleanups.push(() => removeDir(dir));
  const desktop = desktopStandIn();
  const app: FerryApp = await startFerryApp(join(dir, 'app'), new FileSecretStore(join(dir, 'app')), desktop);
  cleanups.push(() => app.stop());
  const ipc = new IpcStandIn();
  const entry = rendererEntry(undefined);
  const unroute = routeBridge(ipc.ipcMain, app, { trusted: (url) => isOwnPage(url, entry), send: (channel, event, payload) => ipc.send(channel, event, payload) });
  return { ipc, app, desktop, unroute, bridge: createIpcBridge(ipc.renderer(PAGE)) };
}

describe('the IPC router and the preload bridge', () => {
  it('installs one handler per bridge command and removes them all', async () => {
    const { ipc, unroute } = await routed();
    expect(ipc.channels().sort()).toEqual(COMMANDS.map(commandChannel).sort());
    expect(ipc.channels()).toContain('ferry:getState');
    unroute();
    expect(ipc.channels()).toEqual([]);
  });

  it('routes each call to its command and returns its value', async () => {
    const { bridge, desktop } = await routed();
    expect((await bridge.getApp()).setup).toEqual({ mode: 'none' });
    desktop.nextFolder = '/home/ann/Sync';
    expect(await bridge.chooseFolder()).toBe('/home/ann/Sync');
    await bridge.setSettings({ launchAtLogin: true });
    expect(desktop.launchAtLogin).toBe(true);
    expect((await bridge.getState()).connection).toEqual({ status: 'stopped' });
  });

  it('answers bad arguments with invalid-argument before the app sees them', async () => {
    const { bridge, ipc, desktop } = await routed();
    const renderer = ipc.renderer(PAGE);
    expect(await renderer.invoke('ferry:setSettings', { launchAtLogin: 'yes' })).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: expect.stringContaining('setSettings') },
    });
    expect(await renderer.invoke('ferry:setSettings', { launchAtLogin: true, extra: 1 })).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    expect(await renderer.invoke('ferry:resolveConflict', 1)).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    expect(await renderer.invoke('ferry:getApp', 'surplus')).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    expect(desktop.launchAtLogin).toBe(false);
    const err = await bridge.connect({ server: 'ftp://example', user: 'ann', password: 'x', device: 'laptop', dir: '/tmp/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BridgeError);
    expect(err).toMatchObject({ code: 'invalid-argument', message: expect.stringContaining('http://') });
  });

  it("returns the app's failures as typed errors", async () => {
    const { bridge, ipc } = await routed();
    expect(await ipc.renderer(PAGE).invoke('ferry:pause')).toMatchObject({ ok: false, error: { code: 'not-set-up' } });
    await expect(bridge.confirmDeletes(3)).rejects.toMatchObject({ name: 'BridgeError', code: 'not-set-up' });
  });

  it('refuses calls from any frame but our page', async () => {
    const { ipc, desktop } = await routed();
    for (const url of ['https://evil.example/', 'app://other/index.html', 'file:///tmp/index.html', '', null]) {
      const intruder = createIpcBridge(ipc.renderer(url));
      await expect(intruder.setSettings({ launchAtLogin: true })).rejects.toThrow(/bridge calls are refused/);
      await expect(intruder.getState()).rejects.toThrow(/bridge calls are refused/);
    }
    expect(desktop.launchAtLogin).toBe(false);
  });

  it('pushes events to the listeners of their name, until they unsubscribe', async () => {
    const { bridge, ipc } = await routed();
    const apps: AppInfo[] = [];
    const again: AppInfo[] = [];
    const folders: unknown[] = [];
    const off = bridge.onApp((a) => apps.push(a));
    const offAgain = bridge.onApp((a) => again.push(a));
    const offFolders = bridge.onFolders((f) => folders.push(f));
    expect(ipc.listenerCount(EVENT_CHANNEL)).toBe(1);
    await bridge.setSettings({ notifications: false });
    await eventually(() => apps.length === 1 && again.length === 1, 5_000, 'one app event each');
    expect(apps[0]!.settings.notifications).toBe(false);
    off();
    off();
    await bridge.setSettings({ notifications: true });
    await eventually(() => again.length === 2, 5_000, 'a second app event');
    expect(apps).toHaveLength(1);
    expect(folders).toEqual([]);
    offAgain();
    offFolders();
    expect(ipc.listenerCount(EVENT_CHANNEL)).toBe(0);
  });

  it('stops pushing events once the router is removed', async () => {
    const { bridge, app, unroute } = await routed();
    const apps: AppInfo[] = [];
    bridge.onApp((a) => apps.push(a));
    unroute();
    // The app's own listener hears the same emit the router would have forwarded.
    const direct: AppInfo[] = [];
    app.onApp((a) => direct.push(a));
    await app.setSettings({ notifications: false });
    await eventually(() => direct.length === 1, 5_000, 'the app event');
    expect(apps).toEqual([]);
  });

  it("hands the page failures as plain data, since the context bridge keeps only an Error's message", async () => {
    const { ipc } = await routed();
    const exposed = forContextBridge(createIpcBridge(ipc.renderer(PAGE)));
    const failure: unknown = await exposed.pause().catch((e: unknown) => e);
    expect(failure).not.toBeInstanceOf(Error);
    expect(structuredClone(failure)).toEqual({ name: 'BridgeError', code: 'not-set-up', message: expect.any(String) });
    expect(await exposed.getApp().catch((e: unknown) => e)).toMatchObject({ setup: { mode: 'none' } });
    const apps: AppInfo[] = [];
    const off = exposed.onApp((a) => apps.push(a));
    await exposed.setSettings({ notifications: false });
    await eventually(() => apps.length === 1, 5_000, 'an app event');
    off();
    expect(ipc.listenerCount(EVENT_CHANNEL)).toBe(0);
  });
});
