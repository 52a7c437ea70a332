/** Groups: what is submitted in one turn runs as one group, what arrives while a group runs forms the next. */
import { expect, it } from 'vitest';
import { Groups } from '../../src/engine/sync/groups.js';

it('items of one turn form one group; items arriving while it runs form the next; each gets its own outcome', async () => {
  const seen: number[][] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const groups = new Groups<number, number>(async (items) => {
    seen.push(items);
    if (seen.length === 1) await held;
    return items.map((i) => (i < 0 ? { status: 'rejected', reason: new Error(`bad ${i}`) } : { status: 'fulfilled', value: i * 10 }));
  });
  const first = [groups.submit(1), groups.submit(-2), groups.submit(3)];
  await new Promise((r) => setImmediate(r));
  expect(seen).toEqual([[1, -2, 3]]);
  const second = [groups.submit(4), groups.submit(5)];
  release();
  expect(await Promise.allSettled([...first, ...second])).toEqual([
    { status: 'fulfilled', value: 10 },
    { status: 'rejected', reason: new Error('bad -2') },
    { status: 'fulfilled', value: 30 },
    { status: 'fulfilled', value: 40 },
    { status: 'fulfilled', value: 50 },
  ]);
  expect(seen).toEqual([[1, -2, 3], [4, 5]]);
});

it('a group whose run throws fails every item of that group, and the next group still runs', async () => {
  let calls = 0;
  const groups = new Groups<string, string>(async (items) => {
    if (calls++ === 0) throw new Error('journal down');
    return items.map((i) => ({ status: 'fulfilled', value: i }));
  });
  const failed = Promise.allSettled([groups.submit('a'), groups.submit('b')]);
  expect((await failed).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect(await groups.submit('c')).toBe('c');
});
