/**
 * The whole-system test's checks must be able to fail: the ledger's invariants on made-up
 * trees, and the server data check on a real server's data with a chunk removed and a
 * revision cut out.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { converged, engineTestBed, type TreeItem } from '../helpers/engine.js';
import { Ledger, sha256 } from './harness/ledger.js';
import { checkServerData, diffAgainstServer } from './harness/server-data.js';

const file = (data: string): TreeItem => ({ kind: 'file', size: data.length, sha256: sha256(Buffer.from(data)), exec: false, target: '' });
const dir: TreeItem = { kind: 'dir', size: 0, sha256: '', exec: false, target: '' };

describe('the ledger', () => {
  const ledger = new Ledger();
  for (const v of ['one', 'two', 'mine', 'theirs']) ledger.wrote(Buffer.from(v), v);
  ledger.created.add('d').add('d/kept.txt').add('gone/x.txt').add('c.txt');
  ledger.removed.add('gone');
  ledger.pairs.push({ path: 'c.txt', hashes: [sha256(Buffer.from('mine')), sha256(Buffer.from('theirs'))] });
  const good = { d: dir, 'd/kept.txt': file('one'), 'c.txt': file('mine'), 'c (conflict from device1 2026-11-23 101010).txt': file('theirs') };

  it('passes a tree that keeps every invariant', () => {
    expect(ledger.check(good)).toEqual([]);
  });

  it('finds content nobody wrote, a lost path and a lost side of a concurrent edit', () => {
    const bad = { ...good, 'd/kept.txt': file('on') } as Record<string, TreeItem>;
    delete bad['c (conflict from device1 2026-11-23 101010).txt'];
    const problems = ledger.check(bad);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^d\/kept\.txt: content .* is no version any client wrote/);
    expect(problems[1]).toMatch(/^c\.txt: the concurrent edit .* \(theirs\) is neither at the path nor in a conflict copy/);
    delete bad['d/kept.txt'];
    expect(ledger.check(bad)).toContainEqual('d/kept.txt: created, never deleted or renamed away, and missing');
  });
});

describe('the server data check', () => {
  const bed = engineTestBed();

  it('finds a referenced chunk missing from disk and a revision missing from the journal', async () => {
    const a = await bed.client();
    await writeFile(join(a.root, 'one.txt'), 'first file');
    await writeFile(join(a.root, 'two.txt'), 'second file');
    const tree = await converged([a]);
    const clean = await checkServerData(bed.srv.dataDir);
    expect(clean.problems).toEqual([]);
    expect(diffAgainstServer(tree, clean.trees.get('Docs')!)).toEqual([]);
    expect(diffAgainstServer({ ...tree, 'three.txt': file('x') }, clean.trees.get('Docs')!)).toEqual(['three.txt: on disk, not live on the server']);

    await a.stop();
    await bed.srv.close();
    const db = new Sqlite(join(bed.srv.dataDir, 'ferry.db'));
    // Small files' chunks are kept inline in the database: lose the bytes of one that a
    // revision other than the one cut out still references (which file committed first
    // depends on timing).
    const chunk = db.prepare('SELECT b.hash FROM chunk_blobs b JOIN rev_chunks r ON r.hash = b.hash WHERE r.rev <> 1 LIMIT 1').pluck().get() as string;
    db.prepare('DELETE FROM chunk_blobs WHERE hash = ?').run(chunk);
    db.prepare('DELETE FROM revisions WHERE rev = 1').run();
    db.close();
    const broken = await checkServerData(bed.srv.dataDir);
    expect(broken.problems).toContainEqual(`chunk ${chunk} is referenced but not on disk`);
    expect(broken.problems).toContainEqual('folder Docs: revision 1 is missing (found 2 in its place)');
  });
});
