/**
 * What all of the server's sockets have queued and not yet written, under one budget; a
 * buffer queued on many sockets (a feed message, a page) counts once, as it is held once.
 * Each socket's feed already stops at a small window (see Session), so this is the backstop
 * for many sockets at once: above half the budget no socket gets feed pages or download
 * frames until the total drains to a quarter, and live changes go only to sockets with
 * nothing queued; above the whole budget the connection with the most queued is cut, the
 * slowest reader first (it catches up from its cursor when it reconnects). The cut waits for
 * the next turn of the event loop: a fan-out hands one message to thousands of sockets at
 * once, and what they write at once is given back before then.
 */
import type { SharedQueue } from '../../shared/protocol/outbox.js';

export class SendBudget implements SharedQueue {
  private queued = 0;
  private most = 0;
  /** How many sockets hold each buffer: a buffer counts once, however many hold it. */
  private readonly holders = new Map<Buffer, number>();
  private waiters: (() => void)[] = [];
  private cutting = false;

  constructor(
    /** The most bytes all sockets together may have queued before the slowest reader is cut. */
    readonly maxBytes: number,
    /** Cuts the connection with the most queued; false when there was none to cut. */
    private readonly cutSlowest: () => boolean,
  ) {}

  get total(): number {
    return this.queued;
  }

  /** The largest total so far. */
  get peak(): number {
    return this.most;
  }

  get full(): boolean {
    return this.queued > this.maxBytes / 2;
  }

  add(data: Buffer): void {
    const holders = this.holders.get(data) ?? 0;
    this.holders.set(data, holders + 1);
    if (holders > 0) return;
    this.queued += data.length;
    if (this.queued > this.most) this.most = this.queued;
    if (this.queued > this.maxBytes && !this.cutting) {
      // Not inside the send that went over: the sender may be the one cut.
      this.cutting = true;
      setImmediate(() => this.cut());
    }
  }

  remove(data: Buffer): void {
    const holders = this.holders.get(data) ?? 0;
    if (holders > 1) return void this.holders.set(data, holders - 1);
    this.holders.delete(data);
    this.queued -= data.length;
    if (this.waiters.length > 0 && this.queued <= this.maxBytes / 4) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  drained(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((wake) => this.waiters.push(wake));
  }

  private cut(): void {
    this.cutting = false;
    if (this.queued <= this.maxBytes) return;
    if (this.cutSlowest() && this.queued > this.maxBytes) {
      this.cutting = true;
      setImmediate(() => this.cut());
    }
  }
}
