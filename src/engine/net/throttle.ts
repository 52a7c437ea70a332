/**
 * A bandwidth limit as a token bucket: `take(n)` waits until n bytes may pass. With no
 * limit set it returns at once. One bucket per direction is shared by all transfers.
 */
export class Throttle {
  private rate: number | null = null;
  private tokens = 0;
  private at = Date.now();
  private chain: Promise<void> = Promise.resolve();

  setRate(bytesPerSecond: number | null): void {
    this.rate = bytesPerSecond && bytesPerSecond > 0 ? bytesPerSecond : null;
    this.tokens = 0;
    this.at = Date.now();
  }

  get limit(): number | null {
    return this.rate;
  }

  take(bytes: number): Promise<void> {
    if (this.rate === null) return Promise.resolve();
    // Queue the takers so a large one can't be overtaken by small ones for ever.
    this.chain = this.chain.then(() => this.wait(bytes));
    return this.chain;
  }

  private async wait(bytes: number): Promise<void> {
    for (;;) {
      const rate = this.rate;
      if (rate === null) return;
      const now = Date.now();
      // At most a second's worth saved up, so an idle minute doesn't allow a burst.
      this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 1000) * rate);
      this.at = now;
      if (this.tokens >= Math.min(bytes, rate)) {
        this.tokens -= bytes;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.max(5, ((Math.min(bytes, rate) - this.tokens) / rate) * 1000)));
    }
  }
}
