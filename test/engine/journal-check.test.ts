/**
 * The client's journal check at start: a journal that is garbage or cut short is moved
 * aside, a fresh one is rebuilt by a rescan (the files on disk are the truth), the user is
 * told (a log line and an issue), and nothing is deleted here, on the server or elsewhere.
 */
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalJournal } from '../../src/engine/journal/local-journal.js';
import { openSqlite } from '../../src/shared/sqlite.js';
import { bytes } from '../helpers/fixtures.js';
import { converged, engineTestBed, isIdle, treeOf } from '../helpers/engine.js';
import { eventually } from '../helpers/server.js';

const bed = engineTestBed();

/** Log records an engine wrote, caught through a pino stream. */
function capture(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, records };
}

async function damagedAndRestarted(damage: (file: string) => Promise<void>) {
  const a = await bed.client();
  const b = await bed.client();
  await writeFile(join(a.root, 'a.txt'), 'first');
  await writeFile(join(a.root, 'big.bin'), bytes(300_000, 5));
  await converged([a, b]);
  await a.stop();
  // While a is down: b changes a file, a changes another.
  await writeFile(join(b.root, 'from-b.txt'), 'made on b');
  await writeFile(join(a.root, 'a.txt'), 'edited on a while its journal broke');
  const journalFile = join(a.stateDir, 'journal.db');
  await damage(journalFile);

  const { logger, records } = capture();
  const again = await bed.client({ root: a.root, stateDir: a.stateDir, logger });
  return { a: again, b, records, stateDir: a.stateDir };
}

async function expectRebuiltAndNothingLost(run: Awaited<ReturnType<typeof damagedAndRestarted>>) {
  const { a, b, records, stateDir } = run;
  const issue = await eventually(async () => (await a.engine.getState()).issues.find((i) => i.kind === 'journal-rebuilt'), 10_000, 'a journal-rebuilt issue');
  expect(issue.message).toMatch(/damaged .* moved to .*journal\.db\.damaged-.* nothing was deleted/);
  expect(records).toContainEqual(expect.objectContaining({ level: 50, msg: expect.stringMatching(/sync journal was damaged/) }));
  expect((await readdir(stateDir)).filter((n) => n.startsWith('journal.db.damaged-'))).not.toEqual([]);

  const tree = await converged([a, b], 30_000);
  const files = Object.keys(tree);
  expect(files).toEqual(expect.arrayContaining(['a.txt', 'big.bin', 'from-b.txt']));
  // Both versions of a.txt survive: one under its name, one as a conflict copy.
  const contents = await Promise.all(files.filter((f) => f.startsWith('a')).map((f) => readFile(join(a.root, f), 'utf8')));
  expect(contents.sort()).toEqual(['edited on a while its journal broke', 'first']);
  expect(files.filter((f) => f.includes('conflict'))).toHaveLength(1);
  expect(await readFile(join(a.root, 'big.bin'))).toEqual(bytes(300_000, 5));

  await a.engine.retry();
  await eventually(async () => {
    const s = await a.engine.getState();
    return isIdle(s) && !s.issues.some((i) => i.kind === 'journal-rebuilt');
  }, 10_000, 'the notice to clear on retry');
  expect(await treeOf(a.root)).toEqual(tree);
}

describe('a damaged journal at start', () => {
  it('garbage: moved aside, rebuilt by a rescan, nothing lost', async () => {
    await expectRebuiltAndNothingLost(await damagedAndRestarted((file) => writeFile(file, bytes(64 * 1024, 3))));
  });

  it('cut short: moved aside, rebuilt by a rescan, nothing lost', async () => {
    await expectRebuiltAndNothingLost(
      await damagedAndRestarted(async (file) => {
        const { size } = await stat(file);
        await truncate(file, Math.floor(size / 2) + 100);
      }),
    );
  });

  it('a healthy journal is opened as it is, never moved aside', async () => {
    const dir = await bed.scratch();
    const file = join(dir, 'journal.db');
    const first = LocalJournal.open(file);
    expect(first.rebuilt).toBeUndefined();
    first.journal.openFolder('http://127.0.0.1:1', 'Docs', dir);
    first.journal.close();
    const second = LocalJournal.open(file);
    expect(second.rebuilt).toBeUndefined();
    expect(second.journal.openFolder('http://127.0.0.1:1', 'Docs', dir).id).toBe(1);
    second.journal.close();
    expect(await readdir(dir)).toEqual(['journal.db']);
  });
});

describe('a journal from an earlier version', () => {
  it('gains the columns added since, keeping its conflicts', async () => {
    const file = join(await bed.scratch(), 'journal.db');
    // The conflicts table as the first release made it, with one conflict in it.
    const old = openSqlite(file);
    old.exec(`CREATE TABLE folders (id INTEGER PRIMARY KEY, server TEXT NOT NULL, name TEXT NOT NULL, root TEXT NOT NULL, remote_id INTEGER, server_id TEXT, cursor INTEGER NOT NULL DEFAULT 0, UNIQUE (server, name, root));
      CREATE TABLE conflicts (id INTEGER PRIMARY KEY, folder INTEGER NOT NULL REFERENCES folders(id), path TEXT NOT NULL, copy TEXT NOT NULL,
        local_device TEXT NOT NULL, remote_device TEXT NOT NULL, local_size INTEGER NOT NULL, remote_size INTEGER NOT NULL, time INTEGER NOT NULL);
      INSERT INTO folders (id, server, name, root) VALUES (1, 'http://x', 'Docs', '/tmp/docs');
      INSERT INTO conflicts (folder, path, copy, local_device, remote_device, local_size, remote_size, time) VALUES (1, 'a.txt', 'a (conflict).txt', 'laptop', 'desk', 1, 2, 3);`);
    old.close();
    const journal = new LocalJournal(file);
    try {
      expect(journal.conflicts()).toEqual([{ id: 1, folder: 1, path: 'a.txt', copy: 'a (conflict).txt', localDevice: 'laptop', remoteDevice: 'desk', localSize: 1, remoteSize: 2, localTime: 0, remoteTime: 0, time: 3 }]);
      journal.addConflict({ folder: 1, path: 'b.txt', copy: 'b (conflict).txt', localDevice: 'laptop', remoteDevice: 'desk', localSize: 4, remoteSize: 5, localTime: 6, remoteTime: 7, time: 8 });
      expect(journal.conflicts(1)[0]).toMatchObject({ path: 'b.txt', localTime: 6, remoteTime: 7 });
    } finally {
      journal.close();
    }
  });
});
