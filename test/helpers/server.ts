/** Real Ferry servers for tests: in-process on a random port, or as a `ferry serve` process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import * as admin from '../../src/server/admin.js';
import { FerryServer, type ServerOptions } from '../../src/server/server.js';
import type { JournalStore } from '../../src/server/store/types.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const FERRY_BIN = join(ROOT, 'bin', 'ferry.js');

export async function tempDir(prefix = 'ferry-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface TestServer {
  server: FerryServer;
  dataDir: string;
  url: string;
  wsUrl: string;
  store: JournalStore;
  close(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await tempDir());
  const server = await FerryServer.start({ port: 0, logger: pino({ level: 'silent' }), gcIntervalMs: 0, ...options, dataDir });
  return {
    server,
    dataDir,
    url: server.url,
    wsUrl: server.url.replace(/^http/, 'ws') + '/v1/sync',
    store: server.ctx.store,
    close: () => server.close(),
  };
}

/** A port nothing listens on right now: for a server that must not be reachable, or one to start there. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A user with a device token and (optionally) a folder they own. */
export async function seedUser(store: JournalStore, name: string, folder?: string) {
  await admin.addUser(store, name, `${name}-password`);
  const { token, device } = await admin.createToken(store, name, `${name}-laptop`);
  const created = folder ? await admin.createFolder(store, folder, name) : undefined;
  return { token, device, folderId: created?.id ?? 0 };
}

export interface SpawnedServer {
  proc: ChildProcess;
  url: string;
  wsUrl: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** The JSON log records the process wrote to stdout so far. */
  logs(): Record<string, unknown>[];
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (SIGTERM unless told) and resolves with the exit code (null if killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `ferry serve` as a child process; resolves once it listens. */
export async function spawnServer(dataDir: string, extraArgs: string[] = []): Promise<SpawnedServer> {
  const proc = spawn(process.execPath, [FERRY_BIN, 'serve', '--data', dataDir, '--port', '0', '--log-level', 'info', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  const logs: Record<string, unknown>[] = [];
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        logs.push(rec);
        if (rec.msg === 'ferry server listening' && rec.url) resolve(rec.url);
      } catch {
        /* not a log line */
      }
    });
    proc.once('exit', (code) => reject(new Error(`ferry serve exited with ${code}: ${stderr}`)));
  });
  return {
    proc,
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/v1/sync',
    stderr: () => stderr,
    logs: () => [...logs],
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return (await exited).code;
    },
  };
}

/** Runs `ferry …` to completion. */
export function runFerry(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [FERRY_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(input ?? '');
  });
}

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = 'a condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A promise that rejects after `ms`, for racing against one that should settle well before. */
export function within<T>(promise: Promise<T>, ms: number, what = 'a result'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** POST /v1/login with a JSON body (or a raw string body). */
export async function login(url: string, body: unknown): Promise<{ status: number; headers: Headers; json: Record<string, unknown> | undefined }> {
  const res = await fetch(`${url}/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json };
}

/** What `ferry serve` prints on the first start of an empty data directory. */
export interface FirstStartBanner {
  address: string;
  user: string;
  password: string;
  token: string;
  folder: string;
}

/** Parses the first-start banner out of `ferry serve`'s stderr; undefined while it is incomplete. */
export function parseFirstStart(stderr: string): FirstStartBanner | undefined {
  // The banner is written at once; wait for its last line so no field is read half-written.
  if (!/^Connect a device with:\n  ferry sync .*\n/m.test(stderr)) return undefined;
  const field = (name: string): string | undefined => new RegExp(`^  ${name} {2,}(\\S+)$`, 'm').exec(stderr)?.[1];
  const address = field('address');
  const user = field('user');
  const password = field('password');
  const token = field('token');
  const folder = field('folder');
  if (!address || !user || !password || !token || !folder) return undefined;
  return { address, user, password, token, folder };
}
