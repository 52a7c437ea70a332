/**
 * Sending on one socket with flow control. Control messages go out at once; chunk frames
 * and catch-up pages wait while more than `highWater` bytes are still queued in the
 * socket, so a slow reader holds back its own bulk data and never blocks anyone else.
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

export class Outbox {
  private queued = 0;
  private waiters: (() => void)[] = [];
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Corkable,
    private readonly highWater: number,
    private readonly onSent: (bytes: number) => void,
  ) {}

  /** Sends a control message now. A Buffer is sent as a text frame (pre-encoded JSON). */
  send(message: object | Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const data = Buffer.isBuffer(message) ? message : Buffer.from(JSON.stringify(message));
    this.track(data.length);
    this.holdUntilTurnEnds();
    this.ws.send(data, { binary: false }, () => this.untrack(data.length));
  }

  /** Sends bulk data once the socket has room for it. */
  async sendBulk(data: Buffer, binary: boolean): Promise<void> {
    await this.room();
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.track(data.length);
    this.holdUntilTurnEnds();
    this.ws.send(data, { binary }, () => this.untrack(data.length));
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

  /** Resolves when the socket has room for more bulk data (or is closed). */
  room(): Promise<void> {
    if (this.queued <= this.highWater || this.ws.readyState !== this.ws.OPEN) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Bytes handed to the socket and not yet written out. */
  get backlog(): number {
    return this.queued;
  }

  /** Wakes every waiter, e.g. when the socket closes. */
  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private track(bytes: number): void {
    this.queued += bytes;
    this.onSent(bytes);
  }

  private untrack(bytes: number): void {
    this.queued -= bytes;
    if (this.queued <= this.highWater / 2 && this.waiters.length > 0) this.release();
  }
}
