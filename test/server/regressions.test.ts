/** Defects found in review, each pinned by the scenario that exposed it. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { commitFile, putFile, RawClient, sha256 } from '../helpers/raw-client.js';
import { removeDir, seedUser, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer | undefined;
afterEach(async () => {
  if (!srv) return;
  await srv.close();
  await removeDir(srv.dataDir);
  srv = undefined;
});

const dir = (path: string, baseRev = 0) => ({ op: 'put', path, baseRev, kind: 'dir', size: 0, mtime: 0, mode: 0o755, hash: '', chunks: [], target: '' });

describe('regressions', () => {
  it('a put after a delete in the same batch cannot name a chunk the folder never had', async () => {
    srv = await startServer();
    const bob = await seedUser(srv.store, 'bob', 'BobFolder');
    const eve = await seedUser(srv.store, 'eve', 'EveFolder');
    const secret = Buffer.from("bob's secret");
    const b = await RawClient.open(srv.wsUrl, bob.token);
    expect(await commitFile(b.client, bob.folderId, 'secret.txt', secret)).toMatchObject({ type: 'committed' });

    const e = await RawClient.open(srv.wsUrl, eve.token);
    expect(await commitFile(e.client, eve.folderId, 'x', Buffer.from('eve'))).toMatchObject({ type: 'committed' });
    const smuggle = await e.client.request({
      type: 'commit',
      folder: eve.folderId,
      ops: [{ op: 'delete', path: 'x', baseRev: 1 }, putFile('x', secret, 0)],
    });
    expect(smuggle).toMatchObject({ type: 'need', chunks: [sha256(secret)] });
    expect(await e.client.download(eve.folderId, sha256(secret))).toMatchObject({ type: 'error', code: 'not_found' });
    // Nothing of the refused batch was committed: the delete rolled back too.
    const { entries } = await e.client.subscribe(eve.folderId);
    expect(entries).toMatchObject([{ path: 'x', rev: 1, deleted: false }]);
  });

  it('answers requests sent right behind hello, without waiting for the welcome', async () => {
    srv = await startServer();
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const client = await RawClient.connect(srv.wsUrl, alice.token);
    client.send({ type: 'hello', protocol: 1, client: 'eager' });
    client.send({ type: 'subscribe', folder: alice.folderId, cursor: 0 });
    client.send({ type: 'has', req: 9, folder: alice.folderId, hashes: [] });
    expect(await client.next((m) => m.type === 'welcome')).toBeTruthy();
    expect(await client.next((m) => m.type === 'changes')).toMatchObject({ from: 0, more: false });
    expect(await client.next((m) => m.req === 9)).toMatchObject({ type: 'have', missing: [] });
  });

  it('a commit made while the last catch-up page waits for a slow reader still reaches it', async () => {
    srv = await startServer();
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const writer = await RawClient.open(srv.wsUrl, alice.token);
    const big = [1, 2, 3, 4].map((n) => Buffer.alloc(4 * 1024 * 1024, n));
    for (const data of big) expect(await writer.client.upload(alice.folderId, data)).toMatchObject({ type: 'stored' });
    expect(await writer.client.request({ type: 'commit', folder: alice.folderId, ops: big.map((d, i) => putFile(`big-${i}`, d)) })).toMatchObject({ type: 'committed' });

    // A reader that stops reading: 16 MiB of downloads fill its socket, so its one
    // catch-up page has to wait for room behind them.
    const reader = await RawClient.open(srv.wsUrl, alice.token);
    const socket = (reader.client.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const downloads = big.map((d) => reader.client.download(alice.folderId, sha256(d)));
    await new Promise((r) => setTimeout(r, 300));
    reader.client.send({ type: 'subscribe', folder: alice.folderId, cursor: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await writer.client.request({ type: 'commit', folder: alice.folderId, ops: [dir('late')] })).toMatchObject({ type: 'committed' });
    socket.resume();
    await Promise.all(downloads);
    const seen: Entry[] = [];
    while (!seen.some((e) => e.path === 'late')) {
      const page = await reader.client.next((m) => m.type === 'changes', 5000);
      seen.push(...(page.entries as Entry[]));
    }
    expect(seen.map((e) => e.path).sort()).toEqual(['big-0', 'big-1', 'big-2', 'big-3', 'late']);
  });

  it('keeps catch-up pages and live messages under the message limit however long the chunk lists', async () => {
    const maxMessageBytes = 256 * 1024;
    srv = await startServer({ limits: { maxMessageBytes } });
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const { client } = await RawClient.open(srv.wsUrl, alice.token);
    // 20 files of 400 one-byte chunks each: ~27 KiB of chunk list per entry.
    const chunkData = Array.from({ length: 400 }, (_, i) => Buffer.from([i % 256, i >> 8]));
    for (const data of chunkData) expect(await client.upload(alice.folderId, data)).toMatchObject({ type: 'stored' });
    const chunks = chunkData.map((d) => [sha256(d), d.length]);
    const put = (path: string) => ({ op: 'put', path, baseRev: 0, kind: 'file', size: 800, mtime: 0, mode: 0o644, hash: 'ab'.repeat(32), chunks, target: '' });
    const live = await RawClient.open(srv.wsUrl, alice.token);
    await live.client.subscribe(alice.folderId);
    // Each commit stays under the limit itself (4 × ~27 KiB); the feed must split its own messages.
    for (let c = 0; c < 5; c++) {
      const ops = Array.from({ length: 4 }, (_, i) => put(`big-${c * 4 + i}`));
      expect(await client.request({ type: 'commit', folder: alice.folderId, ops })).toMatchObject({ type: 'committed' });
    }

    const liveEntries: Entry[] = [];
    while (liveEntries.length < 20) {
      const m = await live.client.next((x) => x.type === 'changes');
      expect(JSON.stringify(m).length).toBeLessThan(maxMessageBytes);
      liveEntries.push(...(m.entries as Entry[]));
    }
    const { pages, entries } = await client.subscribe(alice.folderId);
    expect(entries).toHaveLength(20);
    expect(pages.length).toBeGreaterThan(1);
    for (const p of pages) expect(JSON.stringify(p).length).toBeLessThan(maxMessageBytes);
    for (let i = 1; i < pages.length; i++) expect(pages[i]!.from).toBe(pages[i - 1]!.rev);
  });
});
