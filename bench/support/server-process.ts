/**
 * `ferry serve` as a child process, so the figures (and the RSS) are the server's own and
 * not mixed with the bench clients in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';
import { readCpuSeconds, readRssKiB } from './proc.js';

/** From dist/bench/support/ back to the repository root. */
const FERRY_BIN = fileURLToPath(new URL('../../../bin/ferry.js', import.meta.url));
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
const OUTPUT_TAIL_LINES = 20;

export interface ServerProcess {
  readonly pid: number;
  readonly url: string;
  readonly wsUrl: string;
  /** VmRSS of the server process, in KiB. */
  rssKiB(): Promise<number>;
  /** CPU time (user + system, all threads) the server process has used, in seconds. */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the server on `port`, or on a free one. At `--log-level warn` the "listening" line (info) is not
 * printed, so the port is chosen here and readiness is polled on /healthz instead; the
 * quieter log keeps per-connection info lines out of the measurements.
 */
export async function startServerProcess(dataDir: string, nodeArgs: readonly string[] = [], port?: number): Promise<ServerProcess> {
  port ??= await freePort();
  const args = [...nodeArgs, FERRY_BIN, 'serve', '--data', dataDir, '--port', String(port), '--log-level', 'warn'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = keepTail(proc);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // Never leave a server behind if the bench dies.
  const killOnExit = (): void => void proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, proc, tail);
  const pid = proc.pid!;
  return {
    pid,
    url,
    wsUrl: `ws://127.0.0.1:${port}/v1/sync`,
    rssKiB: () => readRssKiB(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    async stop() {
      process.off('exit', killOnExit);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      // SIGTERM lets the server close cleanly, which also writes a --cpu-prof profile.
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last lines the server printed, for the error message if it fails. */
function keepTail(proc: ChildProcess): () => string {
  const lines: string[] = [];
  const take = (d: Buffer): void => {
    lines.push(...d.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - OUTPUT_TAIL_LINES));
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  return () => lines.join('\n');
}

async function waitReady(url: string, proc: ChildProcess, tail: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`ferry serve exited with ${proc.exitCode}:\n${tail()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`ferry serve did not answer /healthz within ${READY_TIMEOUT_MS} ms:\n${tail()}`);
}
