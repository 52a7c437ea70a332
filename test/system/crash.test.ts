/**
 * Crash safety (docs/reliability.md): kill -9 of a `ferry sync` or of `ferry serve` at random
 * moments of uploads, downloads and commits. After each restart the folders converge, no
 * receiving folder ever showed a partial file, nothing is left in staging and the server's
 * journal and chunk store are consistent. The soak runs hundreds of these; CI a few.
 */
import { expect, it } from 'vitest';
import { runCrashTrials } from './harness/crash.js';

const SEED = Number(process.env.FERRY_CRASH_SEED ?? 4242);

it(`crash trials (seed ${SEED}): kill -9 during transfers and commits loses and corrupts nothing`, async () => {
  const result = await runCrashTrials(SEED, 6);
  if (result.problems.length) console.error(`crash seed ${SEED} FAILED\n${result.problems.join('\n')}\n${result.log.join('\n')}`);
  expect(result.problems).toEqual([]);
  expect(result.trials).toBe(6);
}, 240_000);
