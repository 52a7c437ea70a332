/**
 * A subscriber that stops reading while many commits land must not make the server queue
 * every commit for it: once its socket holds more than the feed window it falls behind at
 * its cursor, and when it reads again it is paged in from the journal, coalesced, with
 * nothing missed. Subscribers that keep reading stay live meanwhile. Across all sockets, a
 * send budget pauses the feed of readers with anything queued and cuts the slowest reader
 * when even that is not enough.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dirOp } from '../helpers/fixtures.js';
import { RawClient, type Msg } from '../helpers/raw-client.js';
import { eventually, removeDir, seedUser, startServer, type TestServer } from '../helpers/server.js';
import type { Entry } from '../../src/shared/protocol/messages.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** 100 commits of 100 directories with ~2 KB paths: ~25 MB of feed, far beyond what kernel buffers hold. */
const COMMITS = 100;
const OPS_PER_COMMIT = 100;
const LONG = Array.from({ length: 9 }, (_, i) => `${i}${'x'.repeat(220)}`).join('/');

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  if (srv) await removeDir(srv.dataDir);
  srv = undefined;
});

async function metric(name: string): Promise<number> {
  const text = await srv!.server.ctx.metrics.render();
  const match = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  if (!match) throw new Error(`no metric ${name}`);
  return Number(match[1]);
}

function pause(client: RawClient): void {
  (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
}

function resume(client: RawClient): void {
  (client.ws as unknown as { _socket: { resume(): void } })._socket.resume();
}

/** Commits COMMITS batches of new directories; after each, waits for `live` to receive it as one live message. */
async function commitMany(writer: RawClient, folder: number, live?: RawClient): Promise<{ paths: Set<string>; head: number; liveMessages: Msg[] }> {
  const paths = new Set<string>();
  const liveMessages: Msg[] = [];
  let head = 0;
  for (let c = 0; c < COMMITS; c++) {
    const ops = Array.from({ length: OPS_PER_COMMIT }, (_, i) => dirOp(`c${c}/${LONG}/d${i}`));
    const res = await writer.request({ type: 'commit', folder, ops }, 30_000);
    expect(res.type).toBe('committed');
    head = res.rev as number;
    for (const op of ops) paths.add(op.path);
    if (live) liveMessages.push(await live.next((m) => m.type === 'changes' && m.rev === head, 30_000));
  }
  return { paths, head, liveMessages };
}

/** Every `changes` until one at `head` with nothing more: the feed as the client got it. */
async function feedUpTo(client: RawClient, head: number): Promise<Msg[]> {
  const messages: Msg[] = [];
  for (;;) {
    const m = await client.next((x) => x.type === 'changes', 30_000);
    messages.push(m);
    if (m.rev === head && !m.more) return messages;
  }
}

function expectContiguous(messages: Msg[], from: number): void {
  let cursor = from;
  for (const m of messages) {
    expect(m.from).toBe(cursor);
    cursor = m.rev as number;
  }
}

function pathsIn(messages: Msg[]): Set<string> {
  return new Set(messages.flatMap((m) => (m.entries as Entry[]).map((e) => e.path)));
}

describe('a subscriber that stops reading', () => {
  it('holds at most the feed window in the server, then gets every revision in order once it reads again; others stay live', async () => {
    srv = await startServer({ heartbeatMs: 600_000 });
    const window = srv.server.ctx.feedWindowBytes;
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const { client: stalled } = await RawClient.open(srv.wsUrl, alice.token);
    const { client: reader } = await RawClient.open(srv.wsUrl, alice.token);
    const { client: writer } = await RawClient.open(srv.wsUrl, alice.token);
    const start = (await stalled.subscribe(alice.folderId)).rev;
    expect((await reader.subscribe(alice.folderId)).rev).toBe(start);
    pause(stalled);

    const { paths, head, liveMessages } = await commitMany(writer, alice.folderId, reader);

    // The reader beside it got each commit live, as its own message, in order.
    expect(liveMessages).toHaveLength(COMMITS);
    expectContiguous(liveMessages, start);
    const fed = liveMessages.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m)), 0);
    const largest = Math.max(...liveMessages.map((m) => Buffer.byteLength(JSON.stringify(m))));
    expect(fed).toBeGreaterThan(20 * MiB);

    // The stalled one fell behind: no socket ever held more than the window and one message.
    expect(await metric('ferry_feed_fell_behind_total')).toBeGreaterThanOrEqual(1);
    expect(await metric('ferry_feed_paging')).toBe(1);
    expect(await metric('ferry_socket_backlog_peak_bytes')).toBeLessThanOrEqual(window + largest);
    expect(await metric('ferry_feed_backlog_peak_bytes')).toBeLessThanOrEqual(2 * (window + largest));

    resume(stalled);
    const caughtUp = await feedUpTo(stalled, head);
    expectContiguous(caughtUp, start);
    expect(pathsIn(caughtUp)).toEqual(paths);
    // What it missed came coalesced: fewer, larger messages than commits.
    expect(caughtUp.length).toBeLessThan(COMMITS);
    expect(caughtUp.some((m) => m.more === true)).toBe(true);

    // Back at the head it is live again: the next commit arrives as one live message.
    const next = await writer.request({ type: 'commit', folder: alice.folderId, ops: [dirOp('after')] });
    for (const c of [stalled, reader]) {
      expect(await c.next((m) => m.type === 'changes')).toMatchObject({ from: head, rev: next.rev, more: false, entries: [{ path: 'after' }] });
    }
    expect(await metric('ferry_feed_paging')).toBe(0);
    for (const c of [stalled, reader, writer]) c.close();
  }, 180_000);
});

describe('the send budget across all sockets', () => {
  it('pauses the feed of readers with anything queued above half the budget, without cutting anyone', async () => {
    // A window far above the budget: only the budget can hold the stalled subscriber back.
    srv = await startServer({ heartbeatMs: 600_000, feedWindowBytes: 256 * MiB, maxQueuedBytes: 4 * MiB });
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const { client: stalled } = await RawClient.open(srv.wsUrl, alice.token);
    const { client: writer } = await RawClient.open(srv.wsUrl, alice.token);
    const start = (await stalled.subscribe(alice.folderId)).rev;
    pause(stalled);

    const { paths, head } = await commitMany(writer, alice.folderId);

    expect(await metric('ferry_feed_fell_behind_total')).toBeGreaterThanOrEqual(1);
    expect(await metric('ferry_budget_cuts_total')).toBe(0);
    // Half the budget, plus the one message that took it over.
    expect(await metric('ferry_feed_backlog_peak_bytes')).toBeLessThanOrEqual(2 * MiB + 1 * MiB);

    resume(stalled);
    const caughtUp = await feedUpTo(stalled, head);
    expectContiguous(caughtUp, start);
    expect(pathsIn(caughtUp)).toEqual(paths);
    for (const c of [stalled, writer]) c.close();
  }, 180_000);

  it('cuts the connection with the most queued when all sockets together go over it; the others carry on', async () => {
    // Below the 4 MiB of replies a connection may have queued before it is read no further.
    srv = await startServer({ heartbeatMs: 600_000, maxQueuedBytes: 2 * MiB });
    const alice = await seedUser(srv.store, 'alice', 'Docs');
    const { client: writer } = await RawClient.open(srv.wsUrl, alice.token);
    // One path with 1,000 revisions, so each ~100-byte history request is answered with ~250 KB.
    const ops = Array.from({ length: 1000 }, (_, i) => dirOp('busy', i, 0o700 + (i % 2)));
    expect(await writer.request({ type: 'commit', folder: alice.folderId, ops })).toMatchObject({ type: 'committed', rev: 1000 });

    // Replies are not feed: the server stops working on a connection's requests once 4 MiB of
    // its replies are unsent, so ~50 MB asked for and never read passes the 2 MiB budget.
    const { client: flooder } = await RawClient.open(srv.wsUrl, alice.token);
    try {
      pause(flooder);
      const request = JSON.stringify({ type: 'history', req: 1, folder: alice.folderId, path: 'busy', limit: 1000 });
      for (let i = 0; i < 200; i++) flooder.sendRaw(request, false);

      await eventually(async () => (await metric('ferry_budget_cuts_total')) >= 1, 30_000, 'the flooder to be cut');
      await eventually(async () => (await metric('ferry_connections')) === 1, 30_000, 'only the writer to be left');
      await eventually(async () => (await metric('ferry_feed_backlog_bytes')) === 0, 30_000, 'the budget to be given back');
      expect(await writer.request({ type: 'history', folder: alice.folderId, path: 'busy', limit: 1 })).toMatchObject({ type: 'revisions' });
    } finally {
      flooder.ws.terminate();
      writer.close();
    }
  }, 120_000);
});
