/**
 * Folds runs of like changes into one line of the feed: thirty files added to one folder by one
 * device a moment apart read better as one line than as thirty. Pure, for the unit tests.
 */
import type { Activity } from '../shared/bridge.js';

export interface ActivityGroup {
  /** The newest change of the run; the feed shows it alone when the run has one change. */
  latest: Activity;
  count: number;
  /** The directory the run's paths share ('' for the folder's root). */
  dir: string;
}

/** How far apart two changes of one run may be. */
export const RUN_GAP_MS = 60_000;

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function sameRun(a: Activity, b: Activity): boolean {
  return (
    a.folder === b.folder &&
    a.action === b.action &&
    a.direction === b.direction &&
    a.device === b.device &&
    a.action !== 'moved' &&
    a.action !== 'conflict' &&
    dirOf(a.path) === dirOf(b.path) &&
    Math.abs(a.time - b.time) <= RUN_GAP_MS
  );
}

/** `activity` newest first, as the store keeps it; the groups come out in the same order. */
export function groupActivity(activity: readonly Activity[]): ActivityGroup[] {
  const groups: ActivityGroup[] = [];
  let last: Activity | undefined;
  for (const item of activity) {
    const current = groups[groups.length - 1];
    if (current && last && sameRun(last, item)) current.count++;
    else groups.push({ latest: item, count: 1, dir: dirOf(item.path) });
    last = item;
  }
  return groups;
}
