/**
 * The compact form of a directory move on the feed (MoveRun in messages.ts): the server
 * describes the revisions a move wrote by the paths it moved, and the client derives the
 * entries from the source entries it already holds. A run names the source revision of
 * each item, so the client can tell when it does not hold what the server moved (a path it
 * left out, a newer answer it stored) and ask for the full entries instead.
 */
import type { Entry, MoveRun } from './messages.js';

/** The revisions a run stands for: rev … rev + items − 1. */
export function runEnd(run: MoveRun): number {
  return run.rev + run.items.length - 1;
}

/** Items [start, end) of a run, as a run of their own (a long run split across messages). */
export function sliceRun(run: MoveRun, start: number, end: number): MoveRun {
  return { ...run, rev: run.rev + start, items: run.items.slice(start, end) };
}

/** A feed message's entries and runs merged into one list in revision order. */
export function inRevOrder(entries: Entry[], moves: MoveRun[]): (Entry | MoveRun)[] {
  if (moves.length === 0) return entries;
  return [...entries, ...moves].sort((a, b) => a.rev - b.rev);
}

export function isRun(item: Entry | MoveRun): item is MoveRun {
  return 'run' in item;
}

/**
 * The entries a `changes` message stands for, in revision order, or the first source path
 * whose entry the caller does not hold at the revision a run names. `held` answers with the
 * entry the client holds for a path before this message.
 */
export function expandRuns(
  entries: Entry[],
  moves: MoveRun[],
  held: (path: string) => Entry | undefined,
): { entries: Entry[] } | { missing: string } {
  if (moves.length === 0) return { entries };
  // Entries earlier in the same message count too (a put, then a move of its directory).
  const seen = new Map<string, Entry>();
  const lookup = (path: string): Entry | undefined => seen.get(path) ?? held(path);
  const out: Entry[] = [];
  const emit = (entry: Entry): void => {
    seen.set(entry.path, entry);
    out.push(entry);
  };
  for (const item of inRevOrder(entries, moves)) {
    if (!isRun(item)) {
      emit(item);
      continue;
    }
    const { from, to, device, time } = item;
    for (let i = 0; i < item.items.length; i++) {
      const [suffix, sourceRev] = item.items[i]!;
      const source = lookup(from + suffix);
      if (!source || source.deleted || source.rev !== sourceRev) return { missing: from + suffix };
      const rev = item.rev + i;
      if (item.run === 'copy') {
        const { movedFrom: _, ...content } = source;
        emit({ ...content, path: to + suffix, rev, device, time, movedFrom: source.path });
      } else {
        emit(tombstoneOf(source, rev, device, time));
      }
    }
  }
  return { entries: out };
}

/** What the server writes when a path is deleted or moved away. */
export function tombstoneOf(source: Entry, rev: number, device: string, time: number): Entry {
  return {
    path: source.path,
    rev,
    kind: source.kind,
    deleted: true,
    size: 0,
    mtime: 0,
    mode: 0,
    hash: '',
    chunks: [],
    target: '',
    device,
    time,
  };
}
