import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectRefused, putFile, RawClient, sha256 } from '../helpers/raw-client.js';
import { removeDir, seedUser, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let alice: Awaited<ReturnType<typeof seedUser>>;

beforeAll(async () => {
  srv = await startServer();
  alice = await seedUser(srv.store, 'alice', 'Docs');
});
afterAll(async () => {
  await srv.close();
  await removeDir(srv.dataDir);
});

describe('handshake', () => {
  it('refuses a missing or wrong token with HTTP 401 and no socket', async () => {
    await expect(RawClient.connect(srv.wsUrl, undefined)).rejects.toMatchObject({ status: 401 });
    await expect(RawClient.connect(srv.wsUrl, 'fy1_not-a-real-token')).rejects.toBeInstanceOf(ConnectRefused);
  });

  it('welcomes a device with its folders and limits', async () => {
    const { client, welcome } = await RawClient.open(srv.wsUrl, alice.token);
    expect(welcome).toMatchObject({
      type: 'welcome',
      protocol: 1,
      user: 'alice',
      device: { name: 'alice-laptop' },
      folders: [{ id: alice.folderId, name: 'Docs', role: 'owner' }],
    });
    expect(welcome.server).toMatchObject({ id: srv.store.serverId });
    client.close();
  });
});

describe('commit, chunks and feed', () => {
  it('asks for missing chunks, stores verified chunks, and commits', async () => {
    const { client } = await RawClient.open(srv.wsUrl, alice.token);
    const data = Buffer.from('hello ferry');
    const first = await client.request({ type: 'commit', folder: alice.folderId, ops: [putFile('a.txt', data)] });
    expect(first).toMatchObject({ type: 'need', chunks: [sha256(data)] });

    expect(await client.request({ type: 'has', folder: alice.folderId, hashes: [sha256(data)] })).toMatchObject({
      type: 'have',
      missing: [sha256(data)],
    });
    expect(await client.upload(alice.folderId, data)).toMatchObject({ type: 'stored', hash: sha256(data) });
    expect(await client.request({ type: 'has', folder: alice.folderId, hashes: [sha256(data)] })).toMatchObject({ missing: [] });

    const done = await client.request({ type: 'commit', folder: alice.folderId, ops: [putFile('a.txt', data)] });
    expect(done).toMatchObject({ type: 'committed', rev: 1, results: [{ path: 'a.txt', rev: 1 }] });
    expect(await client.download(alice.folderId, sha256(data))).toEqual(data);
    client.close();
  });

  it('answers a stale baseRev with the current entry (compare-and-swap)', async () => {
    const { client } = await RawClient.open(srv.wsUrl, alice.token);
    const data = Buffer.from('hello ferry');
    const res = await client.request({ type: 'commit', folder: alice.folderId, ops: [putFile('a.txt', data, 0)] });
    expect(res).toMatchObject({ type: 'committed', results: [{ path: 'a.txt', conflict: { path: 'a.txt', rev: 1, hash: sha256(data) } }] });
    client.close();
  });

  it('pushes a commit live to every subscriber', async () => {
    const a = await RawClient.open(srv.wsUrl, alice.token);
    const b = await RawClient.open(srv.wsUrl, alice.token);
    const sa = await a.client.subscribe(alice.folderId);
    const sb = await b.client.subscribe(alice.folderId);
    expect(sa.rev).toBe(sb.rev);
    const writer = await RawClient.open(srv.wsUrl, alice.token);
    const res = await writer.client.request({
      type: 'commit',
      folder: alice.folderId,
      ops: [{ op: 'put', path: 'dir', baseRev: 0, kind: 'dir', size: 0, mtime: 0, mode: 0o755, hash: '', chunks: [], target: '' }],
    });
    expect(res.type).toBe('committed');
    for (const c of [a.client, b.client]) {
      const live = await c.next((m) => m.type === 'changes');
      expect(live).toMatchObject({ from: sa.rev, rev: sa.rev + 1, more: false, entries: [{ path: 'dir', kind: 'dir' }] });
    }
    for (const c of [a.client, b.client, writer.client]) c.close();
  });
});
