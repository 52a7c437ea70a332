/**
 * The main ↔ utility-process protocol over a structured-clone port pair, with a real FerryApp
 * on the utility side and main's real token file on the other; only Electron's keychain and
 * desktop hooks are stand-ins.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FerryApp } from '../../src/app/ferry-app.js';
import * as admin from '../../src/server/admin.js';
import { BridgeError, type AppInfo, type ConnectionStatus, type FerryBridge } from '../../src/shared/bridge.js';
import { bridgeOver } from '../../src/shared/bridge-calls.js';
import { MainEnd, UtilityEnd } from '../../src/main/host-channel.js';
import { SealedTokenFile } from '../../src/main/sealed-token-file.js';
import { desktopStandIn, keychainStandIn, portPair, startFerryApp, type DesktopStandIn } from '../helpers/desktop.js';
import { eventually, removeDir, startServer, tempDir, type TestServer } from '../helpers/server.js';

interface Bed {
  bridge: FerryBridge;
  main: MainEnd;
  utility: UtilityEnd;
  ports: ReturnType<typeof portPair>;
  desktop: DesktopStandIn;
  tokenFile: string;
  reports: string[];
  exits: number;
  stateDir: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function channel(): Promise<Bed> {
  const dir = await tempDir('ferry-host-channel-');
  cleanups.push(() => removeDir(dir));
  const ports = portPair();
  cleanups.push(() => ports.close());
  const desktop = desktopStandIn();
  const tokenFile = join(dir, 'device-token.json');
  const bed = { ports, desktop, tokenFile, reports: [] as string[], exits: 0, stateDir: join(dir, 'app') } as Bed;
  bed.main = new MainEnd(ports.main, { secrets: new SealedTokenFile(tokenFile, keychainStandIn(), () => undefined), desktop }, (r) => bed.reports.push(r));
  bed.utility = new UtilityEnd(ports.utility, (r) => bed.reports.push(r), () => bed.exits++);
  bed.bridge = bridgeOver(bed.main);
  return bed;
}

async function serve(bed: Bed): Promise<FerryApp> {
  const app = await startFerryApp(bed.stateDir, bed.utility.secrets, bed.utility.desktop);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  cleanups.push(stop);
  bed.utility.serve(app, stop);
  return app;
}

async function server(): Promise<TestServer> {
  const s = await startServer();
  cleanups.push(() => s.close());
  await admin.addUser(s.store, 'ann', 'ann-password');
  await admin.createFolder(s.store, 'Docs', 'ann');
  return s;
}

async function rejection(call: Promise<unknown>): Promise<BridgeError> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BridgeError);
  return err as BridgeError;
}

describe('the host channel', () => {
  it('holds calls made before the app core is up, then answers them', async () => {
    const bed = await channel();
    const early = bed.bridge.getApp();
    await serve(bed);
    const app = await early;
    expect(app.setup).toEqual({ mode: 'none' });
    // The launch-at-login setting came from main's desktop hooks, asked over the channel.
    bed.desktop.launchAtLogin = true;
    expect((await bed.bridge.getApp()).settings.launchAtLogin).toBe(true);
    expect(bed.reports).toEqual([]);
  });

  it('signs in with main keeping the token sealed, and carries events to main', async () => {
    const bed = await channel();
    const s = await server();
    await serve(bed);
    const apps: AppInfo[] = [];
    const connection: ConnectionStatus[] = [];
    bed.bridge.onApp((a) => apps.push(a));
    bed.bridge.onConnection((c) => connection.push(c));
    const dir = join(bed.stateDir, '..', 'Ferry');
    await bed.bridge.connect({ server: s.url, user: 'ann', password: 'ann-password', device: 'laptop', dir });

    const stored = JSON.parse(await readFile(bed.tokenFile, 'utf8')) as { sealed: boolean; data: string };
    expect(stored.sealed).toBe(true);
    const token = keychainStandIn().decryptString(Buffer.from(stored.data, 'base64'));
    expect(token).toMatch(/^\S{20,}$/);
    expect(await readFile(bed.tokenFile, 'utf8')).not.toContain(token);
    await eventually(() => connection.some((c) => c.status === 'connected'), 10_000, 'a connected event');
    await eventually(() => apps.some((a) => a.setup.mode === 'client'), 5_000, 'an app event with the new setup');
    const state = await bed.bridge.getState();
    expect(state.folders.map((f) => [f.name, f.root])).toEqual([['Docs', dir]]);

    await bed.bridge.setSettings({ launchAtLogin: true });
    expect(bed.desktop.launchAtLogin).toBe(true);
    bed.desktop.nextFolder = '/home/ann/Elsewhere';
    expect(await bed.bridge.chooseFolder()).toBe('/home/ann/Elsewhere');
    await bed.bridge.showInFolder(state.folders[0]!.id, 'notes/today.md');
    expect(bed.desktop.shown).toEqual([join(dir, 'notes', 'today.md')]);

    await bed.bridge.signOut();
    await expect(stat(bed.tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(bed.reports).toEqual([]);
  });

  it('answers bad arguments and unknown commands with typed errors', async () => {
    const bed = await channel();
    await serve(bed);
    expect(await rejection(bed.bridge.history(0, 'a.txt'))).toMatchObject({ code: 'invalid-argument' });
    expect(await rejection(bed.bridge.restore(1, '../outside', 1))).toMatchObject({ code: 'invalid-argument' });
    expect(await bed.main.call('format' as never, [])).toEqual({ ok: false, error: { code: 'invalid-argument', message: "no command 'format'" } });
    expect(await rejection(bed.bridge.pause())).toMatchObject({ code: 'not-set-up' });
  });

  it('refuses a malformed ask from the utility side without asking the services', async () => {
    const bed = await channel();
    const replies: unknown[] = [];
    bed.ports.utility.onMessage((m) => replies.push(m));
    bed.ports.utility.post({ type: 'ask', id: 900, service: 'secrets.save', args: [42] });
    bed.ports.utility.post({ type: 'ask', id: 901, service: 'desktop.setLaunchAtLogin', args: ['yes'] });
    await eventually(() => replies.length === 2, 5_000, 'two replies');
    expect(replies).toEqual([
      { type: 'reply', id: 900, result: { ok: false, error: { code: 'invalid-argument', message: expect.stringContaining('secrets.save') } } },
      { type: 'reply', id: 901, result: { ok: false, error: { code: 'invalid-argument', message: expect.stringContaining('desktop.setLaunchAtLogin') } } },
    ]);
    expect(bed.desktop.launchAtLogin).toBe(false);
    await expect(stat(bed.tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reports malformed messages on both sides and keeps working', async () => {
    const bed = await channel();
    await serve(bed);
    bed.ports.main.post({ type: 'call', id: -1, command: 'getApp', args: [] });
    bed.ports.main.post('hello');
    bed.ports.utility.post({ type: 'event', event: 'everything', payload: 1 });
    bed.ports.utility.post({ type: 'result', id: 12345, result: { ok: true, value: 1 } });
    bed.ports.utility.post({ type: 'result', id: 1, result: { ok: false, error: { code: 'teapot', message: 'x' } } });
    await eventually(() => bed.reports.length === 5, 5_000, 'five reports');
    expect(bed.reports.filter((r) => r.startsWith('main process sent a malformed message'))).toHaveLength(2);
    expect(bed.reports.filter((r) => r.startsWith('utility process sent a malformed message'))).toHaveLength(2);
    expect(bed.reports).toContain('a result for unknown call 12345');
    expect((await bed.bridge.getApp()).setup.mode).toBe('none');
  });

  it('fails every waiting call when the process goes, and later calls at once', async () => {
    const bed = await channel();
    const waiting = bed.bridge.getState();
    bed.main.close('the sync process exited (code 1)');
    expect(await rejection(waiting)).toMatchObject({ code: 'internal', message: 'the sync process exited (code 1)' });
    expect(await rejection(bed.bridge.getApp())).toMatchObject({ code: 'internal', message: 'the sync process exited (code 1)' });
  });

  it('answers every call with the start-up error when the app core could not start', async () => {
    const bed = await channel();
    const waiting = bed.bridge.getApp();
    bed.utility.fail(new BridgeError('internal', 'the state directory is not writable'));
    expect(await rejection(waiting)).toMatchObject({ code: 'internal', message: 'the state directory is not writable' });
    expect(await rejection(bed.bridge.getState())).toMatchObject({ message: 'the state directory is not writable' });
    await bed.main.stop();
    expect(bed.exits).toBe(1);
  });

  it('stops the app core when main asks, then exits', async () => {
    const bed = await channel();
    const s = await server();
    const app = await serve(bed);
    await bed.bridge.connect({ server: s.url, user: 'ann', password: 'ann-password', device: 'laptop', dir: join(bed.stateDir, '..', 'Ferry') });
    await eventually(async () => (await app.getState()).connection.status === 'connected', 10_000, 'connected');
    await bed.main.stop();
    expect((await app.getState()).connection).toEqual({ status: 'stopped' });
    expect(bed.exits).toBe(1);
  });
});
