/**
 * The journal through the protocol: compare-and-swap commits, batches, paged catch-up,
 * history and restore, moves, structural conflicts and quota.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as admin from '../../src/server/admin.js';
import type { Entry } from '../../src/shared/protocol/messages.js';
import {
  bytes,
  deleteOp,
  dirOp,
  entriesOf,
  expectBytes,
  expectContained,
  fileOp,
  moveOp,
  nextChangeFor,
  startContainedServer,
} from '../helpers/fixtures.js';
import { RawClient, sha256, type Msg } from '../helpers/raw-client.js';
import { removeDir, seedUser, type TestServer } from '../helpers/server.js';

const PAGE = 10;

let srv: TestServer & { parent: string };
let alice: Awaited<ReturnType<typeof seedUser>>;
let pagingFolder: number;
let c: RawClient;

beforeAll(async () => {
  srv = await startContainedServer({ limits: { pageEntries: PAGE } });
  alice = await seedUser(srv.store, 'alice', 'Main');
  pagingFolder = (await admin.createFolder(srv.store, 'Paging', 'alice')).id;
  c = (await RawClient.open(srv.wsUrl, alice.token)).client;
});
afterAll(async () => {
  c.close();
  await srv.close();
  await removeDir(srv.parent);
});

type Result = { path: string; rev?: number; conflict?: Entry | null };

function results(m: Msg): Result[] {
  expect(m.type, JSON.stringify(m)).toBe('committed');
  return m.results as Result[];
}

async function commit(folder: number, ops: object[], client = c): Promise<Result[]> {
  return results(await client.request({ type: 'commit', folder, ops }));
}

async function commitOne(folder: number, op: object): Promise<number> {
  const [r] = await commit(folder, [op]);
  expect(r, JSON.stringify(r)).toHaveProperty('rev');
  return r!.rev!;
}

/** Uploads the chunks a put names, then commits it; returns its revision. */
async function putFile(folder: number, path: string, chunks: Buffer[], baseRev = 0): Promise<number> {
  for (const chunk of chunks) expect(await c.upload(folder, chunk)).toMatchObject({ type: 'stored' });
  return commitOne(folder, fileOp(path, chunks, baseRev));
}

async function head(folder: number): Promise<number> {
  const { client } = await RawClient.open(srv.wsUrl, alice.token);
  const feed = await client.subscribe(folder);
  client.close();
  return feed.rev;
}

async function history(folder: number, path: string, limit?: number): Promise<Entry[]> {
  const m = await c.request({ type: 'history', folder, path, ...(limit ? { limit } : {}) });
  expect(m.type, JSON.stringify(m)).toBe('revisions');
  return m.entries as Entry[];
}

/** A second connection subscribed live to a folder, for watching what a commit publishes. */
async function watch(folder: number): Promise<{ client: RawClient; rev: number }> {
  const { client } = await RawClient.open(srv.wsUrl, alice.token);
  const feed = await client.subscribe(folder);
  return { client, rev: feed.rev };
}

const folder = () => alice.folderId;

describe('compare-and-swap', () => {
  it('a stale baseRev is answered with the current entry, for put, delete and move', async () => {
    const content = bytes(1500, 10);
    const rev = await putFile(folder(), 'cas.txt', [content]);
    const current = { path: 'cas.txt', rev, kind: 'file', deleted: false, size: 1500, hash: sha256(content), chunks: [[sha256(content), 1500]], device: 'alice-laptop' };
    const stale = await commit(folder(), [
      fileOp('cas.txt', [bytes(10, 11)], 0),
      fileOp('cas.txt', [bytes(10, 11)], rev + 5),
      deleteOp('cas.txt', rev - 1),
      moveOp('cas.txt', 'cas-moved.txt', rev + 1),
      dirOp('cas.txt', 0),
    ]);
    expect(stale).toHaveLength(5);
    for (const r of stale) {
      expect(r).not.toHaveProperty('rev');
      expect(r.conflict).toMatchObject(current);
    }
    // nothing was committed by conflicts alone
    expect(await head(folder())).toBe(rev);
    expect(await history(folder(), 'cas-moved.txt')).toEqual([]);
  });

  it('a path that does not exist, with baseRev ≠ 0, conflicts with null', async () => {
    const before = await head(folder());
    const res = await commit(folder(), [
      fileOp('ghost.txt', [bytes(10, 12)], 7),
      dirOp('ghost-dir', 3),
      deleteOp('ghost.txt', 4),
      deleteOp('ghost.txt', 0),
      moveOp('ghost.txt', 'elsewhere.txt', 2),
    ]);
    expect(res).toEqual([
      { path: 'ghost.txt', conflict: null },
      { path: 'ghost-dir', conflict: null },
      { path: 'ghost.txt', conflict: null },
      { path: 'ghost.txt', conflict: null },
      { path: 'ghost.txt', conflict: null },
    ]);
    expect(await head(folder())).toBe(before);
  });

  it('the right baseRev wins, and baseRev 0 may recreate a deleted path', async () => {
    const r1 = await commitOne(folder(), dirOp('cas-dir'));
    const r2 = await commitOne(folder(), dirOp('cas-dir', r1, 0o700));
    expect(r2).toBe(r1 + 1);
    const r3 = await commitOne(folder(), deleteOp('cas-dir', r2));
    const [stale] = await commit(folder(), [dirOp('cas-dir', r2)]);
    expect(stale!.conflict).toMatchObject({ path: 'cas-dir', rev: r3, deleted: true });
    const r4 = await commitOne(folder(), dirOp('cas-dir', 0));
    expect(r4).toBe(r3 + 1);
  });
});

describe('batches', () => {
  it('a batch gets consecutive revisions, published as one change', async () => {
    const w = await watch(folder());
    const res = await commit(folder(), [dirOp('batch'), dirOp('batch/a'), dirOp('batch/b'), dirOp('batch/a/deep')]);
    expect(res.map((r) => r.rev)).toEqual([w.rev + 1, w.rev + 2, w.rev + 3, w.rev + 4]);
    const live = await nextChangeFor(w.client, folder(), 'batch');
    expect(live).toMatchObject({ from: w.rev, rev: w.rev + 4, more: false });
    expect(entriesOf(live).map((e) => [e.path, e.rev])).toEqual([
      ['batch', w.rev + 1],
      ['batch/a', w.rev + 2],
      ['batch/b', w.rev + 3],
      ['batch/a/deep', w.rev + 4],
    ]);
    w.client.close();
  });

  it('a conflicting op in a batch does not hold the others back, and takes no revision', async () => {
    const h = await head(folder());
    const res = await commit(folder(), [dirOp('batch2-a'), dirOp('batch', 0), dirOp('batch2-b')]);
    expect(res[0]).toEqual({ path: 'batch2-a', rev: h + 1 });
    expect(res[1]).toMatchObject({ path: 'batch', conflict: { path: 'batch', kind: 'dir' } });
    expect(res[2]).toEqual({ path: 'batch2-b', rev: h + 2 });
    expect(await head(folder())).toBe(h + 2);
  });

  it('a batch is all or nothing when a put lacks chunks: need, and nothing committed', async () => {
    const h = await head(folder());
    const missing = bytes(800, 13);
    const m = await c.request({ type: 'commit', folder: folder(), ops: [dirOp('all-or-nothing'), fileOp('all-or-nothing.bin', [missing])] });
    expect(m).toMatchObject({ type: 'need', chunks: [sha256(missing)] });
    expect(await head(folder())).toBe(h);
    expect(await history(folder(), 'all-or-nothing')).toEqual([]);
  });
});

describe('chunks a put needs', () => {
  it('are asked for even when an earlier op of the same batch is what makes the put apply', async () => {
    const unknown = bytes(1234, 14);
    const r = await commitOne(folder(), dirOp('recreated'));
    const h = await head(folder());
    // the delete frees the path, so the put (baseRev 0) applies: the server must still hold its chunk
    const m = await c.request({ type: 'commit', folder: folder(), ops: [deleteOp('recreated', r), fileOp('recreated', [unknown], 0)] });
    expect(m).toMatchObject({ type: 'need', chunks: [sha256(unknown)] });
    expect(await head(folder())).toBe(h);
    expect(await srv.store.chunkKnown(sha256(unknown))).toBe(false);
  });

  it('are asked for when the put builds on a revision made earlier in the batch', async () => {
    const unknown = bytes(1234, 15);
    const h = await head(folder());
    // revisions are consecutive, so a client can name the rev the first op will get
    const m = await c.request({ type: 'commit', folder: folder(), ops: [dirOp('predicted'), fileOp('predicted', [unknown], h + 1)] });
    expect(m).toMatchObject({ type: 'need', chunks: [sha256(unknown)] });
    expect(await head(folder())).toBe(h);
  });
});

describe('catch-up in pages', () => {
  const N = 35;
  const name = (i: number) => `d${String(i).padStart(2, '0')}`;
  /** path → the newest entry's rev, kept in step with what the tests commit. */
  const newest = new Map<string, number>();
  let headRev = 0;

  beforeAll(async () => {
    const res = await commit(pagingFolder, Array.from({ length: N }, (_, i) => dirOp(name(i))));
    res.forEach((r, i) => newest.set(name(i), r.rev!));
    expect([...newest.values()]).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // newer revisions of the first five paths, and a delete of the sixth
    const again = await commit(pagingFolder, Array.from({ length: 5 }, (_, i) => dirOp(name(i), i + 1, 0o700)));
    again.forEach((r, i) => newest.set(name(i), r.rev!));
    const [del] = await commit(pagingFolder, [deleteOp(name(5), 6)]);
    newest.set(name(5), del!.rev!);
    headRev = del!.rev!;
    expect(headRev).toBe(N + 6);
  });

  /** The pages are contiguous from the cursor to the head, full while `more`, and carry only newest entries. */
  function checkPages(pages: Msg[], cursor: number): Entry[] {
    expect(pages[0]!.from).toBe(cursor);
    for (let i = 0; i < pages.length; i++) {
      const p = pages[i]!;
      const last = i === pages.length - 1;
      expect(p.more, `page ${i} more`).toBe(!last);
      if (i > 0) expect(p.from, `page ${i} from`).toBe(pages[i - 1]!.rev);
      const entries = entriesOf(p);
      if (!last) expect(entries).toHaveLength(PAGE);
      expect(entries.length).toBeLessThanOrEqual(PAGE);
      const revs = entries.map((e) => e.rev);
      expect(revs).toEqual([...revs].sort((x, y) => x - y));
      for (const e of entries) {
        expect(e.rev).toBeGreaterThan(p.from as number);
        expect(e.rev).toBeLessThanOrEqual(p.rev as number);
      }
    }
    expect(pages[pages.length - 1]!.rev).toBe(headRev);
    const all = pages.flatMap(entriesOf);
    expect(new Set(all.map((e) => e.path)).size).toBe(all.length);
    for (const e of all) expect(e.rev, e.path).toBe(newest.get(e.path));
    return all;
  }

  const expectedAfter = (cursor: number) =>
    [...newest.entries()].filter(([, rev]) => rev > cursor).sort((x, y) => x[1] - y[1]).map(([path]) => path);

  it('from 0: every path once, at its newest revision, over several pages', async () => {
    const { client } = await RawClient.open(srv.wsUrl, alice.token);
    const feed = await client.subscribe(pagingFolder, 0);
    expect(feed.pages.length).toBe(Math.ceil(N / PAGE));
    const all = checkPages(feed.pages, 0);
    expect(all.map((e) => e.path)).toEqual(expectedAfter(0));
    expect(all.find((e) => e.path === 'd00')).toMatchObject({ rev: N + 1, mode: 0o700, deleted: false });
    expect(all.find((e) => e.path === 'd05')).toMatchObject({ rev: N + 6, deleted: true });
    client.close();
  });

  it('from a middle cursor: only what changed after it', async () => {
    const { client } = await RawClient.open(srv.wsUrl, alice.token);
    const feed = await client.subscribe(pagingFolder, 20);
    expect(feed.pages.length).toBeGreaterThan(1);
    const all = checkPages(feed.pages, 20);
    expect(all.map((e) => e.path)).toEqual(expectedAfter(20));
    expect(all.map((e) => e.path)).not.toContain('d06');
    client.close();
  });

  it('from the head: one empty page, then live changes continue from there', async () => {
    const { client } = await RawClient.open(srv.wsUrl, alice.token);
    const feed = await client.subscribe(pagingFolder, headRev);
    expect(feed.pages).toEqual([expect.objectContaining({ from: headRev, rev: headRev, more: false, entries: [] })]);
    const rev = await commitOne(pagingFolder, dirOp('d99'));
    newest.set('d99', rev);
    expect(await nextChangeFor(client, pagingFolder, 'd99')).toMatchObject({ from: headRev, rev: headRev + 1 });
    headRev = rev;
    client.close();
  });

  it('a cursor beyond the head gets a catch-up from 0', async () => {
    const { client } = await RawClient.open(srv.wsUrl, alice.token);
    const feed = await client.subscribe(pagingFolder, headRev + 1000);
    const all = checkPages(feed.pages, 0);
    expect(all.map((e) => e.path)).toEqual(expectedAfter(0));
    client.close();
  });
});

describe('history and restore', () => {
  const v1 = bytes(2000, 20);
  const v2 = bytes(2500, 21);
  let r1: number;
  let r2: number;
  let r3: number;

  beforeAll(async () => {
    r1 = await putFile(folder(), 'doc.txt', [v1]);
    r2 = await putFile(folder(), 'doc.txt', [v2], r1);
    r3 = await commitOne(folder(), deleteOp('doc.txt', r2));
  });

  it('history lists revisions newest first, tombstone included, and honours limit', async () => {
    const all = await history(folder(), 'doc.txt');
    expect(all.map((e) => [e.rev, e.deleted, e.hash])).toEqual([
      [r3, true, ''],
      [r2, false, sha256(v2)],
      [r1, false, sha256(v1)],
    ]);
    expect((await history(folder(), 'doc.txt', 2)).map((e) => e.rev)).toEqual([r3, r2]);
    expect(await history(folder(), 'never-existed.txt')).toEqual([]);
  });

  it('restoring a deleted file commits a new revision with the old content, no upload needed', async () => {
    const w = await watch(folder());
    const m = await c.request({ type: 'restore', folder: folder(), path: 'doc.txt', rev: r1 });
    const [res] = results(m);
    expect(res).toEqual({ path: 'doc.txt', rev: w.rev + 1 });
    const live = await nextChangeFor(w.client, folder(), 'doc.txt');
    expect(entriesOf(live)).toEqual([
      expect.objectContaining({ path: 'doc.txt', rev: w.rev + 1, deleted: false, kind: 'file', size: v1.length, hash: sha256(v1), chunks: [[sha256(v1), v1.length]] }),
    ]);
    expectBytes(await w.client.download(folder(), sha256(v1)), v1);
    const all = await history(folder(), 'doc.txt');
    expect(all.map((e) => e.rev)).toEqual([w.rev + 1, r3, r2, r1]);
    w.client.close();
  });

  it('restoring over a live file makes it the newest revision', async () => {
    const before = (await history(folder(), 'doc.txt', 1))[0]!;
    const [res] = results(await c.request({ type: 'restore', folder: folder(), path: 'doc.txt', rev: r2 }));
    expect(res).toEqual({ path: 'doc.txt', rev: before.rev + 1 });
    expect((await history(folder(), 'doc.txt', 1))[0]).toMatchObject({ rev: before.rev + 1, hash: sha256(v2), size: v2.length });
  });

  it('a revision that does not exist, is a tombstone, or belongs to another path → not_found', async () => {
    const h = await head(folder());
    const other = await commitOne(folder(), dirOp('other-path'));
    for (const rev of [999_999, 0, r3, other]) {
      const m = await c.request({ type: 'restore', folder: folder(), path: 'doc.txt', rev });
      expect(m, `rev ${rev}`).toMatchObject({ type: 'error', code: 'not_found' });
    }
    expect(await c.request({ type: 'restore', folder: folder(), path: 'no-such.txt', rev: r1 })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });
    expect(await head(folder())).toBe(h + 1);
  });
});

describe('moves', () => {
  it('moving a file: new path with movedFrom, old path a tombstone, one commit, no upload', async () => {
    const content = bytes(3333, 30);
    const r = await putFile(folder(), 'notes.txt', [content]);
    const w = await watch(folder());
    const m = await c.request({ type: 'commit', folder: folder(), ops: [moveOp('notes.txt', 'renamed.txt', r)] });
    expect(results(m)).toEqual([{ path: 'renamed.txt', rev: w.rev + 1 }]);
    const live = await nextChangeFor(w.client, folder(), 'renamed.txt');
    expect(live).toMatchObject({ from: w.rev, rev: w.rev + 2 });
    expect(entriesOf(live)).toEqual([
      expect.objectContaining({ path: 'renamed.txt', rev: w.rev + 1, movedFrom: 'notes.txt', deleted: false, hash: sha256(content), size: 3333 }),
      expect.objectContaining({ path: 'notes.txt', rev: w.rev + 2, deleted: true }),
    ]);
    expect(entriesOf(live)[1]).not.toHaveProperty('movedFrom');
    w.client.close();
  });

  it('moving a directory moves everything below it in one commit, and nothing beside it', async () => {
    const main = bytes(1200, 31);
    const lib = bytes(1300, 32);
    const readme = bytes(100, 33);
    for (const chunk of [main, lib, readme]) expect(await c.upload(folder(), chunk)).toMatchObject({ type: 'stored' });
    const tree = await commit(folder(), [
      dirOp('proj'),
      dirOp('proj/src'),
      fileOp('proj/src/main.ts', [main]),
      dirOp('proj/src/lib'),
      fileOp('proj/src/lib/x.ts', [lib]),
    ]);
    const more = await commit(folder(), [fileOp('proj/README', [readme]), dirOp('proj-old'), fileOp('proj.txt', [readme]), dirOp('proj-old/keep')]);
    const projRev = tree[0]!.rev!;

    const w = await watch(folder());
    const m = await c.request({ type: 'commit', folder: folder(), ops: [moveOp('proj', 'moved', projRev)] });
    expect(m.type, JSON.stringify(m)).toBe('committed');
    const live = await nextChangeFor(w.client, folder(), 'moved');
    const entries = entriesOf(live);
    expect(live).toMatchObject({ from: w.rev, rev: w.rev + 12 });
    expect(entries.map((e) => e.rev)).toEqual(Array.from({ length: 12 }, (_, i) => w.rev + 1 + i));
    expect(results(m)).toEqual([{ path: 'moved', rev: entries.find((e) => e.path === 'moved')!.rev }]);

    const old = ['proj', 'proj/src', 'proj/README', 'proj/src/main.ts', 'proj/src/lib', 'proj/src/lib/x.ts'];
    const moved = new Map(entries.filter((e) => !e.deleted).map((e) => [e.path, e]));
    expect([...moved.keys()].sort()).toEqual(old.map((p) => 'moved' + p.slice(4)).sort());
    for (const [path, e] of moved) expect(e.movedFrom).toBe('proj' + path.slice(5));
    expect(moved.get('moved/src/main.ts')).toMatchObject({ kind: 'file', hash: sha256(main), chunks: [[sha256(main), main.length]] });
    expect(moved.get('moved/src/lib/x.ts')).toMatchObject({ kind: 'file', hash: sha256(lib) });
    expect(moved.get('moved/src')).toMatchObject({ kind: 'dir' });
    const gone = entries.filter((e) => e.deleted);
    expect(gone.map((e) => e.path).sort()).toEqual([...old].sort());
    for (const e of gone) expect(e).not.toHaveProperty('movedFrom');

    // the whole current state agrees, and the neighbours did not move
    const state = await watch(folder());
    const { entries: all } = await state.client.subscribe(folder());
    state.client.close();
    const live2 = new Set(all.filter((e) => !e.deleted).map((e) => e.path));
    for (const p of old) expect(live2.has(p), p).toBe(false);
    for (const p of ['proj-old', 'proj-old/keep', 'proj.txt', 'moved/README']) expect(live2.has(p), p).toBe(true);
    expect(more.every((r) => typeof r.rev === 'number')).toBe(true);
    w.client.close();
  });

  it('a move onto a live path, or from a stale base, is a conflict and changes nothing', async () => {
    const h = await head(folder());
    const [ontoLive] = await commit(folder(), [moveOp('renamed.txt', 'proj.txt', (await history(folder(), 'renamed.txt', 1))[0]!.rev)]);
    expect(ontoLive!.conflict).toMatchObject({ path: 'proj.txt', deleted: false });
    const [staleBase] = await commit(folder(), [moveOp('renamed.txt', 'fresh-name.txt', 1)]);
    expect(staleBase!.conflict).toMatchObject({ path: 'renamed.txt', deleted: false });
    const [belowFile] = await commit(folder(), [moveOp('proj-old', 'proj.txt/inside', (await history(folder(), 'proj-old', 1))[0]!.rev)]);
    expect(belowFile!.conflict).toMatchObject({ path: 'proj.txt', kind: 'file' });
    expect(await head(folder())).toBe(h);
  });
});

describe('structure', () => {
  it('deleting a directory that still has live children is refused as a conflict', async () => {
    const [dir, child] = await commit(folder(), [dirOp('full'), dirOp('full/child')]);
    const h = await head(folder());
    const [res] = await commit(folder(), [deleteOp('full', dir!.rev!)]);
    expect(res).not.toHaveProperty('rev');
    expect(res!.conflict).toMatchObject({ path: 'full/child', rev: child!.rev, deleted: false });
    expect(await head(folder())).toBe(h);
    expect((await history(folder(), 'full', 1))[0]).toMatchObject({ rev: dir!.rev, deleted: false });
    // children first, then the directory, in one batch: both go
    const both = await commit(folder(), [deleteOp('full/child', child!.rev!), deleteOp('full', dir!.rev!)]);
    expect(both).toEqual([
      { path: 'full/child', rev: h + 1 },
      { path: 'full', rev: h + 2 },
    ]);
  });

  it('nothing can be put below an existing file', async () => {
    const content = bytes(400, 40);
    const fileRev = await putFile(folder(), 'plain.txt', [content]);
    const h = await head(folder());
    const res = await commit(folder(), [dirOp('plain.txt/sub'), fileOp('plain.txt/a/b.txt', [content])]);
    for (const r of res) expect(r.conflict, JSON.stringify(r)).toMatchObject({ path: 'plain.txt', rev: fileRev, kind: 'file' });
    expect(await head(folder())).toBe(h);
    expect(await history(folder(), 'plain.txt/sub')).toEqual([]);
  });

  it('nothing can be created below a deleted or moved-away directory until the directory is put back (defects 6, 7)', async () => {
    const content = bytes(350, 42);
    expect(await c.upload(folder(), content)).toMatchObject({ type: 'stored' });
    const [top, mid] = await commit(folder(), [dirOp('gone'), dirOp('gone/mid'), dirOp('away')]);
    const [, topGone] = await commit(folder(), [deleteOp('gone/mid', mid!.rev!), deleteOp('gone', top!.rev!)]);
    const away = (await history(folder(), 'away', 1))[0]!;
    const [moved] = await commit(folder(), [moveOp('away', 'elsewhere', away.rev)]);
    expect(moved).toHaveProperty('rev');
    const h = await head(folder());

    // A device that has not seen the deletion or the move: refused, naming the topmost
    // deleted directory, so it learns what happened there.
    const refused = await commit(folder(), [
      fileOp('gone/mid/new.txt', [content]),
      dirOp('gone/mid/deeper'),
      fileOp('away/new.txt', [content]),
      moveOp('elsewhere', 'gone/elsewhere', moved!.rev!),
    ]);
    expect(refused.map((r) => [r.path, r.conflict?.path, r.conflict?.deleted])).toEqual([
      ['gone', 'gone', true],
      ['gone', 'gone', true],
      ['away', 'away', true],
      ['gone', 'gone', true],
    ]);
    expect(await head(folder())).toBe(h);

    // Putting the directories back first, in the same commit, is what brings the file in.
    const res = await commit(folder(), [dirOp('gone', topGone!.rev!), dirOp('gone/mid', 0), fileOp('gone/mid/new.txt', [content])]);
    expect(res.every((r) => r.rev !== undefined), JSON.stringify(res)).toBe(true);
  });

  it('restoring a file whose directories were deleted brings the directories back with it', async () => {
    const content = bytes(330, 43);
    expect(await c.upload(folder(), content)).toMatchObject({ type: 'stored' });
    const [dir, file] = await commit(folder(), [dirOp('archive'), fileOp('archive/kept.txt', [content])]);
    await commit(folder(), [deleteOp('archive/kept.txt', file!.rev!), deleteOp('archive', dir!.rev!)]);
    const w = await watch(folder());
    const [res] = results(await c.request({ type: 'restore', folder: folder(), path: 'archive/kept.txt', rev: file!.rev! }));
    expect(res).toEqual({ path: 'archive/kept.txt', rev: w.rev + 2 });
    const live = await nextChangeFor(w.client, folder(), 'archive/kept.txt');
    expect(entriesOf(live).map((e) => [e.path, e.kind, e.deleted])).toEqual([
      ['archive', 'dir', false],
      ['archive/kept.txt', 'file', false],
    ]);
    w.client.close();
  });

  it('a directory with live children cannot be replaced by a file', async () => {
    const [dir, child] = await commit(folder(), [dirOp('holder'), dirOp('holder/kid')]);
    const h = await head(folder());
    const content = bytes(300, 41);
    expect(await c.upload(folder(), content)).toMatchObject({ type: 'stored' });
    const [res] = await commit(folder(), [fileOp('holder', [content], dir!.rev!)]);
    expect(res!.conflict).toMatchObject({ path: 'holder/kid', rev: child!.rev });
    expect(await head(folder())).toBe(h);
  });
});

describe('quota', () => {
  it('a commit past the owner quota is refused with quota_exceeded and nothing is committed', async () => {
    const quinn = await seedUser(srv.store, 'quinn', 'Quota');
    await admin.setQuota(srv.store, 'quinn', 10_000);
    const q = (await RawClient.open(srv.wsUrl, quinn.token)).client;
    const f = quinn.folderId;
    const big = bytes(8000, 50);
    const small = bytes(4000, 51);
    for (const chunk of [big, small]) expect(await q.upload(f, chunk)).toMatchObject({ type: 'stored' });

    const [a1] = results(await q.request({ type: 'commit', folder: f, ops: [fileOp('a.bin', [big])] }));
    expect(a1).toEqual({ path: 'a.bin', rev: 1 });

    const refused = await q.request({ type: 'commit', folder: f, ops: [dirOp('c'), fileOp('b.bin', [small])] });
    expect(refused).toMatchObject({ type: 'error', code: 'quota_exceeded', req: expect.any(Number) });
    expect(refused.message).toMatch(/quota/);
    const feed = await q.subscribe(f);
    expect(feed.rev).toBe(1);
    expect(feed.entries.map((e) => e.path)).toEqual(['a.bin']);
    q.send({ type: 'unsubscribe', folder: f });

    // shrinking a.bin frees room; then b.bin fits (4000 + 4000 ≤ 10000)
    const [a2] = results(await q.request({ type: 'commit', folder: f, ops: [fileOp('a.bin', [small], 1)] }));
    expect(a2).toEqual({ path: 'a.bin', rev: 2 });
    const [b1] = results(await q.request({ type: 'commit', folder: f, ops: [fileOp('b.bin', [small])] }));
    expect(b1).toEqual({ path: 'b.bin', rev: 3 });

    // restoring the 8000-byte version would need 12000: refused too
    const restore = await q.request({ type: 'restore', folder: f, path: 'a.bin', rev: 1 });
    expect(restore).toMatchObject({ type: 'error', code: 'quota_exceeded' });
    const hist = await q.request({ type: 'history', folder: f, path: 'a.bin' });
    expect((hist.entries as Entry[]).map((e) => e.rev)).toEqual([2, 1]);
    q.close();
  });
});

describe('chunk sizes in a put', () => {
  it('must be the true sizes of the stored chunks (else the file cannot be rebuilt and the quota is dodged)', async () => {
    const quentin = await seedUser(srv.store, 'quentin', 'Sizes');
    await admin.setQuota(srv.store, 'quentin', 10_000);
    const q = (await RawClient.open(srv.wsUrl, quentin.token)).client;
    const f = quentin.folderId;
    const chunk = bytes(50_000, 60);
    expect(await q.upload(f, chunk)).toMatchObject({ type: 'stored' });
    // the put claims the 50 000-byte chunk holds 10 bytes, so the "file" fits the 10 000-byte quota
    const lie = { ...fileOp('small.bin', [chunk]), size: 10, chunks: [[sha256(chunk), 10]] };
    const m = await q.request({ type: 'commit', folder: f, ops: [lie] });
    expect(m, JSON.stringify(m)).toMatchObject({ type: 'error', code: 'bad_request' });
    const feed = await q.subscribe(f);
    expect(feed.rev).toBe(0);
    expect(feed.entries).toEqual([]);
    q.close();
  });
});

describe('after all of the above', () => {
  it('nothing was written outside the data directory', async () => {
    await expectContained(srv.parent, srv.dataDir);
  });
});
