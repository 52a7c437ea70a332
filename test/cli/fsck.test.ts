/**
 * `ferry admin fsck` on a real data directory: clean while the server runs, then one copy
 * per kind of damage, each of which fsck must name (and exit 1 for). Needs `npm run build`.
 */
import { cp, mkdir, open, readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsck, type FsckProblem } from '../../src/server/fsck.js';
import { bytes, chunkFile } from '../helpers/fixtures.js';
import { commitFile, RawClient, sha256 } from '../helpers/raw-client.js';
import { removeDir, runFerry, seedUser, startServer, tempDir, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let work: string;
/** Only an old revision of `doc.txt` uses this chunk. Both of doc.txt's chunks are big enough to be files. */
let historyChunk: Buffer;
let liveChunk: Buffer;
/** Small enough to be kept inline in the database. */
let inlineChunk: Buffer;
let copies = 0;

beforeAll(async () => {
  work = await tempDir('ferry-fsck-');
  srv = await startServer({ dataDir: join(work, 'live') });
  const alice = await seedUser(srv.store, 'alice', 'Docs');
  const { client } = await RawClient.open(srv.wsUrl, alice.token);
  historyChunk = bytes(70 * 1024, 1);
  liveChunk = bytes(80 * 1024, 2);
  inlineChunk = bytes(100, 3);
  const first = await commitFile(client, alice.folderId, 'doc.txt', historyChunk);
  const rev = (first.results as { rev: number }[])[0]!.rev;
  await commitFile(client, alice.folderId, 'doc.txt', liveChunk, rev);
  await commitFile(client, alice.folderId, 'other.bin', inlineChunk);
  await commitFile(client, alice.folderId, 'gone.txt', bytes(10, 4));
  client.close();
});
afterAll(async () => {
  await srv.close().catch(() => {});
  await removeDir(work);
});

/** A copy of the (closed) server's data directory to damage. */
async function copy(): Promise<string> {
  const dir = join(work, `copy-${++copies}`);
  await cp(srv.dataDir, dir, { recursive: true });
  // Everything into the database file itself, so damage to it is damage to what is stored.
  sql(dir, 'PRAGMA wal_checkpoint(TRUNCATE)');
  return dir;
}

const old = new Date(Date.now() - 3600_000);

function sql(dataDir: string, statement: string): void {
  const db = new Sqlite(join(dataDir, 'ferry.db'));
  db.exec(statement);
  db.close();
}

function named(problems: FsckProblem[], kind: FsckProblem['kind'], text: string | RegExp): void {
  expect(problems, JSON.stringify(problems, null, 1)).toContainEqual({ kind, message: expect.stringMatching(text) });
}

describe('ferry admin fsck', () => {
  it('finds a live data directory clean, while the server runs, and changes nothing', async () => {
    const before = await readdir(srv.dataDir, { recursive: true });
    const res = await runFerry(['admin', '--data', srv.dataDir, 'fsck', '--verify-content']);
    expect(res.stdout).toMatch(/clean — 1 folders, 4 revisions, 4 chunks \(150\.1 KiB re-hashed\)/);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(await readdir(srv.dataDir, { recursive: true })).toEqual(before);
    // The server is still fine to commit with.
    await srv.close();
  });

  it('names a missing chunk that only history uses, and exits 1', async () => {
    const dir = await copy();
    await rm(chunkFile(dir, sha256(historyChunk)));
    const res = await runFerry(['admin', '--data', dir, 'fsck']);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`problem (missing-chunk): chunk ${sha256(historyChunk)}`);
    expect(res.stdout).toMatch(/1 problem —/);
  });

  it('names a truncated chunk', async () => {
    const dir = await copy();
    await truncate(chunkFile(dir, sha256(liveChunk)), 100);
    named((await fsck(dir)).problems, 'chunk-size', new RegExp(`${sha256(liveChunk)} is 100 bytes on disk, 81920 expected`));
  });

  it('names a chunk whose bytes changed but not its size, only with --verify-content', async () => {
    const dir = await copy();
    const file = chunkFile(dir, sha256(liveChunk));
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('flipped'), 0, 7, 2000);
    await handle.close();
    expect((await fsck(dir)).problems).toEqual([]);
    const res = await runFerry(['admin', '--data', dir, 'fsck', '--verify-content']);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`problem (chunk-content): chunk ${sha256(liveChunk)} holds data that hashes to`);
  });

  it('names files left in tmp/ and trash/ and a chunk file the database does not know, once they are old', async () => {
    const dir = await copy();
    const stray = bytes(64, 9);
    const strayFile = chunkFile(dir, sha256(stray));
    await cp(chunkFile(dir, sha256(liveChunk)), join(dir, 'tmp', `${sha256(liveChunk)}.abc123`));
    await writeFile(join(dir, 'trash', 'leftover'), 'x');
    await mkdir(dirname(strayFile), { recursive: true });
    await writeFile(strayFile, stray);
    // Fresh files may belong to a write in progress: not reported.
    expect((await fsck(dir)).problems).toEqual([]);
    for (const f of [join(dir, 'tmp', `${sha256(liveChunk)}.abc123`), join(dir, 'trash', 'leftover'), strayFile]) await utimes(f, old, old);
    const { problems } = await fsck(dir);
    named(problems, 'orphan-file', /tmp\/[0-9a-f]{64}\.abc123 was left by an interrupted write/);
    named(problems, 'orphan-file', /trash\/leftover was left by an interrupted removal/);
    named(problems, 'orphan-file', new RegExp(`${sha256(stray)} is not a chunk the database knows`));
  });

  it('names a folder whose head revision is missing, and a current entry pointing at a lost revision', async () => {
    const dir = await copy();
    sql(dir, `DELETE FROM revisions WHERE rev = (SELECT MAX(rev) FROM revisions)`);
    const { problems } = await fsck(dir);
    named(problems, 'journal', /folder 'Docs' \(id 1\): its head revision 4 is missing/);
    named(problems, 'journal', /current entry of gone\.txt is revision 4, which is missing/);
  });

  it('names a chunk not marked as used by its revision (gc would drop it) and one missing from the chunks table', async () => {
    const dir = await copy();
    sql(dir, `DELETE FROM rev_chunks WHERE hash = '${sha256(historyChunk)}'; DELETE FROM chunks WHERE hash = '${sha256(liveChunk)}'`);
    const { problems } = await fsck(dir);
    named(problems, 'chunk-record', new RegExp(`${sha256(historyChunk)} of doc\\.txt .* is not marked as used`));
    named(problems, 'chunk-record', new RegExp(`${sha256(liveChunk)} of doc\\.txt .* is not in the chunks table`));
  });

  it('names a revision whose chunks do not add up to its size, and a wrong current entry', async () => {
    const dir = await copy();
    sql(dir, `UPDATE revisions SET size = 1 WHERE path = 'other.bin'; UPDATE current SET rev = 1 WHERE path = 'doc.txt'`);
    const { problems } = await fsck(dir);
    named(problems, 'journal', /other\.bin\) is 1 bytes but its chunks add up to 100/);
    named(problems, 'journal', /current entry of doc\.txt is revision 1, not its newest 2/);
  });

  it('names an inline chunk that is missing, of the wrong size, or (with --verify-content) of the wrong content', async () => {
    const hash = sha256(inlineChunk);
    const gone = await copy();
    sql(gone, `DELETE FROM chunk_blobs WHERE hash = '${hash}'`);
    named((await fsck(gone)).problems, 'missing-chunk', new RegExp(`chunk ${hash} \\(100 bytes\\) is missing`));

    const cut = await copy();
    sql(cut, `UPDATE chunk_blobs SET data = substr(data, 1, 60) WHERE hash = '${hash}'`);
    named((await fsck(cut)).problems, 'chunk-size', new RegExp(`chunk ${hash} is 60 bytes inline, 100 expected`));

    const flipped = await copy();
    sql(flipped, `UPDATE chunk_blobs SET data = zeroblob(100) WHERE hash = '${hash}'`);
    expect((await fsck(flipped)).problems).toEqual([]);
    const res = await runFerry(['admin', '--data', flipped, 'fsck', '--verify-content']);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`problem (chunk-content): inline chunk ${hash} holds data that hashes to`);
  });

  it('names inline bytes whose chunk the database no longer records', async () => {
    const dir = await copy();
    const stray = sha256(bytes(64, 9));
    sql(dir, `INSERT INTO chunk_blobs (hash, data) VALUES ('${stray}', zeroblob(64))`);
    named((await fsck(dir)).problems, 'chunk-record', new RegExp(`inline chunk ${stray} is not in the chunks table`));
  });

  it('names a database from another schema version', async () => {
    const dir = await copy();
    sql(dir, 'PRAGMA user_version = 99');
    named((await fsck(dir)).problems, 'schema', /schema version 99, expected 2/);
  });

  it('names a damaged database file, and one that is not a database at all', async () => {
    const damaged = await copy();
    const handle = await open(join(damaged, 'ferry.db'), 'r+');
    const { size } = await handle.stat();
    // Garbage over every page but the first: the tables' b-trees are broken.
    await handle.write(bytes(size - 4096, 7), 0, size - 4096, 4096);
    await handle.close();
    const res = await runFerry(['admin', '--data', damaged, 'fsck']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/problem \(database\): /);

    const garbage = await copy();
    await writeFile(join(garbage, 'ferry.db'), bytes(10_000, 8));
    named((await fsck(garbage)).problems, 'database', /not a database|malformed|cannot open/);
  });
});
