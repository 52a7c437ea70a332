import { describe, expect, it } from 'vitest';
import { groupActivity, RUN_GAP_MS } from '../../src/renderer/activity-groups.js';
import type { Activity } from '../../src/shared/bridge.js';

let nextId = 1;
function change(path: string, time: number, over: Partial<Activity> = {}): Activity {
  return { id: nextId++, time, folder: 1, path, action: 'added', direction: 'down', device: 'bob', from: null, ...over };
}

describe('groupActivity', () => {
  it('folds like changes in one directory, newest first', () => {
    const feed = [change('a/3', 3000), change('a/2', 2000), change('a/1', 1000), change('b.txt', 500)];
    const groups = groupActivity(feed);
    expect(groups.map((g) => [g.latest.path, g.count, g.dir])).toEqual([
      ['a/3', 3, 'a'],
      ['b.txt', 1, ''],
    ]);
  });

  it('keeps apart changes that differ in action, device, direction, folder or directory', () => {
    const feed = [
      change('a/1', 1000),
      change('a/2', 1000, { action: 'changed' }),
      change('a/3', 1000, { device: 'carol' }),
      change('a/4', 1000, { direction: 'up' }),
      change('a/5', 1000, { folder: 2 }),
      change('a/b/6', 1000),
    ];
    expect(groupActivity(feed).map((g) => g.count)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('ends a run at a pause longer than the gap, and never folds moves or conflicts', () => {
    const t = 10 * RUN_GAP_MS;
    expect(groupActivity([change('x', t), change('y', t - RUN_GAP_MS - 1)]).map((g) => g.count)).toEqual([1, 1]);
    expect(groupActivity([change('x', t, { action: 'moved' }), change('y', t, { action: 'moved' })]).map((g) => g.count)).toEqual([1, 1]);
    expect(groupActivity([change('x', t, { action: 'conflict' }), change('y', t, { action: 'conflict' })]).map((g) => g.count)).toEqual([1, 1]);
  });

  it('chains a run change by change, and keeps every change counted', () => {
    const feed = Array.from({ length: 5 }, (_, i) => change(`d/f${i}`, 10_000 - i * (RUN_GAP_MS - 1)));
    const groups = groupActivity(feed);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.count).toBe(5);
    expect(groupActivity([]).length).toBe(0);
  });
});
