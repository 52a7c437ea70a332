/**
 * A client that sends thousands of requests and never reads the replies must not make the
 * server hold their answers: it stops reading from that socket (TCP pushes back on the
 * sender), keeps the replies it owes under a bound, and serves everyone else meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirOp } from '../helpers/fixtures.js';
import { RawClient } from '../helpers/raw-client.js';
import { removeDir, seedUser, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let alice: Awaited<ReturnType<typeof seedUser>>;

/** Bytes the server has handed to sockets and not yet written out. */
async function backlog(): Promise<number> {
  const text = await srv.server.ctx.metrics.render();
  return Number(/^ferry_feed_backlog_bytes (\d+)/m.exec(text)![1]);
}

beforeAll(async () => {
  srv = await startServer();
  alice = await seedUser(srv.store, 'alice', 'Docs');
  // One path with 1,000 revisions: each history request of ~100 bytes is answered with ~200 KB.
  const { client } = await RawClient.open(srv.wsUrl, alice.token);
  let rev = 0;
  for (let i = 0; i < 1000; i++) {
    const res = await client.request({ type: 'commit', folder: alice.folderId, ops: [dirOp('busy', rev, 0o700 + (i % 2))] });
    rev = (res.results as { rev: number }[])[0]!.rev;
  }
  client.close();
}, 60_000);
afterAll(async () => {
  await srv.close();
  await removeDir(srv.dataDir);
});

describe('requests whose replies are never read', () => {
  it('do not pile replies up in the server: it stops reading the sender, and serves others', async () => {
    const { client: flooder } = await RawClient.open(srv.wsUrl, alice.token);
    // Stop reading: the server's replies back up in its own socket buffers.
    (flooder.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const request = JSON.stringify({ type: 'history', req: 1, folder: alice.folderId, path: 'busy', limit: 1000 });
    for (let i = 0; i < 3000; i++) flooder.sendRaw(request, false);

    const { client: other } = await RawClient.open(srv.wsUrl, alice.token);
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      const reply = await other.request({ type: 'history', folder: alice.folderId, path: 'busy', limit: 1 }, 10_000);
      expect(reply.type).toBe('revisions');
      peak = Math.max(peak, await backlog());
      await new Promise((r) => setTimeout(r, 50));
    }
    // 3,000 answers would be ~600 MB; what the server holds stays within a few of them.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
    // (Its socket is paused, so it answers no ping either: the heartbeat cuts it off later.)
    flooder.ws.terminate();
    other.close();
  });
});
