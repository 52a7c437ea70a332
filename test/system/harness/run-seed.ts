/**
 * One seed of the randomized whole-system test: a real server and clients, the seed's
 * schedule of operations and faults played against their folders, then — faults over —
 * convergence within a bound and every invariant checked.
 */
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../helpers/server.js';
import { Ledger, sha256 } from './ledger.js';
import { Prng } from './prng.js';
import { checkServerData, diffAgainstServer } from './server-data.js';
import { ANCHOR_COUNT, anchorPath, CONFLICTS_DIR, describeStep, drawSchedule, parentOf, type Schedule, type Step } from './schedule.js';
import { FOLDER, World } from './world.js';

export interface SeedOptions {
  steps: number;
  clients: number;
  /** How long the clients get to converge once the faults stop. */
  convergeMs: number;
}

export interface SeedResult {
  seed: number;
  ok: boolean;
  problems: string[];
  /** The schedule as it ran: each step with what it did. */
  log: string[];
  files: number;
  pairs: number;
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Content no other write has: a header naming the write, then seeded bytes up to `size`. */
function contentFor(label: string, size: number, seed: number): Buffer {
  const head = Buffer.from(`${label}\n`);
  if (size <= head.length) return head;
  return Buffer.concat([head, new Prng(seed).bytes(size - head.length)]);
}

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
const EXPECTED = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EEXIST', 'EINVAL']);

class Player {
  readonly ledger = new Ledger();
  readonly log: string[] = [];
  /** Background restarts of faulted processes, by target ("server", "client 1"). */
  private readonly faulted = new Map<string, Promise<void>>();
  private readonly started = Date.now();

  constructor(
    private readonly world: World,
    private readonly seed: number,
  ) {}

  private root(client: number): string {
    return this.world.clients[client]!.root;
  }

  private async write(client: number, path: string, data: Buffer, label: string): Promise<void> {
    await mkdir(join(this.root(client), parentOf(path)), { recursive: true });
    await this.writeInPlace(join(this.root(client), path), data, label);
    this.ledger.created.add(path);
  }

  /** The way most programs save: truncated on open, then one write. */
  private async writeInPlace(file: string, data: Buffer, label: string): Promise<void> {
    this.ledger.wrote(data, label);
    // Between the open and the write the file is empty on disk: a real state a sync tool may see.
    this.ledger.wrote(Buffer.alloc(0), `${label}, truncated before the write`);
    const fh = await open(file, 'w');
    try {
      await fh.write(data, 0, data.length, 0);
    } finally {
      await fh.close();
    }
  }

  /** Reads and changes a file through one descriptor, so the version recorded is exactly the one written. */
  private async rewrite(client: number, path: string, change: (old: Buffer) => Buffer, label: string): Promise<{ old: Buffer; landed: boolean }> {
    const fh = await open(join(this.root(client), path), 'r+');
    try {
      const old = await fh.readFile();
      const data = change(old);
      this.ledger.wrote(data, label);
      if (data.length <= old.length && old.subarray(0, data.length).equals(data)) {
        await fh.truncate(data.length);
      } else if (data.subarray(0, old.length).equals(old)) {
        await fh.write(data, old.length, data.length - old.length, old.length);
      } else {
        this.ledger.wrote(Buffer.alloc(0), `${label}, truncated before the write`);
        await fh.truncate(0);
        await fh.write(data, 0, data.length, 0);
      }
      // Landed: the path still names the file written (the engine did not replace it meanwhile).
      const ino = (await fh.stat()).ino;
      const now = await stat(join(this.root(client), path)).catch(() => undefined);
      return { old, landed: now?.ino === ino };
    } finally {
      await fh.close();
    }
  }

  /** Starts a fault on `target` unless one is still running there; `recover` runs after `ms`. */
  private fault(target: string, ms: number, begin: () => Promise<void>, recover: () => Promise<void>): Promise<string> | string {
    if (this.faulted.has(target)) return `skipped: ${target} still down`;
    return begin().then(() => {
      this.faulted.set(
        target,
        sleep(ms)
          .then(recover)
          .finally(() => this.faulted.delete(target)),
      );
      return 'ok';
    });
  }

  async play(i: number, step: Step): Promise<string> {
    const label = `seed ${this.seed} step ${i}`;
    const w = this.world;
    const r = (c: number, p: string) => join(this.root(c), p);
    switch (step.op) {
      case 'create':
      case 'overwrite':
        await this.write(step.client, step.path, contentFor(`${label} ${step.op} by ${step.client}`, step.size, this.seed * 1000 + i), `${label} ${step.op}`);
        return 'ok';
      case 'append':
        return (await this.rewrite(step.client, step.path, (old) => Buffer.concat([old, contentFor(`${label} append`, step.size, this.seed * 1000 + i)]), `${label} append`)).landed ? 'ok' : 'replaced under it';
      case 'truncate':
        return (await this.rewrite(step.client, step.path, (old) => old.subarray(0, Math.floor(old.length * step.fraction)), `${label} truncate`)).landed ? 'ok' : 'replaced under it';
      case 'delete':
        await rm(r(step.client, step.path));
        this.ledger.removed.add(step.path);
        return 'ok';
      case 'rename':
        await mkdir(r(step.client, parentOf(step.to)), { recursive: true });
        await rename(r(step.client, step.from), r(step.client, step.to));
        this.ledger.removed.add(step.from);
        this.ledger.created.add(step.to);
        return 'ok';
      case 'mkdir':
        await mkdir(r(step.client, step.path), { recursive: true });
        this.ledger.created.add(step.path);
        return 'ok';
      case 'rmdir':
        await rm(r(step.client, step.path), { recursive: true });
        this.ledger.removed.add(step.path);
        return 'ok';
      case 'editor-save': {
        await mkdir(r(step.client, parentOf(step.path)), { recursive: true });
        await this.writeInPlace(r(step.client, step.tmp), contentFor(`${label} editor save`, step.size, this.seed * 1000 + i), `${label} editor save`);
        await rename(r(step.client, step.tmp), r(step.client, step.path));
        this.ledger.created.add(step.path);
        return 'ok';
      }
      case 'delete-recreate':
        await rm(r(step.client, step.path));
        await this.write(step.client, step.path, contentFor(`${label} recreate`, step.size, this.seed * 1000 + i), `${label} recreate`);
        return 'ok';
      case 'burst':
        await mkdir(r(step.client, step.dir), { recursive: true });
        this.ledger.created.add(step.dir);
        await Promise.all(Array.from({ length: step.count }, (_, k) => this.write(step.client, `${step.dir}/b${k}.txt`, contentFor(`${label} burst ${k}`, 40 + k, 0), `${label} burst`)));
        return 'ok';
      case 'concurrent-edit':
        return this.concurrentEdit(i, step);
      case 'pause':
        await sleep(step.ms);
        return 'ok';
      case 'drop-connection':
        w.clients[step.client]!.relay.cut();
        return 'ok';
      case 'kill-client':
      case 'stop-client':
        return this.fault(
          `client ${step.client}`,
          step.downMs,
          async () => void (await w.stopClient(step.client, step.op === 'kill-client' ? 'SIGKILL' : 'SIGTERM')),
          () => w.startClient(step.client),
        );
      case 'freeze-client':
        return this.fault(`client ${step.client}`, step.ms, async () => w.freeze(step.client), async () => w.thaw(step.client));
      case 'kill-server':
        return this.fault('server', step.downMs, () => w.stopServer('SIGKILL'), () => w.startServer());
    }
  }

  /** One file, synced to two devices, then changed on both at once: both versions must survive. */
  private async concurrentEdit(i: number, step: Extract<Step, { op: 'concurrent-edit' }>): Promise<string> {
    const [a, b] = step.clients;
    const base = contentFor(`seed ${this.seed} step ${i} concurrent base`, step.size, this.seed * 1000 + i);
    const baseHash = sha256(base);
    await this.write(a, step.path, base, `seed ${this.seed} step ${i} concurrent base`);
    const arrived = await eventually(
      async () => sha256(await readFile(join(this.root(b), step.path)).catch(() => Buffer.alloc(0))) === baseHash,
      15_000,
    ).catch(() => false);
    if (!arrived) return 'skipped: the base did not reach the second device in time';
    const labels = step.clients.map((c) => `seed ${this.seed} step ${i} concurrent edit by ${c}`);
    const contents = step.clients.map((c, k) => contentFor(labels[k]!, step.size, this.seed * 1000 + i + c + 1));
    const edits = await Promise.all(step.clients.map((c, k) => this.rewrite(c, step.path, () => contents[k]!, labels[k]!)));
    if (edits.every((e) => e.landed && sha256(e.old) === baseHash)) {
      this.ledger.pairs.push({ path: step.path, hashes: [sha256(contents[0]!), sha256(contents[1]!)] });
      return 'ok';
    }
    this.ledger.notConcurrent++;
    return 'not concurrent after all (one side had already changed)';
  }

  async run(schedule: Schedule): Promise<void> {
    for (const [i, { gapMs, step }] of schedule.steps.entries()) {
      if (gapMs) await sleep(gapMs);
      let outcome: string;
      try {
        outcome = await this.play(i, step);
      } catch (err) {
        if (!EXPECTED.has(errCode(err))) throw err;
        outcome = `skipped: ${errCode(err)}`;
      }
      this.log.push(`#${i} +${Date.now() - this.started}ms ${describeStep(step)} → ${outcome}`);
    }
    await Promise.all(this.faulted.values());
  }
}

/** Sets up the world, plays the seed's schedule, converges, checks; never throws for a failed invariant. */
export async function runSeed(seed: number, options: SeedOptions): Promise<SeedResult> {
  const t0 = Date.now();
  const schedule = drawSchedule(seed, options.steps, options.clients);
  const world = await World.create(options.clients);
  const player = new Player(world, seed);
  const problems: string[] = [];
  let files = 0;
  try {
    // The anchors and the conflicts folder exist everywhere before the schedule starts.
    await mkdir(join(world.clients[0]!.root, CONFLICTS_DIR));
    player.ledger.created.add(CONFLICTS_DIR);
    for (let k = 0; k < ANCHOR_COUNT; k++) await player.play(-1, { op: 'create', client: 0, path: anchorPath(k), size: 64 + k });
    await world.converge(options.convergeMs);

    await player.run(schedule);
    await world.heal();
    let tree: Awaited<ReturnType<World['converge']>> | undefined;
    try {
      tree = await world.converge(options.convergeMs);
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (tree) {
      files = Object.values(tree).filter((t) => t.kind === 'file').length;
      problems.push(...player.ledger.check(tree));
      const staging = await world.staging();
      staging.forEach((s, i) => s.length && problems.push(`client ${i}: staging litter ${s.join(', ')}`));
      const server = await checkServerData(world.dataDir);
      problems.push(...server.problems);
      problems.push(...diffAgainstServer(tree, server.trees.get(FOLDER) ?? new Map()).map((d) => `server vs folders: ${d}`));
    }
    const stopped = await world.stopClientsCleanly();
    stopped.exitCodes.forEach((code, i) => code !== 0 && problems.push(`client ${i}: exited with ${code} on SIGTERM`));
    stopped.journals.forEach((j, i) => j !== 'ok' && problems.push(`client ${i}: journal integrity_check: ${j}`));
  } catch (err) {
    problems.push(`harness error: ${(err as Error).stack ?? String(err)}`);
  } finally {
    // FERRY_SYS_KEEP=1 keeps a failed seed's data directory, folders and client journals.
    const kept = await world.destroy(problems.length > 0 && process.env.FERRY_SYS_KEEP === '1');
    if (problems.length > 0 && process.env.FERRY_SYS_KEEP === '1') problems.push(`kept for inspection: ${kept.join(' ')}`);
  }
  return { seed, ok: problems.length === 0, problems, log: player.log, files, pairs: player.ledger.pairs.length, ms: Date.now() - t0 };
}

/** A failed seed, printed so it can be replayed: the seed, what broke, and the schedule as it ran. */
export function report(result: SeedResult): string {
  return [
    `seed ${result.seed} FAILED (replay: FERRY_SEEDS=${result.seed} npx vitest run test/system/random.test.ts, or npm run soak -- --seeds 1 --start ${result.seed})`,
    'problems:',
    ...result.problems.map((p) => `  ${p}`),
    'schedule as it ran:',
    ...result.log.map((l) => `  ${l}`),
  ].join('\n');
}
