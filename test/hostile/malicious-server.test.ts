/**
 * The engine against a malicious or broken server: a stand-in for the remote peer, built
 * from src/shared/protocol, that sends what no honest server would. The engine never writes
 * outside its folder, never deletes everything on the server's word, never holds a huge
 * message or chunk in memory, never spins on absurd limits, and says what went wrong.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineState } from '../../src/shared/bridge.js';
import { encodeFrame, FrameKind } from '../../src/shared/protocol/frames.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/shared/protocol/limits.js';
import type { Entry } from '../../src/shared/protocol/messages.js';
import { bytes, listTree } from '../helpers/fixtures.js';
import { stagingLeftovers, startClient, type TestClient } from '../helpers/engine.js';
import { sha256 } from '../helpers/raw-client.js';
import { eventually, removeDir, tempDir } from '../helpers/server.js';

const FOLDER = 1;
type Json = Record<string, unknown>;

/** A scripted server: answers hello, subscribe, has, commit and get the way each test tells it to. */
class EvilServer {
  readonly received: Json[] = [];
  readonly closeCodes: number[] = [];
  sockets: WebSocket[] = [];
  /** Sent after the welcome when the client subscribes. */
  onSubscribe: (ws: WebSocket, cursor: number) => void = (ws, cursor) => page(ws, cursor, cursor, []);
  /** The bytes sent for a chunk; undefined answers not_found. */
  chunk: (hash: string) => Buffer | undefined = () => undefined;
  /** Overrides a download frame's header (a lying size). */
  frameTotal: ((real: number) => number) | undefined;
  limits: Limits = { ...DEFAULT_LIMITS };
  private rev = 0;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
  ) {
    wss.on('connection', (ws) => {
      this.sockets.push(ws);
      ws.on('close', (code) => this.closeCodes.push(code));
      ws.on('message', (data, isBinary) => (isBinary ? this.onFrame(ws, data as Buffer) : this.onText(ws, data.toString())));
    });
  }

  static async start(): Promise<EvilServer> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: '/v1/sync', maxPayload: 256 * 1024 * 1024 });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return new EvilServer(http, wss);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  private onText(ws: WebSocket, text: string): void {
    const m = JSON.parse(text) as Json;
    this.received.push(m);
    switch (m.type) {
      case 'hello':
        return send(ws, {
          type: 'welcome', protocol: 1, server: { id: 'evil-server', version: '6.6.6' }, user: 'alice', device: { id: 1, name: 'victim' },
          folders: [{ id: FOLDER, name: 'Docs', rev: this.rev, role: 'owner' }], limits: this.limits,
        });
      case 'subscribe':
        return this.onSubscribe(ws, m.cursor as number);
      case 'has':
        return send(ws, { type: 'have', req: m.req, missing: m.hashes });
      case 'commit': {
        const ops = m.ops as { path: string }[];
        const from = this.rev;
        this.rev += ops.length;
        return send(ws, { type: 'committed', req: m.req, rev: this.rev, results: ops.map((o, i) => ({ path: o.path, rev: from + i + 1 })) });
      }
      case 'get': {
        const data = this.chunk(m.hash as string);
        if (!data) return send(ws, { type: 'error', req: m.req, code: 'not_found', message: 'no such chunk' });
        const total = this.frameTotal ? this.frameTotal(data.length) : data.length;
        for (let offset = 0; offset < Math.max(data.length, 1); offset += 64 * 1024) {
          const piece = data.subarray(offset, offset + 64 * 1024);
          ws.send(encodeFrame({ kind: FrameKind.download, req: m.req as number, folder: FOLDER, hash: m.hash as string, offset, total }, piece), { binary: true });
        }
      }
    }
  }

  private onFrame(ws: WebSocket, frame: Buffer): void {
    // An upload frame: acknowledge the chunk once its last piece is in.
    const req = frame.readUInt32BE(1);
    const offset = frame.readUInt32BE(41);
    const total = frame.readUInt32BE(45);
    if (offset + frame.length - 49 >= total) send(ws, { type: 'stored', req, hash: frame.toString('hex', 9, 41) });
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

function send(ws: WebSocket, message: Json): void {
  ws.send(JSON.stringify(message));
}

function page(ws: WebSocket, from: number, rev: number, entries: Json[], more = false): void {
  send(ws, { type: 'changes', folder: FOLDER, from, rev, more, entries });
}

const base = { deleted: false, size: 0, mtime: 1_700_000_000_000, mode: 0o644, hash: '', chunks: [], target: '', device: 'evil', time: 1 };
const dir = (path: string, rev: number): Json => ({ ...base, path, rev, kind: 'dir', mode: 0o755 });
const link = (path: string, rev: number, target: string): Json => ({ ...base, path, rev, kind: 'symlink', mode: 0o777, target });
const gone = (path: string, rev: number, kind: Entry['kind'] = 'file'): Json => ({ ...base, path, rev, kind, deleted: true });
function file(path: string, rev: number, data: Buffer): Json {
  return { ...base, path, rev, kind: 'file', size: data.length, hash: sha256(data), chunks: [[sha256(data), data.length]] };
}

let evil: EvilServer;
let jail: string;
let root: string;
let outside: string;
let client: TestClient | undefined;

beforeEach(async () => {
  evil = await EvilServer.start();
  jail = await tempDir('ferry-jail-');
  root = join(jail, 'root');
  outside = join(jail, 'outside');
  await mkdir(root);
  await mkdir(outside);
});
afterEach(async () => {
  await client?.stop();
  client = undefined;
  await evil.close();
  await removeDir(jail);
});

async function start(): Promise<TestClient> {
  client = await startClient(evil.url, 'token', 'Docs', { root, stateDir: join(jail, 'state') });
  return client;
}

async function state(): Promise<EngineState> {
  return client!.engine.getState();
}

/** Everything in the jail outside the synced folder and the client's state: must stay as it was. */
async function outsideTree(): Promise<string[]> {
  return (await listTree(jail)).filter((p) => !p.startsWith('root/') && !p.startsWith('state/'));
}

async function rootFiles(): Promise<string[]> {
  return (await listTree(root)).filter((p) => !p.startsWith('.ferry'));
}

describe('paths from the server are checked again', () => {
  it.each([
    ['a parent escape', '../escape.txt'],
    ['an escape from below', 'ok/../../escape.txt'],
    ['an absolute path', '/tmp/ferry-malicious-abs.txt'],
    ['the staging folder', '.ferry/staging/planted'],
    ['a backslash escape', '..\\escape.txt'],
    ['a NUL', 'ok\u0000.txt'],
  ])('%s: the page is refused, the connection closed with 4400, nothing written anywhere', async (_name, bad) => {
    const before = await outsideTree();
    const good = bytes(100, 1);
    evil.chunk = () => good;
    evil.onSubscribe = (ws) => page(ws, 0, 2, [file('good.txt', 1, good), file(bad, 2, good)]);
    await start();
    const s = await eventually(async () => {
      const st = await state();
      return st.connection.status === 'failed' && st;
    }, 10_000, 'the client to give up on the server');
    expect(s.connection).toMatchObject({ reason: expect.stringMatching(/bad message from the server.*4400/) });
    await eventually(() => evil.closeCodes.includes(4400), 5000, 'close code 4400 at the server');
    expect(await rootFiles()).toEqual([]);
    expect(await outsideTree()).toEqual(before);
  });

  it('a move whose source escapes is refused the same way', async () => {
    const data = bytes(10, 2);
    evil.onSubscribe = (ws) => page(ws, 0, 1, [{ ...file('landed.txt', 1, data), movedFrom: '../../etc/passwd' }]);
    await start();
    await eventually(async () => (await state()).connection.status === 'failed', 10_000, 'the client to give up');
    expect(await rootFiles()).toEqual([]);
  });
});

describe('symlink tricks', () => {
  it('a link the server makes is only a link: nothing is ever written through it', async () => {
    const before = await outsideTree();
    const data = bytes(500, 3);
    evil.chunk = () => data;
    evil.onSubscribe = (ws) => {
      // A directory, then a link, then files "inside" the link; then the directory replaced
      // by a link to the outside and a file below it.
      page(ws, 0, 4, [dir('d', 1), link('out', 2, outside), file('out/planted.txt', 3, data), file('d/fine.txt', 4, data)]);
      setTimeout(() => page(ws, 4, 7, [gone('d/fine.txt', 5), gone('d', 6, 'dir'), link('d', 7, outside)]), 300);
      setTimeout(() => page(ws, 7, 8, [file('d/planted2.txt', 8, data)]), 900);
    };
    await start();
    await eventually(async () => (await rootFiles()).includes('d'), 10_000, 'd to become a link');
    await eventually(async () => (await state()).issues.some((i) => i.path === 'd/planted2.txt'), 10_000, 'an issue for the file below the link');
    expect(await readdir(outside)).toEqual([]);
    expect(await outsideTree()).toEqual(before);
    expect((await rootFiles()).sort()).toEqual(['d', 'out']);
    const issues = (await state()).issues.filter((i) => i.path?.endsWith('planted.txt') || i.path?.endsWith('planted2.txt'));
    expect(issues.map((i) => i.kind)).toEqual(issues.map(() => 'write-error'));
  });
});

describe('deleting everything', () => {
  it('a server that deletes every file is held by the mass-delete guard: nothing goes', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `file-${i}.txt`);
    const contents = new Map(names.map((_n, i) => [sha256(bytes(50, i + 10)), bytes(50, i + 10)]));
    evil.chunk = (hash) => contents.get(hash);
    evil.onSubscribe = (ws) => {
      page(ws, 0, 30, names.map((n, i) => file(n, i + 1, bytes(50, i + 10))));
      const deleteAll = async () => {
        await eventually(async () => (await rootFiles()).length === 30, 10_000, 'all 30 files downloaded');
        page(ws, 30, 60, names.map((n, i) => gone(n, 31 + i)));
      };
      void deleteAll();
    };
    await start();
    const issue = await eventually(async () => (await state()).issues.find((i) => i.kind === 'mass-delete'), 15_000, 'a mass-delete issue');
    expect(issue.count).toBe(30);
    expect((await rootFiles()).sort()).toEqual([...names].sort());
    expect(await readFile(join(root, 'file-3.txt'))).toEqual(bytes(50, 13));
  });
});

describe('content that does not match', () => {
  it('a chunk whose bytes do not match its hash is not written, and leaves no staging file', async () => {
    const claimed = bytes(2000, 4);
    evil.chunk = () => bytes(2000, 5); // same size, other bytes
    evil.onSubscribe = (ws) => page(ws, 0, 1, [file('doc.txt', 1, claimed)]);
    await start();
    const issue = await eventually(async () => (await state()).issues.find((i) => i.path === 'doc.txt'), 10_000, 'an issue for doc.txt');
    expect(issue.message).toMatch(/hash|match/i);
    expect(await rootFiles()).toEqual([]);
    await eventually(async () => (await stagingLeftovers(root)).length === 0, 5000, 'no staging file left');
  });

  it('a chunk that matches its hash but not the file: the whole-file check refuses it', async () => {
    const real = bytes(2000, 6);
    const entry = { ...file('doc.txt', 1, real), hash: sha256('some other content') };
    evil.chunk = () => real;
    evil.onSubscribe = (ws) => page(ws, 0, 1, [entry]);
    await start();
    await eventually(async () => (await state()).issues.find((i) => i.path === 'doc.txt'), 10_000, 'an issue for doc.txt');
    expect(await rootFiles()).toEqual([]);
    await eventually(async () => (await stagingLeftovers(root)).length === 0, 5000, 'no staging file left');
  });
});

describe('sizes meant to exhaust memory', () => {
  it('download frames announcing a chunk larger than the entry says are refused at the first frame', async () => {
    const data = bytes(1000, 7);
    evil.chunk = () => data;
    evil.frameTotal = () => 0xffff_ffff; // "4 GiB are coming"
    evil.onSubscribe = (ws) => page(ws, 0, 1, [file('big.bin', 1, data)]);
    await start();
    const issue = await eventually(async () => (await state()).issues.find((i) => i.path === 'big.bin'), 10_000, 'an issue for big.bin');
    expect(issue.message).toMatch(/not 1000 bytes/);
    expect(await rootFiles()).toEqual([]);
  });

  it('an entry whose chunk is said to be 1 TiB is not downloaded at all', async () => {
    const huge = 2 ** 40;
    evil.chunk = () => bytes(1000, 8);
    evil.onSubscribe = (ws) => page(ws, 0, 1, [{ ...base, path: 'huge.bin', rev: 1, kind: 'file', size: huge, hash: sha256('x'), chunks: [[sha256('x'), huge]] }]);
    await start();
    const issue = await eventually(async () => (await state()).issues.find((i) => i.path === 'huge.bin'), 10_000, 'an issue for huge.bin');
    expect(issue.message).toMatch(/chunk limit/);
    expect(evil.received.filter((m) => m.type === 'get')).toEqual([]);
  });

  it('a message over the limit closes the connection with 1009 before it is held', async () => {
    evil.onSubscribe = (ws) => ws.send(`{"type":"changes","folder":1,"from":0,"rev":1,"more":false,"entries":[],"pad":"${'x'.repeat(65 * 1024 * 1024)}"}`);
    await start();
    await eventually(() => evil.closeCodes.includes(1009), 15_000, 'close code 1009');
    const s = await eventually(async () => {
      const st = await state();
      return st.connection.status === 'failed' && st;
    }, 10_000, 'the client to give up rather than fetch it again');
    expect(s.connection).toMatchObject({ reason: expect.stringMatching(/over the 16777216-byte limit \(code 1009\)/) });
    expect(evil.closeCodes).toEqual([1009]);
  });

  it('endless catch-up pages: memory stays bounded and the journal takes them', async () => {
    const PAGES = 40;
    const PER_PAGE = 1000;
    const last = PAGES * PER_PAGE + 1;
    const done = bytes(10, 9);
    evil.chunk = () => done;
    evil.onSubscribe = (ws) => {
      for (let p = 0; p < PAGES; p++) {
        const entries = Array.from({ length: PER_PAGE }, (_, i) => gone(`tomb/${p}/${i}.txt`, p * PER_PAGE + i + 1));
        page(ws, p * PER_PAGE, (p + 1) * PER_PAGE, entries, true);
      }
      // The last page's file lands only once every page before it was taken in order.
      page(ws, last - 1, last, [file('done.txt', last, done)]);
    };
    const rssBefore = process.memoryUsage().rss;
    await start();
    let peak = 0;
    await eventually(async () => {
      peak = Math.max(peak, process.memoryUsage().rss);
      return (await rootFiles()).includes('done.txt');
    }, 60_000, 'every page applied');
    expect(peak - rssBefore).toBeLessThan(300 * 1024 * 1024);
    expect((await state()).connection.status).toBe('connected');
    expect(await rootFiles()).toEqual(['done.txt']);
  });
});

describe('absurd limits', () => {
  it('limits of 0 in the welcome neither stall nor spin the client: a local file still goes up', async () => {
    evil.limits = { maxMessageBytes: 0, maxFrameDataBytes: 0, maxChunkBytes: 0, maxFileBytes: 0, maxOpsPerCommit: 0, maxHashesPerRequest: 0, pageEntries: 0 };
    await writeFile(join(root, 'mine.txt'), 'local content');
    await start();
    await eventually(() => evil.received.some((m) => m.type === 'commit'), 10_000, 'a commit');
    // Give a spinning loop time to show itself.
    await new Promise((r) => setTimeout(r, 500));
    expect(evil.received.filter((m) => m.type === 'has').length).toBeLessThan(10);
    expect(evil.received.filter((m) => m.type === 'commit').length).toBeLessThan(10);
  });
});
