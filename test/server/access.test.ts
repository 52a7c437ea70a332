/**
 * Folder membership: every request names a folder, and the server checks the device's user
 * may use it (and may write to it) before it touches the journal or the chunk store. Chunks
 * are deduplicated on disk, but a folder only ever sees the chunks its own members uploaded
 * or its own revisions use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as admin from '../../src/server/admin.js';
import { dbFile } from '../../src/server/server.js';
import { SqliteJournalStore } from '../../src/server/store/sqlite-journal-store.js';
import { encodeFrame, FrameKind } from '../../src/shared/protocol/frames.js';
import { bytes, dirOp, entriesOf, expectBytes, expectContained, fileOp, nextChangeFor, startContainedServer } from '../helpers/fixtures.js';
import { RawClient, sha256, type Msg } from '../helpers/raw-client.js';
import { removeDir, seedUser, type TestServer } from '../helpers/server.js';

let srv: TestServer & { parent: string };
let alice: Awaited<ReturnType<typeof seedUser>>;
let bob: Awaited<ReturnType<typeof seedUser>>;
let carol: Awaited<ReturnType<typeof seedUser>>;
/** Alice's client, connected for the whole file. */
let ac: RawClient;
let aliceRev: number;

/** Committed in Alice's folder as report.txt. */
const committed = bytes(3000, 1);
/** Uploaded into Alice's folder, never committed. */
const uploaded = bytes(2000, 2);
const NO_SUCH_FOLDER = 424_242;

beforeAll(async () => {
  srv = await startContainedServer();
  alice = await seedUser(srv.store, 'alice', 'Alpha');
  bob = await seedUser(srv.store, 'bob', 'Bravo');
  carol = await seedUser(srv.store, 'carol');
  await admin.shareFolder(srv.store, 'Alpha', 'carol', 'read');

  ac = (await RawClient.open(srv.wsUrl, alice.token)).client;
  expect(await ac.upload(alice.folderId, committed)).toMatchObject({ type: 'stored' });
  expect(await ac.upload(alice.folderId, uploaded)).toMatchObject({ type: 'stored' });
  const res = await ac.request({ type: 'commit', folder: alice.folderId, ops: [fileOp('report.txt', [committed])] });
  expect(res).toMatchObject({ type: 'committed', results: [{ path: 'report.txt', rev: 1 }] });
  aliceRev = 1;
});
afterAll(async () => {
  ac.close();
  await srv.close();
  await removeDir(srv.parent);
});

/** Alice's folder is exactly as the setup left it: same head, same chunks, nothing new. */
async function expectAlphaUntouched(...foreignChunks: string[]): Promise<void> {
  const { client } = await RawClient.open(srv.wsUrl, alice.token);
  const feed = await client.subscribe(alice.folderId);
  expect(feed.rev).toBe(aliceRev);
  expect(feed.entries.filter((e) => !e.deleted).map((e) => e.path)).toEqual(['report.txt']);
  if (foreignChunks.length > 0) {
    expect(await client.request({ type: 'has', folder: alice.folderId, hashes: foreignChunks })).toMatchObject({
      missing: foreignChunks,
    });
  }
  client.close();
}

function expectCode(m: Msg, code: string, req?: number): void {
  expect(m, JSON.stringify(m)).toMatchObject({ type: 'error', code });
  if (req !== undefined) expect(m.req).toBe(req);
}

describe('a user who is not a member', () => {
  it('is welcomed with only their own folders', async () => {
    const { client, welcome } = await RawClient.open(srv.wsUrl, bob.token);
    expect(welcome.folders).toEqual([{ id: bob.folderId, name: 'Bravo', rev: 0, role: 'owner' }]);
    client.close();
  });

  // Bob guesses Alice's folder id; a folder id that does not exist answers the same.
  for (const [label, target] of [
    ["another user's folder id", () => alice.folderId],
    ['a folder id that does not exist', () => NO_SUCH_FOLDER],
  ] as const) {
    describe(label, () => {
      it('cannot subscribe', async () => {
        const { client } = await RawClient.open(srv.wsUrl, bob.token);
        client.send({ type: 'subscribe', folder: target(), cursor: 0 });
        expectCode(await client.next((m) => m.type === 'error' || m.type === 'changes'), 'forbidden');
        // nothing of the folder leaks afterwards either, not even live changes
        const writer = await RawClient.open(srv.wsUrl, alice.token);
        const probe = `probe-${target()}`;
        const done = await writer.client.request({ type: 'commit', folder: alice.folderId, ops: [dirOp(probe)] });
        expect(done.type).toBe('committed');
        const del = await writer.client.request({
          type: 'commit',
          folder: alice.folderId,
          ops: [{ op: 'delete', path: probe, baseRev: (done.results as { rev: number }[])[0]!.rev }],
        });
        expect(del.type).toBe('committed');
        aliceRev += 2;
        writer.client.close();
        // a round trip on Bob's socket, so anything pushed before it has arrived
        expect(await client.request({ type: 'has', folder: bob.folderId, hashes: [] })).toMatchObject({ type: 'have' });
        expect(client.pending().filter((m) => m.type === 'changes')).toEqual([]);
        client.close();
      });

      it('cannot commit, has, get, read history or restore', async () => {
        const { client } = await RawClient.open(srv.wsUrl, bob.token);
        const folder = target();
        const own = bytes(500, 3);
        const attempts: Record<string, unknown>[] = [
          { type: 'commit', folder, ops: [dirOp('bob-was-here')] },
          { type: 'commit', folder, ops: [fileOp('bob.txt', [own])] },
          { type: 'commit', folder, ops: [{ op: 'delete', path: 'report.txt', baseRev: 1 }] },
          { type: 'commit', folder, ops: [{ op: 'move', from: 'report.txt', path: 'mine.txt', baseRev: 1 }] },
          { type: 'has', folder, hashes: [sha256(committed), sha256(uploaded)] },
          { type: 'get', folder, hash: sha256(committed) },
          { type: 'get', folder, hash: sha256(uploaded) },
          { type: 'history', folder, path: 'report.txt' },
          { type: 'restore', folder, path: 'report.txt', rev: 1 },
        ];
        for (const message of attempts) {
          const reply = await client.request(message);
          expectCode(reply, 'forbidden');
          // the refusal gives nothing away: no entry, no hash list, no chunk bytes
          expect(Object.keys(reply).sort()).toEqual(['code', 'message', 'req', 'type']);
        }
        expect(await client.download(folder, sha256(committed))).toMatchObject({ type: 'error', code: 'forbidden' });
        client.close();
      });

      it('cannot upload a chunk into it', async () => {
        const { client } = await RawClient.open(srv.wsUrl, bob.token);
        const data = bytes(700, 4);
        const reply = await client.upload(target(), data);
        expectCode(reply, 'forbidden');
        // the connection stays usable, and the bytes are nowhere
        expect(await client.request({ type: 'has', folder: bob.folderId, hashes: [sha256(data)] })).toMatchObject({
          missing: [sha256(data)],
        });
        expect(await srv.store.chunkKnown(sha256(data))).toBe(false);
        client.close();
        await expectAlphaUntouched(sha256(data));
      });
    });
  }

  it('still uses their own folder normally', async () => {
    const { client } = await RawClient.open(srv.wsUrl, bob.token);
    const res = await client.request({ type: 'commit', folder: bob.folderId, ops: [dirOp('bobs-dir')] });
    expect(res).toMatchObject({ type: 'committed', results: [{ path: 'bobs-dir', rev: 1 }] });
    const feed = await client.subscribe(bob.folderId);
    expect(feed.entries.map((e) => e.path)).toEqual(['bobs-dir']);
    client.close();
    await expectAlphaUntouched();
  });
});

describe('a read-only member', () => {
  it('is welcomed with the folder and the read role', async () => {
    const { client, welcome } = await RawClient.open(srv.wsUrl, carol.token);
    expect(welcome.folders).toEqual([{ id: alice.folderId, name: 'Alpha', rev: aliceRev, role: 'read' }]);
    client.close();
  });

  it('can subscribe (catch-up and live), download, ask has and read history', async () => {
    const { client } = await RawClient.open(srv.wsUrl, carol.token);
    const feed = await client.subscribe(alice.folderId);
    expect(feed.rev).toBe(aliceRev);
    expect(feed.entries.filter((e) => !e.deleted)).toEqual([
      expect.objectContaining({ path: 'report.txt', hash: sha256(committed), deleted: false }),
    ]);

    expectBytes(await client.download(alice.folderId, sha256(committed)), committed);
    expect(await client.request({ type: 'has', folder: alice.folderId, hashes: [sha256(committed), sha256('nope')] })).toMatchObject({
      type: 'have',
      missing: [sha256('nope')],
    });
    expect(await client.request({ type: 'history', folder: alice.folderId, path: 'report.txt' })).toMatchObject({
      type: 'revisions',
      entries: [{ path: 'report.txt', rev: 1 }],
    });

    const res = await ac.request({ type: 'commit', folder: alice.folderId, ops: [dirOp('for-carol')] });
    expect(res.type).toBe('committed');
    aliceRev += 1;
    const live = await nextChangeFor(client, alice.folderId, 'for-carol');
    expect(live).toMatchObject({ from: aliceRev - 1, rev: aliceRev });
    // tidy up so the folder looks as before
    const del = await ac.request({ type: 'commit', folder: alice.folderId, ops: [{ op: 'delete', path: 'for-carol', baseRev: aliceRev }] });
    expect(del.type).toBe('committed');
    aliceRev += 1;
    expect(entriesOf(await nextChangeFor(client, alice.folderId, 'for-carol'))).toEqual([
      expect.objectContaining({ path: 'for-carol', deleted: true }),
    ]);
    client.close();
  });

  it('cannot commit, upload or restore (read_only), and the connection stays', async () => {
    const { client } = await RawClient.open(srv.wsUrl, carol.token);
    const folder = alice.folderId;
    const own = bytes(900, 5);
    const writes: Record<string, unknown>[] = [
      { type: 'commit', folder, ops: [dirOp('carol-was-here')] },
      { type: 'commit', folder, ops: [fileOp('carol.txt', [own])] },
      { type: 'commit', folder, ops: [fileOp('report.txt', [own], 1)] },
      { type: 'commit', folder, ops: [{ op: 'delete', path: 'report.txt', baseRev: 1 }] },
      { type: 'commit', folder, ops: [{ op: 'move', from: 'report.txt', path: 'moved.txt', baseRev: 1 }] },
      { type: 'restore', folder, path: 'report.txt', rev: 1 },
    ];
    for (const message of writes) expectCode(await client.request(message), 'read_only');
    expectCode(await client.upload(folder, own), 'read_only');
    // a multi-frame upload is refused frame by frame, and none of it is kept
    const big = bytes(5000, 6);
    expectCode(await client.upload(folder, big, 1000), 'read_only');
    // still a working connection
    expect(await client.request({ type: 'has', folder, hashes: [sha256(own), sha256(big)] })).toMatchObject({
      type: 'have',
      missing: [sha256(own), sha256(big)],
    });
    client.close();
    expect(await srv.store.chunkKnown(sha256(own))).toBe(false);
    await expectAlphaUntouched(sha256(own), sha256(big));
  });
});

describe('membership changed while connected', () => {
  it('a member removed by an admin (another process) loses the folder at once: folders, then forbidden', async () => {
    const dave = await seedUser(srv.store, 'dave');
    await admin.shareFolder(srv.store, 'Alpha', 'dave', 'write');
    const { client, welcome } = await RawClient.open(srv.wsUrl, dave.token);
    expect(welcome.folders).toEqual([expect.objectContaining({ id: alice.folderId, role: 'write' })]);
    await client.subscribe(alice.folderId);

    // `ferry admin` writes through its own connection to the database
    const outside = new SqliteJournalStore(dbFile(srv.dataDir));
    try {
      await admin.shareFolder(outside, 'Alpha', 'dave', 'none');
    } finally {
      outside.close();
    }
    expect(await client.next((m) => m.type === 'folders')).toMatchObject({ folders: [] });

    expectCode(await client.request({ type: 'commit', folder: alice.folderId, ops: [dirOp('dave-was-here')] }), 'forbidden');
    expectCode(await client.request({ type: 'get', folder: alice.folderId, hash: sha256(committed) }), 'forbidden');
    // the feed stopped too: a new commit in Alpha does not reach Dave
    const res = await ac.request({ type: 'commit', folder: alice.folderId, ops: [dirOp('after-dave')] });
    expect(res.type).toBe('committed');
    aliceRev += 1;
    expect(await client.request({ type: 'has', folder: alice.folderId, hashes: [] })).toMatchObject({ code: 'forbidden' });
    expect(client.pending().filter((m) => m.type === 'changes')).toEqual([]);
    const del = await ac.request({ type: 'commit', folder: alice.folderId, ops: [{ op: 'delete', path: 'after-dave', baseRev: aliceRev }] });
    expect(del.type).toBe('committed');
    aliceRev += 1;
    client.close();
  });
});

describe('no cross-folder dedup leak', () => {
  it("a chunk in Alice's folder is neither present nor downloadable through Bob's", async () => {
    const { client } = await RawClient.open(srv.wsUrl, bob.token);
    const hashes = [sha256(committed), sha256(uploaded)];
    // committed or merely uploaded there: the server knows both chunks, Bob's folder does not
    expect(await srv.store.chunkKnown(hashes[0]!)).toBe(true);
    expect(await srv.store.chunkKnown(hashes[1]!)).toBe(true);
    expect(await client.request({ type: 'has', folder: bob.folderId, hashes })).toMatchObject({ type: 'have', missing: hashes });
    for (const hash of hashes) {
      expect(await client.download(bob.folderId, hash)).toMatchObject({ type: 'error', code: 'not_found' });
    }
    // naming the chunk in a commit does not get it either: the server asks for the bytes
    const put = await client.request({ type: 'commit', folder: bob.folderId, ops: [fileOp('stolen.txt', [committed])] });
    expect(put).toMatchObject({ type: 'need', chunks: [hashes[0]] });
    const history = await client.request({ type: 'history', folder: bob.folderId, path: 'stolen.txt' });
    expect(history).toMatchObject({ type: 'revisions', entries: [] });
    client.close();
  });

  it("a batch that frees a path first cannot smuggle Alice's chunk into another user's folder", async () => {
    // a user of their own, so a leak here does not spill into the other tests
    const mallory = await seedUser(srv.store, 'mallory', 'Mallory');
    const { client } = await RawClient.open(srv.wsUrl, mallory.token);
    const hash = sha256(committed);
    const [made] = (await client.request({ type: 'commit', folder: mallory.folderId, ops: [dirOp('decoy')] })).results as { rev: number }[];
    // delete the decoy, then put a file there naming Alice's chunk: the server must ask for its bytes
    const m = await client.request({
      type: 'commit',
      folder: mallory.folderId,
      ops: [
        { op: 'delete', path: 'decoy', baseRev: made!.rev },
        fileOp('decoy', [committed], 0),
      ],
    });
    expect(m).toMatchObject({ type: 'need', chunks: [hash] });
    expect(await client.download(mallory.folderId, hash)).toMatchObject({ type: 'error', code: 'not_found' });
    expect(await client.request({ type: 'has', folder: mallory.folderId, hashes: [hash] })).toMatchObject({ missing: [hash] });
    client.close();
  });

  it('a forged upload frame (right hash, wrong bytes) does not make the chunk usable', async () => {
    const { client } = await RawClient.open(srv.wsUrl, bob.token);
    const hash = sha256(committed);
    const forged = Buffer.alloc(committed.length, 0);
    client.sendRaw(encodeFrame({ kind: FrameKind.upload, req: 5000, folder: bob.folderId, hash, offset: 0, total: forged.length }, forged));
    expectCode(await client.next((m) => m.req === 5000), 'hash_mismatch', 5000);
    expect(await client.request({ type: 'has', folder: bob.folderId, hashes: [hash] })).toMatchObject({ missing: [hash] });
    expect(await client.download(bob.folderId, hash)).toMatchObject({ type: 'error', code: 'not_found' });
    client.close();
  });

  it('once Bob uploads the bytes himself, his folder has the chunk (stored once on disk)', async () => {
    const { client } = await RawClient.open(srv.wsUrl, bob.token);
    const hash = sha256(committed);
    expect(await client.upload(bob.folderId, committed)).toMatchObject({ type: 'stored', hash });
    expect(await client.request({ type: 'has', folder: bob.folderId, hashes: [hash, sha256(uploaded)] })).toMatchObject({
      missing: [sha256(uploaded)],
    });
    const put = await client.request({ type: 'commit', folder: bob.folderId, ops: [fileOp('own-copy.txt', [committed])] });
    expect(put).toMatchObject({ type: 'committed', results: [{ path: 'own-copy.txt', rev: expect.any(Number) }] });
    expectBytes(await client.download(bob.folderId, hash), committed);
    expect(await srv.store.chunkStats()).toMatchObject({ count: 2 });
    client.close();
  });
});

describe('after all of the above', () => {
  it('nothing was written outside the data directory', async () => {
    await expectContained(srv.parent, srv.dataDir);
  });
});
