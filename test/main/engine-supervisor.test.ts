/**
 * The supervisor with the real utility-process entry (out/main/engine-host.js) running as a
 * Node child process: a real FerryApp in another process, restarted after a crash.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BridgeError, type AppInfo } from '../../src/shared/bridge.js';
import { EngineSupervisor, restartDelay } from '../../src/main/engine-supervisor.js';
import { SealedTokenFile } from '../../src/main/sealed-token-file.js';
import * as admin from '../../src/server/admin.js';
import { startClient } from '../helpers/engine.js';
import { desktopStandIn, forkNodeHost, keychainStandIn } from '../helpers/desktop.js';
import { eventually, removeDir, startServer, tempDir } from '../helpers/server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function supervised(options: { restartDelaysMs?: number[]; stopTimeoutMs?: number } = {}) {
  const dir = await tempDir('ferry-supervisor-');
  cleanups.push(() => removeDir(dir));
  const children: ChildProcess[] = [];
  const ups: number[] = [];
  const downs: { reason: string; callMeanwhile: Promise<unknown> }[] = [];
  const logs: string[] = [];
  const supervisor: EngineSupervisor = new EngineSupervisor({
    fork: () => {
      const host = forkNodeHost(join(dir, 'app'));
      children.push(host.child);
      return host;
    },
    services: { secrets: new SealedTokenFile(join(dir, 'device-token.json'), keychainStandIn(), () => undefined), desktop: desktopStandIn() },
    log: (_level, message) => logs.push(message),
    onUp: () => ups.push(Date.now()),
    // A call made while the core is down: answered at once, not held.
    onDown: (reason) => downs.push({ reason, callMeanwhile: supervisor.bridge.getApp().catch((e: unknown) => e) }),
    ...options,
  });
  cleanups.push(async () => {
    await supervisor.stop();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  supervisor.start();
  return { supervisor, children, ups, downs, logs, dir };
}

describe('EngineSupervisor', () => {
  it('restarts a crashed app core; listeners and saved settings carry over', async () => {
    const { supervisor, children, ups, downs } = await supervised({ restartDelaysMs: [200] });
    const bridge = supervisor.bridge;
    const apps: AppInfo[] = [];
    bridge.onApp((a) => apps.push(a));
    expect((await bridge.getApp()).setup).toEqual({ mode: 'none' });
    await bridge.setSettings({ notifications: false });
    await eventually(() => apps.length === 1, 10_000, 'an app event from the first process');

    children[0]!.kill('SIGKILL');
    await eventually(() => downs.length === 1, 10_000, 'the crash noticed');
    expect(downs[0]!.reason).toMatch(/^the sync process exited \(code none\); restarting it$/);
    const meanwhile = await downs[0]!.callMeanwhile;
    expect(meanwhile).toBeInstanceOf(BridgeError);
    expect(meanwhile).toMatchObject({ code: 'internal', message: downs[0]!.reason });

    await eventually(() => ups.length === 2, 10_000, 'a second process');
    expect(children).toHaveLength(2);
    expect((await bridge.getApp()).settings.notifications).toBe(false);
    await bridge.setSettings({ notifications: true });
    await eventually(() => apps.length === 2, 10_000, 'an app event from the second process');
    expect(apps[1]!.settings.notifications).toBe(true);

    await supervisor.stop();
    expect(await exited(children[1]!)).toEqual({ code: 0, signal: null });
    await expect(bridge.getApp()).rejects.toMatchObject({ code: 'internal', message: 'Ferry is quitting' });
    expect(downs).toHaveLength(1);
  });

  it.skipIf(process.platform === 'win32')('kills an app core that does not stop in time', async () => {
    const { supervisor, children, logs } = await supervised({ stopTimeoutMs: 500 });
    await supervisor.bridge.getApp();
    children[0]!.kill('SIGSTOP');
    await supervisor.stop();
    expect(await exited(children[0]!)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(logs).toContain('the sync process did not stop in time; killing it');
    expect(children).toHaveLength(1);
  });

  it('syncs from the child process, hashing in the bundled worker', async () => {
    const s = await startServer();
    cleanups.push(() => s.close());
    await admin.addUser(s.store, 'ann', 'ann-password');
    await admin.createFolder(s.store, 'Docs', 'ann');
    const { token } = await admin.createToken(s.store, 'ann', 'desk');
    const other = await startClient(s.url, token, 'Docs');
    cleanups.push(async () => {
      await other.stop();
      await removeDir(other.root);
      await removeDir(other.stateDir);
    });
    const { supervisor, dir } = await supervised();
    const root = join(dir, 'Docs');
    await supervisor.bridge.connect({ server: s.url, user: 'ann', password: 'ann-password', device: 'laptop', dir: root });
    await writeFile(join(root, 'from-the-app.txt'), 'made on the laptop');
    await eventually(() => readFile(join(other.root, 'from-the-app.txt'), 'utf8').catch(() => undefined), 20_000, 'the file on the other device');
    expect(await readFile(join(other.root, 'from-the-app.txt'), 'utf8')).toBe('made on the laptop');
  });

  it('waits longer after each crash in a row', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => restartDelay(n))).toEqual([500, 2_000, 5_000, 15_000, 60_000, 60_000, 60_000]);
    expect(restartDelay(0)).toBe(500);
    expect(restartDelay(3, [10, 20])).toBe(20);
  });
});
