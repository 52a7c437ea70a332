/**
 * Downloads land in groups (FolderDisk.landFiles, used by FolderSync.landGroup): the notes of
 * every write in a group are committed in one transaction before the first rename, and the
 * records in one after the last. A write whose target changed after it was staged fails alone
 * and the edit stays; a crash after the group's note and part of its renames leaves every file
 * recoverable at start. Real files, a real SQLite journal, and for the crash a real process
 * killed at the fault point (the child runs dist/: needs `npm run build`).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { HashPool } from '../../src/engine/content/hash-pool.js';
import { LocalJournal, type LocalFile } from '../../src/engine/journal/local-journal.js';
import { FolderDisk, TargetChanged, type StagedWrite } from '../../src/engine/sync/disk.js';
import { recoverPendingApplies } from '../../src/engine/sync/recover-applies.js';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { ROOT } from '../helpers/server.js';

const sha256 = (b: string) => createHash('sha256').update(b).digest('hex');

let dir: string;
let root: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-landing-'));
  root = join(dir, 'root');
  await mkdir(root);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function entry(path: string, content: string, rev: number): Entry {
  return { path, rev, kind: 'file', deleted: false, size: Buffer.byteLength(content), mtime: 1_700_000_000_000, mode: 0o644, hash: sha256(content), chunks: [[sha256(content), Buffer.byteLength(content)]], target: '', device: 'A', time: 0 };
}

/** A file on disk recorded in the journal as synced at revision 1. */
async function known(journal: LocalJournal, folder: number, path: string, content: string): Promise<LocalFile> {
  await writeFile(join(root, path), content);
  const st = await stat(join(root, path));
  const local: LocalFile = { kind: 'file', size: st.size, mtime: Math.floor(st.mtimeMs), ino: st.ino, mode: 0o644, hash: sha256(content), target: '', chunks: [[sha256(content), st.size]] };
  journal.setLocal(folder, path, local);
  journal.setSynced(folder, path, { rev: 1, id: `f:${local.hash}:-` });
  return local;
}

it('a group notes every write before its first rename; a file edited while the group lands is kept (checked right before its rename), the others land', async () => {
  const disk = new FolderDisk(root);
  await disk.prepare();
  const journal = new LocalJournal(join(dir, 'journal.db'));
  try {
    const folder = journal.openFolder('s', 'Docs', root).id;
    const oldB = await known(journal, folder, 'b.txt', 'old b');
    const contents: Record<string, string> = { 'a.txt': 'new a', 'b.txt': 'new b', 'c/d.txt': 'new d' };
    const writes: StagedWrite[] = [];
    for (const [path, content] of Object.entries(contents)) {
      const e = entry(path, content, 2);
      const staged = await disk.stageFile(e, path === 'b.txt' ? oldB : undefined, async () => Buffer.from(content));
      writes.push({ entry: e, known: path === 'b.txt' ? oldB : undefined, staged });
    }
    const announced: string[][] = [];
    const results = await disk.landFiles(writes, (landing) => {
      announced.push(landing.map((l) => l.entry.path));
      // The user edits b.txt while the group lands: after its note, before its rename.
      writeFileSync(join(root, 'b.txt'), 'the user edit of b');
    });
    expect(announced).toEqual([['a.txt', 'b.txt', 'c/d.txt']]); // once, before the first rename
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(TargetChanged);
    expect(results[2]).toMatchObject({ status: 'fulfilled', value: { createdDirs: ['c'] } });
    expect(await readFile(join(root, 'a.txt'), 'utf8')).toBe('new a');
    expect(await readFile(join(root, 'b.txt'), 'utf8')).toBe('the user edit of b');
    expect(await readFile(join(root, 'c', 'd.txt'), 'utf8')).toBe('new d');
    expect(await readdir(disk.stagingDir)).toEqual([]);
  } finally {
    journal.close();
  }
});

/** Stages three writes (two new files, one overwrite of b.txt), notes them as the engine does, and lands them: killed at the first rename. */
const CHILD = `
import { LocalJournal } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/engine/journal/local-journal.js')).href)};
import { FolderDisk } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/engine/sync/disk.js')).href)};
const [root, journalFile, entriesJson] = process.argv.slice(2);
const journal = new LocalJournal(journalFile);
const folder = journal.openFolder('s', 'Docs', root).id;
const disk = new FolderDisk(root);
await disk.prepare();
const writes = [];
for (const { entry, content } of JSON.parse(entriesJson)) {
  const known = journal.local(folder, entry.path);
  writes.push({ entry, known, staged: await disk.stageFile(entry, known, async () => Buffer.from(content)) });
}
await disk.landFiles(writes, (landing) =>
  journal.setPendingApplies(folder, landing.map(({ entry, written }) => ({
    path: entry.path,
    local: { kind: 'file', size: entry.size, mtime: Math.floor(written.mtimeMs), ino: written.ino, mode: entry.mode, hash: entry.hash, target: '', chunks: entry.chunks },
    synced: { rev: entry.rev, id: 'f:' + entry.hash + ':-' },
  }))),
);
console.log('not killed');
`;

it('a crash after a group\'s note and its first rename: the landed file is recorded as synced, the others stay as they were, no note is left', async () => {
  const journalFile = join(dir, 'journal.db');
  const journal = new LocalJournal(journalFile);
  const folder = journal.openFolder('s', 'Docs', root).id;
  const oldB = await known(journal, folder, 'b.txt', 'old b');
  journal.close();
  const group = [
    { entry: entry('a.txt', 'new a', 2), content: 'new a' },
    { entry: entry('b.txt', 'new b', 3), content: 'new b' },
    { entry: entry('c.txt', 'new c', 4), content: 'new c' },
  ];
  const script = join(dir, 'land-group.mjs');
  await writeFile(script, CHILD);
  const child = spawn(process.execPath, [script, root, journalFile, JSON.stringify(group)], { env: { ...process.env, FERRY_TEST_CRASH_AT: 'after-apply-rename' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const end = await new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  expect(end, output).toEqual({ code: null, signal: 'SIGKILL' });

  const after = new LocalJournal(journalFile);
  const hashes = new HashPool(1);
  try {
    expect(after.pendingApplies(folder).map((p) => p.path)).toEqual(['a.txt', 'b.txt', 'c.txt']); // all noted before the first rename
    const disk = new FolderDisk(root);
    expect(await recoverPendingApplies(after, folder, disk, hashes)).toEqual(['a.txt']);
    expect(after.pendingApplies(folder)).toEqual([]);
    const a = await stat(join(root, 'a.txt'));
    expect(after.get(folder, 'a.txt')).toMatchObject({ local: { size: a.size, ino: a.ino, mtime: Math.floor(a.mtimeMs), hash: sha256('new a') }, synced: { rev: 2 } });
    expect(await readFile(join(root, 'b.txt'), 'utf8')).toBe('old b');
    expect(after.get(folder, 'b.txt')).toMatchObject({ local: oldB, synced: { rev: 1 } });
    expect(await stat(join(root, 'c.txt')).catch(() => undefined)).toBeUndefined();
    expect(after.get(folder, 'c.txt')).toBeUndefined();
  } finally {
    await hashes.close();
    after.close();
  }
});

it('a staged file ends with the entry\'s mode, also bits the umask takes from a new file', async () => {
  const disk = new FolderDisk(root);
  await disk.prepare();
  const modes = [0o600, 0o644, 0o755, 0o777, 0o666];
  const writes: StagedWrite[] = [];
  for (const mode of modes) {
    const e = { ...entry(`m${mode.toString(8)}`, 'x', 2), mode };
    writes.push({ entry: e, known: undefined, staged: await disk.stageFile(e, undefined, async () => Buffer.from('x')) });
  }
  const results = await disk.landFiles(writes, () => {});
  expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
  for (const mode of modes) expect((await stat(join(root, `m${mode.toString(8)}`))).mode & 0o777).toBe(mode);
});
