/**
 * Small chunks kept inline in the journal's database, large ones as files: where each size
 * lands, and a data directory from before inline chunks (schema 1, every chunk a file)
 * upgraded in place: its files served and not stored again, checked by fsck, and collected
 * by gc together with inline chunks. Real in-process servers, sockets and SQLite files.
 */
import { pbkdf2 } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fsck } from '../../src/server/fsck.js';
import { collectGarbage } from '../../src/server/gc.js';
import { INLINE_CHUNK_BYTES } from '../../src/server/store/chunk-bytes.js';
import { SqliteJournalStore } from '../../src/server/store/sqlite-journal-store.js';
import { bytes, expectBytes, expectContained, KiB, startContainedServer, storedCopies } from '../helpers/fixtures.js';
import { commitFile, RawClient, sha256 } from '../helpers/raw-client.js';
import { removeDir, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
});

async function contained(): Promise<TestServer & { parent: string }> {
  const srv = await startContainedServer();
  cleanup.push(() => removeDir(srv.parent));
  cleanup.push(() => srv.close());
  return srv;
}

async function connect(srv: TestServer, token: string): Promise<RawClient> {
  const { client } = await RawClient.open(srv.wsUrl, token);
  cleanup.push(async () => client.ws.terminate());
  return client;
}

describe('inline chunks', () => {
  it(`keeps a chunk of ${INLINE_CHUNK_BYTES / KiB} KiB inline and one a byte larger as a file; both download whole`, async () => {
    const srv = await contained();
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const client = await connect(srv, alice.token);
    const small = bytes(INLINE_CHUNK_BYTES, 1);
    const large = bytes(INLINE_CHUNK_BYTES + 1, 2);
    for (const data of [small, large]) expect(await client.upload(alice.folderId, data)).toMatchObject({ type: 'stored', hash: sha256(data) });
    expect(await storedCopies(srv.dataDir, sha256(small))).toEqual({ files: 0, blobs: 1 });
    expect(await storedCopies(srv.dataDir, sha256(large))).toEqual({ files: 1, blobs: 0 });
    for (const data of [small, large]) expectBytes(await client.download(alice.folderId, sha256(data)), data);
    // Uploading the same bytes again stores nothing twice.
    expect(await client.upload(alice.folderId, small)).toMatchObject({ type: 'stored' });
    expect(await storedCopies(srv.dataDir, sha256(small))).toEqual({ files: 0, blobs: 1 });
    expect((await fsck(srv.dataDir, { verifyContent: true })).problems).toEqual([]);
    await expectContained(srv.parent, srv.dataDir);
  });

  it('upgrades a data directory whose small chunks are files: serves them, stores them no second time, checks and collects them', async () => {
    const srv = await contained();
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const folder = alice.folderId;
    // The old layout: a small chunk as a file, recorded without bytes in the journal.
    const old = bytes(2000, 3);
    await srv.server.ctx.chunks.put(sha256(old), old);
    await srv.store.recordUpload(folder, sha256(old), old.length, Date.now());
    await srv.close();
    // …in a database from before the chunk_blobs table.
    const db = new Sqlite(join(srv.dataDir, 'ferry.db'));
    db.exec('DROP TABLE chunk_blobs; PRAGMA user_version = 1');
    db.close();

    const again = await startServer({ dataDir: srv.dataDir });
    cleanup.push(() => again.close());
    const client = await connect(again, alice.token);
    expectBytes(await client.download(folder, sha256(old)), old);
    const first = await commitFile(client, folder, 'report.txt', old);
    expect(first).toMatchObject({ type: 'committed', results: [{ path: 'report.txt', rev: 1 }] });
    expect(await storedCopies(again.dataDir, sha256(old))).toEqual({ files: 1, blobs: 0 });

    const v2 = bytes(3000, 4);
    const v3 = bytes(4000, 5);
    expect(await commitFile(client, folder, 'report.txt', v2, 1)).toMatchObject({ type: 'committed', results: [{ rev: 2 }] });
    expect(await commitFile(client, folder, 'report.txt', v3, 2)).toMatchObject({ type: 'committed', results: [{ rev: 3 }] });
    expect(await storedCopies(again.dataDir, sha256(v2))).toEqual({ files: 0, blobs: 1 });
    expect((await fsck(again.dataDir, { verifyContent: true })).problems).toEqual([]);

    // Retention 0, a second on: both superseded versions go, the file and the inline one.
    const gc = await collectGarbage(again.store, again.server.ctx.chunks, 0, pino({ level: 'silent' }), Date.now() + 1000);
    expect(gc).toEqual({ chunksRemoved: 2 });
    expect(await storedCopies(again.dataDir, sha256(old))).toEqual({ files: 0, blobs: 0 });
    expect(await storedCopies(again.dataDir, sha256(v2))).toEqual({ files: 0, blobs: 0 });
    expectBytes(await client.download(folder, sha256(v3)), v3);
    expect(await client.download(folder, sha256(v2))).toMatchObject({ type: 'error', code: 'not_found' });
    expect((await fsck(again.dataDir, { verifyContent: true })).problems).toEqual([]);
    await expectContained(srv.parent, srv.dataDir);
  });
});

describe('closing the store while an inline chunk is on its way to disk', () => {
  async function openStore() {
    const dir = await tempDir('ferry-store-');
    cleanup.push(() => removeDir(dir));
    const file = join(dir, 'journal.db');
    const store = new SqliteJournalStore(file);
    const { folderId } = await seedUser(store, 'alice', 'Docs');
    return { file, store, folderId };
  }

  function expectKept(file: string, hash: string, data: Buffer): void {
    const db = new Sqlite(file, { readonly: true });
    try {
      expect((db.prepare('SELECT data FROM chunk_blobs WHERE hash = ?').get(hash) as { data: Buffer }).data.equals(data)).toBe(true);
    } finally {
      db.close();
    }
  }

  it('a record still waiting for its group is committed and answered, not refused', async () => {
    const { file, store, folderId } = await openStore();
    const data = bytes(3000, 7);
    const recorded = store.recordUpload(folderId, sha256(data), data.length, Date.now(), data);
    store.close();
    await expect(recorded).resolves.toBeUndefined();
    expectKept(file, sha256(data), data);
  });

  it('a WAL sync still running keeps its file open until it ends', async () => {
    const { file, store, folderId } = await openStore();
    const data = bytes(3000, 8);
    const recorded = store.recordUpload(folderId, sha256(data), data.length, Date.now(), data);
    // Keep every thread of the pool busy, so the group's fdatasync is still queued when the
    // store closes: closing the descriptor under it would fail the sync (EBADF).
    const busy = Array.from({ length: 4 }, () => new Promise((r) => pbkdf2('x', 'y', 200_000, 32, 'sha256', r)));
    await new Promise((r) => setImmediate(r));
    store.close();
    await expect(recorded).resolves.toBeUndefined();
    await Promise.all(busy);
    expectKept(file, sha256(data), data);
  });
});
