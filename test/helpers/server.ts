/** Real Ferry servers for tests: in-process on a random port, or as a `ferry serve` process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

/** `ferry serve` as a child process; resolves once it listens. */
export async function spawnServer(dataDir: string, extraArgs: string[] = []): Promise<{ proc: ChildProcess; url: string; wsUrl: string; stop(signal?: NodeJS.Signals): Promise<number | null> }> {
  const proc = spawn(process.execPath, [FERRY_BIN, 'serve', '--data', dataDir, '--port', '0', '--log-level', 'info', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
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
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
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
