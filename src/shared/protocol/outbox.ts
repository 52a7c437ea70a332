/**
 * Sending on one socket with flow control. Control messages go out at once; chunk frames
 * and catch-up pages wait while more than `highWater` bytes are still queued in the
 * socket, so a slow reader holds back its own bulk data and never blocks anyone else.
 */
import type { WebSocket } from 'ws';

export class Outbox {
  private queued = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly highWater: number,
    private readonly onSent: (bytes: number) => void,
  ) {}

  /** Sends a control message now. A Buffer is sent as a text frame (pre-encoded JSON). */
  send(message: object | Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const data = Buffer.isBuffer(message) ? message : Buffer.from(JSON.stringify(message));
    this.track(data.length);
    this.ws.send(data, { binary: false }, () => this.untrack(data.length));
  }

  /** Sends bulk data once the socket has room for it. */
  async sendBulk(data: Buffer, binary: boolean): Promise<void> {
    await this.room();
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.track(data.length);
    this.ws.send(data, { binary }, () => this.untrack(data.length));
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
