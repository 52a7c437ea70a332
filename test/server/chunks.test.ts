/**
 * Chunk transfer: verification before storage, multi-frame uploads and downloads, resuming
 * an interrupted upload, frame ordering, and what lands on disk.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as admin from '../../src/server/admin.js';
import { encodeFrame, FRAME_HEADER_BYTES, FrameKind } from '../../src/shared/protocol/frames.js';
import { bytes, chunkFile, expectBytes, expectContained, fileOp, KiB, MiB, startContainedServer, storedCopies } from '../helpers/fixtures.js';
import { RawClient, sha256, type Msg } from '../helpers/raw-client.js';
import { removeDir, seedUser, type TestServer } from '../helpers/server.js';

let srv: TestServer & { parent: string };
let alice: Awaited<ReturnType<typeof seedUser>>;
let otherFolder: number;
let c: RawClient;
let nextReq = 700_000;

beforeAll(async () => {
  srv = await startContainedServer();
  alice = await seedUser(srv.store, 'alice', 'Docs');
  otherFolder = (await admin.createFolder(srv.store, 'Other', 'alice')).id;
  c = (await RawClient.open(srv.wsUrl, alice.token)).client;
});
afterAll(async () => {
  c.close();
  await srv.close();
  await removeDir(srv.parent);
});

const folder = () => alice.folderId;

function frame(req: number, data: Buffer, offset: number, total: number, hash: string, f = folder()): Buffer {
  return encodeFrame({ kind: FrameKind.upload, req, folder: f, hash, offset, total }, data);
}

async function missing(hashes: string[], f = folder(), client = c): Promise<string[]> {
  const m = await client.request({ type: 'has', folder: f, hashes });
  expect(m.type, JSON.stringify(m)).toBe('have');
  return m.missing as string[];
}

function expectError(m: Msg, code: string, req: number): void {
  expect(m, JSON.stringify(m)).toMatchObject({ type: 'error', code, req });
  expect((m.message as string).length).toBeGreaterThan(0);
}

describe('verification', () => {
  it('a chunk whose bytes do not match its hash is refused and not stored', async () => {
    const real = bytes(5000, 1);
    const claimed = sha256(bytes(5000, 2));
    const req = nextReq++;
    c.sendRaw(frame(req, real, 0, real.length, claimed));
    expectError(await c.next((m) => m.req === req), 'hash_mismatch', req);
    expect(await missing([claimed, sha256(real)])).toEqual([claimed, sha256(real)]);
    expect(existsSync(chunkFile(srv.dataDir, claimed))).toBe(false);
    expect(existsSync(chunkFile(srv.dataDir, sha256(real)))).toBe(false);
    expect(await srv.store.chunkKnown(claimed)).toBe(false);
    expect(await readdir(join(srv.dataDir, 'tmp'))).toEqual([]);
    // a commit naming it still needs it
    const put = await c.request({ type: 'commit', folder: folder(), ops: [{ ...fileOp('bad.bin', [real]), hash: claimed, chunks: [[claimed, 5000]] }] });
    expect(put).toMatchObject({ type: 'need', chunks: [claimed] });
  });

  it('the same holds when the mismatch is only visible once all frames are in', async () => {
    const real = bytes(300 * KiB, 3);
    const tampered = Buffer.from(real);
    tampered[tampered.length - 1]! ^= 0xff;
    const hash = sha256(real);
    const reply = await c.upload(folder(), tampered, 100 * KiB, hash);
    expect(reply).toMatchObject({ type: 'error', code: 'hash_mismatch' });
    expect(await missing([hash])).toEqual([hash]);
    expect(existsSync(chunkFile(srv.dataDir, hash))).toBe(false);
    // the genuine bytes are then accepted on the same connection
    expect(await c.upload(folder(), real, 100 * KiB)).toMatchObject({ type: 'stored', hash });
    expect(await missing([hash])).toEqual([]);
    expect((await readFile(chunkFile(srv.dataDir, hash))).equals(real)).toBe(true);
  });

  it('a chunk that is not there is not_found', async () => {
    expect(await c.download(folder(), sha256('never uploaded'))).toMatchObject({ type: 'error', code: 'not_found' });
  });
});

describe('multi-frame transfers', () => {
  async function roundTrip(data: Buffer, frameBytes: number): Promise<void> {
    const hash = sha256(data);
    expect(await c.upload(folder(), data, frameBytes)).toMatchObject({ type: 'stored', hash });
    expect(await missing([hash])).toEqual([]);
    const { client: reader } = await RawClient.open(srv.wsUrl, alice.token);
    const sizes: number[] = [];
    reader.ws.on('message', (d: Buffer, isBinary) => isBinary && sizes.push(d.length));
    expectBytes(await reader.download(folder(), hash), data);
    // the server sends it in frames of at most maxFrameDataBytes
    expect(sizes).toHaveLength(Math.ceil(data.length / MiB));
    for (const s of sizes) expect(s).toBeLessThanOrEqual(MiB + FRAME_HEADER_BYTES);
    reader.close();
  }

  it('3 MiB uploaded in 1 MiB frames downloads byte-exact', async () => {
    await roundTrip(bytes(3 * MiB, 4), MiB);
  });

  it('an odd size in small uneven frames downloads byte-exact', async () => {
    await roundTrip(bytes(2 * MiB + 12_345, 5), 300 * KiB + 7);
  });

  it('uploads of two chunks may interleave their frames', async () => {
    const x = bytes(200 * KiB, 6);
    const y = bytes(150 * KiB, 7);
    const [rx, ry] = [nextReq++, nextReq++];
    const step = 50 * KiB;
    for (let off = 0; off < x.length; off += step) {
      c.sendRaw(frame(rx, x.subarray(off, off + step), off, x.length, sha256(x)));
      if (off < y.length) c.sendRaw(frame(ry, y.subarray(off, off + step), off, y.length, sha256(y)));
    }
    expect(await c.next((m) => m.req === rx)).toMatchObject({ type: 'stored', hash: sha256(x) });
    expect(await c.next((m) => m.req === ry)).toMatchObject({ type: 'stored', hash: sha256(y) });
    expectBytes(await c.download(folder(), sha256(x)), x);
    expectBytes(await c.download(folder(), sha256(y)), y);
  });
});

describe('resuming an interrupted upload', () => {
  it('after a dropped connection only the chunks not completed are missing', async () => {
    const chunks = [0, 1, 2, 3].map((i) => bytes(600 * KiB, 10 + i));
    const hashes = chunks.map((ch) => sha256(ch));
    const op = fileOp('big.bin', chunks);
    const frameBytes = 150 * KiB;

    const first = (await RawClient.open(srv.wsUrl, alice.token)).client;
    expect(await first.request({ type: 'commit', folder: folder(), ops: [op] })).toMatchObject({ type: 'need', chunks: hashes });
    for (const ch of chunks.slice(0, 2)) expect(await first.upload(folder(), ch, frameBytes)).toMatchObject({ type: 'stored' });
    // half of the third chunk's frames, then the connection dies
    first.sendFrames(nextReq++, folder(), chunks[2]!, frameBytes, hashes[2], chunks[2]!.length / 2);
    first.ws.terminate();
    await first.closed;

    const second = (await RawClient.open(srv.wsUrl, alice.token)).client;
    expect(await missing(hashes, folder(), second)).toEqual([hashes[2], hashes[3]]);
    expect(existsSync(chunkFile(srv.dataDir, hashes[2]!))).toBe(false);
    expect(await second.request({ type: 'commit', folder: folder(), ops: [op] })).toMatchObject({
      type: 'need',
      chunks: [hashes[2], hashes[3]],
    });
    for (const ch of chunks.slice(2)) expect(await second.upload(folder(), ch, frameBytes)).toMatchObject({ type: 'stored' });
    expect(await missing(hashes, folder(), second)).toEqual([]);
    const done = await second.request({ type: 'commit', folder: folder(), ops: [op] });
    expect(done).toMatchObject({ type: 'committed', results: [{ path: 'big.bin', rev: expect.any(Number) }] });

    const parts: Buffer[] = [];
    for (const h of hashes) parts.push((await second.download(folder(), h)) as Buffer);
    expect(sha256(Buffer.concat(parts))).toBe(op.hash);
    expect(await readdir(join(srv.dataDir, 'tmp'))).toEqual([]);
    second.close();
  });
});

describe('frame order', () => {
  const data = bytes(400 * KiB, 20);
  const hash = sha256(data);
  const F = 100 * KiB;
  const piece = (i: number) => data.subarray(i * F, (i + 1) * F);

  it('a skipped frame is refused, and the chunk is not stored', async () => {
    const req = nextReq++;
    c.sendRaw(frame(req, piece(0), 0, data.length, hash));
    c.sendRaw(frame(req, piece(2), 2 * F, data.length, hash));
    expectError(await c.next((m) => m.req === req), 'bad_request', req);
    expect(await missing([hash])).toEqual([hash]);
  });

  it('a repeated frame is refused', async () => {
    const req = nextReq++;
    c.sendRaw(frame(req, piece(0), 0, data.length, hash));
    c.sendRaw(frame(req, piece(1), F, data.length, hash));
    c.sendRaw(frame(req, piece(1), F, data.length, hash));
    expectError(await c.next((m) => m.req === req), 'bad_request', req);
    expect(await missing([hash])).toEqual([hash]);
  });

  it('an upload that starts past offset 0 is refused', async () => {
    const req = nextReq++;
    c.sendRaw(frame(req, piece(1), F, data.length, hash));
    expectError(await c.next((m) => m.req === req), 'bad_request', req);
    expect(await missing([hash])).toEqual([hash]);
  });

  it('a frame that changes the chunk size or the folder midway is refused', async () => {
    const r1 = nextReq++;
    c.sendRaw(frame(r1, piece(0), 0, data.length, hash));
    c.sendRaw(frame(r1, piece(1), F, data.length + 1, hash));
    expectError(await c.next((m) => m.req === r1), 'bad_request', r1);
    const r2 = nextReq++;
    c.sendRaw(frame(r2, piece(0), 0, data.length, hash));
    c.sendRaw(frame(r2, piece(1), F, data.length, hash, otherFolder));
    expectError(await c.next((m) => m.req === r2), 'bad_request', r2);
    expect(await missing([hash])).toEqual([hash]);
    expect(await missing([hash], otherFolder)).toEqual([hash]);
  });

  it('after all those refusals the same connection uploads the chunk in order', async () => {
    expect(await c.upload(folder(), data, F)).toMatchObject({ type: 'stored', hash });
    expect(await missing([hash])).toEqual([]);
    expectBytes(await c.download(folder(), hash), data);
  });
});

describe('bounded assembly', () => {
  it('chunk uploads left half-done pile up only to a bound, then are refused as busy', async () => {
    const { client, welcome } = await RawClient.open(srv.wsUrl, alice.token);
    const total = (welcome.limits as { maxChunkBytes: number }).maxChunkBytes;
    // first frames of many full-size chunks, never continued: the server must not hold them all
    const starts = 64;
    const reqs: number[] = [];
    for (let i = 0; i < starts; i++) {
      const req = nextReq++;
      reqs.push(req);
      client.sendRaw(frame(req, Buffer.from([i]), 0, total, sha256(`partial ${i}`)));
    }
    const busy = await client.next((m) => m.type === 'error' && reqs.includes(m.req as number));
    expect(busy).toMatchObject({ type: 'error', code: 'busy' });
    // the connection itself is fine
    expect(await missing([sha256('x')], folder(), client)).toEqual([sha256('x')]);
    client.close();
    await client.closed;
    // and a fresh connection starts with a clean slate
    const { client: next } = await RawClient.open(srv.wsUrl, alice.token);
    const data = bytes(1000, 40);
    expect(await next.upload(folder(), data)).toMatchObject({ type: 'stored', hash: sha256(data) });
    next.close();
  });
});

describe('storage', () => {
  it.each([
    ['inline in the database', 10 * KiB, 30, { files: 0, blobs: 1 }],
    ['as a file', 100 * KiB, 31, { files: 1, blobs: 0 }],
  ])('a chunk uploaded into two folders is stored once (%s), and usable in each', async (_layout, size, seed, copies) => {
    const data = bytes(size, seed);
    const hash = sha256(data);
    const before = await srv.store.chunkStats();
    expect(await c.upload(folder(), data)).toMatchObject({ type: 'stored', hash });
    expect(await c.upload(otherFolder, data)).toMatchObject({ type: 'stored', hash });
    expect(await srv.store.chunkStats()).toEqual({ count: before.count + 1, bytes: before.bytes + data.length });
    expect(await missing([hash], folder())).toEqual([]);
    expect(await missing([hash], otherFolder)).toEqual([]);
    expectBytes(await c.download(otherFolder, hash), data);
    expect(await storedCopies(srv.dataDir, hash)).toEqual(copies);
  });
});

describe('after all of the above', () => {
  it('nothing was written outside the data directory', async () => {
    await expectContained(srv.parent, srv.dataDir);
  });
});
