/**
 * The local journal's narrow reads for the scanner: a path's local state alone, and the
 * paths with a local state in a folder or at and below a directory; and its notes of engine
 * writes about to land (pending applies), in journals old and new (a real SQLite file).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalJournal, type LocalFile } from '../../src/engine/journal/local-journal.js';
import { openSqlite } from '../../src/shared/sqlite.js';
import { removeDir, tempDir } from '../helpers/server.js';

const file = (hash: string): LocalFile => ({ kind: 'file', size: 3, mtime: 1000, ino: 7, mode: 0o644, hash, target: '', chunks: [[hash, 3]] });
const dir: LocalFile = { kind: 'dir', size: 0, mtime: 1000, ino: 8, mode: 0o755, hash: '', target: '', chunks: [] };

describe('LocalJournal scanner reads', () => {
  let stateDir: string;
  let journal: LocalJournal;
  let folder: number;

  beforeEach(async () => {
    stateDir = await tempDir('ferry-journal-');
    journal = new LocalJournal(join(stateDir, 'journal.db'));
    folder = journal.openFolder('http://127.0.0.1:1', 'Docs', '/tmp/docs').id;
  });

  afterEach(async () => {
    journal.close();
    await removeDir(stateDir);
  });

  it('reads the local state of a path, and nothing for a path only the server knows', () => {
    journal.setLocal(folder, 'a.txt', file('a'.repeat(64)));
    journal.setRemote(folder, { path: 'remote-only.txt', rev: 1, kind: 'file', deleted: false, size: 1, mtime: 1, mode: 0o644, hash: 'b'.repeat(64), chunks: [['b'.repeat(64), 1]], target: '', device: 'x', time: 1 });
    expect(journal.local(folder, 'a.txt')).toEqual(file('a'.repeat(64)));
    expect(journal.local(folder, 'a.txt')).toEqual(journal.get(folder, 'a.txt')?.local);
    expect(journal.local(folder, 'remote-only.txt')).toBeUndefined();
    expect(journal.local(folder, 'missing.txt')).toBeUndefined();
  });

  it('reads the local state of every path at once, and lists the paths with one at and below a directory', () => {
    journal.setLocal(folder, 'd', dir);
    journal.setLocal(folder, 'd/x.txt', file('c'.repeat(64)));
    journal.setLocal(folder, 'd/sub', dir);
    journal.setLocal(folder, 'd/sub/y.txt', file('d'.repeat(64)));
    journal.setLocal(folder, 'd2.txt', file('e'.repeat(64)));
    journal.setLocal(folder, 'd-x.txt', file('f'.repeat(64)));
    journal.setLocal(folder, 'gone.txt', file('0'.repeat(64)));
    journal.setLocal(folder, 'gone.txt', undefined);
    const all = journal.allLocal(folder);
    expect([...all.keys()].sort()).toEqual(['d', 'd-x.txt', 'd/sub', 'd/sub/y.txt', 'd/x.txt', 'd2.txt']);
    for (const path of all.keys()) expect(all.get(path)).toEqual(journal.local(folder, path));
    expect(journal.localPaths(folder, 'd').sort()).toEqual(['d', 'd/sub', 'd/sub/y.txt', 'd/x.txt']);
    expect(journal.localPaths(folder, 'd/x.txt')).toEqual(['d/x.txt']);
    expect(journal.localPaths(folder, 'gone.txt')).toEqual([]);
  });
});

describe('LocalJournal pending applies', () => {
  let stateDir: string;

  beforeEach(async () => {
    stateDir = await tempDir('ferry-journal-');
  });

  afterEach(async () => {
    await removeDir(stateDir);
  });

  it('notes writes about to land, replaces a note for the same path, and clears one', () => {
    const journal = new LocalJournal(join(stateDir, 'journal.db'));
    const folder = journal.openFolder('http://127.0.0.1:1', 'Docs', '/tmp/docs').id;
    const other = journal.openFolder('http://127.0.0.1:1', 'Other', '/tmp/other').id;
    journal.setPendingApplies(folder, [
      { path: 'd', local: dir, synced: { rev: 3, id: 'd' } },
      { path: 'd/a.txt', local: file('a'.repeat(64)), synced: { rev: 4, id: `f:${'a'.repeat(64)}:-` } },
    ]);
    journal.setPendingApplies(folder, [{ path: 'd/a.txt', local: file('b'.repeat(64)), synced: { rev: 5, id: `f:${'b'.repeat(64)}:-` } }]);
    expect(journal.pendingApplies(other)).toEqual([]);
    expect(journal.pendingApplies(folder)).toEqual([
      { path: 'd', local: dir, synced: { rev: 3, id: 'd' } },
      { path: 'd/a.txt', local: file('b'.repeat(64)), synced: { rev: 5, id: `f:${'b'.repeat(64)}:-` } },
    ]);
    journal.clearPendingApply(folder, 'd');
    expect(journal.pendingApplies(folder).map((p) => p.path)).toEqual(['d/a.txt']);
    journal.close();
  });

  it('a journal from before pending applies gains their table at start, keeping what it holds', () => {
    const path = join(stateDir, 'journal.db');
    const old = new LocalJournal(path);
    const folder = old.openFolder('http://127.0.0.1:1', 'Docs', '/tmp/docs').id;
    old.setLocal(folder, 'a.txt', file('a'.repeat(64)));
    old.close();
    const db = openSqlite(path);
    db.exec('DROP TABLE pending_applies');
    db.close();

    const journal = new LocalJournal(path);
    expect(journal.local(folder, 'a.txt')).toEqual(file('a'.repeat(64)));
    expect(journal.pendingApplies(folder)).toEqual([]);
    journal.setPendingApplies(folder, [{ path: 'a.txt', local: file('c'.repeat(64)), synced: { rev: 2, id: `f:${'c'.repeat(64)}:-` } }]);
    expect(journal.pendingApplies(folder)).toHaveLength(1);
    journal.close();
  });
});
