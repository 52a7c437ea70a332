/** Real sync clients for tests: the engine in-process, or `ferry sync` as a process, on temp folders. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFill } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { readControlFile } from '../../src/app/web/control-file.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { EngineState } from '../../src/shared/bridge.js';
import { postCall } from '../../src/shared/web-api.js';
import { afterEach, beforeEach } from 'vitest';
import { FERRY_BIN, removeDir, seedUser, startServer, tempDir, type TestServer } from './server.js';

export interface TestClient {
  engine: Engine;
  root: string;
  stateDir: string;
  stop(): Promise<void>;
}

/** An engine syncing `folder` into a fresh temp directory (or `root`). */
export async function startClient(
  server: string,
  token: string,
  folder: string,
  options: { root?: string; stateDir?: string } & Partial<Omit<EngineOptions, 'folders' | 'server' | 'token' | 'stateDir'>> = {},
): Promise<TestClient> {
  const root = options.root ?? (await tempDir('ferry-root-'));
  const stateDir = options.stateDir ?? (await tempDir('ferry-state-'));
  const { root: _r, stateDir: _s, logger, ...rest } = options;
  const engine = await Engine.start({
    stateDir,
    server,
    token,
    folders: [{ name: folder, root }],
    logger: logger ?? pino({ level: process.env.FERRY_TEST_LOG ?? 'silent' }),
    ...rest,
    folderOptions: { settleMs: 10, ...rest.folderOptions },
    connection: { backoffBaseMs: 50, backoffMaxMs: 500, ...rest.connection },
  });
  let stopped = false;
  return {
    engine,
    root,
    stateDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await engine.stop();
    },
  };
}

export interface TreeItem {
  kind: 'file' | 'dir' | 'symlink';
  size: number;
  sha256: string;
  exec: boolean;
  target: string;
}

/** Everything under `root` except `.ferry/`, as comparable data; read again if the tree changes underfoot. */
export async function treeOf(root: string): Promise<Record<string, TreeItem>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readTree(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 20) throw err;
    }
  }
}

async function readTree(root: string): Promise<Record<string, TreeItem>> {
  const out: Record<string, TreeItem> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(join(root, dir))).sort()) {
      const rel = dir ? `${dir}/${name}` : name;
      if (rel === '.ferry') continue;
      const st = await lstat(join(root, rel));
      if (st.isDirectory()) {
        out[rel] = { kind: 'dir', size: 0, sha256: '', exec: false, target: '' };
        await walk(rel);
      } else if (st.isSymbolicLink()) {
        out[rel] = { kind: 'symlink', size: 0, sha256: '', exec: false, target: await readlink(join(root, rel)) };
      } else {
        const data = await readFile(join(root, rel));
        out[rel] = { kind: 'file', size: st.size, sha256: createHash('sha256').update(data).digest('hex'), exec: (st.mode & 0o100) !== 0, target: '' };
      }
    }
  };
  await walk('');
  return out;
}

/** Files left in the staging area (there must be none once idle). */
export async function stagingLeftovers(root: string): Promise<string[]> {
  try {
    return await readdir(join(root, '.ferry', 'staging'));
  } catch {
    return [];
  }
}

/** Waits until every root holds the same tree and every engine is idle; returns the tree. */
export async function converged(clients: TestClient[], timeoutMs = 15_000): Promise<Record<string, TreeItem>> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const trees = await Promise.all(clients.map((c) => treeOf(c.root)));
    const states = await Promise.all(clients.map((c) => c.engine.getState()));
    const idle = states.every((s) => s.connection.status === 'connected' && s.folders.every((f) => f.phase === 'idle' && f.pending === 0) && s.transfers.items.length === 0);
    const same = trees.every((t) => JSON.stringify(t) === JSON.stringify(trees[0]));
    if (idle && same) {
      // Idle twice in a row, a moment apart: nothing was about to start.
      await new Promise((r) => setTimeout(r, 100));
      const again = await Promise.all(clients.map((c) => treeOf(c.root)));
      if (again.every((t) => JSON.stringify(t) === JSON.stringify(trees[0]))) return trees[0]!;
    }
    last = JSON.stringify({ idle, states: states.map((s) => s.folders.map((f) => [f.phase, f.pending, f.message])), trees: trees.map((t) => Object.keys(t)) });
    if (Date.now() > deadline) {
      const detail = trees.map((t, i) => `client ${i}: ${JSON.stringify(t)}`).join('\n');
      throw new Error(`clients did not converge: ${last.slice(0, 2000)}\n${detail.slice(0, 6000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface SpawnedClient {
  proc: ChildProcess;
  root: string;
  stateDir: string;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** What the process wrote to stderr so far (spawnSyncWith only). */
  stderr?: () => string;
}

/** `ferry sync` as a child process; resolves once it runs. */
export async function spawnClient(server: string, token: string, folder: string, root: string, stateDir: string): Promise<SpawnedClient> {
  const proc = spawn(process.execPath, [FERRY_BIN, 'sync', '--server', server, '--token', token, '--folder', folder, '--dir', root, '--state', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      if (line.includes('"ferry sync running"')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`ferry sync exited with ${code}: ${logs.join('\n')}`)));
  });
  return {
    proc,
    root,
    stateDir,
    logs,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

// ---- added for the transfer, resilience, guard and CLI tests --------------------------

/** Writes `size` random bytes to `file` through a stream, a block at a time; returns the SHA-256. */
export async function writeRandomFile(file: string, size: number, block = 1024 * 1024): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const done = new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.once('finish', () => resolve());
  });
  for (let written = 0; written < size; ) {
    const n = Math.min(block, size - written);
    const buf = await new Promise<Buffer>((resolve, reject) => randomFill(Buffer.allocUnsafe(n), (err, b) => (err ? reject(err) : resolve(b))));
    hash.update(buf);
    written += n;
    if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await done;
  return hash.digest('hex');
}

/** SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The state of a running `ferry sync`, read through its local control endpoint. */
export async function controlState(stateDir: string): Promise<EngineState> {
  const info = await readControlFile(stateDir);
  if (!info) throw new Error(`no control.json in ${stateDir}`);
  const result = await postCall(fetch, info.url, info.key, 'getState', []);
  if (!result.ok) throw new Error(`control endpoint answered ${result.error.code}: ${result.error.message}`);
  return result.value as EngineState;
}

/** Whether an engine state shows every folder idle with nothing pending or in flight. */
export function isIdle(s: EngineState): boolean {
  return s.connection.status === 'connected' && s.folders.every((f) => f.phase === 'idle' && f.pending === 0) && s.transfers.items.length === 0;
}

/** `ferry sync` as a child process with exactly these arguments (after `sync`); resolves once it runs. */
export async function spawnSyncWith(args: string[], root: string, stateDir: string, env: NodeJS.ProcessEnv = {}): Promise<SpawnedClient> {
  const proc = spawn(process.execPath, [FERRY_BIN, 'sync', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const logs: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      if (line.includes('"ferry sync running"')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`ferry sync exited with ${code}: ${logs.join('\n')}\n${stderr}`)));
  });
  return {
    proc,
    root,
    stateDir,
    logs,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface EngineTestBed {
  srv: TestServer;
  /** A device token of user alice, who owns folder Docs. */
  token: string;
  clients: TestClient[];
  /** An engine syncing Docs into a fresh temp folder (or `root`), stopped and removed after the test. */
  client(options?: Parameters<typeof startClient>[3]): Promise<TestClient>;
  /** A temp directory removed after the test. */
  scratch(prefix?: string): Promise<string>;
}

/** Per test: a fresh in-process server with alice owning Docs; every client and scratch dir cleaned up after. */
export function engineTestBed(): EngineTestBed {
  let scratch: string[] = [];
  const bed: EngineTestBed = {
    srv: undefined as unknown as TestServer,
    token: '',
    clients: [],
    async client(options = {}) {
      const c = await startClient(bed.srv.url, bed.token, 'Docs', options);
      bed.clients.push(c);
      return c;
    },
    async scratch(prefix = 'ferry-scratch-') {
      const d = await tempDir(prefix);
      scratch.push(d);
      return d;
    },
  };
  beforeEach(async () => {
    bed.srv = await startServer();
    ({ token: bed.token } = await seedUser(bed.srv.store, 'alice', 'Docs'));
  });
  afterEach(async () => {
    await Promise.all(bed.clients.map((c) => c.stop()));
    for (const c of bed.clients) {
      await removeDir(c.root);
      await removeDir(c.stateDir);
    }
    for (const d of scratch) await removeDir(d);
    bed.clients = [];
    scratch = [];
    await bed.srv.close();
    await removeDir(bed.srv.dataDir);
  });
  return bed;
}
