/**
 * The bridge contract: what every implementation of FerryBridge (the app itself, the web
 * bridge, the preload IPC bridge) must do, checked against a real FerryApp with a real server,
 * real engines and temp folders.
 *
 * To run it over a transport, call `describeBridgeContract(name, makeHarness)` from a test
 * file. `makeHarness(app)` receives a started FerryApp and returns the bridge as the UI would
 * see it through that transport, plus `close()` to tear the transport down (the suite stops
 * the app, the servers and removes the folders itself).
 */
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createToken } from '../../src/server/admin.js';
import { FerryApp, FileSecretStore, type FerryAppOptions } from '../../src/app/ferry-app.js';
import { BridgeError, type BridgeErrorCode, type EngineState, type FerryBridge } from '../../src/shared/bridge.js';
import { subscribeAll, type EventName } from '../../src/shared/bridge-calls.js';
import { dbFile } from '../../src/server/server.js';
import { SqliteJournalStore } from '../../src/server/store/sqlite-journal-store.js';
import { isIdle, startClient, type TestClient } from '../helpers/engine.js';
import { eventually, freePort, removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

export interface BridgeHarness {
  /** The bridge under test, as a UI would hold it. */
  bridge: FerryBridge;
  /**
   * Whether this transport validates arguments (the web and IPC bridges do, through
   * dispatch()); the app itself trusts its typed callers, so the suite skips those cases.
   */
  validatesArguments: boolean;
  close(): Promise<void>;
}

export type MakeHarness = (app: FerryApp) => Promise<BridgeHarness>;

const PASSWORD = 'alice-password';
const WAIT_MS = 20_000;

async function expectBridgeError(promise: Promise<unknown>, code: BridgeErrorCode): Promise<BridgeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BridgeError);
  expect((err as BridgeError).code).toBe(code);
  expect((err as BridgeError).message.length).toBeGreaterThan(0);
  return err as BridgeError;
}

/** Every event a bridge emits, in order. */
function record(bridge: FerryBridge) {
  const seen: { event: EventName; payload: unknown }[] = [];
  const stop = subscribeAll(bridge, (event, payload) => seen.push({ event, payload }));
  return {
    seen,
    stop,
    waitFor<T>(event: EventName, match: (payload: T) => boolean, what = `a ${event} event`): Promise<T> {
      return eventually(() => seen.find((s) => s.event === event && match(s.payload as T))?.payload as T | undefined, WAIT_MS, what);
    },
  };
}

export function describeBridgeContract(name: string, makeHarness: MakeHarness): void {
  describe(`bridge contract: ${name}`, () => {
    let srv: TestServer;
    let stateDir: string;
    let dir: string;
    let cleanup: (() => Promise<void>)[] = [];

    beforeEach(async () => {
      srv = await startServer();
      await seedUser(srv.store, 'alice', 'Docs');
      stateDir = await tempDir('ferry-app-state-');
      dir = join(await tempDir('ferry-app-dir-'), 'Ferry');
      cleanup = [];
    });

    afterEach(async () => {
      for (const step of cleanup.reverse()) await step();
      await srv.close();
      await removeDir(srv.dataDir);
      await removeDir(stateDir);
      await removeDir(join(dir, '..'));
    });

    async function openApp(options: Partial<FerryAppOptions> = {}): Promise<{ app: FerryApp; bridge: FerryBridge; validates: boolean }> {
      const app = await FerryApp.start({
        stateDir,
        logger: pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' }),
        secrets: new FileSecretStore(stateDir),
        canHost: false,
        hostListen: '127.0.0.1',
        engine: { folderOptions: { settleMs: 10 }, connection: { backoffBaseMs: 50, backoffMaxMs: 500 } },
        ...options,
      });
      const harness = await makeHarness(app);
      let closed = false;
      const close = async (): Promise<void> => {
        if (closed) return;
        closed = true;
        await harness.close();
        await app.stop();
      };
      cleanup.push(close);
      return { app, bridge: harness.bridge, validates: harness.validatesArguments };
    }

    async function otherClient(): Promise<TestClient> {
      const { token } = await createToken(srv.store, 'alice', 'other-device');
      const client = await startClient(srv.url, token, 'Docs');
      cleanup.push(async () => {
        await client.stop();
        await removeDir(client.root);
        await removeDir(client.stateDir);
      });
      return client;
    }

    const connectAlice = (bridge: FerryBridge, extra: { folder?: string } = {}) =>
      bridge.connect({ server: srv.url, user: 'alice', password: PASSWORD, device: 'contract-pc', dir, ...extra });

    const idle = (bridge: FerryBridge): Promise<EngineState> =>
      eventually(async () => {
        const s = await bridge.getState();
        return isIdle(s) && s.folders.length > 0 ? s : undefined;
      }, WAIT_MS, 'the app to be connected and idle');

    /** The paths that exist in Docs on the server now. */
    const serverPaths = async (): Promise<string[]> => {
      const folder = (await srv.store.folderByName('Docs'))!;
      return (await srv.store.changesSince(folder.id, 0, 1000, 1 << 24)).entries.filter((e) => !e.deleted).map((e) => e.path);
    };

    const folderId = async (bridge: FerryBridge): Promise<number> => (await idle(bridge)).folders[0]!.id;

    it('first run: getApp and getState describe a device with no setup', async () => {
      const { bridge } = await openApp();
      const app = await bridge.getApp();
      expect(app).toMatchObject({
        setup: { mode: 'none' },
        capabilities: { host: false, showInFolder: false, chooseFolder: false, launchAtLogin: false },
        settings: { launchAtLogin: false },
      });
      expect(app.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(app.defaultDir.length).toBeGreaterThan(0);
      expect(await bridge.getState()).toEqual({
        device: null,
        server: null,
        connection: { status: 'stopped' },
        paused: false,
        folders: [],
        transfers: { items: [], bytesDone: 0, bytesTotal: 0, rate: 0, etaSeconds: null },
        conflicts: [],
        issues: [],
        activity: [],
        limits: { upBytesPerSecond: null, downBytesPerSecond: null },
      });
      await expectBridgeError(bridge.pause(), 'not-set-up');
      await expectBridgeError(bridge.signIn(PASSWORD), 'not-set-up');
    });

    it('connect: wrong password is auth-failed, no server is unreachable, an unknown folder is not-found; nothing is set up', async () => {
      const { bridge } = await openApp();
      await expectBridgeError(bridge.connect({ server: srv.url, user: 'alice', password: 'wrong-password', device: 'pc', dir }), 'auth-failed');
      await expectBridgeError(bridge.connect({ server: `http://127.0.0.1:${await freePort()}`, user: 'alice', password: PASSWORD, device: 'pc', dir }), 'unreachable');
      await expectBridgeError(connectAlice(bridge, { folder: 'Nope' }), 'not-found');
      expect((await bridge.getApp()).setup).toEqual({ mode: 'none' });
      expect((await bridge.getState()).connection).toEqual({ status: 'stopped' });
    });

    it('connect: syncs the first folder into dir, announces the setup, and listeners subscribed before it see the engine', async () => {
      const { bridge } = await openApp();
      const events = record(bridge);
      await connectAlice(bridge);
      const app = await events.waitFor<{ setup: { mode: string } }>('app', (a) => a.setup.mode === 'client');
      expect(app.setup).toEqual({ mode: 'client', server: srv.url, user: 'alice', device: 'contract-pc', folders: [{ name: 'Docs', dir }] });
      await events.waitFor<{ status: string }>('connection', (c) => c.status === 'connected');
      const state = await idle(bridge);
      expect(state).toMatchObject({ device: 'contract-pc', server: srv.url, folders: [{ name: 'Docs', root: dir, phase: 'idle' }] });
      await access(dir);
      await expectBridgeError(connectAlice(bridge), 'already-set-up');
      await expectBridgeError(bridge.host({ user: 'alice', password: PASSWORD, dir }), 'unsupported');
    });

    it('pause and resume arrive as folder events; unsubscribing stops delivery', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      await idle(bridge);
      const kept = record(bridge);
      const dropped = record(bridge);
      const single: unknown[] = [];
      bridge.onFolders((f) => single.push(f))();
      dropped.stop();
      await bridge.pause();
      await kept.waitFor<{ phase: string }[]>('folders', (f) => f.length === 1 && f[0]!.phase === 'paused');
      expect((await bridge.getState()).paused).toBe(true);
      await bridge.resume();
      await kept.waitFor<{ phase: string }[]>('folders', (f) => f.length === 1 && f[0]!.phase !== 'paused');
      expect((await bridge.getState()).paused).toBe(false);
      expect(dropped.seen).toEqual([]);
      expect(single).toEqual([]);
    });

    it("another device's change arrives as activity, and the file lands in dir", async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      await idle(bridge);
      const events = record(bridge);
      const other = await otherClient();
      await writeFile(join(other.root, 'from-other.txt'), 'hello from the other device');
      const activity = await events.waitFor<{ path: string; direction: string }>('activity', (a) => a.path === 'from-other.txt' && a.direction === 'down');
      expect(activity).toMatchObject({ action: 'added', device: 'other-device' });
      await eventually(() => readFile(join(dir, 'from-other.txt'), 'utf8').catch(() => undefined), WAIT_MS);
      expect(await readFile(join(dir, 'from-other.txt'), 'utf8')).toBe('hello from the other device');
    });

    it('a conflict arrives as a conflicts event; resolveConflict keeps what was chosen; an unknown one is not-found', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      const other = await otherClient();
      await writeFile(join(dir, 'report.txt'), 'v1');
      await eventually(() => readFile(join(other.root, 'report.txt'), 'utf8').catch(() => undefined), WAIT_MS, 'v1 on the other device');
      await idle(bridge);
      const events = record(bridge);
      await bridge.pause();
      await writeFile(join(dir, 'report.txt'), 'edited here');
      await writeFile(join(other.root, 'report.txt'), 'edited there');
      const docs = (await srv.store.folderByName('Docs'))!.id;
      await eventually(async () => (await srv.store.history(docs, 'report.txt', 10)).length >= 2, WAIT_MS, 'the other edit on the server');
      await bridge.resume();
      const conflicts = await events.waitFor<{ id: number; path: string; copy: string }[]>('conflicts', (c) => c.length === 1);
      expect(conflicts[0]).toMatchObject({ path: 'report.txt' });
      await expectBridgeError(bridge.resolveConflict(99_999, 'keep-both'), 'not-found');
      await bridge.resolveConflict(conflicts[0]!.id, 'keep-theirs');
      await events.waitFor<unknown[]>('conflicts', (c) => c.length === 0);
      await eventually(async () => (await access(join(dir, conflicts[0]!.copy)).then(() => false, () => true)), WAIT_MS, 'the conflict copy to go');
      // The conflict is recorded as the local edit moves aside; the remote version lands after.
      await eventually(() => readFile(join(dir, 'report.txt'), 'utf8').then((t) => t === 'edited there', () => false), WAIT_MS, "the other device's version");
      await eventually(async () => (await serverPaths()).join() === 'report.txt', WAIT_MS, 'the copy gone from the server too');
      expect((await bridge.getState()).conflicts).toEqual([]);
    });

    it('history lists the revisions of a path; restore brings an old one back', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      const id = await folderId(bridge);
      await writeFile(join(dir, 'notes.txt'), 'first');
      await eventually(async () => (await bridge.history(id, 'notes.txt')).length === 1, WAIT_MS, 'the first revision');
      await writeFile(join(dir, 'notes.txt'), 'second version');
      const revisions = await eventually(async () => {
        const h = await bridge.history(id, 'notes.txt');
        return h.length === 2 ? h : undefined;
      }, WAIT_MS, 'the second revision');
      const first = revisions.find((e) => e.size === 5)!;
      expect(first).toMatchObject({ path: 'notes.txt', kind: 'file', deleted: false });
      await bridge.restore(id, 'notes.txt', first.rev);
      await eventually(async () => (await readFile(join(dir, 'notes.txt'), 'utf8')) === 'first', WAIT_MS, 'the restored content');
      await expectBridgeError(bridge.restore(id, 'notes.txt', 999_999), 'not-found');
      await expectBridgeError(bridge.history(id + 1000, 'notes.txt'), 'not-found');
    });

    it('ignore rules round-trip through .ferryignore, and the engine applies them at once', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      const id = await folderId(bridge);
      expect(await bridge.getIgnoreRules(id)).toBe('');
      await bridge.setIgnoreRules(id, '*.tmp\nbuild/\n');
      expect(await bridge.getIgnoreRules(id)).toBe('*.tmp\nbuild/\n');
      expect(await readFile(join(dir, '.ferryignore'), 'utf8')).toBe('*.tmp\nbuild/\n');
      await eventually(async () => (await serverPaths()).includes('.ferryignore'), WAIT_MS, '.ferryignore on the server');
      await writeFile(join(dir, 'scratch.tmp'), 'never synced');
      await writeFile(join(dir, 'kept.txt'), 'synced');
      await eventually(async () => (await serverPaths()).includes('kept.txt'), WAIT_MS, 'kept.txt on the server');
      await idle(bridge);
      expect(await serverPaths()).not.toContain('scratch.tmp');
      await expectBridgeError(bridge.getIgnoreRules(id + 1000), 'not-found');
      await expectBridgeError(bridge.setIgnoreRules(id + 1000, 'x'), 'not-found');
    });

    it('a missing folder root arrives as an issue; retry after it is back clears it; held deletes of an unknown folder are not-found', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      await writeFile(join(dir, 'a.txt'), 'a');
      const synced = await eventually(async () => {
        const state = await idle(bridge);
        return state.folders[0]!.files === 1 ? state : undefined;
      }, WAIT_MS, 'a.txt synced');
      const id = synced.folders[0]!.id;
      const events = record(bridge);
      await rm(dir, { recursive: true, force: true });
      const issues = await events.waitFor<{ kind: string; folder: number }[]>('issues', (i) => i.some((x) => x.kind === 'root-missing'), 'a root-missing issue');
      expect(issues.find((x) => x.kind === 'root-missing')).toMatchObject({ folder: id });
      await mkdir(dir);
      await bridge.retry();
      await events.waitFor<unknown[]>('issues', (i) => i.length === 0, 'the issue to clear');
      await idle(bridge);
      await expectBridgeError(bridge.confirmDeletes(id + 1000), 'not-found');
      await expectBridgeError(bridge.rejectDeletes(id + 1000), 'not-found');
    });

    it('transfers arrive as events while a bandwidth limit holds an upload back', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      await idle(bridge);
      const events = record(bridge);
      await bridge.setBandwidthLimits({ upBytesPerSecond: 256 * 1024, downBytesPerSecond: null });
      await writeFile(join(dir, 'big.bin'), Buffer.alloc(768 * 1024, 7));
      const snapshot = await events.waitFor<{ items: { path: string; direction: string; bytesTotal: number }[] }>(
        'transfers',
        (t) => t.items.some((x) => x.path === 'big.bin'),
        'a transfer of big.bin',
      );
      expect(snapshot.items.find((x) => x.path === 'big.bin')).toMatchObject({ direction: 'up', bytesTotal: 768 * 1024 });
      await eventually(async () => (await serverPaths()).includes('big.bin'), WAIT_MS, 'big.bin on the server');
      await events.waitFor<{ items: unknown[] }>('transfers', (t) => t.items.length === 0, 'the transfer list to empty');
    });

    it('headless: desktop actions are unsupported; notifications and bandwidth limits are kept', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      const id = await folderId(bridge);
      await expectBridgeError(bridge.showInFolder(id, 'a.txt'), 'unsupported');
      await expectBridgeError(bridge.chooseFolder(), 'unsupported');
      await expectBridgeError(bridge.setSettings({ launchAtLogin: true }), 'unsupported');
      const events = record(bridge);
      await bridge.setSettings({ notifications: false });
      await events.waitFor<{ settings: { notifications: boolean } }>('app', (a) => !a.settings.notifications);
      expect((await bridge.getApp()).settings).toEqual({ launchAtLogin: false, notifications: false });
      await bridge.setBandwidthLimits({ upBytesPerSecond: 1 << 20, downBytesPerSecond: null });
      expect((await bridge.getState()).limits).toEqual({ upBytesPerSecond: 1 << 20, downBytesPerSecond: null });
    });

    it('a revoked token shows as signed-out; signIn with the password brings the device back, a wrong one is auth-failed', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      await idle(bridge);
      const events = record(bridge);
      const device = (await srv.store.listDevices()).find((d) => d.name === 'contract-pc')!;
      // Revoked through a second connection to the database, as `ferry admin token revoke` does,
      // so the running server notices and cuts the device off.
      const admin = new SqliteJournalStore(dbFile(srv.dataDir));
      await admin.revokeDevice(device.id);
      admin.close();
      await events.waitFor<{ status: string }>('connection', (c) => c.status === 'signed-out', 'signed-out');
      await expectBridgeError(bridge.signIn('wrong-password'), 'auth-failed');
      await bridge.signIn(PASSWORD);
      await events.waitFor<{ status: string }>('connection', (c) => c.status === 'connected', 'connected again');
      expect((await idle(bridge)).device).toBe('contract-pc');
    });

    it('signOut returns to the first run and leaves the files', async () => {
      const { bridge } = await openApp();
      await connectAlice(bridge);
      await writeFile(join(dir, 'keep-me.txt'), 'still here');
      await eventually(async () => (await idle(bridge)).folders[0]!.files >= 1, WAIT_MS);
      const events = record(bridge);
      await bridge.signOut();
      await events.waitFor<{ setup: { mode: string } }>('app', (a) => a.setup.mode === 'none');
      await events.waitFor<{ status: string }>('connection', (c) => c.status === 'stopped');
      expect((await bridge.getState()).connection).toEqual({ status: 'stopped' });
      expect(await readFile(join(dir, 'keep-me.txt'), 'utf8')).toBe('still here');
      await connectAlice(bridge);
      await idle(bridge);
    });

    it('host: runs the embedded server, creates the user and folder, and other devices can sign in at its address', async () => {
      const { bridge } = await openApp({ canHost: true });
      expect((await bridge.getApp()).capabilities.host).toBe(true);
      await expectBridgeError(bridge.host({ user: 'owner', password: 'short', dir, port: await freePort() }), 'invalid-argument');
      const port = await freePort();
      const info = await bridge.host({ user: 'owner', password: 'owner-password', dir, port });
      expect(info).toEqual({ addresses: [`http://127.0.0.1:${port}`], user: 'owner', folder: 'Ferry' });
      expect((await bridge.getApp()).setup).toMatchObject({ mode: 'host', user: 'owner', addresses: info.addresses, folders: [{ name: 'Ferry', dir }] });
      await idle(bridge);
      const res = await fetch(`${info.addresses[0]}/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'owner', password: 'owner-password', device: 'laptop' }),
      });
      expect(res.status).toBe(200);
      await bridge.signOut();
      await expect(fetch(`${info.addresses[0]}/healthz`)).rejects.toThrow();
    });

    it('invalid arguments are invalid-argument, before anything happens', async (ctx) => {
      const { bridge, validates } = await openApp();
      if (!validates) return ctx.skip();
      const loose = bridge as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      await expectBridgeError(loose.connect!({ server: 'ftp://example', user: 'a', password: 'b', device: 'c', dir }), 'invalid-argument');
      await expectBridgeError(loose.connect!({ server: srv.url, user: 'alice', password: PASSWORD, device: 'c', dir, extra: 1 }), 'invalid-argument');
      await expectBridgeError(loose.history!(1, '../etc/passwd'), 'invalid-argument');
      await expectBridgeError(loose.restore!(1, 'a.txt', -1), 'invalid-argument');
      await expectBridgeError(loose.setBandwidthLimits!({ upBytesPerSecond: 'fast', downBytesPerSecond: null }), 'invalid-argument');
      await expectBridgeError(loose.resolveConflict!(1, 'keep-everything'), 'invalid-argument');
      await expectBridgeError(loose.pause!('now'), 'invalid-argument');
      expect((await bridge.getApp()).setup).toEqual({ mode: 'none' });
    });
  });
}
