/** The soak (started by test/soak/run.mjs): many seeds of the randomized whole-system test, then the crash trials. */
import { expect, it } from 'vitest';
import { runCrashTrials } from '../system/harness/crash.js';
import { report, runSeed } from '../system/harness/run-seed.js';

const env = (name: string) => Number(process.env[name] ?? 0);
const SEEDS = env('FERRY_SOAK_SEEDS');
const START = env('FERRY_SOAK_START');
const STEPS = env('FERRY_SOAK_STEPS');
const CRASH_TRIALS = env('FERRY_SOAK_CRASH_TRIALS');
/** Crash trials share one world per batch; a fresh one now and then keeps the disk use bounded. */
const CRASH_BATCH = 50;

const line = (s: string) => process.stdout.write(`${s}\n`);

it('soak', async () => {
  const failed: number[] = [];
  let files = 0;
  let pairs = 0;
  for (let seed = START; seed < START + SEEDS; seed++) {
    const result = await runSeed(seed, { steps: STEPS, clients: 3, convergeMs: 120_000 });
    files += result.files;
    pairs += result.pairs;
    line(`seed ${seed}: ${result.ok ? 'clean' : 'FAILED'} in ${(result.ms / 1000).toFixed(1)} s (${result.files} files at the end, ${result.pairs} concurrent-edit pairs)`);
    if (!result.ok) {
      failed.push(seed);
      line(report(result));
    }
  }
  let trials = 0;
  const crashProblems: string[] = [];
  for (let batch = 0; trials < CRASH_TRIALS; batch++) {
    const seed = START * 1000 + batch;
    const result = await runCrashTrials(seed, Math.min(CRASH_BATCH, CRASH_TRIALS - trials), 60_000, (l) => line(`crash seed ${seed}: ${l}`));
    trials += result.trials;
    line(`crash seed ${seed}: ${result.trials} trials, ${result.problems.length ? 'FAILED' : 'clean'} in ${(result.ms / 1000).toFixed(1)} s`);
    if (result.problems.length) {
      crashProblems.push(...result.problems.map((p) => `crash seed ${seed}: ${p}`));
      line([...result.problems, ...result.log].join('\n'));
      if (result.trials === 0) break;
    }
  }
  line('');
  if (SEEDS > 0) line(`soak summary: ${SEEDS - failed.length} of ${SEEDS} seeds clean (${START}..${START + SEEDS - 1}, ${STEPS} steps each, ${files} files and ${pairs} concurrent-edit pairs checked)${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
  if (CRASH_TRIALS > 0) line(`soak summary: ${trials} crash trials, ${crashProblems.length ? `${crashProblems.length} problems` : 'all clean'}`);
  expect(failed).toEqual([]);
  expect(crashProblems).toEqual([]);
});
