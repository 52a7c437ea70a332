/**
 * A seeded protocol fuzzer against a real `ferry serve` process. Each batch opens several
 * hostile connections that send mutated valid messages, wrong types, huge numbers, deeply
 * nested JSON, path attacks, binary garbage, forged upload frames, requests out of order,
 * unknown request ids, an oversized message and a flood of requests whose replies are never
 * read, plus raw TCP junk. After every batch: the process is alive, its RSS is bounded, an
 * honest client still commits and sees its change live, another user's folder saw nothing,
 * every reply the server sent was a valid message (never an `internal` error), and nothing
 * was written outside the data directory. At the end `fsck` finds the data clean.
 *
 * The seed is printed; FUZZ_SEED=n repeats a run, FUZZ_RUNS=n runs more batches.
 * Needs `npm run build` (it runs bin/ferry.js).
 */
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsck } from '../../src/server/fsck.js';
import { encodeFrame, FrameKind } from '../../src/shared/protocol/frames.js';
import { DEFAULT_LIMITS } from '../../src/shared/protocol/limits.js';
import { parseServerMessage } from '../../src/shared/protocol/messages.js';
import { bytes, dirOp, expectContained, nextChangeFor } from '../helpers/fixtures.js';
import { commitFile, RawClient, sha256 } from '../helpers/raw-client.js';
import { eventually, parseFirstStart, removeDir, runFerry, spawnServer, tempDir, type SpawnedServer } from '../helpers/server.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const BATCHES = Number(process.env.FUZZ_RUNS ?? 4);
const CONNECTIONS_PER_BATCH = 4;
const MESSAGES_PER_CONNECTION = 150;
/** Far above a healthy server's ~100 MB, far below what unbounded buffering of one batch reaches. */
const RSS_LIMIT_BYTES = 600 * 1024 * 1024;

/** mulberry32: small, fast and good enough to pick fuzz cases reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

const ATTACK_PATHS = [
  '../escape', 'a/../../escape', '/etc/passwd', '/tmp/ferry-fuzz-abs', 'C:/Windows/win.ini', 'c:evil',
  'a\u0000b', 'nul\u0000.txt', 'a\\..\\..\\escape', '..\\escape', 'CON', 'nul.txt', 'COM1', 'LPT9.log', 'trailing.',
  'trailing ', '.ferry', '.ferry/staging/x', 'x'.repeat(256), Array(30).fill('y'.repeat(200)).join('/'),
  'cafe\u0301', 'a//b', './a', 'a/.', '', '\u001b[31mred', '\ud800', '%2e%2e/escape',
];

function randomString(r: Rng): string {
  const alphabets = ['abc', '../\\', '\u0000\u0001\u007f', 'é\u0301日本🎉', '{}[]":,', '\ud800\udfff'];
  const alphabet = r.pick(alphabets);
  let s = '';
  for (let i = r.int(40); i > 0; i--) s += alphabet[r.int(alphabet.length)];
  return s;
}

function deep(depth: number, array: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = array ? [v] : { a: v };
  return v;
}

/** Nesting far deeper than JSON.stringify could write, as text. */
function deepText(depth: number, array: boolean): string {
  return array ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function randomValue(r: Rng): unknown {
  switch (r.int(14)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick([-1, 0, 1.5, 2 ** 32, 2 ** 53, 2 ** 64, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2]);
    case 3: return randomString(r);
    case 4: return 'x'.repeat(r.int(200_000));
    case 5: return [];
    case 6: return {};
    case 7: return deep(r.int(1000), r.chance(0.5));
    case 8: return r.pick(ATTACK_PATHS);
    case 9: return Array.from({ length: r.int(5000) }, () => sha256(String(r.next())));
    case 10: return { __proto__: { polluted: true }, toString: 'x', constructor: { prototype: { polluted: true } } };
    case 11: return sha256(String(r.next())).toUpperCase();
    case 12: return r.int(2 ** 32);
    default: return [randomValue(r), randomValue(r)];
  }
}

function randomPath(r: Rng): string {
  return r.chance(0.5) ? r.pick(ATTACK_PATHS) : `fuzz/${r.int(50)}${r.pick(['', '/deeper', '.txt'])}`;
}

function randomOp(r: Rng, data: Buffer): Record<string, unknown> {
  const path = randomPath(r);
  switch (r.int(5)) {
    case 0: return { op: 'put', path, baseRev: r.int(20), kind: 'file', size: data.length, mtime: 1, mode: 0o644, hash: sha256(data), chunks: [[sha256(data), data.length]], target: '' };
    case 1: return dirOp(path, r.int(3));
    case 2: return { op: 'put', path, baseRev: 0, kind: 'symlink', size: 0, mtime: 1, mode: 0o777, hash: '', chunks: [], target: r.pick(['../../../etc/passwd', '/etc/shadow', 'ok', 'a\u0000b']) };
    case 3: return { op: 'delete', path, baseRev: r.int(50) };
    default: return { op: 'move', from: randomPath(r), path, baseRev: r.int(50) };
  }
}

/** A valid-looking message of some type, for one of the folders (or a made-up one). */
function template(r: Rng, folders: number[]): Record<string, unknown> {
  const folder = r.chance(0.8) ? r.pick(folders) : r.pick([0, 3, 99, 2 ** 32 - 1]);
  const req = r.chance(0.9) ? r.int(1000) : r.int(2 ** 32);
  const data = bytes(1 + r.int(2000), r.int(1000));
  switch (r.int(8)) {
    case 0: return { type: 'hello', protocol: 1, client: 'fuzz' };
    case 1: return { type: 'subscribe', req, folder, cursor: r.int(100) };
    case 2: return { type: 'unsubscribe', folder };
    case 3: return { type: 'commit', req, folder, ops: Array.from({ length: 1 + r.int(4) }, () => randomOp(r, data)) };
    case 4: return { type: 'has', req, folder, hashes: [sha256(data), sha256(String(req))] };
    case 5: return { type: 'get', req, folder, hash: sha256(String(r.int(5))) };
    case 6: return { type: 'history', req, folder, path: randomPath(r), limit: 1 + r.int(1000) };
    default: return { type: 'restore', req, folder, path: randomPath(r), rev: r.int(20) };
  }
}

/** Mutates a message in place: a field replaced, dropped, or a stray one added, at any depth. */
function mutate(r: Rng, message: Record<string, unknown>): Record<string, unknown> {
  for (let n = 1 + r.int(3); n > 0; n--) {
    let target: Record<string, unknown> = message;
    while (r.chance(0.4)) {
      const inner = Object.values(target).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null);
      if (inner.length === 0) break;
      target = r.pick(inner);
    }
    const keys = Object.keys(target);
    const key = keys.length > 0 && r.chance(0.8) ? r.pick(keys) : r.pick(['req', 'extra', '__proto__', 'constructor']);
    if (key === 'type' && target === message && r.chance(0.9)) continue; // keep most messages recognisable
    if (r.chance(0.2)) delete target[key];
    else target[key] = randomValue(r);
  }
  return message;
}

/** A frame no protocol peer would send: the server closes the connection with 4400. */
function fatalFrame(r: Rng): { data: string | Buffer; binary: boolean } {
  if (r.chance(0.3)) return { data: bytes(r.int(3000), r.int(1 << 30)), binary: r.chance(0.5) };
  const text = r.pick(['', 'null', '[]', '"hello"', '{', '{"type":', '{"type":"commit","req":1,"folder":1,"ops":[' + '['.repeat(50_000), deepText(200_000, false), deepText(200_000, true)]);
  return { data: text, binary: false };
}

/** A forged upload frame: the real header layout with arbitrary fields. */
function forgedUpload(r: Rng, folders: number[]): Buffer {
  const piece = bytes(r.int(4096), r.int(1000));
  const header = {
    kind: r.chance(0.95) ? FrameKind.upload : r.pick([FrameKind.download, 7 as FrameKind]),
    req: r.int(2 ** 32),
    folder: r.chance(0.7) ? r.pick(folders) : r.int(2 ** 32),
    hash: r.chance(0.5) ? sha256(piece) : sha256('other'),
    offset: r.chance(0.9) ? 0 : r.pick([1, r.int(2 ** 32)]),
    total: r.pick([piece.length, piece.length, piece.length + 1, 0, 2 ** 32 - 1, DEFAULT_LIMITS.maxChunkBytes + 1]),
  };
  try {
    return encodeFrame(header, piece);
  } catch {
    return piece;
  }
}

/** One fuzz frame: mostly requests the server must answer and survive, now and then one it must hang up on. */
function fuzzFrame(r: Rng, folders: number[]): { data: string | Buffer; binary: boolean } {
  const roll = r.next();
  if (roll < 0.01) return fatalFrame(r);
  if (roll < 0.2) return { data: forgedUpload(r, folders), binary: true };
  if (roll < 0.35) return { data: JSON.stringify(template(r, folders)), binary: false };
  if (roll < 0.4) return { data: `{"type":"has","req":${r.int(100)},"folder":1,"hashes":${deepText(100_000, true)}}`, binary: false };
  return { data: JSON.stringify(mutate(r, template(r, folders))), binary: false };
}

interface FuzzOutcome {
  replies: number;
  badReplies: string[];
  internalErrors: string[];
  closeCodes: number[];
}

/** Hostile connections, one after another as the server closes them, until `count` frames went out. */
async function fuzzConnections(r: Rng, url: string, token: string, folders: number[], count: number): Promise<FuzzOutcome> {
  const outcome: FuzzOutcome = { replies: 0, badReplies: [], internalErrors: [], closeCodes: [] };
  for (let sent = 0; sent < count; ) sent += await fuzzConnection(r, url, token, folders, count - sent, outcome);
  return outcome;
}

/** One hostile connection; returns how many frames it sent before it ended. */
async function fuzzConnection(r: Rng, url: string, token: string, folders: number[], count: number, outcome: FuzzOutcome): Promise<number> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  const closed = new Promise<void>((resolve) => ws.once('close', (code) => (outcome.closeCodes.push(code), resolve())));
  ws.on('error', () => {});
  ws.on('message', (data: Buffer, isBinary) => {
    outcome.replies += 1;
    if (isBinary) return;
    const parsed = parseServerMessage(data.toString('utf8'));
    if (!parsed.ok) outcome.badReplies.push(`${parsed.reason}: ${data.toString('utf8').slice(0, 200)}`);
    else if (parsed.message.type === 'error' && parsed.message.code === 'internal') outcome.internalErrors.push(parsed.message.message);
  });
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  let sent = 1;
  if (ws.readyState === WebSocket.OPEN) {
    // Most connections greet first; some send requests (or frames) before hello.
    if (r.chance(0.9)) ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'fuzz' }));
    for (; sent < count && ws.readyState === WebSocket.OPEN; sent++) {
      const { data, binary } = fuzzFrame(r, folders);
      ws.send(data, { binary });
      if (sent % 10 === 0) await new Promise((res) => setTimeout(res, 5));
    }
    // Let the answers come back, then leave (if the server has not closed us already).
    await Promise.race([closed, new Promise((res) => setTimeout(res, 300))]);
  }
  ws.terminate();
  await closed;
  return sent;
}

/** A connection that sends thousands of requests and never reads a reply. */
async function flood(url: string, token: string, folder: number): Promise<void> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  ws.on('error', () => {});
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'flood' }));
  for (let i = 0; i < 5000; i++) ws.send(JSON.stringify({ type: 'history', req: i, folder, path: 'fuzz/0', limit: 1000 }));
  await new Promise((res) => setTimeout(res, 500));
  ws.terminate();
}

/** One message over the limit: the server closes with 1009 and lives on. */
async function oversized(url: string, token: string): Promise<number> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'big' }));
  ws.send(Buffer.alloc(DEFAULT_LIMITS.maxMessageBytes + 1, 0x20), { binary: false });
  return closed;
}

/** Junk straight onto the TCP port: not HTTP, half a request, a bogus upgrade. */
async function tcpJunk(r: Rng, port: number): Promise<void> {
  const junk = r.pick([
    bytes(2000, r.int(1000)),
    Buffer.from('GET /v1/sync HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
    Buffer.from('POST /v1/login HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{"user":'),
    Buffer.from('GET /' + '../'.repeat(500) + 'etc/passwd HTTP/1.1\r\n\r\n'),
  ]);
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(junk));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.setTimeout(2000, () => socket.destroy());
  });
}

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(kb![1]) * 1024;
}

let parent: string;
let dataDir: string;
let server: SpawnedServer;
let adminToken: string;
let ferryFolder: number;
let bobFolder: number;
let honest: RawClient;
let bob: RawClient;
let bobCommits = 0;

beforeAll(async () => {
  console.log(`server fuzz: seed ${SEED}, ${BATCHES} batches (FUZZ_SEED=${SEED} repeats this run)`);
  parent = await tempDir('ferry-fuzz-');
  dataDir = join(parent, 'data');
  server = await spawnServer(dataDir);
  const banner = await eventually(() => parseFirstStart(server.stderr()), 10_000, 'the first-start banner');
  adminToken = banner.token;
  const data = ['--data', dataDir];
  for (const args of [['user', 'add', 'bob', '--password-stdin'], ['folder', 'create', 'Bobs', '--owner', 'bob']]) {
    const res = await runFerry(['admin', ...data, ...args], 'bob-password\n');
    expect(res.code, res.stderr).toBe(0);
  }
  const token = await runFerry(['admin', ...data, 'token', 'create', 'bob', '--device', 'bob-pc']);
  const bobToken = token.stdout.trim();

  const a = await RawClient.open(server.wsUrl, adminToken);
  honest = a.client;
  ferryFolder = (a.welcome.folders as { id: number; name: string }[]).find((f) => f.name === 'Ferry')!.id;
  await honest.subscribe(ferryFolder);
  const b = await RawClient.open(server.wsUrl, bobToken);
  bob = b.client;
  bobFolder = (b.welcome.folders as { id: number; name: string }[]).find((f) => f.name === 'Bobs')!.id;
  await bob.subscribe(bobFolder);
}, 60_000);

afterAll(async () => {
  honest?.close();
  bob?.close();
  await server?.stop();
  if (parent) await removeDir(parent);
});

describe(`protocol fuzzing a ferry serve process (seed ${SEED})`, () => {
  it('never crashes it, keeps its memory bounded, keeps others syncing, and keeps everything inside the data dir', async () => {
    const r = prng(SEED);
    const folders = [ferryFolder, bobFolder];
    let replies = 0;
    let connections = 0;
    let peakRss = 0;
    const closeCodes = new Set<number>();
    for (let batch = 1; batch <= BATCHES; batch++) {
      const outcomes = await Promise.all([
        ...Array.from({ length: CONNECTIONS_PER_BATCH }, () => fuzzConnections(prng(r.int(2 ** 31)), server.wsUrl, adminToken, folders, MESSAGES_PER_CONNECTION)),
        flood(server.wsUrl, adminToken, ferryFolder).then(() => undefined),
        tcpJunk(r, Number(new URL(server.url).port)).then(() => undefined),
      ]);
      if (batch === 1) expect(await oversized(server.wsUrl, adminToken)).toBe(1009);
      for (const o of outcomes) {
        if (!o) continue;
        replies += o.replies;
        for (const code of o.closeCodes) closeCodes.add(code);
        connections += o.closeCodes.length;
        expect(o.badReplies, `batch ${batch}: replies that are not protocol messages`).toEqual([]);
        expect(o.internalErrors, `batch ${batch}: requests the server failed on`).toEqual([]);
      }

      expect(server.proc.exitCode, `batch ${batch}: the server exited`).toBeNull();
      const rss = rssOf(server.proc.pid!);
      peakRss = Math.max(peakRss, rss);
      expect(rss, `batch ${batch}: server RSS`).toBeLessThan(RSS_LIMIT_BYTES);

      // An honest client still commits, and sees its change live.
      const path = `honest/batch-${batch}.txt`;
      const content = bytes(5000, batch);
      const live = nextChangeFor(honest, ferryFolder, path);
      const res = await commitFile(honest, ferryFolder, path, content);
      expect(res, `batch ${batch}: honest commit`).toMatchObject({ type: 'committed', results: [{ path, rev: expect.any(Number) }] });
      await live;
      // Bob's folder saw only Bob's own commits.
      const bobPath = `bob-${batch}`;
      const bobLive = nextChangeFor(bob, bobFolder, bobPath);
      expect(await bob.request({ type: 'commit', folder: bobFolder, ops: [dirOp(bobPath)] })).toMatchObject({ type: 'committed' });
      bobCommits += 1;
      expect((await bobLive).rev).toBe(bobCommits);
      expect(bob.pending().filter((m) => m.type === 'changes')).toEqual([]);
    }
    console.log(`server fuzz: ${connections} connections, ${replies} replies, close codes ${[...closeCodes].sort().join(', ')}, peak RSS ${(peakRss / 1048576).toFixed(0)} MB`);
    // 1006: we hung up ourselves; 1007: a text frame that is not UTF-8; 4400: a frame no peer
    // may send. Never 1011 (the server failed).
    for (const code of closeCodes) expect([1006, 1007, 4400], `close code ${code}`).toContain(code);

    const errors = server.logs().filter((l) => (l.level as number) >= 50);
    expect(errors.map((l) => l.msg)).toEqual([]);
    await expectContained(parent, dataDir);
    const checked = await fsck(dataDir);
    expect(checked.problems).toEqual([]);
  }, 180_000);
});
