/** Main's mirror of the app core's state, following a real FerryApp synced with a real server. */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSecretStore } from '../../src/app/secret-store.js';
import * as admin from '../../src/server/admin.js';
import { StateMirror } from '../../src/main/state-mirror.js';
import { trayModel } from '../../src/main/tray-model.js';
import { startFerryApp } from '../helpers/desktop.js';
import { eventually, removeDir, startServer, tempDir } from '../helpers/server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('StateMirror', () => {
  it('follows setup, connection, pause and resume, and feeds the tray', async () => {
    const dir = await tempDir('ferry-mirror-');
    cleanups.push(() => removeDir(dir));
    const s = await startServer();
    cleanups.push(() => s.close());
    await admin.addUser(s.store, 'ann', 'ann-password');
    await admin.createFolder(s.store, 'Docs', 'ann');
    const app = await startFerryApp(join(dir, 'app'), new FileSecretStore(join(dir, 'app')));
    cleanups.push(() => app.stop());

    let changes = 0;
    const mirror = new StateMirror(() => changes++);
    const stop = mirror.follow(app);
    await mirror.refresh(app);
    expect(mirror.app?.setup).toEqual({ mode: 'none' });
    expect(mirror.view?.connection).toEqual({ status: 'stopped' });
    expect(trayModel({ state: mirror.view, app: mirror.app, hostDown: null }).tooltip).toBe('Ferry — Not set up yet');

    const root = join(dir, 'Docs');
    await app.connect({ server: s.url, user: 'ann', password: 'ann-password', device: 'laptop', dir: root });
    await eventually(() => mirror.app?.setup.mode === 'client' && mirror.view?.connection.status === 'connected', 10_000, 'connected in the mirror');
    await eventually(() => mirror.view?.folders[0]?.phase === 'idle', 10_000, 'the folder idle in the mirror');
    expect(mirror.view?.folders.map((f) => f.root)).toEqual([root]);
    expect(trayModel({ state: mirror.view, app: mirror.app, hostDown: null }).icon).toBe('idle');

    // No event says "paused": the mirror reads it from the folders' phases.
    await app.pause();
    await eventually(() => mirror.view?.paused === true, 5_000, 'paused in the mirror');
    expect((await app.getState()).paused).toBe(true);
    expect(trayModel({ state: mirror.view, app: mirror.app, hostDown: null }).icon).toBe('paused');
    await app.resume();
    await eventually(() => mirror.view?.paused === false, 5_000, 'resumed in the mirror');

    mirror.clear();
    expect([mirror.view, mirror.app]).toEqual([null, null]);
    const before = changes;
    stop();
    let heard = 0;
    app.onFolders(() => heard++);
    await app.pause();
    await eventually(() => heard > 0, 5_000, 'the folders event');
    expect(changes).toBe(before);
  });

  it('ignores engine events until its first full read', async () => {
    const dir = await tempDir('ferry-mirror-');
    cleanups.push(() => removeDir(dir));
    const app = await startFerryApp(join(dir, 'app'), new FileSecretStore(join(dir, 'app')));
    cleanups.push(() => app.stop());
    const mirror = new StateMirror(() => undefined);
    mirror.follow(app);
    await app.setSettings({ notifications: false });
    await eventually(() => mirror.app?.settings.notifications === false, 5_000, 'the app event');
    expect(mirror.view).toBeNull();
  });
});
