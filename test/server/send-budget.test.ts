/** The send budget counts what the server holds: a buffer queued on many sockets is held once. */
import { describe, expect, it } from 'vitest';
import { SendBudget } from '../../src/server/sync/send-budget.js';

describe('SendBudget', () => {
  it('counts a buffer queued on many sockets once, until the last of them has written it', () => {
    const budget = new SendBudget(1000, () => false);
    const shared = Buffer.alloc(300);
    const own = Buffer.alloc(100);
    for (let i = 0; i < 5000; i++) budget.add(shared);
    budget.add(own);
    expect(budget.total).toBe(400);
    expect(budget.full).toBe(false);
    for (let i = 0; i < 4999; i++) budget.remove(shared);
    expect(budget.total).toBe(400);
    budget.remove(shared);
    budget.remove(own);
    expect(budget.total).toBe(0);
    expect(budget.peak).toBe(400);
  });

  it('is full above half its bytes, and cuts on the next turn only if still over all of them', async () => {
    let cuts = 0;
    const budget = new SendBudget(1000, () => (cuts += 1) > 0);
    const passing = Buffer.alloc(1200);
    budget.add(passing);
    expect(budget.full).toBe(true);
    // Written before the next turn, as a fan-out's writes are: nobody is cut.
    budget.remove(passing);
    await new Promise((r) => setImmediate(r));
    expect(cuts).toBe(0);

    const stuck = Buffer.alloc(1200);
    budget.add(stuck);
    let drained = false;
    void budget.drained().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(cuts).toBeGreaterThanOrEqual(1);
    expect(drained).toBe(false);
    budget.remove(stuck);
    await Promise.resolve();
    expect(drained).toBe(true);
  });
});
