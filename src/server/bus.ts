/**
 * Fan-out of committed revisions to every connection subscribed to a folder. One process
 * uses LocalBus; several server instances would share a Redis pub/sub behind the same
 * interface.
 */
import type { Entry, MoveRun } from '../shared/protocol/messages.js';

/** Revisions (from, rev] of one folder, as one commit produced them. */
export interface FeedEvent {
  folder: number;
  from: number;
  rev: number;
  entries: Entry[];
  /** The revisions of `entries` that moves wrote, in compact form (see FEATURE_MOVE_RUNS). */
  moves: MoveRun[];
  /** When the commit was made (ms), to measure how long fan-out takes. */
  at: number;
}

export type FeedListener = (event: FeedEvent) => void;

export interface Bus {
  publish(event: FeedEvent): void;
  subscribe(folder: number, listener: FeedListener): () => void;
}

export class LocalBus implements Bus {
  private readonly topics = new Map<number, Set<FeedListener>>();

  publish(event: FeedEvent): void {
    const listeners = this.topics.get(event.folder);
    if (!listeners) return;
    for (const listener of listeners) listener(event);
  }

  subscribe(folder: number, listener: FeedListener): () => void {
    let listeners = this.topics.get(folder);
    if (!listeners) {
      listeners = new Set();
      this.topics.set(folder, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.topics.delete(folder);
    };
  }
}
