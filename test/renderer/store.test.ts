/**
 * The UI's store against a real FerryApp (the bridge the desktop app and the web bridge both
 * serve), a real server and a second real client: it must end up showing what the app shows,
 * through a first-run connect, live changes and pause.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryApp, FileSecretStore } from '../../src/app/ferry-app.js';
import { createStore, type FerryStore } from '../../src/renderer/state/store.js';
import { startClient, type TestClient } from '../helpers/engine.js';
import { eventually, removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

const WAIT = 20_000;

describe('UI store', { timeout: 60_000 }, () => {
  let srv: TestServer;
  let app: FerryApp;
  let other: TestClient;
  let store: FerryStore;
  let stateDir: string;
  let dir: string;

  beforeAll(async () => {
    srv = await startServer();
    const { token } = await seedUser(srv.store, 'dora', 'Music');
    [stateDir, dir] = await Promise.all([tempDir('ferry-store-state-'), tempDir('ferry-store-dir-')]);
    app = await FerryApp.start({
      stateDir,
      logger: pino({ level: 'silent' }),
      secrets: new FileSecretStore(stateDir),
      canHost: false,
      engine: { folderOptions: { settleMs: 10 }, connection: { backoffBaseMs: 50, backoffMaxMs: 500 } },
    });
    other = await startClient(srv.url, token, 'Music');
    store = createStore(app);
    await store.reload();
  });

  afterAll(async () => {
    store?.close();
    await Promise.all([app?.stop(), other?.stop()]);
    await srv?.close();
    for (const d of [stateDir, dir, other?.root, other?.stateDir, srv?.dataDir]) if (d) await removeDir(d);
  });

  it('starts at the first run', () => {
    expect(store.getSnapshot().app?.setup.mode).toBe('none');
  });

  it('after connect shows the folder connected', async () => {
    await app.connect({ server: srv.url, user: 'dora', password: 'dora-password', device: 'dora-pc', dir });
    const state = await eventually(() => {
      const s = store.getSnapshot().state;
      return s?.connection.status === 'connected' && s.folders.length === 1 ? s : undefined;
    }, WAIT, 'the store to show the connected folder');
    expect(state.folders[0]!.name).toBe('Music');
    expect(store.getSnapshot().app?.setup.mode).toBe('client');
  });

  it('adds activity as it happens, newest first, once each', async () => {
    await writeFile(join(other.root, 'a.mp3'), 'a');
    await eventually(() => store.getSnapshot().state?.activity.some((a) => a.path === 'a.mp3'), WAIT, 'a.mp3 in the feed');
    await writeFile(join(other.root, 'b.mp3'), 'b');
    await eventually(() => store.getSnapshot().state?.activity[0]?.path === 'b.mp3', WAIT, 'b.mp3 first in the feed');
    const ids = store.getSnapshot().state!.activity.map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('follows pause and resume from the folders event', async () => {
    await app.pause();
    await eventually(() => store.getSnapshot().state?.paused === true, WAIT, 'paused');
    await app.resume();
    await eventually(() => store.getSnapshot().state?.paused === false, WAIT, 'resumed');
  });
});
