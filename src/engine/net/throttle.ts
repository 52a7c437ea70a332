/**
 * A bandwidth limit as a token bucket: `take(n)` waits until n bytes may pass. With no
 * limit set it returns at once. One bucket per direction is shared by all transfers.
 */
export class Throttle {
  private rate: number | null = null;
  private tokens = 0;
  private at = Date.now();
  private chain: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;

  /** A new limit starts afresh, and a transfer sleeping off the old one's debt goes on at once. */
  setRate(bytesPerSecond: number | null): void {
    this.rate = bytesPerSecond && bytesPerSecond > 0 ? bytesPerSecond : null;
    this.tokens = 0;
    this.at = Date.now();
    this.wake?.();
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

  /**
   * Charges the whole amount: a take larger than the balance leaves a debt that this caller
   * sleeps off, so the average never exceeds the rate however large the pieces.
   */
  private async wait(bytes: number): Promise<void> {
    if (this.rate === null) return;
    this.refill();
    this.tokens -= bytes;
    while (this.rate !== null && this.tokens < 0) {
      await this.sleep((-this.tokens / this.rate) * 1000);
      this.refill();
    }
  }

  private refill(): void {
    const now = Date.now();
    // At most a second's worth saved up, so an idle minute doesn't allow a burst.
    if (this.rate !== null) this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
