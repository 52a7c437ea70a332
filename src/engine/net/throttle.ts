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

  /**
   * Charges the whole amount: a take larger than the balance leaves a debt that this caller
   * sleeps off, so the average never exceeds the rate however large the pieces.
   */
  private async wait(bytes: number): Promise<void> {
    const rate = this.rate;
    if (rate === null) return;
    const now = Date.now();
    // At most a second's worth saved up, so an idle minute doesn't allow a burst.
    this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 1000) * rate) - bytes;
    this.at = now;
    if (this.tokens < 0) await new Promise((r) => setTimeout(r, (-this.tokens / rate) * 1000));
  }
}
