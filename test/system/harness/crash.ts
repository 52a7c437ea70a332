/**
 * Crash trials: kill -9 a client or the server at a random moment of an upload, a download
 * or a commit, start it again, and require that the folders converge, that no receiving
 * folder ever showed a file with content nobody wrote (a partial or mixed file), that no
 * staging litter stays behind and that the server's journal and chunks stay consistent.
 * One world serves every trial of a run; each trial also deletes what the one before made.
 */
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ledger, sha256 } from './ledger.js';
import { Prng } from './prng.js';
import { checkServerData, diffAgainstServer } from './server-data.js';
import { FOLDER, World } from './world.js';
import { removeDir, tempDir } from '../../helpers/server.js';

const ANCHORS = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type CrashKind = 'upload: kill the writer' | 'upload: kill the server' | 'download: kill a receiver' | 'commit: kill the server' | 'commit: kill the writer';
const KINDS: CrashKind[] = ['upload: kill the writer', 'upload: kill the server', 'download: kill a receiver', 'commit: kill the server', 'commit: kill the writer'];

export interface CrashResult {
  trials: number;
  problems: string[];
  log: string[];
  ms: number;
}

/** Watches folders in a tight loop: every file ever seen must hold a version the ledger knows. */
class FolderWatch {
  readonly seen: string[] = [];
  private readonly checked = new Set<string>();
  private running = true;
  private readonly loop: Promise<void>;
  sweeps = 0;

  constructor(
    private readonly roots: () => string[],
    private readonly ledger: Ledger,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      for (const root of this.roots()) await this.sweep(root, '');
      this.sweeps++;
      await sleep(5);
    }
  }

  private async sweep(root: string, dir: string): Promise<void> {
    const names = await readdir(join(root, dir)).catch(() => [] as string[]);
    for (const name of names) {
      const rel = dir ? `${dir}/${name}` : name;
      if (rel === '.ferry') continue;
      const st = await lstat(join(root, rel)).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        await this.sweep(root, rel);
        continue;
      }
      if (!this.ledger.sizes.has(st.size)) {
        this.seen.push(`${root}: ${rel} seen with ${st.size} bytes, no version of that size was written`);
        continue;
      }
      const key = `${root}:${st.ino}:${st.mtimeMs}:${st.size}`;
      if (this.checked.has(key)) continue;
      const data = await readFile(join(root, rel)).catch(() => undefined);
      if (!data) continue;
      if (this.ledger.written.has(sha256(data))) this.checked.add(key);
      else this.seen.push(`${root}: ${rel} seen with ${data.length} bytes of content no client wrote`);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

export async function runCrashTrials(seed: number, trials: number, convergeMs = 60_000, progress: (line: string) => void = () => {}): Promise<CrashResult> {
  const t0 = Date.now();
  const r = new Prng(seed);
  const world = await World.create(3);
  const scratch = await tempDir('ferry-crash-scratch-');
  const ledger = new Ledger();
  const log: string[] = [];
  const problems: string[] = [];
  const verified = new Set<string>();
  const writer = world.clients[0]!;
  // Receivers are watched; the writer's own folder has files being written, so it is not.
  const watch = new FolderWatch(() => world.clients.slice(1).map((c) => c.root), ledger);
  let previous: string[] = [];
  let done = 0;

  /** A file written outside the folder and renamed in, so the writer's engine never reads it half-written. */
  const place = async (path: string, data: Buffer) => {
    ledger.wrote(data, `crash seed ${seed} ${path}`);
    const tmp = join(scratch, `${path.replace(/\//g, '_')}.tmp`);
    await writeFile(tmp, data);
    await mkdir(join(writer.root, path, '..'), { recursive: true });
    await rename(tmp, join(writer.root, path));
  };

  try {
    for (let k = 0; k < ANCHORS; k++) await place(`anchors/a${k}.txt`, Buffer.from(`crash seed ${seed} anchor ${k}\n`));
    await world.converge(convergeMs);
    for (let t = 0; t < trials; t++) {
      const kind = r.pick(KINDS);
      const made: string[] = [];
      // Last trial's files go now, so deletions are in flight at the crash too.
      for (const p of previous) await rm(join(writer.root, p), { recursive: true, force: true });
      if (kind.startsWith('commit')) {
        const dir = `t${t}`;
        const count = r.int(10, 25);
        for (let i = 0; i < count; i++) await place(`${dir}/s${i}.txt`, Buffer.from(`crash seed ${seed} trial ${t} small ${i} `.repeat(r.int(1, 50))));
        made.push(dir);
      } else {
        const path = `big-${t}.bin`;
        const size = r.int(1, 16) * 1024 * 1024 + r.int(0, 1024 * 1024);
        const data = new Prng(seed * 100_003 + t).bytes(size);
        await place(path, data);
        made.push(path);
        if (r.chance(0.5)) {
          // An edit in the middle soon after: a delta upload, and a download that can reuse local chunks.
          const edited = Buffer.from(data);
          new Prng(seed + t).bytes(4096).copy(edited, Math.floor(size / 2));
          await sleep(r.int(0, 300));
          await place(path, edited);
        }
      }
      const delay = r.int(0, kind.startsWith('commit') ? 400 : 2000);
      await sleep(delay);
      const downMs = r.int(0, 800);
      if (kind.endsWith('the server')) {
        await world.stopServer('SIGKILL');
        await sleep(downMs);
        await world.startServer();
      } else {
        const victim = kind.endsWith('a receiver') ? r.int(1, 2) : 0;
        await world.stopClient(victim, 'SIGKILL');
        await sleep(downMs);
        await world.startClient(victim);
      }
      log.push(`trial ${t}: ${kind}, ${made.join(' ')}, killed after ${delay} ms, down ${downMs} ms`);
      const trialProblems: string[] = [];
      try {
        const tree = await world.converge(convergeMs);
        trialProblems.push(...ledger.check(tree));
        for (const p of made) if (!Object.keys(tree).some((k) => k === p || k.startsWith(p + '/'))) trialProblems.push(`${p}: missing after the crash`);
        (await world.staging()).forEach((s, i) => s.length && trialProblems.push(`client ${i}: staging litter ${s.join(', ')}`));
        const server = await checkServerData(world.dataDir, verified);
        trialProblems.push(...server.problems, ...diffAgainstServer(tree, server.trees.get(FOLDER) ?? new Map()).map((d) => `server vs folders: ${d}`));
      } catch (err) {
        trialProblems.push((err as Error).message);
      }
      trialProblems.push(...watch.seen.splice(0));
      done++;
      progress(`${log.at(-1)}: ${trialProblems.length ? 'FAILED' : 'clean'} (${((Date.now() - t0) / 1000).toFixed(0)} s in)`);
      if (trialProblems.length) {
        problems.push(...trialProblems.map((p) => `trial ${t} (${kind}): ${p}`));
        break;
      }
      previous = made;
    }
    await watch.stop();
    problems.push(...watch.seen);
    const stopped = await world.stopClientsCleanly();
    stopped.journals.forEach((j, i) => j !== 'ok' && problems.push(`client ${i}: journal integrity_check: ${j}`));
  } catch (err) {
    problems.push(`harness error: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await watch.stop();
    await world.destroy();
    await removeDir(scratch);
  }
  return { trials: done, problems, log, ms: Date.now() - t0 };
}
