/**
 * Token buckets keyed by a string (a client address, a user name): `capacity` attempts at
 * once, refilled at `perMinute`. Used to slow password guessing on /v1/login.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly perMinute: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one attempt; returns 0 when allowed, else the seconds until one is. */
  take(key: string, now = Date.now()): number {
    const bucket = this.refill(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 60) / this.perMinute);
  }

  /** A success forgives the key's earlier failures. */
  reset(key: string): void {
    this.buckets.delete(key);
  }

  private refill(key: string, now: number): { tokens: number; at: number } {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      // Bounded memory under a spray of addresses: forget the oldest key.
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.capacity, at: now };
      this.buckets.set(key, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 60_000) * this.perMinute);
    bucket.at = now;
    return bucket;
  }
}
