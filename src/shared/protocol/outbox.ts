/**
 * Sending on one socket with flow control. Control messages go out at once; chunk frames
 * and catch-up pages wait while more than a limit (`highWater` unless told) is still queued
 * in the socket, so a slow reader holds back its own bulk data and never blocks anyone else.
 * A server also bounds what all its sockets queue together: bulk data then waits for that
 * shared budget too.
 *
 * What is sent in one turn of the event loop leaves in one write: the socket is corked at
 * the first message and uncorked once the turn's I/O callbacks have run. With many small
 * files, answers and frames come a few at a time per turn, and a write (a system call)
 * each cost more than the bytes.
 */
import type { WebSocket } from 'ws';

/** The stream under the WebSocket (a TCP or TLS socket). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Bytes queued across many sockets, under one budget. It is given the buffers themselves:
 * one buffer queued on many sockets (a feed message) is held in memory once.
 */
export interface SharedQueue {
  add(data: Buffer): void;
  remove(data: Buffer): void;
  /** True while the total is over budget: bulk data waits. */
  readonly full: boolean;
  /** Resolves when the total may be back within budget. */
  drained(): Promise<void>;
}

interface Waiter {
  limit: number;
  wake: () => void;
}

export class Outbox {
  private queued = 0;
  private most = 0;
  /** Buffers handed to the socket and not yet written, for giving them back to the shared queue on close. */
  private readonly inFlight = new Map<Buffer, number>();
  private waiters: Waiter[] = [];
  private released = false;
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Corkable,
    private readonly highWater: number,
    private readonly onSent: (bytes: number) => void,
    private readonly shared?: SharedQueue,
  ) {}

  /** Sends a control message now. A Buffer is sent as a text frame (pre-encoded JSON). */
  send(message: object | Buffer): void {
    if (!this.open) return;
    const data = Buffer.isBuffer(message) ? message : Buffer.from(JSON.stringify(message));
    this.track(data);
    this.holdUntilTurnEnds();
    this.ws.send(data, { binary: false }, () => this.untrack(data));
  }

  /** Sends bulk data once the socket has no more than `limit` bytes queued and the shared budget has room. */
  async sendBulk(data: Buffer, binary: boolean, limit = this.highWater): Promise<void> {
    // The last check and the send happen in one step: senders woken together can't all pass it first.
    while (this.bulkWaits(limit)) await this.wakeUp(limit);
    if (!this.open) return;
    this.track(data);
    this.holdUntilTurnEnds();
    this.ws.send(data, { binary }, () => this.untrack(data));
  }

  private holdUntilTurnEnds(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  /** Resolves when bulk data up to `limit` would be sent at once (or the socket is closed). */
  async bulkRoom(limit = this.highWater): Promise<void> {
    while (this.bulkWaits(limit)) await this.wakeUp(limit);
  }

  /** Resolves when this socket has no more than `limit` bytes queued (or is closed); the shared budget aside. */
  async room(limit = this.highWater): Promise<void> {
    while (this.open && this.queued > limit) await this.drainedTo(limit);
  }

  /** Bytes handed to the socket and not yet written out. */
  get backlog(): number {
    return this.queued;
  }

  /** The largest backlog this socket has had. */
  get peak(): number {
    return this.most;
  }

  /** Wakes every waiter and gives back this socket's share of the shared budget: the socket is closing. */
  release(): void {
    if (!this.released) for (const [data, times] of this.inFlight) for (let i = 0; i < times; i++) this.shared?.remove(data);
    this.inFlight.clear();
    this.released = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.wake();
  }

  private get open(): boolean {
    return !this.released && this.ws.readyState === this.ws.OPEN;
  }

  private bulkWaits(limit: number): boolean {
    return this.open && (this.queued > limit || this.shared?.full === true);
  }

  private wakeUp(limit: number): Promise<void> {
    return this.queued > limit ? this.drainedTo(limit) : this.shared!.drained();
  }

  private drainedTo(limit: number): Promise<void> {
    return new Promise((wake) => this.waiters.push({ limit, wake }));
  }

  private track(data: Buffer): void {
    this.queued += data.length;
    if (this.queued > this.most) this.most = this.queued;
    if (this.shared) {
      this.inFlight.set(data, (this.inFlight.get(data) ?? 0) + 1);
      this.shared.add(data);
    }
    this.onSent(data.length);
  }

  private untrack(data: Buffer): void {
    if (this.released) return;
    this.queued -= data.length;
    if (this.shared) {
      const times = this.inFlight.get(data)!;
      if (times > 1) this.inFlight.set(data, times - 1);
      else this.inFlight.delete(data);
      this.shared.remove(data);
    }
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.queued <= w.limit / 2) w.wake();
      else still.push(w);
    }
    this.waiters = still;
  }
}
