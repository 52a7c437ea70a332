import { afterEach, describe, expect, it } from 'vitest';
import { FEATURE_MOVE_RUNS, type Entry, type MoveRun } from '../../src/shared/protocol/messages.js';
import { expandRuns } from '../../src/shared/protocol/move-runs.js';
import { putFile, RawClient, type Msg } from '../helpers/raw-client.js';
import { removeDir, seedUser, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  if (srv) await removeDir(srv.dataDir);
  srv = undefined;
});

const dirPut = (path: string) => ({ op: 'put', path, baseRev: 0, kind: 'dir', size: 0, mtime: 1, mode: 0o755, hash: '', chunks: [], target: '' });

async function openClient(url: string, token: string, features?: string[]): Promise<RawClient> {
  const client = await RawClient.connect(url, token);
  client.send({ type: 'hello', protocol: 1, client: 'raw-test', ...(features ? { features } : {}) });
  await client.next((m) => m.type === 'welcome');
  return client;
}

/** Live `changes` until the folder reaches `rev`, checking that each continues the previous. */
async function liveUntil(client: RawClient, from: number, rev: number): Promise<Msg[]> {
  const messages: Msg[] = [];
  let at = from;
  while (at < rev) {
    const m = await client.next((x) => x.type === 'changes');
    expect(m.from).toBe(at);
    at = m.rev as number;
    messages.push(m);
  }
  return messages;
}

/** A tree of `files` files (one chunk each) in `dir` and `dir/sub`, committed a few ops at a time. */
async function seedTree(client: RawClient, folder: number, dir: string, files: number): Promise<void> {
  const ops: object[] = [dirPut(dir), dirPut(`${dir}/sub`)];
  for (let i = 0; i < files; i++) {
    const data = Buffer.from(`file ${i}`);
    await client.upload(folder, data);
    ops.push(putFile(`${dir}/${i % 2 ? 'sub/' : ''}f${i}.txt`, data));
  }
  for (let i = 0; i < ops.length; i += 10) {
    expect(await client.request({ type: 'commit', folder, ops: ops.slice(i, i + 10) })).toMatchObject({ type: 'committed' });
  }
}

describe('moves on the feed', () => {
  it('sends a directory move as runs to clients that read them, full entries to the others, and both stand for the same revisions', async () => {
    srv = await startServer();
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const folder = alice.folderId;
    const writer = await openClient(srv.wsUrl, alice.token);
    await seedTree(writer, folder, 'album', 6);

    const compact = await openClient(srv.wsUrl, alice.token, [FEATURE_MOVE_RUNS]);
    const full = await openClient(srv.wsUrl, alice.token);
    const held = new Map<string, Entry>();
    const caughtUp = await compact.subscribe(folder, 0);
    // Catch-up pages are always full entries.
    expect(caughtUp.pages.every((p) => p.moves === undefined)).toBe(true);
    for (const e of caughtUp.entries) held.set(e.path, e);
    await full.subscribe(folder, 0);

    // A put below the directory and its move in one commit: the run names the put's revision.
    const extra = Buffer.from('added just before the move');
    await writer.upload(folder, extra);
    const committed = await writer.request({
      type: 'commit',
      folder,
      ops: [putFile('album/late.txt', extra), { op: 'move', from: 'album', path: 'album 2024', baseRev: held.get('album')!.rev }],
    });
    expect(committed).toMatchObject({ type: 'committed', results: [{ path: 'album/late.txt' }, { path: 'album 2024' }] });
    const from = caughtUp.rev;
    const rev = committed.rev as number;

    const fullMessages = await liveUntil(full, from, rev);
    const fullEntries = fullMessages.flatMap((m) => m.entries as Entry[]);
    expect(fullMessages.every((m) => m.moves === undefined)).toBe(true);
    expect(fullEntries.map((e) => e.rev)).toEqual(Array.from({ length: rev - from }, (_, i) => from + 1 + i));

    const compactMessages = await liveUntil(compact, from, rev);
    const runs = compactMessages.flatMap((m) => (m.moves as MoveRun[] | undefined) ?? []);
    expect(runs.map((r) => r.run)).toEqual(['copy', 'tombstone']);
    expect(runs[0]!.items[0]).toEqual(['', held.get('album')!.rev]);
    // The put travels as an entry; the move's 2 × 9 revisions (root, sub, 6 files, late.txt) as runs.
    expect(compactMessages.flatMap((m) => m.entries as Entry[]).map((e) => e.path)).toEqual(['album/late.txt']);
    expect(runs.reduce((n, r) => n + r.items.length, 0)).toBe(18);

    const expanded = expandRuns(
      compactMessages.flatMap((m) => m.entries as Entry[]),
      runs,
      (path) => held.get(path),
    );
    expect(expanded).toEqual({ entries: fullEntries });
    expect(JSON.stringify(compactMessages).length).toBeLessThan(JSON.stringify(fullMessages).length / 3);
    for (const c of [writer, compact, full]) c.close();
  });

  it('splits a run too long for one message into consecutive messages', async () => {
    srv = await startServer({ limits: { maxMessageBytes: 4096 } });
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const folder = alice.folderId;
    const writer = await openClient(srv.wsUrl, alice.token);
    await seedTree(writer, folder, 'big', 120);
    const compact = await openClient(srv.wsUrl, alice.token, [FEATURE_MOVE_RUNS]);
    const caughtUp = await compact.subscribe(folder, 0);
    const held = new Map(caughtUp.entries.map((e) => [e.path, e]));

    const committed = await writer.request({ type: 'commit', folder, ops: [{ op: 'move', from: 'big', path: 'moved', baseRev: held.get('big')!.rev }] });
    const messages = await liveUntil(compact, caughtUp.rev, committed.rev as number);
    expect(messages.length).toBeGreaterThan(2);
    for (const m of messages) expect(Buffer.byteLength(JSON.stringify(m))).toBeLessThan(4096);
    // Applied message by message, as a client does, the runs give every path its revision.
    for (const m of messages) {
      const out = expandRuns(m.entries as Entry[], (m.moves as MoveRun[] | undefined) ?? [], (path) => held.get(path));
      if (!('entries' in out)) throw new Error(`missing ${out.missing}`);
      for (const e of out.entries) held.set(e.path, e);
    }
    const live = [...held.values()].filter((e) => !e.deleted).map((e) => e.path).sort();
    expect(live).toHaveLength(122);
    expect(live.every((p) => p === 'moved' || p.startsWith('moved/'))).toBe(true);
    expect(held.get('moved/sub/f1.txt')).toMatchObject({ movedFrom: 'big/sub/f1.txt', chunks: held.get('moved/sub/f1.txt')!.chunks });
    for (const c of [writer, compact]) c.close();
  });

  it('lets a client tell when it does not hold an entry a run names', () => {
    const source: Entry = { path: 'd/a', rev: 4, kind: 'file', deleted: false, size: 1, mtime: 1, mode: 0o644, hash: 'a'.repeat(64), chunks: [['a'.repeat(64), 1]], target: '', device: 'x', time: 1 };
    const run: MoveRun = { run: 'copy', from: 'd', to: 'e', rev: 10, device: 'y', time: 2, items: [['/a', 4]] };
    expect(expandRuns([], [run], () => undefined)).toEqual({ missing: 'd/a' });
    expect(expandRuns([], [run], () => ({ ...source, rev: 7 }))).toEqual({ missing: 'd/a' });
    expect(expandRuns([], [run], () => source)).toEqual({ entries: [{ ...source, path: 'e/a', rev: 10, device: 'y', time: 2, movedFrom: 'd/a' }] });
  });
});
