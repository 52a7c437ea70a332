/**
 * The randomized whole-system test (docs/reliability.md): a real `ferry serve` and three real
 * `ferry sync` processes; each seed plays a schedule of file operations and faults (dropped
 * connections, kill -9 and restart of clients and the server, clients stopped or frozen for
 * a while), then the folders must converge and every invariant hold. A failure prints its
 * seed and the schedule; FERRY_SEEDS=7,12 replays chosen seeds.
 */
import { describe, expect, it } from 'vitest';
import { report, runSeed } from './harness/run-seed.js';

const SEEDS = process.env.FERRY_SEEDS ? process.env.FERRY_SEEDS.split(',').map(Number) : [101, 202, 303];

describe('randomized whole-system test', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: converges and keeps every invariant`, async () => {
      const result = await runSeed(seed, { steps: 70, clients: 3, convergeMs: 90_000 });
      if (!result.ok) console.error(report(result));
      expect(result.problems, `seed ${seed}; the schedule is printed above`).toEqual([]);
    }, 240_000);
  }
});
