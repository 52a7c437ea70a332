/**
 * The physical limits of this machine on a workload's data, measured in the same run: what
 * copying it on the same disk and hashing it cost. Each is the best of a few runs, since
 * other work on the machine only ever adds time.
 */
import { spawn } from 'node:child_process';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hashFile, sha256, type FileSpec } from './tree.js';

export const LIMIT_RUNS = 3;

export async function bestOf(runs: number, measureOnce: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, await measureOnce());
  return best;
}

export async function timedSeconds(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

function runCommand(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    proc.once('error', reject);
    proc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

/** Flushes every dirty page to disk. */
export function syncDisk(): Promise<void> {
  return runCommand('sync', []);
}

/**
 * `cp -r` of the same data to a fresh place on the same disk, then `sync`: the copy on disk,
 * as a sync tool's downloads are (both tools fsync them). A plain cp only fills the page
 * cache and swings tenfold with whatever writeback is pending. The dirty pages the workload
 * left are flushed first, untimed; the copy is removed afterwards.
 */
export async function cpSeconds(source: string, target: string): Promise<number> {
  await syncDisk();
  const s = await timedSeconds(async () => {
    await runCommand('cp', ['-r', source, target]);
    await syncDisk();
  });
  await rm(target, { recursive: true, force: true });
  return s;
}

/** Reads and hashes every file one after another, as a scanner must; a large file a block at a time. */
export function sha256Seconds(root: string, files: readonly FileSpec[]): Promise<number> {
  return timedSeconds(async () => {
    for (const f of files) {
      const path = join(root, f.path);
      if (f.size > 8 * 1024 * 1024) await hashFile(path);
      else sha256(await readFile(path));
    }
  });
}

/** Writes `data` over the file at `at` and datasyncs it: what changing those bytes on disk costs at least. */
export async function writeInPlaceSeconds(file: string, at: number, data: Buffer): Promise<number> {
  await syncDisk();
  return timedSeconds(async () => {
    const handle = await open(file, 'r+');
    try {
      await handle.write(data, 0, data.length, at);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  });
}
