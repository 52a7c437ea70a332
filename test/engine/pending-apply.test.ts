/**
 * A crash between an engine write to the folder and the journal's record of it (defect 5 in
 * docs/reliability.md, seed 25). `ferry sync` processes are killed for real at that moment
 * (a fault point, FERRY_TEST_CRASH_AT, src/engine/fault-points.ts), the other device moves
 * on meanwhile, and the restarted process must take its own write for what it was — synced at
 * the revision it wrote, so no conflict copy — while an edit made after the crash is still
 * the user's. Device A is an engine in this process; the server is real, on a socket.
 * Needs `npm run build` (bin/ferry.js runs dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, open, readFile, rename, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import type { FaultPoint } from '../../src/engine/fault-points.js';
import type { EngineState } from '../../src/shared/bridge.js';
import { controlState, engineTestBed, isIdle, treeOf, type TestClient, type TreeItem } from '../helpers/engine.js';
import { eventually, FERRY_BIN, within } from '../helpers/server.js';

const bed = engineTestBed();

interface Device {
  root: string;
  stateDir: string;
}

interface SyncProcess {
  proc: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: SyncProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
    await p.exited;
  }
});

/** `ferry sync` for device B, with a fault point armed if given. */
function syncProcess(b: Device, crashAt?: FaultPoint): SyncProcess {
  const args = ['sync', '--server', bed.srv.url, '--token', bed.token, '--folder', 'Docs', '--dir', b.root, '--state', b.stateDir];
  const env = { ...process.env, FERRY_TEST_CRASH_AT: crashAt ?? '' };
  const proc = spawn(process.execPath, [FERRY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => output.push(l));
  createInterface({ input: proc.stderr! }).on('line', (l) => output.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const p = { proc, output, exited };
  running.push(p);
  return p;
}

/** Waits for the armed fault point to kill the process. */
async function killedAtFaultPoint(p: SyncProcess): Promise<void> {
  const end = await within(p.exited, 30_000, 'ferry sync to reach its fault point');
  expect(end, p.output.join('\n').slice(-3000)).toEqual({ code: null, signal: 'SIGKILL' });
}

async function newDevice(): Promise<Device> {
  return { root: await bed.scratch('ferry-root-'), stateDir: await bed.scratch('ferry-state-') };
}

/** Waits until A and the B process hold the same tree and both are idle; returns the tree and B's state. */
async function converged(a: TestClient, b: Device, p: SyncProcess): Promise<{ tree: Record<string, TreeItem>; state: EngineState }> {
  return eventually(
    async () => {
      if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`ferry sync exited: ${p.output.join('\n').slice(-3000)}`);
      const state = await controlState(b.stateDir).catch(() => undefined);
      if (!state || !isIdle(state) || !isIdle(await a.engine.getState())) return undefined;
      const [ta, tb] = [await treeOf(a.root), await treeOf(b.root)];
      return JSON.stringify(ta) === JSON.stringify(tb) ? { tree: tb, state } : undefined;
    },
    30_000,
    'A and B to converge',
  );
}

/** Runs `change` on A and waits until the server has committed it. */
async function committedOnA(change: () => Promise<void>): Promise<void> {
  const revisions = () => bed.srv.server.ctx.metrics.revisions;
  const before = revisions();
  await change();
  await eventually(() => revisions() > before, 10_000, 'the change on A to be committed');
}

const contents = async (root: string, tree: Record<string, TreeItem>) =>
  (await Promise.all(Object.keys(tree).filter((p) => tree[p]!.kind === 'file').map((p) => readFile(join(root, p), 'utf8')))).sort();

it('a download killed after its rename is the engine\'s own write on restart: the newer version replaces it, no conflict copy', async () => {
  const a = await bed.client();
  const b = await newDevice();
  await committedOnA(() => writeFile(join(a.root, 'f.txt'), 'version 1 from A'));

  await killedAtFaultPoint(syncProcess(b, 'after-apply-rename'));
  expect(await readFile(join(b.root, 'f.txt'), 'utf8')).toBe('version 1 from A'); // renamed in, never recorded

  await committedOnA(() => writeFile(join(a.root, 'f.txt'), 'version 2 from A, written while B was down'));
  const { tree, state } = await converged(a, b, syncProcess(b));
  expect(Object.keys(tree)).toEqual(['f.txt']);
  expect(await readFile(join(b.root, 'f.txt'), 'utf8')).toBe('version 2 from A, written while B was down');
  expect(state.conflicts).toEqual([]);
});

it('an edit made after the crash is kept, even one that keeps the size, mtime and inode of the download', async () => {
  const a = await bed.client();
  const b = await newDevice();
  await committedOnA(() => writeFile(join(a.root, 'f.txt'), 'version 1 from A'));
  await killedAtFaultPoint(syncProcess(b, 'after-apply-rename'));

  // Written in place over the download, then its mtime put back: only the content tells.
  const file = join(b.root, 'f.txt');
  const landed = await stat(file);
  const handle = await open(file, 'r+');
  await handle.write('edited on B 1234');
  await handle.close();
  await utimes(file, landed.atime, landed.mtime);
  expect(await stat(file)).toMatchObject({ ino: landed.ino, size: landed.size, mtimeMs: landed.mtimeMs });

  await committedOnA(() => writeFile(join(a.root, 'f.txt'), 'version 2 from A'));
  const { tree, state } = await converged(a, b, syncProcess(b));
  expect(Object.keys(tree)).toHaveLength(2); // the path and a conflict copy
  expect(await contents(b.root, tree)).toEqual(['edited on B 1234', 'version 2 from A']);
  expect(state.conflicts).toHaveLength(1);
});

it('an edit made after the crash, with nothing new on the server, is uploaded', async () => {
  const a = await bed.client();
  const b = await newDevice();
  await committedOnA(() => writeFile(join(a.root, 'f.txt'), 'version 1 from A'));
  await killedAtFaultPoint(syncProcess(b, 'after-apply-rename'));
  await writeFile(join(b.root, 'f.txt'), 'edited on B after the crash');

  const { tree, state } = await converged(a, b, syncProcess(b));
  expect(Object.keys(tree)).toEqual(['f.txt']);
  expect(await readFile(join(a.root, 'f.txt'), 'utf8')).toBe('edited on B after the crash');
  expect(state.conflicts).toEqual([]);
});

it('a remote directory move killed after its local rename: the moved files are synced, an edit to one arrives without a conflict copy', async () => {
  const a = await bed.client();
  const b = await newDevice();
  await mkdir(join(a.root, 'd'));
  await committedOnA(() => writeFile(join(a.root, 'd', 'f.txt'), 'version 1 from A'));
  const p = syncProcess(b, 'after-apply-move');
  await converged(a, b, p);

  await committedOnA(() => rename(join(a.root, 'd'), join(a.root, 'e')));
  await killedAtFaultPoint(p);
  expect(await readFile(join(b.root, 'e', 'f.txt'), 'utf8')).toBe('version 1 from A');

  await committedOnA(() => writeFile(join(a.root, 'e', 'f.txt'), 'version 2 from A'));
  const { tree, state } = await converged(a, b, syncProcess(b));
  expect(Object.keys(tree)).toEqual(['e', 'e/f.txt']);
  expect(await readFile(join(b.root, 'e', 'f.txt'), 'utf8')).toBe('version 2 from A');
  expect(state.conflicts).toEqual([]);
});

it('a remote mode change killed after its chmod: a later edit arrives without a conflict copy', async () => {
  const a = await bed.client();
  const b = await newDevice();
  await committedOnA(() => writeFile(join(a.root, 'run.sh'), 'echo 1\n'));
  const p = syncProcess(b, 'after-apply-chmod');
  await converged(a, b, p);

  await committedOnA(() => chmod(join(a.root, 'run.sh'), 0o755));
  await killedAtFaultPoint(p);
  expect((await stat(join(b.root, 'run.sh'))).mode & 0o111).not.toBe(0);

  await committedOnA(() => writeFile(join(a.root, 'run.sh'), 'echo 2\n'));
  const { tree, state } = await converged(a, b, syncProcess(b));
  expect(tree).toEqual({ 'run.sh': expect.objectContaining({ exec: true }) });
  expect(await readFile(join(b.root, 'run.sh'), 'utf8')).toBe('echo 2\n');
  expect(state.conflicts).toEqual([]);
});

it('a remote directory killed after its mkdir: deleted meanwhile, it is deleted here too, not put back', async () => {
  const a = await bed.client();
  const b = await newDevice();
  await committedOnA(() => writeFile(join(a.root, 'keep.txt'), 'kept'));
  const p = syncProcess(b, 'after-apply-mkdir');
  await converged(a, b, p);

  await committedOnA(() => mkdir(join(a.root, 'd')));
  await killedAtFaultPoint(p);
  expect((await stat(join(b.root, 'd'))).isDirectory()).toBe(true);

  await committedOnA(() => rmdir(join(a.root, 'd')));
  const { tree } = await converged(a, b, syncProcess(b));
  expect(Object.keys(tree)).toEqual(['keep.txt']);
});
