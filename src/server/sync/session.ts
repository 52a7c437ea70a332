/**
 * One authenticated device's WebSocket: the protocol of docs/protocol.md from the server's
 * side. Every incoming message is parsed against its schema before anything acts on it; a
 * bad request is answered with `error` and the connection stays, a peer that breaks the
 * framing is closed with 4400.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { Close, ErrorCode, type ErrorCodeValue } from '../../shared/protocol/codes.js';
import { decodeFrame, encodeFrame, frameAround, FrameKind, type ChunkFrame } from '../../shared/protocol/frames.js';
import {
  FEATURE_MOVE_RUNS,
  PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type ClientMessageOf,
  type FolderInfo,
  type Role,
  type Entry,
  type MoveRun,
  type ServerMessage,
} from '../../shared/protocol/messages.js';
import { inRevOrder, isRun, runEnd, sliceRun } from '../../shared/protocol/move-runs.js';
import type { FeedEvent } from '../bus.js';
import type { ServerContext } from '../context.js';
import { keepChunk, readChunk } from '../store/chunk-bytes.js';
import { ChunkHashMismatch, type CommitOutcome, type Device } from '../store/types.js';
import { Outbox, type Corkable } from '../../shared/protocol/outbox.js';

interface Subscription {
  cursor: number;
  /**
   * False while paging from the journal: on subscribe, and after falling behind (its socket
   * held more than the feed window when a commit landed). Live events then only mark it
   * dirty, so nothing is queued per commit for a subscriber that is not reading.
   */
  live: boolean;
  dirty: boolean;
  unsubscribe: () => void;
}

interface PartialChunk {
  folder: number;
  total: number;
  received: number;
  parts: Buffer[];
}

const HELLO_TIMEOUT_MS = 10_000;
const OUTBOX_HIGH_WATER = 4 * 1024 * 1024;
/** Chunk writes in flight before the socket stops reading, pushing back on the uploader. */
const MAX_PENDING_WRITES = 32;
/** Chunk bytes being assembled at once; uploads beyond it are refused as busy. */
const MAX_PARTIAL_BYTES = 64 * 1024 * 1024;
const MAX_QUEUED_DOWNLOADS = 4096;
/**
 * Requests handled at once per connection. A small request can ask for a large answer
 * (a history of 1,000 entries), so answers are only worked out while the socket has room
 * for them, a limited number at a time, and the socket stops reading while many wait: a client that
 * sends and never reads pushes back on itself instead of filling the server's memory.
 */
const MAX_RUNNING_REQUESTS = 32;
const MAX_WAITING_REQUESTS = 256;
/** Bytes of requests read and not yet started: large commits count by their size. */
const MAX_WAITING_BYTES = 32 * 1024 * 1024;

class RequestError extends Error {
  constructor(readonly code: ErrorCodeValue, message: string) {
    super(message);
  }
}

export class Session {
  readonly device: Device;
  private readonly log: Logger;
  private readonly outbox: Outbox;
  private greeted = false;
  /** The client reads move runs (FEATURE_MOVE_RUNS) in live `changes`. */
  private moveRuns = false;
  /** Settles once `hello` is answered; every later message waits for it, in arrival order. */
  private ready: Promise<void> = Promise.resolve();
  private closed = false;
  private folders = new Map<number, FolderInfo>();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly partials = new Map<string, PartialChunk>();
  private partialBytes = 0;
  private pendingWrites = 0;
  private downloads: Promise<void> = Promise.resolve();
  private queuedDownloads = 0;
  private readonly waiting: { bytes: number; work: () => Promise<void> }[] = [];
  private waitingBytes = 0;
  private running = 0;
  private waitingForRoom = false;
  private readonly helloTimer: NodeJS.Timeout;
  awaitingPong = false;

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  get backlog(): number {
    return this.outbox.backlog;
  }

  /** The largest backlog this connection has had. */
  get peakBacklog(): number {
    return this.outbox.peak;
  }

  /** Subscriptions being paged from the journal rather than pushed live. */
  get pagingCount(): number {
    let n = 0;
    for (const sub of this.subscriptions.values()) if (!sub.live) n += 1;
    return n;
  }

  constructor(
    private readonly ws: WebSocket,
    socket: Corkable,
    private readonly ctx: ServerContext,
    device: Device,
  ) {
    this.device = device;
    this.log = ctx.log.child({ device: device.id, user: device.userName });
    this.outbox = new Outbox(ws, socket, OUTBOX_HIGH_WATER, (n) => (ctx.metrics.bytesOut += n), ctx.sendBudget);
    this.helloTimer = setTimeout(() => this.close(Close.protocolError, 'no hello within 10 s'), HELLO_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.awaitingPong = false));
    ws.on('close', () => this.dispose());
    ws.on('error', (err) => this.log.debug({ err }, 'socket error'));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.log.info({ code, reason }, 'closing connection');
    this.ws.close(code, reason);
    this.dispose();
  }

  terminate(reason: string): void {
    this.log.info({ reason }, 'terminating connection');
    this.ws.terminate();
    this.dispose();
  }

  ping(): void {
    this.awaitingPong = true;
    this.ws.ping();
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    for (const sub of this.subscriptions.values()) sub.unsubscribe();
    this.subscriptions.clear();
    this.partials.clear();
    this.waiting.length = 0;
    this.waitingBytes = 0;
    this.outbox.release();
  }

  /** Re-reads which folders the device may use after an outside change (an admin command). */
  async refreshFolders(): Promise<void> {
    if (!this.greeted || this.closed) return;
    const folders = await this.ctx.store.foldersOf(this.device.userId);
    const next = new Map(folders.map((f) => [f.id, f]));
    let changed = next.size !== this.folders.size;
    for (const [id, f] of next) if (this.folders.get(id)?.role !== f.role) changed = true;
    this.folders = next;
    for (const [id, sub] of this.subscriptions) {
      if (!next.has(id)) {
        sub.unsubscribe();
        this.subscriptions.delete(id);
      }
    }
    if (changed) this.send({ type: 'folders', folders });
  }

  private send(message: ServerMessage): void {
    this.outbox.send(message);
  }

  private fail(req: number | undefined, code: string, message: string): void {
    this.send(req === undefined ? { type: 'error', code, message } : { type: 'error', req, code, message });
  }

  // ---- dispatch ---------------------------------------------------------------------

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (this.outbox.backlog > this.ctx.maxBacklogBytes) return this.terminate('the device is not reading its replies');
    // ws hands over a Buffer (its default binaryType); Buffer.from would copy every chunk byte.
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    this.ctx.metrics.bytesIn += buf.length;
    if (isBinary) {
      if (!this.greeted) return this.close(Close.protocolError, 'hello first');
      const decoded = decodeFrame(buf);
      if (!decoded.ok) return this.close(Close.protocolError, decoded.reason);
      const { frame } = decoded;
      if (frame.kind !== FrameKind.upload) return this.close(Close.protocolError, 'clients send upload frames only');
      void this.ready.then(() => this.onUploadFrame(frame));
      return;
    }
    const parsed = parseClientMessage(buf.toString('utf8'));
    if (!parsed.ok) {
      if (parsed.fatal) return this.close(Close.protocolError, parsed.reason);
      return this.fail(parsed.req, parsed.code, parsed.reason);
    }
    const message = parsed.message;
    if (!this.greeted) {
      if (message.type !== 'hello') return this.close(Close.protocolError, 'hello first');
      this.greeted = true;
      this.ready = this.onHello(message).catch((err) => {
        this.internal(undefined, err);
        this.close(Close.internalError, 'hello failed');
      });
      return;
    }
    const req = 'req' in message ? message.req : undefined;
    this.waiting.push({
      bytes: buf.length,
      work: () =>
        this.ready
          .then(() => (this.closed ? undefined : this.handle(message)))
          .catch((err) => {
            if (err instanceof RequestError) this.fail(req, err.code, err.message);
            else this.internal(req, err);
          }),
    });
    this.waitingBytes += buf.length;
    this.pump();
  }

  /** Starts waiting requests while fewer than the limit run and the socket has room for their answers. */
  private pump(): void {
    while (!this.closed && this.running < MAX_RUNNING_REQUESTS && this.waiting.length > 0 && this.outbox.backlog <= OUTBOX_HIGH_WATER) {
      const { bytes, work } = this.waiting.shift()!;
      this.waitingBytes -= bytes;
      this.running += 1;
      void work().finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
    if (this.waiting.length > 0 && !this.waitingForRoom && this.outbox.backlog > OUTBOX_HIGH_WATER) {
      this.waitingForRoom = true;
      void this.outbox.room().then(() => {
        this.waitingForRoom = false;
        this.pump();
      });
    }
    this.updateReading();
  }

  /** Stops reading the socket while too much waits on the server's side, and reads again once it has caught up. */
  private updateReading(): void {
    if (this.closed) return;
    const full = this.pendingWrites >= MAX_PENDING_WRITES || this.waiting.length >= MAX_WAITING_REQUESTS || this.waitingBytes >= MAX_WAITING_BYTES;
    const roomy = this.pendingWrites < MAX_PENDING_WRITES / 2 && this.waiting.length < MAX_WAITING_REQUESTS / 2 && this.waitingBytes < MAX_WAITING_BYTES / 2;
    if (full && !this.ws.isPaused) this.ws.pause();
    else if (roomy && this.ws.isPaused) this.ws.resume();
  }

  private internal(req: number | undefined, err: unknown): void {
    this.log.error({ err }, 'request failed');
    this.fail(req, ErrorCode.internal, 'the server failed to handle this request');
  }

  private async handle(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case 'hello':
        throw new RequestError(ErrorCode.badRequest, 'hello was already received');
      case 'subscribe':
        return this.onSubscribe(message);
      case 'unsubscribe': {
        this.subscriptions.get(message.folder)?.unsubscribe();
        this.subscriptions.delete(message.folder);
        return;
      }
      case 'commit':
        return this.onCommit(message);
      case 'has':
        return this.onHas(message);
      case 'get':
        return this.onGet(message);
      case 'history':
        return this.onHistory(message);
      case 'restore':
        return this.onRestore(message);
    }
  }

  private async onHello(message: ClientMessageOf<'hello'>): Promise<void> {
    clearTimeout(this.helloTimer);
    if (message.protocol !== PROTOCOL_VERSION) {
      this.fail(undefined, ErrorCode.unsupportedProtocol, `this server speaks protocol ${PROTOCOL_VERSION}, not ${message.protocol}`);
      return this.close(Close.versionMismatch, `protocol ${PROTOCOL_VERSION} required`);
    }
    this.moveRuns = message.features?.includes(FEATURE_MOVE_RUNS) ?? false;
    const folders = await this.ctx.store.foldersOf(this.device.userId);
    this.folders = new Map(folders.map((f) => [f.id, f]));
    this.log.info({ client: message.client }, 'device connected');
    this.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      server: { id: this.ctx.store.serverId, version: this.ctx.version },
      user: this.device.userName,
      device: { id: this.device.id, name: this.device.name },
      folders,
      limits: this.ctx.limits,
    });
  }

  /** The device's role in a folder; unknown folders and foreign ones look the same. */
  private role(folder: number, write = false): Role {
    const info = this.folders.get(folder);
    if (!info) throw new RequestError(ErrorCode.forbidden, `no access to folder ${folder}`);
    if (write && info.role === 'read') throw new RequestError(ErrorCode.readOnly, 'this folder is shared read-only with you');
    return info.role;
  }

  // ---- feed -------------------------------------------------------------------------

  private async onSubscribe(message: ClientMessageOf<'subscribe'>): Promise<void> {
    this.role(message.folder);
    this.subscriptions.get(message.folder)?.unsubscribe();
    const sub: Subscription = { cursor: message.cursor, live: false, dirty: false, unsubscribe: () => {} };
    sub.unsubscribe = this.ctx.bus.subscribe(message.folder, (event) => this.onFeed(sub, event));
    this.subscriptions.set(message.folder, sub);
    await this.catchUp(message.folder, sub);
  }

  /**
   * Pages every current entry after the cursor, each page once the socket has drained below
   * the feed window, then hands the subscription to the live feed.
   */
  private async catchUp(folder: number, sub: Subscription): Promise<void> {
    sub.live = false;
    const window = this.ctx.feedWindowBytes;
    for (;;) {
      sub.dirty = false;
      // Read the page only when it can be sent: a page read early would be older than needed.
      await this.outbox.bulkRoom(window);
      if (this.subscriptions.get(folder) !== sub) return;
      const page = await this.ctx.pages.page(folder, sub.cursor);
      if (this.subscriptions.get(folder) !== sub) return;
      if (sub.cursor > page.rev) {
        // A cursor past the head means the server lost history (restored from a backup):
        // answer with everything from 0 and let the client merge.
        sub.cursor = 0;
        continue;
      }
      await this.outbox.sendBulk(page.data, false, window);
      sub.cursor = page.rev;
      // A commit that landed while this page waited for the socket is paged in too.
      if (!page.more && !sub.dirty) break;
    }
    sub.live = true;
  }

  private onFeed(sub: Subscription, event: FeedEvent): void {
    if (!sub.live) {
      sub.dirty = true;
      return;
    }
    if (event.rev <= sub.cursor) return;
    const backlog = this.outbox.backlog;
    // Over the server's send budget, only readers that keep up (nothing queued) stay live.
    if (backlog > this.ctx.feedWindowBytes || (backlog > 0 && this.ctx.sendBudget.full)) {
      // Behind: queue nothing more per commit; page it in, coalesced, once the socket drains.
      this.ctx.metrics.feedFellBehind += 1;
      void this.catchUp(event.folder, sub).catch((err) => this.internal(undefined, err));
      return;
    }
    if (event.from > sub.cursor) {
      // A gap: an event went missing on the bus. Page it in from the journal.
      void this.catchUp(event.folder, sub).catch((err) => this.internal(undefined, err));
      return;
    }
    const messages =
      event.from === sub.cursor
        ? encodedFeed(event, this.ctx.pages.pageBytes, this.moveRuns)
        : feedMessages(event.folder, sub.cursor, event.rev, event.entries.filter((e) => e.rev > sub.cursor), this.ctx.pages.pageBytes);
    for (const message of messages) this.outbox.send(message);
    sub.cursor = event.rev;
    this.ctx.metrics.observeFeedLag((Date.now() - event.at) / 1000);
  }

  // ---- commits ----------------------------------------------------------------------

  private async onCommit(message: ClientMessageOf<'commit'>): Promise<void> {
    this.role(message.folder, true);
    const { limits } = this.ctx;
    if (message.ops.length > limits.maxOpsPerCommit) {
      throw new RequestError(ErrorCode.tooLarge, `at most ${limits.maxOpsPerCommit} ops per commit`);
    }
    for (const op of message.ops) {
      if (op.op !== 'put') continue;
      if (op.size > limits.maxFileBytes) {
        throw new RequestError(ErrorCode.tooLarge, `${op.path} is larger than the ${limits.maxFileBytes}-byte file limit`);
      }
      for (const [, size] of op.chunks) {
        if (size === 0 || size > limits.maxChunkBytes) {
          throw new RequestError(ErrorCode.badRequest, `${op.path} has a chunk of ${size} bytes (1 to ${limits.maxChunkBytes})`);
        }
      }
    }
    const outcome = await this.ctx.store.commit(message.folder, message.ops, this.device.name, Date.now());
    this.reportCommit(message.req, message.folder, outcome);
  }

  private reportCommit(req: number, folder: number, outcome: CommitOutcome): void {
    switch (outcome.kind) {
      case 'need':
        return this.send({ type: 'need', req, chunks: outcome.chunks });
      case 'refused':
        return this.fail(req, outcome.code, outcome.message);
      case 'committed': {
        this.ctx.metrics.commits += 1;
        this.ctx.metrics.revisions += outcome.rev - outcome.from;
        this.send({ type: 'committed', req, rev: outcome.rev, results: outcome.results });
        if (outcome.rev > outcome.from) {
          this.ctx.bus.publish({ folder, from: outcome.from, rev: outcome.rev, entries: outcome.entries, moves: outcome.moves, at: Date.now() });
        }
      }
    }
  }

  private async onRestore(message: ClientMessageOf<'restore'>): Promise<void> {
    this.role(message.folder, true);
    const outcome = await this.ctx.store.restore(message.folder, message.path, message.rev, this.device.name, Date.now());
    if (!outcome) throw new RequestError(ErrorCode.notFound, `${message.path} has no retained revision ${message.rev} with content`);
    this.reportCommit(message.req, message.folder, outcome);
  }

  private async onHistory(message: ClientMessageOf<'history'>): Promise<void> {
    this.role(message.folder);
    const entries = await this.ctx.store.history(message.folder, message.path, message.limit ?? 100);
    this.send({ type: 'revisions', req: message.req, path: message.path, entries });
  }

  // ---- chunks -----------------------------------------------------------------------

  private async onHas(message: ClientMessageOf<'has'>): Promise<void> {
    this.role(message.folder);
    if (message.hashes.length > this.ctx.limits.maxHashesPerRequest) {
      throw new RequestError(ErrorCode.tooLarge, `at most ${this.ctx.limits.maxHashesPerRequest} hashes per request`);
    }
    const missing = await this.ctx.store.missingChunks(message.folder, message.hashes);
    this.send({ type: 'have', req: message.req, missing });
  }

  private onUploadFrame(frame: ChunkFrame): void {
    const { limits } = this.ctx;
    const key = `${frame.req}:${frame.hash}`;
    try {
      this.role(frame.folder, true);
      if (frame.total === 0 || frame.total > limits.maxChunkBytes) {
        throw new RequestError(ErrorCode.tooLarge, `a chunk is 1 to ${limits.maxChunkBytes} bytes`);
      }
      if (frame.data.length > limits.maxFrameDataBytes) {
        throw new RequestError(ErrorCode.tooLarge, `a frame carries at most ${limits.maxFrameDataBytes} bytes`);
      }
      let partial = this.partials.get(key);
      if (!partial) {
        if (frame.offset !== 0) throw new RequestError(ErrorCode.badRequest, 'a chunk upload starts at offset 0');
        if (this.partialBytes + frame.total > MAX_PARTIAL_BYTES) {
          throw new RequestError(ErrorCode.busy, 'too many chunk uploads in progress; wait for stored replies');
        }
        partial = { folder: frame.folder, total: frame.total, received: 0, parts: [] };
        this.partials.set(key, partial);
        this.partialBytes += frame.total;
      } else if (frame.offset !== partial.received || frame.total !== partial.total || frame.folder !== partial.folder) {
        this.dropPartial(key);
        throw new RequestError(ErrorCode.badRequest, 'chunk frames must arrive in order with the same size and folder');
      }
      partial.parts.push(frame.data);
      partial.received += frame.data.length;
      if (partial.received < partial.total) return;
      this.dropPartial(key);
      const data = partial.parts.length === 1 ? partial.parts[0]! : Buffer.concat(partial.parts);
      void this.storeChunk(frame.req, frame.folder, frame.hash, data);
    } catch (err) {
      if (err instanceof RequestError) this.fail(frame.req, err.code, err.message);
      else this.internal(frame.req, err);
    }
  }

  private dropPartial(key: string): void {
    const partial = this.partials.get(key);
    if (!partial) return;
    this.partials.delete(key);
    this.partialBytes -= partial.total;
  }

  private async storeChunk(req: number, folder: number, hash: string, data: Buffer): Promise<void> {
    this.pendingWrites += 1;
    this.updateReading();
    try {
      await keepChunk(this.ctx.store, this.ctx.chunks, folder, hash, data, Date.now());
      this.ctx.metrics.chunksUploaded += 1;
      this.send({ type: 'stored', req, hash });
    } catch (err) {
      if (err instanceof ChunkHashMismatch) this.fail(req, ErrorCode.hashMismatch, err.message);
      else this.internal(req, err);
    } finally {
      this.pendingWrites -= 1;
      this.updateReading();
    }
  }

  private async onGet(message: ClientMessageOf<'get'>): Promise<void> {
    this.role(message.folder);
    if (this.queuedDownloads >= MAX_QUEUED_DOWNLOADS) {
      throw new RequestError(ErrorCode.busy, `at most ${MAX_QUEUED_DOWNLOADS} downloads may wait at once`);
    }
    this.queuedDownloads += 1;
    // One chunk at a time per connection keeps memory bounded; the socket stays full
    // because the outbox lets a few frames queue ahead.
    this.downloads = this.downloads.then(async () => {
      try {
        if (!this.closed) await this.sendChunk(message);
      } catch (err) {
        if (err instanceof RequestError) this.fail(message.req, err.code, err.message);
        else this.internal(message.req, err);
      } finally {
        this.queuedDownloads -= 1;
      }
    });
  }

  private async sendChunk({ req, folder, hash }: ClientMessageOf<'get'>): Promise<void> {
    const data = await readChunk(this.ctx.store, this.ctx.chunks, folder, hash);
    if (!data) throw new RequestError(ErrorCode.notFound, `folder ${folder} has no chunk ${hash}`);
    const step = this.ctx.limits.maxFrameDataBytes;
    const header = { kind: FrameKind.download, req, folder, hash, total: data.length };
    // One frame is built around the bytes as the store read them (with room for the header).
    if (data.length <= step) return this.outbox.sendBulk(frameAround({ ...header, offset: 0 }, data), true);
    for (let offset = 0; offset < data.length && !this.closed; offset += step) {
      await this.outbox.sendBulk(encodeFrame({ ...header, offset }, data.subarray(offset, offset + step)), true);
    }
  }
}

/** A feed event is serialized once in each form, however many subscribers receive it. */
const encoded = { full: new WeakMap<FeedEvent, Buffer[]>(), runs: new WeakMap<FeedEvent, Buffer[]>() };
function encodedFeed(event: FeedEvent, maxBytes: number, moveRuns: boolean): Buffer[] {
  const cache = moveRuns ? encoded.runs : encoded.full;
  let messages = cache.get(event);
  if (!messages) {
    messages = moveRuns
      ? feedMessages(event.folder, event.from, event.rev, withoutRunEntries(event), maxBytes, event.moves)
      : feedMessages(event.folder, event.from, event.rev, event.entries, maxBytes);
    cache.set(event, messages);
  }
  return messages;
}

/** The entries of an event that its move runs do not stand for. */
function withoutRunEntries(event: FeedEvent): Entry[] {
  if (event.moves.length === 0) return event.entries;
  return event.entries.filter((e) => !event.moves.some((run) => e.rev >= run.rev && e.rev <= runEnd(run)));
}

/**
 * `changes` messages covering (from, rev], split so none carries much more than `maxBytes`
 * of entries and move-run items: a commit that moves a large tree must not exceed the
 * message limit.
 */
function feedMessages(folder: number, from: number, rev: number, entries: Entry[], maxBytes: number, moves: MoveRun[] = []): Buffer[] {
  const messages: Buffer[] = [];
  let batch: string[] = [];
  let runs: string[] = [];
  let bytes = 0;
  let start = from;
  const flush = (end: number): void => {
    const tail = runs.length > 0 ? `,"moves":[${runs.join(',')}]` : '';
    messages.push(Buffer.from(`{"type":"changes","folder":${folder},"from":${start},"rev":${end},"more":false,"entries":[${batch.join(',')}]${tail}}`));
    batch = [];
    runs = [];
    bytes = 0;
    start = end;
  };
  const add = (json: string, firstRev: number, isRun: boolean): void => {
    if (bytes > 0 && bytes + json.length > maxBytes) flush(firstRev - 1);
    (isRun ? runs : batch).push(json);
    bytes += json.length;
  };
  for (const item of inRevOrder(entries, moves)) {
    if (!isRun(item)) {
      add(JSON.stringify(item), item.rev, false);
      continue;
    }
    // A run too long for one message goes as several, each continuing the previous.
    const perItem = Math.max(1, Math.ceil(JSON.stringify(item.items).length / item.items.length));
    const step = Math.max(1, Math.floor(maxBytes / perItem / 2));
    for (let i = 0; i < item.items.length; i += step) {
      const part = sliceRun(item, i, i + step);
      add(JSON.stringify(part), part.rev, true);
    }
  }
  flush(rev);
  return messages;
}
