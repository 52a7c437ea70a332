/**
 * `ferry sync --ui` as a user runs it: a process that starts at the first run, prints the UI
 * address with its key, is set up through the web bridge (the browser's Connect flow), syncs,
 * and answers `ferry status`. Needs `npm run build` (bin/ferry.js runs dist/).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createWebBridge, type WebBridge } from '../../src/renderer/bridge/web-bridge.js';
import { isIdle, spawnSyncWith, type SpawnedClient } from '../helpers/engine.js';
import { eventually, removeDir, runFerry, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let dirs: string[] = [];
let procs: SpawnedClient[] = [];
let bridges: WebBridge[] = [];

beforeEach(async () => {
  srv = await startServer();
  await seedUser(srv.store, 'alice', 'Docs');
});

afterEach(async () => {
  for (const b of bridges) b.close();
  for (const p of procs) await p.stop('SIGKILL');
  for (const d of dirs) await removeDir(d);
  [dirs, procs, bridges] = [[], [], []];
  await srv.close();
  await removeDir(srv.dataDir);
});

async function dir(prefix: string): Promise<string> {
  const d = await tempDir(prefix);
  dirs.push(d);
  return d;
}

it('starts at the first run, prints the UI address, is set up through the web bridge, and ferry status follows', async () => {
  const state = await dir('ferry-state-');
  const root = join(await dir('ferry-root-'), 'Ferry');
  const proc = await spawnSyncWith(['--ui', '127.0.0.1:0', '--state', state], root, state);
  procs.push(proc);
  const line = proc.logs.find((l) => l.startsWith('Ferry UI: '));
  const match = /^Ferry UI: (http:\/\/127\.0\.0\.1:\d+)\/#key=([A-Za-z0-9_-]+)$/.exec(line ?? '');
  expect(match, `no UI line in ${proc.logs.join('\n')}`).not.toBeNull();
  const [, baseUrl, key] = match!;
  const control = JSON.parse(await readFile(join(state, 'control.json'), 'utf8')) as { url: string; key: string };
  expect(control).toMatchObject({ url: baseUrl, key });

  const bridge = createWebBridge({ baseUrl: baseUrl!, key: key!, WebSocket });
  bridges.push(bridge);
  await bridge.whenOpen();
  expect((await bridge.getApp()).setup).toEqual({ mode: 'none' });
  expect((await runFerry(['status', '--state', state])).stdout).toBe('Ferry: stopped\n');

  await bridge.connect({ server: srv.url, user: 'alice', password: 'alice-password', device: 'headless', dir: root });
  await eventually(async () => isIdle(await bridge.getState()), 20_000, 'the client to sync');
  await writeFile(join(root, 'hello.txt'), 'hi');
  const docs = (await srv.store.folderByName('Docs'))!.id;
  await eventually(async () => (await srv.store.history(docs, 'hello.txt', 1)).length === 1, 20_000, 'hello.txt on the server');

  const status = await runFerry(['status', '--state', state]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(new RegExp(`^Ferry: connected to ${srv.url} as headless\\n  Docs → ${root}: `));
});

it('without --ui and with nothing set up, says how to set it up and exits 1', async () => {
  const state = await dir('ferry-state-');
  const r = await runFerry(['sync', '--state', state]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^ferry: this client is not set up: .*--ui PORT/);
});

it('refuses a --ui that is not [HOST:]PORT', async () => {
  const r = await runFerry(['sync', '--ui', 'localhost:http', '--state', await dir('ferry-state-')]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('expected [HOST:]PORT');
});
