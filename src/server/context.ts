/** What every part of a running server shares. */
import type { Logger } from 'pino';
import type { Limits } from '../shared/protocol/limits.js';
import type { Bus } from './bus.js';
import type { Metrics } from './metrics.js';
import type { FeedPages } from './sync/feed-pages.js';
import type { SendBudget } from './sync/send-budget.js';
import type { ChunkStore, JournalStore } from './store/types.js';

export interface ServerContext {
  store: JournalStore;
  chunks: ChunkStore;
  bus: Bus;
  metrics: Metrics;
  limits: Limits;
  log: Logger;
  version: string;
  /** A connection whose socket holds more unsent bytes than this is cut off; it catches up on reconnect. */
  maxBacklogBytes: number;
  /**
   * A subscriber whose socket holds more unsent bytes than this gets no live `changes`: it
   * falls behind at its cursor and is caught up from the journal once the socket drains.
   */
  feedWindowBytes: number;
  /** What all sockets have queued together, and its budget. */
  sendBudget: SendBudget;
  /** Catch-up pages, shared by subscribers at the same cursor. */
  pages: FeedPages;
}
