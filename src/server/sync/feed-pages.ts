/**
 * Catch-up pages of the feed, read from the journal and encoded once for every subscriber at
 * the same cursor: thousands of subscribers that fell behind together ask for the same pages,
 * and each gets the same Buffer instead of its own query and its own copy.
 *
 * A page (from, rev] that is not the last (`more: true`) stays right as the journal grows:
 * an entry it holds that is superseded later is followed by the newer one in a later page.
 * The last page ends at the head it was read at, so it is reused only while that is still the
 * head.
 */
import type { JournalStore } from '../store/types.js';

export interface EncodedPage {
  from: number;
  rev: number;
  more: boolean;
  /** The `changes` message, pre-encoded. */
  data: Buffer;
}

/** Pages kept, by encoded size; a few pages of the largest size, many of the usual. */
const CACHE_BYTES = 32 * 1024 * 1024;

export class FeedPages {
  private readonly cache = new Map<string, Promise<EncodedPage>>();
  private readonly sizes = new Map<string, number>();
  private cachedBytes = 0;

  constructor(
    private readonly store: JournalStore,
    private readonly pageEntries: number,
    /** Most entry bytes in one `changes` message, well under the message limit. */
    readonly pageBytes: number,
  ) {}

  /** The page of `folder` that starts at `from`. */
  async page(folder: number, from: number): Promise<EncodedPage> {
    const key = `${folder}:${from}`;
    const cached = this.cache.get(key);
    if (cached) {
      const page = await cached;
      if (page.more || page.rev === (await this.store.head(folder))) return page;
      if (this.cache.get(key) === cached) this.forget(key);
    }
    const reading = this.read(folder, from);
    this.cache.set(key, reading);
    reading.then(
      (page) => this.cache.get(key) === reading && this.keep(key, page.data.length),
      () => this.cache.get(key) === reading && this.forget(key),
    );
    return reading;
  }

  private async read(folder: number, from: number): Promise<EncodedPage> {
    const page = await this.store.changesSince(folder, from, this.pageEntries, this.pageBytes);
    const message = { type: 'changes', folder, from, rev: page.rev, more: page.more, entries: page.entries };
    return { from, rev: page.rev, more: page.more, data: Buffer.from(JSON.stringify(message)) };
  }

  private keep(key: string, bytes: number): void {
    this.sizes.set(key, bytes);
    this.cachedBytes += bytes;
    // Oldest first: Map keeps insertion order.
    for (const oldest of this.cache.keys()) {
      if (this.cachedBytes <= CACHE_BYTES || oldest === key) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    this.cache.delete(key);
    this.cachedBytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }
}
