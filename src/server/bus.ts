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

/**
 * In-process fan-out. Commits published in the same turn of the event loop reach listeners
 * as one event: under a burst of commits each subscriber gets one message for the burst
 * instead of one per commit, which is most of the fan-out's cost (a write per socket).
 */
export class LocalBus implements Bus {
  private readonly topics = new Map<number, Set<FeedListener>>();
  /** Per folder, what was published this turn: runs of contiguous events, merged at delivery. */
  private readonly pending = new Map<number, FeedEvent[][]>();
  private scheduled = false;

  publish(event: FeedEvent): void {
    if (!this.topics.has(event.folder)) return;
    const runs = this.pending.get(event.folder);
    const run = runs?.[runs.length - 1];
    if (!runs) this.pending.set(event.folder, [[event]]);
    else if (run![run!.length - 1]!.rev === event.from) run!.push(event);
    else runs.push([event]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.deliver());
    }
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

  private deliver(): void {
    this.scheduled = false;
    const pending = [...this.pending];
    this.pending.clear();
    for (const [folder, runs] of pending) {
      for (const run of runs) {
        const event = merged(run);
        for (const listener of this.topics.get(folder) ?? []) listener(event);
      }
    }
  }
}

/** One event for contiguous events: (first.from, last.rev], timed from the earliest commit. */
function merged(run: FeedEvent[]): FeedEvent {
  if (run.length === 1) return run[0]!;
  const first = run[0]!;
  return { folder: first.folder, from: first.from, rev: run[run.length - 1]!.rev, entries: run.flatMap((e) => e.entries), moves: run.flatMap((e) => e.moves), at: first.at };
}
