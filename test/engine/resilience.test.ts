/**
 * Failures in the middle of things: a `ferry sync` killed with SIGKILL during a large upload
 * and started again, a server restarted under connected clients, a device token revoked
 * while the device is online.
 */
import { lstat, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileContent } from '../../src/engine/content/file-content.js';
import * as admin from '../../src/server/admin.js';
import { openStores } from '../../src/server/server.js';
import {
  controlState,
  converged,
  isIdle,
  sha256File,
  spawnClient,
  stagingLeftovers,
  startClient,
  writeRandomFile,
  type SpawnedClient,
  type TestClient,
} from '../helpers/engine.js';
import { eventually, removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

let srv: TestServer;
let token: string;
let deviceId: number;
let clients: TestClient[] = [];
let spawned: SpawnedClient[] = [];
let scratch: string[] = [];

/** Server log lines at warn and above, to see who knocked with a bad token. */
let serverWarnings: string[] = [];

beforeEach(async () => {
  serverWarnings = [];
  srv = await startServer({ logger: pino({ level: 'warn' }, { write: (line: string) => void serverWarnings.push(line) }) });
  const seeded = await seedUser(srv.store, 'alice', 'Docs');
  token = seeded.token;
  deviceId = seeded.device.id;
});
afterEach(async () => {
  for (const p of spawned) await p.stop('SIGKILL');
  await Promise.all(clients.map((c) => c.stop()));
  for (const c of [...clients, ...spawned]) {
    await removeDir(c.root);
    await removeDir(c.stateDir);
  }
  for (const d of scratch) await removeDir(d);
  clients = [];
  spawned = [];
  scratch = [];
  await srv.close();
  await removeDir(srv.dataDir);
});

async function client(root?: string): Promise<TestClient> {
  const c = await startClient(srv.url, token, 'Docs', root ? { root } : {});
  clients.push(c);
  return c;
}

describe('a killed ferry sync', () => {
  it('resumes a large upload after SIGKILL, sending only the missing chunks; the receiver never shows a partial file', async () => {
    const size = 128 * MiB;
    const out = await tempDir('ferry-kill-');
    scratch.push(out);
    const want = await writeRandomFile(join(out, 'big.bin'), size);
    const chunkCount = new Set((await readFileContent(join(out, 'big.bin'))).chunks.map(([h]) => h)).size;
    const rootA = await tempDir('ferry-root-');
    const stateA = await tempDir('ferry-state-');
    await rename(join(out, 'big.bin'), join(rootA, 'big.bin'));
    const b = await client();

    // Watch the receiving folder the whole time: the file is absent, or whole and right.
    const seen: string[] = [];
    let complete = false;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const names = (await readdir(b.root).catch(() => [] as string[])).filter((n) => n !== '.ferry');
        for (const n of names) {
          if (n !== 'big.bin') seen.push(`unexpected ${n}`);
          else if (!complete) {
            const st = await lstat(join(b.root, n)).catch(() => undefined);
            if (!st) continue;
            if (st.size !== size) seen.push(`big.bin visible with ${st.size} of ${size} bytes`);
            else if ((await sha256File(join(b.root, n))) !== want) seen.push('big.bin visible with the wrong content');
            else complete = true;
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const metrics = srv.server.ctx.metrics;
    let a: SpawnedClient;
    try {
      a = await spawnClient(srv.url, token, 'Docs', rootA, stateA);
      spawned.push(a);
      await eventually(() => metrics.chunksUploaded >= 8, 60_000, 'the upload to be under way');
      expect(await a.stop('SIGKILL')).toBeNull();
      const atKill = metrics.chunksUploaded;
      expect(atKill, 'the kill must land in the middle of the upload').toBeLessThan(chunkCount);
      await new Promise((r) => setTimeout(r, 500));
      expect(await readdir(b.root)).not.toContain('big.bin');

      a = await spawnClient(srv.url, token, 'Docs', rootA, stateA);
      spawned.push(a);
      let detail = '';
      await eventually(
        async () => {
          const [sa, sb] = [await controlState(stateA), await b.engine.getState()];
          detail = JSON.stringify({ a: sa.folders, aTransfers: sa.transfers.items, b: sb.folders, chunks: metrics.chunksUploaded, chunkCount });
          return complete && isIdle(sa) && isIdle(sb) && sb.folders[0]!.files === 1;
        },
        60_000,
        'the resumed upload to arrive on the other client',
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${detail}`);
      });
    } finally {
      watching = false;
      await watcher;
    }

    expect(seen).toEqual([]);
    expect(await sha256File(join(b.root, 'big.bin'))).toBe(want);
    // Every chunk stored about once: what was stored before the kill was not sent again
    // (one chunk in flight at the kill may go twice).
    expect(metrics.chunksUploaded).toBeGreaterThanOrEqual(chunkCount);
    expect(metrics.chunksUploaded).toBeLessThanOrEqual(chunkCount + 4);
    expect(await stagingLeftovers(rootA)).toEqual([]);
    expect(await stagingLeftovers(b.root)).toEqual([]);
    expect(await a!.stop('SIGTERM')).toBe(0);
  }, 120_000);
});

describe('a server restart', () => {
  it('clients reconnect to the restarted server (same data, same port) and converge, including changes made while it was down', async () => {
    const port = srv.server.port;
    const [a, b] = [await client(), await client()];
    await writeFile(join(a.root, 'before.txt'), 'synced before the restart');
    await converged([a, b]);

    // A large upload in flight when the server goes away.
    const out = await tempDir('ferry-restart-');
    scratch.push(out);
    const want = await writeRandomFile(join(out, 'mid.bin'), 48 * MiB);
    await rename(join(out, 'mid.bin'), join(a.root, 'mid.bin'));
    for (let i = 0; i < 10; i++) await writeFile(join(a.root, `small-${i}.txt`), `small ${i}`);
    await eventually(() => srv.server.ctx.metrics.chunksUploaded >= 3, 30_000, 'the upload to be under way');
    await srv.close();
    await eventually(async () => (await a.engine.getState()).connection.status !== 'connected', 5000, 'a to notice');

    // Changes on both sides while the server is down.
    await writeFile(join(a.root, 'while-down-a.txt'), 'from a');
    await writeFile(join(b.root, 'while-down-b.txt'), 'from b');
    await rm(join(b.root, 'before.txt'));
    await new Promise((r) => setTimeout(r, 300));

    srv = await startServer({ dataDir: srv.dataDir, port });
    const tree = await converged([a, b], 60_000);
    expect(Object.keys(tree).sort()).toEqual(['mid.bin', ...Array.from({ length: 10 }, (_, i) => `small-${i}.txt`), 'while-down-a.txt', 'while-down-b.txt'].sort());
    expect(tree['mid.bin']).toMatchObject({ size: 48 * MiB, sha256: want });
    for (const c of [a, b]) {
      const s = await c.engine.getState();
      expect(s.connection.status).toBe('connected');
      expect(s.issues).toEqual([]);
      expect(await stagingLeftovers(c.root)).toEqual([]);
    }
  }, 120_000);
});

describe('a revoked device token', () => {
  async function expectSignedOutForGood(c: TestClient): Promise<void> {
    await eventually(async () => (await c.engine.getState()).connection.status === 'signed-out', 10_000, 'the engine to be signed out');
    const knocksBefore = serverWarnings.filter((l) => l.includes('missing or bad token')).length;
    // It stops: no reconnection attempts, the state stays signed-out.
    await new Promise((r) => setTimeout(r, 2000));
    const state = await c.engine.getState();
    expect(state.connection).toMatchObject({ status: 'signed-out' });
    expect(srv.server.connectionCount).toBe(0);
    expect(serverWarnings.filter((l) => l.includes('missing or bad token')).length).toBe(knocksBefore);
  }

  it('revoked by `ferry admin` (another handle on the data directory) signs the connected engine out and it stops retrying', async () => {
    const a = await client();
    await writeFile(join(a.root, 'x.txt'), 'x');
    await converged([a]);
    const { store } = await openStores(srv.dataDir);
    try {
      await admin.revokeToken(store, deviceId);
    } finally {
      store.close();
    }
    await expectSignedOutForGood(a);
  }, 30_000);

  it('revoked through the running server\'s own store (the embedded server of the desktop app) signs the engine out too', async () => {
    const a = await client();
    await writeFile(join(a.root, 'x.txt'), 'x');
    await converged([a]);
    await admin.revokeToken(srv.store, deviceId);
    await expectSignedOutForGood(a);
  }, 30_000);
});
