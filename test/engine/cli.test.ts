/**
 * The headless client as a user runs it: `ferry sync` as a process, `ferry status` (text and
 * JSON) against it, clean exits on SIGINT and SIGTERM, and `ferry login` storing credentials
 * that a later `ferry sync` uses without --token. Needs `npm run build` (bin/ferry.js runs dist/).
 */
import { access, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineState } from '../../src/shared/bridge.js';
import {
  controlState,
  converged,
  isIdle,
  spawnClient,
  spawnSyncWith,
  startClient,
  treeOf,
  type SpawnedClient,
  type TestClient,
} from '../helpers/engine.js';
import { eventually, removeDir, runFerry, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let token: string;
let clients: TestClient[] = [];
let spawned: SpawnedClient[] = [];
let dirs: string[] = [];

beforeEach(async () => {
  srv = await startServer();
  ({ token } = await seedUser(srv.store, 'alice', 'Docs'));
});
afterEach(async () => {
  for (const p of spawned) await p.stop('SIGKILL');
  await Promise.all(clients.map((c) => c.stop()));
  for (const c of clients) {
    await removeDir(c.root);
    await removeDir(c.stateDir);
  }
  for (const d of dirs) await removeDir(d);
  clients = [];
  spawned = [];
  dirs = [];
  await srv.close();
  await removeDir(srv.dataDir);
});

async function dir(prefix: string): Promise<string> {
  const d = await tempDir(prefix);
  dirs.push(d);
  return d;
}

async function syncProcess(): Promise<SpawnedClient> {
  const p = await spawnClient(srv.url, token, 'Docs', await dir('ferry-root-'), await dir('ferry-state-'));
  spawned.push(p);
  return p;
}

async function idleProcess(p: SpawnedClient, check: (s: EngineState) => boolean = () => true): Promise<EngineState> {
  return eventually(async () => {
    const s = await controlState(p.stateDir).catch(() => undefined);
    return s && isIdle(s) && check(s) ? s : undefined;
  }, 15_000, 'ferry sync to be connected and idle');
}

describe('ferry status', () => {
  it('shows the connection, the folder and its state, as text and as JSON', async () => {
    const p = await syncProcess();
    await writeFile(join(p.root, 'hello.txt'), 'hello');
    await idleProcess(p, (s) => s.folders[0]!.files === 1);

    const text = await runFerry(['status', '--state', p.stateDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Ferry: connected to ${srv.url} as alice-laptop`);
    expect(text.stdout).toContain(`Docs → ${p.root}: idle; 1 files, 5 B`);

    const json = await runFerry(['status', '--state', p.stateDir, '--json']);
    expect(json.code).toBe(0);
    const state = JSON.parse(json.stdout) as EngineState;
    expect(state).toMatchObject({ device: 'alice-laptop', server: srv.url, paused: false, connection: { status: 'connected' }, issues: [], conflicts: [] });
    expect(state.folders).toEqual([expect.objectContaining({ name: 'Docs', root: p.root, phase: 'idle', files: 1, bytes: 5, pending: 0 })]);
  });

  it('fails with exit 1 and a clear message when no ferry sync runs for the state directory', async () => {
    const r = await runFerry(['status', '--state', await dir('ferry-state-')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ferry: no running ferry sync found for /);
  });
});

describe('stopping ferry sync', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`exits 0 on ${signal} and withdraws its control endpoint`, async () => {
      const p = await syncProcess();
      await writeFile(join(p.root, 'a.txt'), 'a');
      await idleProcess(p, (s) => s.folders[0]!.files === 1);
      expect(await p.stop(signal)).toBe(0);
      await expect(access(join(p.stateDir, 'control.json'))).rejects.toMatchObject({ code: 'ENOENT' });
      const r = await runFerry(['status', '--state', p.stateDir]);
      expect(r.code).toBe(1);
    });
  }

  it('keeps running, in an error state, when its folder root is removed', async () => {
    const root = await dir('ferry-root-');
    const state = await dir('ferry-state-');
    const p = await spawnSyncWith(['--server', srv.url, '--token', token, '--folder', 'Docs', '--dir', root, '--state', state], root, state);
    spawned.push(p);
    await writeFile(join(p.root, 'a.txt'), 'a');
    await idleProcess(p, (s) => s.folders[0]!.files === 1);
    await rm(p.root, { recursive: true, force: true });
    const s = await eventually(async () => {
      if (p.proc.exitCode !== null) throw new Error(`ferry sync exited with ${p.proc.exitCode}: ${p.stderr!().slice(0, 1500)}`);
      const st = await controlState(p.stateDir).catch(() => undefined);
      return st?.issues.some((i) => i.kind === 'root-missing') ? st : undefined;
    }, 10_000, 'the root-missing issue');
    expect(s.folders[0]!.phase).toBe('error');
    await new Promise((r) => setTimeout(r, 500));
    expect(p.proc.exitCode).toBeNull();
    expect(p.proc.signalCode).toBeNull();
    expect(await p.stop('SIGTERM')).toBe(0);
  });
});

describe('ferry login', () => {
  it('stores credentials from a password on stdin; ferry sync then runs without --token', async () => {
    const state = await dir('ferry-state-');
    const root = await dir('ferry-root-');
    const r = await runFerry(['login', '--server', srv.url, '--user', 'alice', '--device', 'cli-box', '--state', state], 'alice-password\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`signed in to ${srv.url} as alice (device 'cli-box')`);
    const credsFile = join(state, 'credentials.json');
    expect((await stat(credsFile)).mode & 0o777).toBe(0o600);
    const creds = JSON.parse(await readFile(credsFile, 'utf8')) as Record<string, string>;
    expect(creds).toMatchObject({ server: srv.url, user: 'alice', device: 'cli-box' });
    expect(creds.token).toMatch(/\S{20,}/);

    const p = await spawnSyncWith(['--server', srv.url, '--folder', 'Docs', '--dir', root, '--state', state], root, state);
    spawned.push(p);
    const s = await idleProcess(p);
    expect(s.device).toBe('cli-box');

    // It really syncs, both ways, with an in-process device of the same user.
    const other = await startClient(srv.url, token, 'Docs');
    clients.push(other);
    await writeFile(join(other.root, 'from-engine.txt'), 'engine');
    await writeFile(join(root, 'from-cli.txt'), 'cli');
    await eventually(async () => {
      const [mine, theirs] = [await treeOf(root), await treeOf(other.root)];
      return mine['from-engine.txt'] && theirs['from-cli.txt'] && JSON.stringify(mine) === JSON.stringify(theirs);
    }, 15_000, 'both files on both devices');
    await converged([other]);
    expect(await p.stop('SIGTERM')).toBe(0);
  });

  it('fails with exit 1 and a clear message on a wrong password, and stores nothing', async () => {
    const state = await dir('ferry-state-');
    const r = await runFerry(['login', '--server', srv.url, '--user', 'alice', '--state', state], 'not-the-password\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ferry: login failed: wrong user name or password\n');
    expect(r.stdout).toBe('');
    await expect(access(join(state, 'credentials.json'))).rejects.toMatchObject({ code: 'ENOENT' });

    // And without credentials, ferry sync says what is missing.
    const sync = await runFerry(['sync', '--server', srv.url, '--folder', 'Docs', '--dir', join(state, 'root'), '--state', state]);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/^ferry: no device token for .*run ferry login/);
  });
});

describe('ferry sync --config', () => {
  it('syncs several folder pairs from one config file', async () => {
    await (await import('../../src/server/admin.js')).createFolder(srv.store, 'Photos', 'alice');
    const state = await dir('ferry-state-');
    const docs = await dir('ferry-docs-');
    const photos = await dir('ferry-photos-');
    const config = join(state, 'ferry.json');
    await writeFile(config, JSON.stringify({ server: srv.url, token, folders: [{ name: 'Docs', dir: docs }, { name: 'Photos', dir: photos }] }));
    const p = await spawnSyncWith(['--config', config, '--state', state], docs, state);
    spawned.push(p);
    const otherDocs = await startClient(srv.url, token, 'Docs');
    const otherPhotos = await startClient(srv.url, token, 'Photos');
    clients.push(otherDocs, otherPhotos);
    await writeFile(join(otherDocs.root, 'doc.txt'), 'a document');
    await writeFile(join(otherPhotos.root, 'pic.jpg'), 'a picture');
    await eventually(async () => Object.keys(await treeOf(docs)).includes('doc.txt') && Object.keys(await treeOf(photos)).includes('pic.jpg'), 15_000);
    expect(Object.keys(await treeOf(docs))).toEqual(['doc.txt']);
    expect(Object.keys(await treeOf(photos))).toEqual(['pic.jpg']);
    const state2 = await controlState(state);
    expect(state2.folders.map((f) => f.name).sort()).toEqual(['Docs', 'Photos']);
  });

  it('refuses a config that is not one, with a clear message', async () => {
    const state = await dir('ferry-state-');
    const config = join(state, 'bad.json');
    await writeFile(config, JSON.stringify({ folders: [] }));
    const r = await runFerry(['sync', '--config', config, '--state', state]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ferry: .*bad\.json is not a valid config/m);
  });
});
