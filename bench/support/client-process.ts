/**
 * `ferry sync` as a child process, so each client's memory (VmHWM) is its own and the
 * bench watches it from outside, as a user would: its folder, its control endpoint and
 * /proc. Its JSON log lines go to a file for investigation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { EngineState } from '../../src/shared/bridge.js';
import { postCall } from '../../src/shared/web-api.js';

/** From dist/bench/support/ back to the repository root. */
const FERRY_BIN = fileURLToPath(new URL('../../../bin/ferry.js', import.meta.url));
const CONTROL_FILE = 'control.json';
const STOP_TIMEOUT_MS = 15_000;
const TAIL_LINES = 30;
/** A client counts as idle when two looks this far apart both say so: a catch-up or a pass can start and end between one look and the next. */
const IDLE_CONFIRM_MS = 100;
const POLL_MS = 50;

export interface ClientOptions {
  server: string;
  token: string;
  folder: string;
  root: string;
  stateDir: string;
  logFile: string;
  logLevel: string;
  nodeArgs: readonly string[];
}

interface Control {
  url: string;
  key: string;
  pid: number;
}

export class ClientProcess {
  /** performance.now() when the process was spawned. */
  readonly spawnedAt: number;
  private readonly lines: string[] = [];
  private control: Control | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly options: ClientOptions,
    private readonly proc: ChildProcess,
    log: WriteStream,
  ) {
    this.spawnedAt = performance.now();
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const take = (d: Buffer): void => {
      log.write(d);
      for (const line of d.toString('utf8').split('\n').filter(Boolean)) this.note(line);
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    this.exited.then(() => log.end());
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Spawns the client and resolves once its control endpoint is up (the engine has started). */
  static async start(name: string, options: ClientOptions, timeoutMs: number): Promise<ClientProcess> {
    const o = options;
    const args = [...o.nodeArgs, FERRY_BIN, 'sync', '--server', o.server, '--token', o.token, '--folder', o.folder, '--dir', o.root, '--state', o.stateDir, '--log-level', o.logLevel];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const client = new ClientProcess(name, options, proc, createWriteStream(o.logFile, { flags: 'a' }));
    // Never leave a client behind if the bench dies.
    const killOnExit = (): void => void proc.kill('SIGKILL');
    process.once('exit', killOnExit);
    void client.exited.then(() => process.off('exit', killOnExit));
    await client.waitControl(timeoutMs);
    return client;
  }

  /** The control file names this process's endpoint once the engine runs; an older one (another pid) is ignored. */
  private async waitControl(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`client ${this.name} exited with ${this.proc.exitCode}:\n${this.tail()}`);
      const control = await readControl(this.options.stateDir);
      if (control?.pid === this.pid) {
        this.control = control;
        return;
      }
      await sleep(POLL_MS);
    }
    throw new Error(`client ${this.name} did not start within ${timeoutMs} ms:\n${this.tail()}`);
  }

  async state(): Promise<EngineState> {
    const c = this.control!;
    const result = await postCall(fetch, c.url, c.key, 'getState', []);
    if (!result.ok) throw new Error(`client ${this.name}: control endpoint answered ${result.error.code}: ${result.error.message}`);
    return result.value as EngineState;
  }

  /** Connected, every folder idle with nothing pending, no transfers. */
  async idle(): Promise<boolean> {
    return isIdle(await this.state());
  }

  /** Resolves with the time (performance.now()) of the first of two idle looks in a row. */
  async waitIdle(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const at = performance.now();
      if (await this.idle()) {
        await sleep(IDLE_CONFIRM_MS);
        if (await this.idle()) return at;
      }
      await sleep(POLL_MS);
    }
    throw new Error(`client ${this.name} was not idle within ${timeoutMs} ms: ${summarize(await this.state())}`);
  }

  /** The last lines the client logged. */
  tail(): string {
    return this.lines.join('\n');
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    // SIGTERM lets the engine close its journal cleanly, as a restart by the user would.
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private note(line: string): void {
    this.lines.push(line);
    this.lines.splice(0, Math.max(0, this.lines.length - TAIL_LINES));
  }
}

async function readControl(stateDir: string): Promise<Control | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, CONTROL_FILE), 'utf8')) as Control;
  } catch {
    return undefined; // not written yet, or half written
  }
}

export function isIdle(s: EngineState): boolean {
  return (
    s.connection.status === 'connected' &&
    s.folders.every((f) => f.phase === 'idle' && f.pending === 0) &&
    s.transfers.items.length === 0
  );
}

/** One line on what a client is doing, for error messages. */
export function summarize(s: EngineState): string {
  const folders = s.folders.map((f) => `${f.name}: ${f.phase}, ${f.pending} pending, ${f.files} files${f.message ? ` (${f.message})` : ''}`);
  const issues = s.issues.slice(0, 5).map((i) => `${i.kind} ${i.path ?? ''}: ${i.message}`);
  return [
    `connection ${s.connection.status}`,
    ...folders,
    `${s.transfers.items.length} transfers`,
    `${s.conflicts.length} conflicts`,
    `${s.issues.length} issues${issues.length ? ` [${issues.join('; ')}]` : ''}`,
  ].join('; ');
}
