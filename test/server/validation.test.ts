/**
 * Bad input at the protocol boundary: every class of bad request gets a clear `error` and
 * leaves the connection usable; framing violations close only the offending socket; and
 * another client connected at the same time keeps being served throughout.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkNewPath, checkPath } from '../../src/shared/paths.js';
import { encodeFrame, FrameKind } from '../../src/shared/protocol/frames.js';
import type { Op } from '../../src/shared/protocol/messages.js';
import { dirOp, entriesOf, expectContained, fileOp, KiB, MiB, nextChangeFor, startContainedServer } from '../helpers/fixtures.js';
import { putFile, RawClient, sha256, type Msg } from '../helpers/raw-client.js';
import { removeDir, seedUser, type TestServer } from '../helpers/server.js';

const LIMITS = {
  maxOpsPerCommit: 5,
  maxFileBytes: 1 * MiB,
  maxChunkBytes: 128 * KiB,
  maxFrameDataBytes: 64 * KiB,
  maxMessageBytes: 256 * KiB,
  maxHashesPerRequest: 4,
};

let srv: TestServer & { parent: string };
let alice: Awaited<ReturnType<typeof seedUser>>;
let folder: number;
/** Connected for the whole file and subscribed to the folder: the client that must never notice. */
let bystander: RawClient;
/** A fresh connection per test: the one that misbehaves. */
let a: RawClient;

beforeAll(async () => {
  srv = await startContainedServer({ limits: LIMITS });
  alice = await seedUser(srv.store, 'alice', 'Docs');
  folder = alice.folderId;
  bystander = (await RawClient.open(srv.wsUrl, alice.token)).client;
  await bystander.subscribe(folder);
});
afterAll(async () => {
  bystander.close();
  await srv.close();
  await removeDir(srv.parent);
});
beforeEach(async () => {
  const opened = await RawClient.open(srv.wsUrl, alice.token);
  expect(opened.welcome.type).toBe('welcome');
  a = opened.client;
});
afterEach(() => a.close());

let seq = 0;

/** `client` still commits, and the bystander still gets the change live and answers requests. */
async function expectServing(client: RawClient): Promise<void> {
  const path = `alive-${++seq}`;
  const res = await client.request({ type: 'commit', folder, ops: [dirOp(path)] });
  expect(res).toMatchObject({ type: 'committed', results: [{ path, rev: expect.any(Number) }] });
  const rev = (res.results as { rev: number }[])[0]!.rev;
  const live = await nextChangeFor(bystander, folder, path);
  expect(live).toMatchObject({ from: rev - 1, rev, more: false });
  expect(entriesOf(live)).toEqual([expect.objectContaining({ path, rev, kind: 'dir', deleted: false })]);
  expect(await bystander.request({ type: 'history', folder, path })).toMatchObject({ type: 'revisions', entries: [{ path, rev }] });
}

/** The server keeps serving everyone else, checked through a brand-new connection and the bystander. */
async function expectOthersServing(): Promise<void> {
  const { client } = await RawClient.open(srv.wsUrl, alice.token);
  await expectServing(client);
  client.close();
}

function expectError(m: Msg, code: string, req: number | undefined, hint?: RegExp): void {
  expect(m.type).toBe('error');
  expect(m.code).toBe(code);
  if (req === undefined) expect(m).not.toHaveProperty('req');
  else expect(m.req).toBe(req);
  expect(typeof m.message).toBe('string');
  expect((m.message as string).length).toBeGreaterThan(0);
  if (hint) expect(m.message).toMatch(hint);
}

async function expectRequestError(message: Record<string, unknown>, code: string, hint?: RegExp): Promise<Msg> {
  const reply = await a.request(message);
  expect(reply.type, JSON.stringify(reply)).toBe('error');
  expectError(reply, code, reply.req as number, hint);
  return reply;
}

// ---- paths ----------------------------------------------------------------------------

const seg200 = 'a'.repeat(200);
const INVALID_PATHS: [string, string, RegExp][] = [
  ['absolute', '/etc/passwd', /absolute/],
  ['absolute, one segment', '/evil', /absolute/],
  ['a leading ..', '../evil', /'\.\.'/],
  ['a .. escaping from below', 'a/../../evil', /'\.\.'/],
  ['just ..', '..', /'\.\.'/],
  ['a . segment', 'a/./b', /'\.'/],
  ['just .', '.', /'\.'/],
  ['empty', '', /empty/],
  ['an empty segment', 'a//b', /empty segment/],
  ['a trailing slash', 'a/', /empty segment/],
  ['NUL', 'a\u0000b', /control|NUL/],
  ['a newline', 'a\nb', /control/],
  ['an escape', 'a\u001bb', /control/],
  ['DEL', 'a\u007fb', /control/],
  ['a backslash', 'a\\b', /backslash/],
  ['a backslash escape', '..\\evil', /backslash/],
  ['a drive letter', 'C:/Windows/evil', /drive letter/],
  ['a bare drive letter', 'c:evil', /drive letter/],
  ['not NFC', 'caf' + 'e\u0301' + '.txt', /NFC/],
  ['over 4096 bytes', Array(21).fill(seg200).join('/'), /4096/],
  ['a segment over 255 bytes', 'dir/' + 'x'.repeat(256), /255/],
  ['a segment over 255 bytes (2-byte chars)', '\u00e9'.repeat(128), /255/],
  ['the reserved .ferry', '.ferry', /reserved/],
  ['inside .ferry', '.ferry/staging/x', /reserved/],
];

describe('invalid paths → invalid_path, connection stays', () => {
  it.each(INVALID_PATHS)('%s', async (_name, bad, hint) => {
    expect(checkPath(bad).ok).toBe(false);
    const data = Buffer.from('x');
    const attempts: Record<string, unknown>[] = [
      { type: 'commit', folder, ops: [putFile(bad, data)] },
      { type: 'commit', folder, ops: [dirOp(bad)] },
      { type: 'commit', folder, ops: [{ op: 'delete', path: bad, baseRev: 1 }] },
      { type: 'commit', folder, ops: [{ op: 'move', from: bad, path: 'fine', baseRev: 1 }] },
      { type: 'commit', folder, ops: [{ op: 'move', from: 'fine', path: bad, baseRev: 1 }] },
      // one bad op spoils the batch: nothing of it is committed
      { type: 'commit', folder, ops: [dirOp(`batch-${++seq}`), dirOp(bad)] },
      { type: 'history', folder, path: bad },
      { type: 'restore', folder, path: bad, rev: 1 },
    ];
    for (const message of attempts) await expectRequestError(message, 'invalid_path', hint);
    await expectServing(a);
  });

  it('accepts paths right at the limits (so the refusals above are about the rule, not the shape)', async () => {
    const exactly4096 = Array(17).fill('b'.repeat(240)).join('/');
    expect(Buffer.byteLength(exactly4096)).toBe(4096);
    const ok1 = [exactly4096, 'y'.repeat(255), '\u00e9'.repeat(127), 'caf\u00e9.txt', '...x'];
    const ok2 = ['a..b', '.ferryish', 'sub/.ferry-not-reserved', 'spaced name.txt'];
    const ok3 = ['console.txt', 'com10', 'nullable.js', ' leading'];
    for (const paths of [ok1, ok2, ok3]) {
      for (const p of paths) expect(checkNewPath(p).ok).toBe(true);
      const res = await a.request({ type: 'commit', folder, ops: paths.map((p) => dirOp(p)) });
      expect(res.type, JSON.stringify(res)).toBe('committed');
      expect((res.results as { path: string; rev?: number }[]).map((r) => [r.path, typeof r.rev])).toEqual(
        paths.map((p) => [p, 'number']),
      );
    }
    // the NFC-composed name the client should have sent lands under exactly that name
    const history = await a.request({ type: 'history', folder, path: 'caf\u00e9.txt' });
    expect(history).toMatchObject({ type: 'revisions', entries: [{ path: 'caf\u00e9.txt', kind: 'dir' }] });
  });
});

// Names no supported OS may be asked to create: Windows opens a device instead (CON, NUL,
// COM1, … with any extension), or silently drops a trailing dot or space.
const DEVICE_NAMES: [string, RegExp][] = [
  ['CON', /device name/],
  ['nul.txt', /device name/],
  ['docs/Aux.c', /device name/],
  ['COM1', /device name/],
  ['lpt9.log/inner', /device name/],
  ['prn', /device name/],
  ['CONIN$', /device name/],
  ['name.', /dot or space/],
  ['dir /x', /dot or space/],
  ['...', /dot or space/],
];

describe('names no OS can hold → invalid_path when created', () => {
  it.each(DEVICE_NAMES)('%s', async (bad, hint) => {
    expect(checkNewPath(bad).ok).toBe(false);
    const creations: Record<string, unknown>[] = [
      { type: 'commit', folder, ops: [putFile(bad, Buffer.from('x'))] },
      { type: 'commit', folder, ops: [dirOp(bad)] },
      { type: 'commit', folder, ops: [{ op: 'move', from: 'fine', path: bad, baseRev: 1 }] },
      { type: 'commit', folder, ops: [dirOp(`batch-${++seq}`), dirOp(bad)] },
      { type: 'restore', folder, path: bad, rev: 1 },
    ];
    for (const message of creations) await expectRequestError(message, 'invalid_path', hint);
    await expectServing(a);
  });

  it('a name stored before the rule can still be read, moved away and deleted', async () => {
    // Written past the protocol, as a server that predates the rule would have accepted it.
    const made = await srv.store.commit(folder, [dirOp('LPT1') as Op], 'old-client', Date.now());
    expect(made.kind).toBe('committed');
    const rev = made.kind === 'committed' ? made.from + 1 : 0;
    expect(await a.request({ type: 'history', folder, path: 'LPT1' })).toMatchObject({ type: 'revisions', entries: [{ path: 'LPT1', rev }] });
    const moved = await a.request({ type: 'commit', folder, ops: [{ op: 'move', from: 'LPT1', path: 'lpt1-renamed', baseRev: rev }] });
    expect(moved).toMatchObject({ type: 'committed', results: [{ path: 'lpt1-renamed' }] });
    const again = await srv.store.commit(folder, [dirOp('AUX') as Op], 'old-client', Date.now());
    const auxRev = again.kind === 'committed' ? again.from + 1 : 0;
    const deleted = await a.request({ type: 'commit', folder, ops: [{ op: 'delete', path: 'AUX', baseRev: auxRev }] });
    expect(deleted).toMatchObject({ type: 'committed', results: [{ path: 'AUX', rev: expect.any(Number) }] });
  });
});

// ---- malformed requests -----------------------------------------------------------------

const HASH = sha256('some chunk');
const goodPut = () => fileOp('file.bin', [Buffer.from('some chunk')]);

const BAD_REQUESTS: [string, Record<string, unknown>, RegExp?][] = [
  ['commit: folder is a string', { type: 'commit', folder: '1', ops: [dirOp('d')] }, /folder/],
  ['commit: folder 0', { type: 'commit', folder: 0, ops: [dirOp('d')] }, /folder/],
  ['commit: folder over uint32', { type: 'commit', folder: 2 ** 32, ops: [dirOp('d')] }, /folder/],
  ['commit: ops missing', { type: 'commit', folder: 1 }, /ops/],
  ['commit: ops not an array', { type: 'commit', folder: 1, ops: 'put everything' }, /ops/],
  ['commit: no ops', { type: 'commit', folder: 1, ops: [] }, /ops/],
  ['commit: an op that is not an object', { type: 'commit', folder: 1, ops: [42] }],
  ['commit: an unknown op', { type: 'commit', folder: 1, ops: [{ op: 'chmod', path: 'a', baseRev: 0 }] }, /\bput\b/],
  ['put: size is a string', { type: 'commit', folder: 1, ops: [{ ...goodPut(), size: '10' }] }, /size/],
  ['put: size beyond 2^53', { type: 'commit', folder: 1, ops: [{ ...goodPut(), size: 2 ** 53, chunks: [[HASH, 2 ** 53]] }] }],
  ['put: size 1e300', { type: 'commit', folder: 1, ops: [{ ...goodPut(), size: 1e300 }] }],
  ['put: negative size', { type: 'commit', folder: 1, ops: [{ ...goodPut(), size: -1 }] }],
  ['put: fractional baseRev', { type: 'commit', folder: 1, ops: [{ ...goodPut(), baseRev: 1.5 }] }, /baseRev/],
  ['put: negative baseRev', { type: 'commit', folder: 1, ops: [{ ...goodPut(), baseRev: -1 }] }, /baseRev/],
  ['put: baseRev missing', { type: 'commit', folder: 1, ops: [{ ...goodPut(), baseRev: undefined }] }, /baseRev/],
  ['put: mode beyond 0o777', { type: 'commit', folder: 1, ops: [{ ...goodPut(), mode: 0o4755 }] }, /mode/],
  ['put: unknown kind', { type: 'commit', folder: 1, ops: [{ ...goodPut(), kind: 'socket' }] }, /kind/],
  ['put: hash in upper case', { type: 'commit', folder: 1, ops: [{ ...goodPut(), hash: HASH.toUpperCase() }] }, /hash/],
  ['put: short hash', { type: 'commit', folder: 1, ops: [{ ...goodPut(), hash: 'abc123' }] }, /hash/],
  ['put: chunk without size', { type: 'commit', folder: 1, ops: [{ ...goodPut(), chunks: [[HASH]] }] }, /chunks/],
  ['put: chunk sizes do not add up', { type: 'commit', folder: 1, ops: [{ ...goodPut(), size: 11 }] }, /add up/],
  ['put: file without a hash', { type: 'commit', folder: 1, ops: [{ ...goodPut(), hash: '' }] }, /hash/],
  ['put: file with a target', { type: 'commit', folder: 1, ops: [{ ...goodPut(), target: 'elsewhere' }] }, /target/],
  ['put: dir with a hash', { type: 'commit', folder: 1, ops: [{ ...dirOp('d'), hash: HASH }] }, /directory/],
  ['put: dir with chunks', { type: 'commit', folder: 1, ops: [{ ...dirOp('d'), chunks: [[HASH, 10]], size: 10 }] }, /directory/],
  ['put: symlink without target', { type: 'commit', folder: 1, ops: [{ ...dirOp('l'), kind: 'symlink' }] }, /target/],
  ['put: symlink target with NUL', { type: 'commit', folder: 1, ops: [{ ...dirOp('l'), kind: 'symlink', target: 'a\u0000b' }] }],
  ['delete: baseRev is a string', { type: 'commit', folder: 1, ops: [{ op: 'delete', path: 'a', baseRev: '3' }] }, /baseRev/],
  ['move: baseRev missing', { type: 'commit', folder: 1, ops: [{ op: 'move', from: 'a', path: 'b' }] }, /baseRev/],
  ['move: into itself', { type: 'commit', folder: 1, ops: [{ op: 'move', from: 'a', path: 'a/b', baseRev: 1 }] }, /itself/],
  ['move: onto itself', { type: 'commit', folder: 1, ops: [{ op: 'move', from: 'a', path: 'a', baseRev: 1 }] }, /itself/],
  ['has: hashes missing', { type: 'has', folder: 1 }, /hashes/],
  ['has: hashes not an array', { type: 'has', folder: 1, hashes: HASH }, /hashes/],
  ['has: a bad hash', { type: 'has', folder: 1, hashes: [HASH, 'not-a-hash'] }, /hashes/],
  ['get: hash missing', { type: 'get', folder: 1 }, /hash/],
  ['get: folder negative', { type: 'get', folder: -3, hash: HASH }, /folder/],
  ['history: limit 0', { type: 'history', folder: 1, path: 'a', limit: 0 }, /limit/],
  ['history: limit too large', { type: 'history', folder: 1, path: 'a', limit: 1_000_000 }, /limit/],
  ['restore: rev is a string', { type: 'restore', folder: 1, path: 'a', rev: '3' }, /rev/],
  ['restore: rev missing', { type: 'restore', folder: 1, path: 'a' }, /rev/],
];

describe('malformed requests → bad_request, connection stays', () => {
  it.each(BAD_REQUESTS)('%s', async (_name, message, hint) => {
    await expectRequestError(message, 'bad_request', hint);
    await expectServing(a);
  });

  it('a bad request that has no (valid) req gets an error without one', async () => {
    a.send({ type: 'subscribe', folder: 'Docs', cursor: 0 });
    expectError(await a.next((m) => m.type === 'error'), 'bad_request', undefined, /folder/);
    a.send({ type: 'has', req: 2 ** 40, folder, hashes: [] });
    expectError(await a.next((m) => m.type === 'error'), 'bad_request', undefined, /req/);
    a.send({ type: 'subscribe', folder, cursor: -1 });
    expectError(await a.next((m) => m.type === 'error'), 'bad_request', undefined, /cursor/);
    // hello carries no req; a second one is refused and the connection stays
    a.send({ type: 'hello', protocol: 1, client: 'again' });
    expectError(await a.next((m) => m.type === 'error'), 'bad_request', undefined, /hello/);
    await expectServing(a);
  });

  it('nothing of a refused request is committed', async () => {
    const before = await a.subscribe(folder);
    a.send({ type: 'unsubscribe', folder });
    await expectRequestError({ type: 'commit', folder, ops: [dirOp('never-1'), { ...dirOp('never-2'), hash: HASH }] }, 'bad_request');
    await expectRequestError({ type: 'commit', folder, ops: [dirOp('never-3'), dirOp('../never-4')] }, 'invalid_path');
    const after = await a.subscribe(folder, before.rev);
    expect(after.rev).toBe(before.rev);
    expect(after.entries).toEqual([]);
  });
});

describe('unknown message types → unknown_type, connection stays', () => {
  it.each([
    ['made up', { type: 'frobnicate' }],
    ['a server-only message', { type: 'welcome' }],
    ['an empty type', { type: '' }],
  ])('%s', async (_name, message) => {
    await expectRequestError(message, 'unknown_type');
    await expectServing(a);
  });
});

// ---- limits -------------------------------------------------------------------------------

describe('limits → too_large (or an error), connection stays', () => {
  it('announces its limits in welcome', async () => {
    const { client, welcome } = await RawClient.open(srv.wsUrl, alice.token);
    expect(welcome.limits).toMatchObject(LIMITS);
    client.close();
  });

  it(`refuses more than maxOpsPerCommit ops, and takes exactly that many`, async () => {
    const six = Array.from({ length: 6 }, (_, i) => dirOp(`six-${i}`));
    await expectRequestError({ type: 'commit', folder, ops: six }, 'too_large', /5/);
    const none = await a.request({ type: 'history', folder, path: 'six-0' });
    expect(none).toMatchObject({ type: 'revisions', entries: [] });
    const five = Array.from({ length: 5 }, (_, i) => dirOp(`five-${i}`));
    const res = await a.request({ type: 'commit', folder, ops: five });
    expect(res.type).toBe('committed');
    expect(res.results).toHaveLength(5);
    await expectServing(a);
  });

  it('refuses a file over maxFileBytes', async () => {
    // nine chunks of 128 KiB: every chunk is legal, the file is not
    const chunk = Buffer.alloc(128 * KiB, 7);
    const op = fileOp('too-big.bin', Array(9).fill(chunk));
    expect(op.size).toBeGreaterThan(LIMITS.maxFileBytes);
    await expectRequestError({ type: 'commit', folder, ops: [op] }, 'too_large', /too-big\.bin/);
    await expectServing(a);
  });

  it('refuses a commit naming a chunk over maxChunkBytes, or of 0 bytes', async () => {
    const big = { ...goodPut(), size: LIMITS.maxChunkBytes + 1, chunks: [[HASH, LIMITS.maxChunkBytes + 1]] };
    await expectRequestError({ type: 'commit', folder, ops: [big] }, 'bad_request', /chunk/);
    const empty = { ...goodPut(), size: 0, chunks: [[HASH, 0]] };
    await expectRequestError({ type: 'commit', folder, ops: [empty] }, 'bad_request', /chunk/);
    await expectServing(a);
  });

  it('refuses a has with more than maxHashesPerRequest hashes', async () => {
    const hashes = Array.from({ length: 5 }, (_, i) => sha256(`h${i}`));
    await expectRequestError({ type: 'has', folder, hashes }, 'too_large');
    const ok = await a.request({ type: 'has', folder, hashes: hashes.slice(0, 4) });
    expect(ok).toMatchObject({ type: 'have', missing: hashes.slice(0, 4) });
    await expectServing(a);
  });

  it('refuses an upload frame for a chunk over maxChunkBytes', async () => {
    const req = 900_001;
    const data = Buffer.alloc(1000, 1);
    const hash = sha256(data);
    a.sendRaw(encodeFrame({ kind: FrameKind.upload, req, folder, hash, offset: 0, total: LIMITS.maxChunkBytes + 1 }, data));
    expectError(await a.next((m) => m.req === req), 'too_large', req);
    expect(await a.request({ type: 'has', folder, hashes: [hash] })).toMatchObject({ type: 'have', missing: [hash] });
    await expectServing(a);
  });

  it('refuses an upload frame carrying more than maxFrameDataBytes', async () => {
    const req = 900_002;
    const data = Buffer.alloc(LIMITS.maxFrameDataBytes + 1, 2);
    const hash = sha256(data);
    a.sendRaw(encodeFrame({ kind: FrameKind.upload, req, folder, hash, offset: 0, total: data.length }, data));
    expectError(await a.next((m) => m.req === req), 'too_large', req);
    expect(await a.request({ type: 'has', folder, hashes: [hash] })).toMatchObject({ type: 'have', missing: [hash] });
    // the same chunk in frames the server allows is stored
    expect(await a.upload(folder, data, LIMITS.maxFrameDataBytes)).toMatchObject({ type: 'stored', hash });
    await expectServing(a);
  });

  it('answers a message of exactly maxMessageBytes normally', async () => {
    const body = JSON.stringify({ type: 'has', req: 77, folder, hashes: [] });
    a.sendRaw(body + ' '.repeat(LIMITS.maxMessageBytes - Buffer.byteLength(body)), false);
    expect(await a.next((m) => m.req === 77)).toMatchObject({ type: 'have', missing: [] });
  });

  it('closes a connection sending a text message over maxMessageBytes with 1009', async () => {
    const body = JSON.stringify({ type: 'has', req: 78, folder, hashes: [] });
    a.sendRaw(body + ' '.repeat(LIMITS.maxMessageBytes + 1 - Buffer.byteLength(body)), false);
    expect((await a.closed).code).toBe(1009);
    expect(a.pending().filter((m) => m.req === 78)).toEqual([]);
    await expectOthersServing();
  });

  it('closes a connection sending a binary message over maxMessageBytes with 1009', async () => {
    const data = Buffer.alloc(LIMITS.maxMessageBytes, 3);
    a.sendRaw(encodeFrame({ kind: FrameKind.upload, req: 5, folder, hash: sha256(data), offset: 0, total: data.length }, data));
    expect((await a.closed).code).toBe(1009);
    await expectOthersServing();
  });
});

// ---- framing violations ----------------------------------------------------------------------

describe('framing violations close the socket with 4400; others are unaffected', () => {
  const frame = (over: Partial<{ kind: number; offset: number; total: number }>, data = Buffer.from('abc')) =>
    encodeFrame({ kind: FrameKind.upload, req: 1, folder: 1, hash: sha256(data), offset: 0, total: data.length, ...over } as never, data);

  it.each<[string, string | Buffer]>([
    ['text that is not JSON', 'hello there'],
    ['truncated JSON', '{"type":"has","req":1'],
    ['a JSON array', JSON.stringify([{ type: 'has', req: 1, folder: 1, hashes: [] }])],
    ['a JSON string', JSON.stringify('has')],
    ['JSON null', 'null'],
    ['an object without type', JSON.stringify({ req: 1, folder: 1, hashes: [] })],
    ['an object whose type is not a string', JSON.stringify({ type: 7, req: 1 })],
    ['a binary frame shorter than its header', Buffer.alloc(48, 1)],
    ['an empty binary frame', Buffer.alloc(0)],
    ['a binary frame of unknown kind', frame({ kind: 9 })],
    ['a download frame from a client', frame({ kind: FrameKind.download })],
    ['a binary frame running past its chunk', frame({ offset: 2, total: 4 })],
  ])('%s', async (_name, data) => {
    a.sendRaw(data, Buffer.isBuffer(data));
    const closed = await a.closed;
    expect(closed.code).toBe(4400);
    expect(closed.reason.length).toBeGreaterThan(0);
    await expectOthersServing();
  });

  it('a request before hello', async () => {
    const c = await RawClient.connect(srv.wsUrl, alice.token);
    c.send({ type: 'subscribe', folder, cursor: 0 });
    expect((await c.closed).code).toBe(4400);
    expect(c.pending().filter((m) => m.type === 'changes')).toEqual([]);
    await expectOthersServing();
  });

  it('a binary frame before hello', async () => {
    const c = await RawClient.connect(srv.wsUrl, alice.token);
    const data = Buffer.from('early bytes');
    c.sendRaw(encodeFrame({ kind: FrameKind.upload, req: 1, folder, hash: sha256(data), offset: 0, total: data.length }, data));
    expect((await c.closed).code).toBe(4400);
    expect(await bystander.request({ type: 'has', folder, hashes: [sha256(data)] })).toMatchObject({ missing: [sha256(data)] });
    await expectOthersServing();
  });

  it('a hello for protocol 2 is closed with 4409, after an error saying why', async () => {
    const c = await RawClient.connect(srv.wsUrl, alice.token);
    c.send({ type: 'hello', protocol: 2, client: 'from the future' });
    expect((await c.closed).code).toBe(4409);
    expect(c.pending()).toEqual([expect.objectContaining({ type: 'error', code: 'unsupported_protocol' })]);
    await expectOthersServing();
  });
});

// ---- containment ---------------------------------------------------------------------------

describe('after all of the above', () => {
  it('nothing invalid reached the journal', async () => {
    const { entries } = await a.subscribe(folder);
    expect(entries.length).toBeGreaterThan(10);
    for (const e of entries) expect(checkPath(e.path), JSON.stringify(e.path)).toEqual({ ok: true });
    for (const e of entries) expect(e.path).not.toMatch(/evil|never-/);
  });

  it('nothing was written outside the data directory', async () => {
    await expectContained(srv.parent, srv.dataDir);
  });
});
