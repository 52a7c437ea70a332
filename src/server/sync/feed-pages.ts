/**
 * Catch-up pages of the feed, read from the journal and encoded once for every subscriber at
 * the same cursor: thousands of subscribers that fell behind together ask for the same pages,
 * and each gets the same Buffer instead of its own query and its own copy.
 *
 * A page holds the entries current at the head it was read at, so it is reused only while
 * that is still the head: a page never carries a superseded entry, and the last one ends at
 * the newest revision.
 */
import type { JournalStore } from '../store/types.js';

interface Cached {
  head: number;
  page: Promise<EncodedPage>;
  bytes: number;
}

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
  private readonly cache = new Map<string, Cached>();
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
    const head = await this.store.head(folder);
    const cached = this.cache.get(key);
    if (cached?.head === head) return cached.page;
    if (cached) this.forget(key);
    // Read at this head or a newer one: tagged with the older, it is only reused too rarely.
    const entry: Cached = { head, page: this.read(folder, from), bytes: 0 };
    this.cache.set(key, entry);
    entry.page.then(
      (page) => this.cache.get(key) === entry && this.keep(key, entry, page.data.length),
      () => this.cache.get(key) === entry && this.forget(key),
    );
    return entry.page;
  }

  private async read(folder: number, from: number): Promise<EncodedPage> {
    const page = await this.store.changesSince(folder, from, this.pageEntries, this.pageBytes);
    const message = { type: 'changes', folder, from, rev: page.rev, more: page.more, entries: page.entries };
    return { from, rev: page.rev, more: page.more, data: Buffer.from(JSON.stringify(message)) };
  }

  private keep(key: string, entry: Cached, bytes: number): void {
    entry.bytes = bytes;
    this.cachedBytes += bytes;
    // Oldest first: Map keeps insertion order.
    for (const oldest of this.cache.keys()) {
      if (this.cachedBytes <= CACHE_BYTES || oldest === key) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    this.cachedBytes -= this.cache.get(key)?.bytes ?? 0;
    this.cache.delete(key);
  }
}
