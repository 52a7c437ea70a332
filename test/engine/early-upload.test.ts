/**
 * Uploading chunks as the hashing read finds them: against a real server over a real
 * socket. What goes up is stored and verified by the server; an upload limit means no early
 * upload at all; a refused chunk stops it, and the rest is left to the commit's upload.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Connection } from '../../src/engine/net/connection.js';
import { Throttle } from '../../src/engine/net/throttle.js';
import { earlyUpload, type EarlyUploadDeps } from '../../src/engine/sync/early-upload.js';
import { Progress } from '../../src/engine/sync/progress.js';
import { withFrameRoom } from '../../src/shared/protocol/frames.js';
import type { ServerMessageOf } from '../../src/shared/protocol/messages.js';
import { eventually, seedUser, startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let conn: Connection;
let folder: number;
beforeEach(async () => {
  srv = await startServer();
  const seeded = await seedUser(srv.store, 'ann', 'Docs');
  folder = seeded.folderId;
  conn = new Connection({ server: srv.url, token: seeded.token, client: 'test' }, { welcome: () => {}, changes: () => {}, folders: () => {}, state: () => {} });
  conn.start();
  await eventually(() => conn.connected, 5000, 'the connection');
});
afterEach(async () => {
  conn.stop();
  await srv.close();
});

/** A chunk as the hashing worker hands it over: its bytes with room for a frame header. */
function found(data: Buffer, offset: number, hash = createHash('sha256').update(data).digest('hex')) {
  const bytes = withFrameRoom(data.length);
  data.copy(bytes);
  return { hash, size: data.length, offset, data: bytes };
}

const missing = async (hashes: string[]) => (await conn.request<ServerMessageOf<'have'>>({ type: 'has', folder, hashes })).missing;

it('sends what the server lacks as the chunks come, and is done when end() resolves', async () => {
  const progress = new Progress(() => {});
  const deps: EarlyUploadDeps = { conn, up: new Throttle(), progress, folderId: 1 };
  const pieces = [randomBytes(300_000), randomBytes(200_000), randomBytes(100_000)];
  const chunks = pieces.map((p, i) => found(p, i * 300_000));
  const early = earlyUpload(deps, folder, 'big.bin', 600_000)!;
  for (const c of chunks) await early.onChunk(c);
  await early.end();
  expect(await missing(chunks.map((c) => c.hash))).toEqual([]);
  expect(srv.server.ctx.metrics.chunksUploaded).toBe(3);
  expect(progress.snapshot().items).toEqual([]); // its progress entry ended with it
  // The same chunks again (a copy of the file): the server has them, nothing goes up.
  const again = earlyUpload(deps, folder, 'copy.bin', 600_000)!;
  for (const [i, p] of pieces.entries()) await again.onChunk(found(p, i));
  await again.end();
  expect(srv.server.ctx.metrics.chunksUploaded).toBe(3);
});

it('does not start under an upload bandwidth limit', () => {
  const up = new Throttle();
  up.setRate(1024 * 1024);
  expect(earlyUpload({ conn, up, progress: new Progress(() => {}), folderId: 1 }, folder, 'big.bin', 600_000)).toBeUndefined();
});

it('stops at a chunk the server refuses, and leaves the rest to the commit', async () => {
  const early = earlyUpload({ conn, up: new Throttle(), progress: new Progress(() => {}), folderId: 1 }, folder, 'big.bin', 600_000)!;
  const bad = found(randomBytes(100_000), 0, 'ab'.repeat(32)); // bytes that are not what the hash names
  await early.onChunk(bad);
  await early.end();
  const later = found(randomBytes(100_000), 100_000);
  await early.onChunk(later);
  await early.end();
  expect(await missing([bad.hash, later.hash])).toEqual([bad.hash, later.hash]);
  expect(srv.server.ctx.metrics.chunksUploaded).toBe(0);
});
